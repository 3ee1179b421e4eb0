// Quartermaster processes for tests: `node dist/bin/qm.js` exactly as `npm start` runs it after the
// build, with the environment a deployment would give it. Output is kept for assertions.
import { spawn, type ChildProcess } from "child_process";
import { existsSync, readFileSync } from "fs";
import { createServer, createConnection, type AddressInfo } from "net";
import { dirname, join } from "path";

/** The repository root: the nearest folder up with a package.json (from test/ or from dist/test/). */
function findRoot(dir: string): string {
	for (let d = dir; d !== dirname(d); d = dirname(d)) if (existsSync(join(d, "package.json"))) return d;
	throw new Error(`No package.json above ${dir}`);
}

export const ROOT = findRoot(__dirname);
export const ENTRY = join(ROOT, "dist", "bin", "qm.js");

export function assertBuilt() {
	if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`npm run build\` first (\`npm test\` does it)`);
}

// Ports handed out by this process are not handed out again (the OS may offer a just-closed one).
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
	for (;;) {
		const port = await new Promise<number>((resolve, reject) => {
			const srv = createServer();
			srv.listen(0, "127.0.0.1", () => {
				const { port } = srv.address() as AddressInfo;
				srv.close(() => resolve(port));
			});
			srv.on("error", reject);
		});
		if (!handedOut.has(port)) {
			handedOut.add(port);
			return port;
		}
	}
}

export function natsUrl(): string {
	return process.env.NATS_URL || "nats://127.0.0.1:4222";
}

/** Rejects with a clear message when NATS does not answer (CI starts it in .ci/run). */
export function assertNatsListening(): Promise<void> {
	const u = new URL(natsUrl());
	return new Promise((resolve, reject) => {
		const sock = createConnection({ host: u.hostname, port: Number(u.port || 4222) });
		sock.once("connect", () => {
			sock.destroy();
			resolve();
		});
		sock.once("error", err => reject(new Error(`NATS is not listening at ${natsUrl()} (${err.message}); start it with \`nats-server -js\` or set NATS_URL`)));
	});
}

export interface QmProcess {
	name: string;
	proc: ChildProcess;
	output(): string;
	/** SIGTERM and wait; resolves with the exit code */
	stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The Node flags `npm start` gives the platform (package.json), its shell defaults (`${QM_HEAP_MB:-256}`) applied. */
export function startFlags(): string[] {
	const start = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start;
	const flags = /^node ((?:--\S+ )*)/.exec(start)?.[1].trim() ?? "";
	return flags ? flags.split(" ").map(f => f.replace(/\$\{(\w+):-([^}]*)\}/g, (_m, name: string, fallback: string) => process.env[name] || fallback)) : [];
}

/** The platform (or the services in env.SERVICES) as `npm start` runs it: its Node flags, then `nodeArgs`. */
export function spawnQm(name: string, env: Record<string, string>, nodeArgs: string[] = []): QmProcess {
	assertBuilt();
	let out = "";
	const proc = spawn(process.execPath, [...startFlags(), ...nodeArgs, ENTRY], {
		cwd: ROOT,
		env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", LOG_LEVEL: "info", BCRYPT_COST: "4", ...env },
		stdio: ["ignore", "pipe", "pipe"],
	});
	proc.stdout!.on("data", d => (out += d));
	proc.stderr!.on("data", d => (out += d));
	const exited = new Promise<number | null>(resolve => proc.once("exit", code => resolve(code)));
	return {
		name,
		proc,
		output: () => out,
		async stop(signal: NodeJS.Signals = "SIGTERM") {
			if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
			const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
			const code = await exited;
			clearTimeout(timer);
			return code;
		},
	};
}

/**
 * Deletes the usage stream of a namespace (metering and billing create `<NAMESPACE>_USAGE` when
 * they run over NATS), so test runs leave the shared NATS server as they found it.
 */
export async function deleteUsageStream(namespace: string): Promise<void> {
	const { connect } = await import("nats");
	const nc = await connect({ servers: natsUrl() }).catch(() => null);
	if (!nc) return;
	try {
		const jsm = await nc.jetstreamManager();
		await jsm.streams.delete(`${namespace.replace(/[^A-Za-z0-9_-]/g, "_")}_USAGE`).catch(() => undefined);
	} finally {
		await nc.close();
	}
}
