#!/usr/bin/env node
// Starts Quartermaster: all services in one process (default, embedded storage, no NATS), or the
// ones named in SERVICES, joined by TRANSPORTER. With HEALTH_PORT, a process that runs no gateway
// still answers /health and /ready for its orchestrator's probes. With embedded storage the process
// holds a lock file in DATA_DIR while it runs (mixins/data-dir-lock.ts), which `qm restore` honours.
//
//   qm                  start (what `npm start` runs)
//   qm backup <dir>     copy DATA_DIR's databases into <dir>, beside a running platform
//   qm restore <dir>    put a backup back into DATA_DIR (the platform stopped)
import { mkdirSync } from "fs";
import { createServer, type Server } from "http";
import { resolve } from "path";
import { ServiceBroker } from "moleculer";
import { brokerConfig } from "../moleculer.config";
import { envInt, envList, envString } from "../lib/config";
import { startBanner, type StartFacts } from "../lib/start-banner";
import { acquireDataDirLock, isLocalLock } from "../mixins/data-dir-lock";
import { backupDataDir, restoreDataDir } from "../mixins/sqlite-backup";
import { dataDir, storageMode } from "../mixins/store";
import { closeHashPool } from "../lib/password-hash";
import { processReadiness } from "../lib/readiness";
import { selectServices } from "../services";

export async function startPlatform(): Promise<{ broker: ServiceBroker; stop: () => Promise<void> }> {
	const releaseLock = storageMode() === "files" ? lockDataDir() : undefined;
	const broker = new ServiceBroker(brokerConfig());
	for (const schema of selectServices(envList("SERVICES"))) broker.createService(schema);

	let health: Server | undefined;
	const healthPort = envInt("HEALTH_PORT", 0);
	if (healthPort) {
		health = createServer((req, res) => {
			const { ready, problems } = processReadiness(broker);
			const body = req.url === "/health" ? { status: "ok" } : req.url === "/ready" ? { status: ready ? "ready" : "unavailable", problems } : null;
			res.statusCode = body === null ? 404 : req.url === "/ready" && !ready ? 503 : 200;
			res.setHeader("Content-Type", "application/json");
			res.end(JSON.stringify(body ?? { status: "not found" }));
		}).listen(healthPort);
	}

	await broker.start();
	broker.logger.info(startBanner(startFacts(broker)));
	const stop = async () => {
		health?.close();
		await broker.stop();
		await closeHashPool();
		releaseLock?.();
	};
	return { broker, stop };
}

/** What the start line says, read from the started broker (the gateway's real port: PORT may be 0). */
function startFacts(broker: ServiceBroker): StartFacts {
	const gateway = broker.getLocalService("gateway") as unknown as { server?: { address(): { port: number } | string | null } } | undefined;
	const address = gateway?.server?.address();
	return {
		port: address && typeof address === "object" ? address.port : null,
		adminEmail: envString("QM_ADMIN_EMAIL").trim(),
		adminPasswordGiven: !!envString("QM_ADMIN_PASSWORD"),
		services: (broker.services as { name: string }[]).map(s => s.name).filter(n => !n.startsWith("$")),
	};
}

/**
 * This process's lock on DATA_DIR: refused while `qm restore` runs there or another live process
 * runs one of the same services on it (two processes would share one service's database). A lock
 * from another host never refuses a start: a container recreated on the same volume finds its
 * predecessor's, and whether that process runs cannot be told from here.
 */
function lockDataDir() {
	mkdirSync(dataDir(), { recursive: true });
	const mine = envList("SERVICES");
	const overlaps = (theirs: string[]) => !mine.length || !theirs.length || theirs.some(s => mine.includes(s));
	return acquireDataDirLock(dataDir(), "platform", mine, l => isLocalLock(l) && (l.role === "restore" || overlaps(l.services)));
}

const USAGE = `usage: qm                  start the platform
       qm backup <dir>     copy every database of DATA_DIR (${"$"}DATA_DIR, default ./data) into <dir>, a new or empty directory
       qm restore <dir>    replace DATA_DIR's databases with the backup in <dir> (stop the platform first)`;

/** `qm backup` / `qm restore`: answers the exit code. */
export async function runCommand(command: string, args: string[]): Promise<number> {
	if (command === "help" || command === "--help" || command === "-h") {
		console.log(USAGE);
		return 0;
	}
	if ((command !== "backup" && command !== "restore") || args.length !== 1) {
		console.error(USAGE);
		return 2;
	}
	if (storageMode() !== "files") {
		console.error(
			`qm ${command}: DATA_DIR is ${storageMode() === "mongo" ? "unused (MONGO_URI is set: back up MongoDB with its own tools)" : "in memory"}; nothing to ${command === "backup" ? "back up" : "restore"}`,
		);
		return 2;
	}
	try {
		if (command === "backup") {
			const m = await backupDataDir(dataDir(), args[0]);
			console.log(`Backup of ${m.dataDir} written to ${resolve(args[0])} at ${m.createdAt} (Quartermaster ${m.version}):`);
			for (const f of m.files) console.log(`  ${f.name}  ${f.bytes} bytes${f.quickCheck ? `  quick_check ${f.quickCheck}` : ""}`);
			console.log(`  manifest.json`);
		} else {
			const r = await restoreDataDir(args[0], dataDir());
			console.log(`Restored into ${dataDir()} the backup of ${r.manifest.createdAt} (Quartermaster ${r.manifest.version}):`);
			for (const f of r.manifest.files) console.log(`  ${f.name}  ${f.bytes} bytes`);
			if (r.movedAside) console.log(`What DATA_DIR held before was moved to ${r.movedAside}`);
		}
		return 0;
	} catch (err) {
		console.error(`qm ${command} failed: ${err instanceof Error ? err.message : err}`);
		return 1;
	}
}

if (require.main === module) {
	const [command, ...args] = process.argv.slice(2);
	if (command === undefined) {
		// Moleculer's own SIGINT/SIGTERM handler stops the broker gracefully (in-flight requests finish).
		startPlatform().catch(err => {
			console.error("Quartermaster failed to start:", err instanceof Error ? err.message : err);
			process.exit(1);
		});
	} else {
		runCommand(command, args).then(code => (process.exitCode = code));
	}
}
