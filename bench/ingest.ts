// Usage ingestion (ARCHITECTURE.md budget; issue "Storage you can trust"): POST /api/v1/metering/usage,
// batches of 1,000 fresh samples (unique ids, ~960 nodes, the current hour), through the HTTP gateway
// — first embedded (every service in one process, SQLite files), then distributed (one process per
// service over NATS). Every answered batch is durable (the store answers after its fsync).
// In each round, the floor first: the same batches' ids inserted into the same store (a SQLite file
// with metering's `samples` collection, the same durability) by as many concurrent writers, with
// no other work; then the same bodies to a no-op behind the same gateway and service hop
// (POST /api/v1/meta/echo); then ingestion. The median of the rounds counts.
// Targets: ≥ 100,000 samples/s embedded, ≥ 50,000 samples/s distributed, ≥ 0.5 of the floor.
// BENCH_STORE=mongo: every service on MongoDB (MONGO_URI, or a FerretDB started by bench/mongo-server.ts),
// each mode on a database of its own; the floor is then the same ids inserted (insertMany, unordered)
// into a fresh `samples` collection on the same server; target there ≥ 10,000 samples/s (issue 13).
// Run: npm run build && node dist/bench/ingest.js   (NATS on 127.0.0.1:4222 or NATS_URL for the
// distributed leg; BENCH_SECONDS per phase, BENCH_ROUNDS, BENCH_WARMUP seconds, BENCH_MODES=embedded,distributed,
// BENCH_STORE=embedded|mongo)
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import autocannon from "autocannon";
import { MongoClient } from "mongodb";
import { SqliteFile } from "../mixins/sqlite-store";
import { samples as samplesSpec } from "../models/metering";
import { ALL_SERVICES } from "../services";
import { waitUntil } from "../test/helpers/http";
import { assertNatsListening, deleteUsageStream, freePort, natsUrl, spawnQm, type QmProcess } from "../test/helpers/processes";
import { benchStore, type BenchStore } from "./mongo-server";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const BATCH = 1000;
const ADMIN = { email: "orchestrator@example.com", password: "Bench-0rchestrator-pass!" };

interface Round {
	ingest: Phase;
	echo: Phase;
	/** the same ids inserted into the same store, nothing else (ids/s) */
	floor: number;
	ratio: number;
}

/** The floor: each body's ids inserted, one insertMany a batch, by CONNECTIONS writers, into a fresh file. */
async function floor(path: string, bodies: string[], seconds = SECONDS): Promise<number> {
	const file = new SqliteFile(path);
	const store = file.collection(samplesSpec);
	const docs = bodies.map((b, n) => {
		const expiresAt = new Date(Date.now() + 36 * 86_400_000);
		return (JSON.parse(b) as { samples: { id: string }[] }).samples.map(s => ({ _id: s.id, batch: `floor-batch-${n}`, expiresAt }));
	});
	let next = 0;
	let inserted = 0;
	const end = Date.now() + seconds * 1000;
	await Promise.all(
		Array.from({ length: CONNECTIONS }, async () => {
			while (Date.now() < end && next < docs.length) {
				const batch = docs[next++];
				await store.insertMany(batch);
				inserted += batch.length;
			}
		}),
	);
	file.close();
	return Math.round(inserted / seconds);
}

/** The floor on MongoDB: the same ids, one unordered insertMany a batch, by CONNECTIONS writers, into a fresh collection. */
async function mongoFloor(uri: string, collection: string, bodies: string[], seconds = SECONDS): Promise<number> {
	const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
	await client.connect();
	const store = client.db().collection<{ _id: string; batch: string; expiresAt: Date }>(collection);
	const docs = bodies.map((b, n) => {
		const expiresAt = new Date(Date.now() + 36 * 86_400_000);
		return (JSON.parse(b) as { samples: { id: string }[] }).samples.map(s => ({ _id: s.id, batch: `floor-batch-${n}`, expiresAt }));
	});
	let next = 0;
	let inserted = 0;
	const started = Date.now();
	const end = started + seconds * 1000;
	try {
		await Promise.all(
			Array.from({ length: CONNECTIONS }, async () => {
				while (Date.now() < end && next < docs.length) {
					const batch = docs[next++];
					await store.insertMany(batch, { ordered: false });
					inserted += batch.length;
				}
			}),
		);
	} finally {
		await client.close();
	}
	// A batch may finish after the clock: the rate over the time actually taken.
	return Math.round(inserted / Math.max(seconds, (Date.now() - started) / 1000));
}

interface Phase {
	samplesPerSec: number;
	reqPerSec: number;
	p50ms: number;
	p99ms: number;
	non2xx: number;
	errors: number;
}

/** Posts pre-built bodies in turn — each once (a body posted twice would be all duplicates), or round and round for the no-op. */
function load(url: string, token: string, bodies: string[], cycle = false, seconds = SECONDS): Promise<Phase> {
	let next = 0;
	return new Promise((resolve, reject) => {
		autocannon(
			{
				url,
				connections: CONNECTIONS,
				duration: seconds,
				method: "POST",
				headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
				requests: [
					{
						setupRequest: req => {
							if (cycle) next %= bodies.length;
							if (next >= bodies.length) throw new Error(`bench/ingest ran out of fresh batches (${bodies.length}); raise BENCH_BATCHES`);
							return { ...req, body: bodies[next++] };
						},
					},
				],
			},
			(err, r) =>
				err
					? reject(err)
					: resolve({
							samplesPerSec: Math.round((r.requests.total / seconds) * BATCH * (r.non2xx ? (r.requests.total - r.non2xx) / r.requests.total : 1)),
							reqPerSec: Math.round(r.requests.average * 10) / 10,
							p50ms: r.latency.p50,
							p99ms: r.latency.p99,
							non2xx: r.non2xx,
							errors: r.errors,
						}),
		);
	});
}

async function run(mode: "embedded" | "distributed", store: BenchStore) {
	const dir = mkdtempSync(join(tmpdir(), `qm-bench-ingest-${mode}-`));
	const port = await freePort();
	const env: Record<string, string> = {
		DATA_DIR: dir,
		PORT: String(port),
		LOG_LEVEL: "warn",
		QM_JOBS: "off",
		QM_TEST_CLOCK: "1", // serves the no-op POST /meta/echo
		QM_ADMIN_EMAIL: ADMIN.email,
		QM_ADMIN_PASSWORD: ADMIN.password,
		QM_MASTER_KEY: Buffer.alloc(32, 5).toString("base64"),
		// spawnQm builds a clean environment: the store's MONGO_URI goes in explicitly.
		...store.envFor(mode),
	};
	// BENCH_PROFILE=<service> (or "platform" embedded) writes a V8 CPU profile of that process into ./profiles.
	const profile = (s: string) => (process.env.BENCH_PROFILE === s ? ["--cpu-prof", "--cpu-prof-dir=profiles"] : []);
	let procs: QmProcess[];
	if (mode === "distributed") {
		await assertNatsListening();
		Object.assign(env, { TRANSPORTER: natsUrl(), NAMESPACE: `qm-bench-ingest-${process.pid}` });
		// The gateway's process holds no collection, so it never connects to MongoDB, and lib/readiness.ts
		// answers 503 "database disconnected" for it forever when it has MONGO_URI: it runs without it.
		const envOf = (s: string) => (s === "gateway" ? Object.fromEntries(Object.entries(env).filter(([k]) => k !== "MONGO_URI")) : env);
		procs = Object.keys(ALL_SERVICES).map(s => spawnQm(s, { ...envOf(s), SERVICES: s, NODE_ID: `bench-${s}` }, profile(s)));
	} else {
		procs = [spawnQm("platform", env, profile("platform"))];
	}
	const base = `http://127.0.0.1:${port}`;
	try {
		// Nine processes creating their collections on one FerretDB take longer than 30 s to be ready.
		await waitUntil(async () => (await fetch(`${base}/ready`)).status === 200, store.kind === "mongo" ? 180_000 : 30_000, 100);
		const call = async (method: string, path: string, body: unknown, token?: string) => {
			const request = () =>
				fetch(`${base}/api/v1${path}`, {
					method,
					headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
					body: body === undefined ? undefined : JSON.stringify(body),
				});
			// Building many bodies takes longer than the server keeps an idle connection: the first call may find it closed.
			const r = await request().catch(request);
			const json = (await r.json().catch(() => null)) as Record<string, unknown>;
			if (r.status >= 300) throw new Error(`${method} ${path} answered ${r.status}: ${JSON.stringify(json)}`);
			return json;
		};
		let session = "";
		await waitUntil(async () => !!(session = (await call("POST", "/auth/signin", ADMIN)).session as string), 20_000, 100);
		const { token } = (await call(
			"POST",
			"/tokens",
			{ password: ADMIN.password, description: "bench", apiList: ["metering.usage.Ingest", "meta.platform.Echo"] },
			session,
		)) as {
			token: string;
		};
		// ~960 nodes: 20 environments of 3 layers × 16 nodes (the billing group's limits).
		const nodes: { envId: string; nodeId: string }[] = [];
		for (let i = 0; i < 20; i++) {
			const env = (await call(
				"POST",
				"/environments",
				{ name: `bench-${i}`, nodes: ["cp", "bl", "sqldb"].map(layer => ({ layer, type: "x", count: 16, reservedCloudlets: 1, scalingLimit: 8 })) },
				session,
			)) as { id: string; nodes: { nodeIds: string[] }[] };
			for (const g of env.nodes) for (const nodeId of g.nodeIds) nodes.push({ envId: env.id, nodeId });
		}
		// Fresh batches for each round, built before its clock starts: enough for 800,000 samples/s (a fast sitting of this machine carried ~500,000).
		// On MongoDB, enough for 100,000 samples/s (ten times the target there).
		const count = Number(process.env.BENCH_BATCHES ?? Math.ceil(((store.kind === "mongo" ? 100_000 : 800_000) * SECONDS) / BATCH) + 20);
		const hourStart = Math.floor(Date.now() / 3_600_000) * 3_600_000;
		const bodiesOf = (round: number) =>
			Array.from({ length: count }, (_, b) =>
				JSON.stringify({
					samples: Array.from({ length: BATCH }, (_, i) => {
						const n = nodes[(b * BATCH + i) % nodes.length];
						return {
							id: `${mode}-${round}-${b}-${i}`,
							envId: n.envId,
							nodeId: n.nodeId,
							time: new Date(Math.min(Date.now(), hourStart + ((b * 7 + i) % 3_000) * 1000)).toISOString(),
							ramMiB: (i * 37) % 4096,
							cpuMHz: (i * 13) % 3200,
							diskMB: 1000 + (i % 500),
							trafficInMB: (i % 10) / 10,
							trafficOutMB: (i % 7) / 10,
						};
					}),
				}),
			);
		// A warm-up of both paths (WARMUP seconds each, bodies of their own), then the measured rounds:
		// in each the no-op, then ingestion, so that a slower minute of this shared machine weighs on both.
		const warm = bodiesOf(-1);
		await call("POST", "/meta/echo", JSON.parse(warm[0]), token);
		await call("POST", "/metering/usage", JSON.parse(warm[1]), token);
		await load(`${base}/api/v1/meta/echo`, token, warm.slice(2), true, WARMUP);
		await load(`${base}/api/v1/metering/usage`, token, warm.slice(2), false, WARMUP);
		const rounds: Round[] = [];
		for (let round = 0; round < ROUNDS; round++) {
			const bodies = bodiesOf(round);
			const floorRate =
				store.kind === "mongo"
					? await mongoFloor(store.envFor("floor").MONGO_URI, `samples_${mode}_${round}`, bodies)
					: await floor(join(dir, `floor-${round}.sqlite`), bodies);
			const echo = await load(`${base}/api/v1/meta/echo`, token, bodies, true);
			const ingest = await load(`${base}/api/v1/metering/usage`, token, bodies);
			rounds.push({ ingest, echo, floor: floorRate, ratio: Math.round((ingest.samplesPerSec / floorRate) * 100) / 100 });
		}
		const median = <T>(list: T[], by: (x: T) => number) => [...list].sort((x, y) => by(x) - by(y))[Math.floor(list.length / 2)];
		return {
			mode,
			store: store.label,
			seconds: SECONDS,
			connections: CONNECTIONS,
			rounds,
			ingest: median(rounds, r => r.ingest.samplesPerSec).ingest,
			ratio: median(rounds, r => r.ratio).ratio,
		};
	} catch (err) {
		for (const p of procs) console.error(`--- ${p.name} (exit ${p.proc.exitCode ?? p.proc.signalCode ?? "running"}):\n${p.output().slice(-4000)}`);
		throw err;
	} finally {
		await Promise.all(procs.map(p => p.stop()));
		if (env.NAMESPACE) await deleteUsageStream(env.NAMESPACE);
		rmSync(dir, { recursive: true, force: true });
	}
}

async function main() {
	const modes = (process.env.BENCH_MODES ?? "embedded,distributed").split(",") as ("embedded" | "distributed")[];
	const store = await benchStore("ingest");
	try {
		for (const mode of modes) await report(mode, await run(mode, store), store);
	} finally {
		await store.stop();
	}
}

async function report(mode: "embedded" | "distributed", r: Awaited<ReturnType<typeof run>>, store: BenchStore) {
	// On MongoDB the target is the rate alone (issue 13); the ratio to the floor is reported.
	const mongo = store.kind === "mongo";
	const target = mongo ? 10_000 : mode === "embedded" ? 100_000 : 50_000;
	console.log(JSON.stringify(r));
	for (const [i, round] of r.rounds.entries()) {
		console.log(
			`${mode} [${store.label}] round ${i + 1}: ingest ${round.ingest.samplesPerSec} samples/s p99 ${round.ingest.p99ms} ms; floor (ids into the store) ${round.floor}/s; no-op ${round.echo.samplesPerSec} samples/s; ratio to the floor ${round.ratio}`,
		);
	}
	const failed = r.rounds.some(x => x.ingest.non2xx || x.ingest.errors);
	console.log(
		`${mode} [${store.label}] (median of ${r.rounds.length} rounds of ${SECONDS} s, ${CONNECTIONS} connections): ingest ${r.ingest.samplesPerSec} samples/s (target ≥ ${target}); ratio to the floor ${r.ratio}${mongo ? "" : " (target ≥ 0.5)"}${failed ? "; some requests failed" : ""} → ${
			r.ingest.samplesPerSec >= target && (mongo || r.ratio >= 0.5) && !failed ? "PASS" : "FAIL"
		}`,
	);
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
