// The store a benchmark runs the platform on (issue 13, "Benchmarks on the production path"):
// BENCH_STORE=embedded (the default: SQLite files under DATA_DIR) or BENCH_STORE=mongo — every
// service on MongoDB (mixins/mongo-store.ts, chosen by MONGO_URI): the server at MONGO_URI if it is
// set, otherwise a FerretDB this module starts the way `npm run test:mongo` does (scripts/test-mongo.sh:
// the binary cached in ~/.cache/quartermaster, a free port, a fresh PostgreSQL database at
// PGHOST/PGPORT/PGUSER, default 127.0.0.1:5432 as postgres) and stops, its database dropped, at the end.
// On a MONGO_URI of the caller, each benchmark uses a database of its own (`qm_bench_<name>_<pid>`,
// the URI's options kept) and drops it at the end.
import { execFileSync, spawn, type ChildProcess } from "child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "fs";
import { homedir, tmpdir } from "os";
import { join } from "path";
import { MongoClient } from "mongodb";
import { freePort } from "../test/helpers/processes";

export const FERRETDB_VERSION = "v1.24.2";

export interface BenchStore {
	kind: "embedded" | "mongo";
	/** For result lines: "embedded (SQLite)", "mongo (FerretDB v1.24.2 on PostgreSQL)", "mongo (MONGO_URI)". */
	label: string;
	/** The environment that puts a platform on this store: { MONGO_URI } for mongo, {} embedded (pass it to spawnQm explicitly). */
	env: Record<string, string>;
	/** The mongodb URI of this benchmark's database (mongo only). */
	uri?: string;
	/** The environment of a platform on a database of its own (`<db>_<suffix>`), dropped by stop(); {} embedded. */
	envFor(suffix: string): Record<string, string>;
	/** FerretDB's process id when this module started it (for a profile of it). */
	pid?: number;
	/** Stops what was started and drops what was created. */
	stop(): Promise<void>;
}

const pg = {
	host: process.env.PGHOST || "127.0.0.1",
	port: process.env.PGPORT || "5432",
	user: process.env.PGUSER || "postgres",
};

function psql(sql: string) {
	execFileSync("psql", ["-h", pg.host, "-p", pg.port, "-U", pg.user, "-d", "postgres", "-Atqc", sql], { stdio: ["ignore", "pipe", "pipe"] });
}

/** `uri` with its database name replaced, its options kept. */
export function withDatabase(uri: string, db: string): string {
	const m = /^(mongodb(?:\+srv)?:\/\/[^/?]+)(?:\/[^?]*)?(\?.*)?$/.exec(uri);
	if (!m) throw new Error(`MONGO_URI is not a mongodb:// URI`);
	return `${m[1]}/${db}${m[2] ?? ""}`;
}

async function waitForMongo(uri: string, ms = 30_000) {
	const deadline = Date.now() + ms;
	for (;;) {
		const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1000 });
		try {
			await client.db().command({ ping: 1 });
			await client.close();
			return;
		} catch (err) {
			await client.close().catch(() => undefined);
			if (Date.now() > deadline) throw err;
			await new Promise(r => setTimeout(r, 200));
		}
	}
}

async function dropDatabase(uri: string) {
	const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
	try {
		await client.db().dropDatabase();
	} finally {
		await client.close();
	}
}

/** The store BENCH_STORE asks for, started; `name` names the benchmark's database. */
export async function benchStore(name: string): Promise<BenchStore> {
	const kind = process.env.BENCH_STORE || "embedded";
	if (kind === "embedded") return { kind: "embedded", label: "embedded (SQLite)", env: {}, envFor: () => ({}), stop: async () => undefined };
	if (kind !== "mongo") throw new Error(`BENCH_STORE=${kind}: expected embedded or mongo`);
	const db = `qm_bench_${name.replace(/[^a-z0-9]/gi, "_")}_${process.pid}`;

	if (process.env.MONGO_URI) {
		const uri = withDatabase(process.env.MONGO_URI, db);
		await waitForMongo(uri, 10_000);
		const created = [uri];
		return {
			kind: "mongo",
			label: "mongo (MONGO_URI)",
			env: { MONGO_URI: uri },
			uri,
			envFor: suffix => {
				created.push(withDatabase(uri, `${db}_${suffix}`));
				return { MONGO_URI: created[created.length - 1] };
			},
			stop: async () => {
				for (const u of created) await dropDatabase(u).catch(() => undefined);
			},
		};
	}

	const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "quartermaster", `ferretdb-${FERRETDB_VERSION}`);
	const binary = join(cache, "ferretdb");
	if (!existsSync(binary)) throw new Error(`BENCH_STORE=mongo: no MONGO_URI and no FerretDB at ${binary} (\`npm run test:mongo\` builds it once)`);
	const pgDb = `qm_ferret_bench_${process.pid}`;
	try {
		psql(`create database ${pgDb}`);
	} catch (err) {
		throw new Error(
			`BENCH_STORE=mongo: PostgreSQL at ${pg.host}:${pg.port} as ${pg.user} did not create ${pgDb}: ${(err as { stderr?: Buffer }).stderr ?? err}`,
		);
	}
	const runDir = mkdtempSync(join(tmpdir(), "qm-bench-ferretdb-"));
	const port = await freePort();
	const log = join(runDir, "ferretdb.log");
	const out = openSync(log, "a");
	let proc: ChildProcess | null = spawn(
		binary,
		[
			`--listen-addr=127.0.0.1:${port}`,
			`--postgresql-url=postgres://${pg.user}@${pg.host}:${pg.port}/${pgDb}`,
			`--state-dir=${runDir}`,
			// BENCH_FERRETDB_DEBUG=127.0.0.1:<port>: FerretDB's debug server (Go pprof at /debug/pprof/) for a profile of it.
			`--debug-addr=${process.env.BENCH_FERRETDB_DEBUG || "-"}`,
			"--telemetry=disable",
			"--log-level=error",
		],
		{ stdio: ["ignore", out, out] },
	);
	closeSync(out);
	const pid = proc.pid;
	let stopped = false;
	const stopSync = () => {
		if (stopped) return;
		stopped = true;
		if (proc && proc.exitCode === null) proc.kill("SIGTERM");
		try {
			psql(`drop database if exists ${pgDb} with (force)`);
		} catch {
			console.error(`bench: could not drop PostgreSQL database ${pgDb}: drop it by hand`);
		}
		rmSync(runDir, { recursive: true, force: true });
	};
	// An interrupted benchmark still stops its FerretDB and drops its database.
	process.once("exit", stopSync);
	for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));
	const uri = `mongodb://127.0.0.1:${port}/${db}`;
	try {
		await waitForMongo(uri);
	} catch (err) {
		const text = existsSync(log) ? readFileSync(log, "utf8").slice(-2000) : "";
		stopSync();
		throw new Error(`FerretDB did not answer on 127.0.0.1:${port}: ${err}\n${text}`);
	}
	return {
		kind: "mongo",
		label: `mongo (FerretDB ${FERRETDB_VERSION} on PostgreSQL)`,
		env: { MONGO_URI: uri },
		uri,
		pid,
		envFor: suffix => ({ MONGO_URI: withDatabase(uri, `${db}_${suffix}`) }),
		stop: async () => {
			if (proc && proc.exitCode === null) {
				const exited = new Promise(r => proc!.once("exit", r));
				proc.kill("SIGTERM");
				await Promise.race([exited, new Promise(r => setTimeout(r, 5000))]);
			}
			proc = null;
			stopSync();
		},
	};
}
