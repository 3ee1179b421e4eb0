// Authenticated API read (ARCHITECTURE.md budget; issue "Personal access tokens"): GET /api/v1/account
// with a personal access token at 100 connections, gateway and every service in its own process over
// NATS. In the same run the same load goes to a catalogued no-op (GET /api/v1/meta/ping, same token,
// same gateway, one service hop) for the ratio.
// Targets: ≥ 3,000 req/s, p99 < 50 ms, ratio to the no-op ≥ 0.5.
// BENCH_STORE=mongo: every service on MongoDB (MONGO_URI, or a FerretDB started by bench/mongo-server.ts).
// Run: npm run build && node dist/bench/api-read.js   (NATS on 127.0.0.1:4222 or NATS_URL; BENCH_STORE)
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import autocannon from "autocannon";
import { ALL_SERVICES } from "../services";
import { waitUntil } from "../test/helpers/http";
import { assertNatsListening, deleteUsageStream, freePort, natsUrl, spawnQm, type QmProcess } from "../test/helpers/processes";
import { benchStore } from "./mongo-server";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 100;
const USER = { email: "reader@example.com", password: "Read-heavy-client-1!" };

function load(url: string, token: string): Promise<autocannon.Result> {
	return new Promise((resolve, reject) => {
		autocannon({ url, connections: CONNECTIONS, duration: SECONDS, headers: { authorization: `Bearer ${token}` } }, (err, res) =>
			err ? reject(err) : resolve(res),
		);
	});
}

function summary(r: autocannon.Result) {
	return { reqPerSec: Math.round(r.requests.average), p50ms: r.latency.p50, p99ms: r.latency.p99, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts };
}

async function main() {
	await assertNatsListening();
	const store = await benchStore("api-read");
	const dir = mkdtempSync(join(tmpdir(), "qm-bench-read-"));
	const port = await freePort();
	const env = {
		TRANSPORTER: natsUrl(),
		NAMESPACE: `qm-bench-${process.pid}`,
		DATA_DIR: dir,
		PORT: String(port),
		LOG_LEVEL: "warn",
		QM_JOBS: "off",
		QM_MASTER_KEY: Buffer.alloc(32, 3).toString("base64"),
		// spawnQm builds a clean environment: the store's MONGO_URI goes in explicitly.
		...store.env,
	};
	// BENCH_PROFILE=gateway writes a V8 CPU profile of that process into ./profiles when it stops.
	const profile = (s: string) => (process.env.BENCH_PROFILE === s ? ["--cpu-prof", "--cpu-prof-dir=profiles"] : []);
	const procs: QmProcess[] = Object.keys(ALL_SERVICES).map(s => spawnQm(s, { ...env, SERVICES: s, NODE_ID: `bench-${s}` }, profile(s)));
	const base = `http://127.0.0.1:${port}`;
	try {
		// Nine processes creating their collections on one FerretDB take longer than 30 s to be ready.
		await waitUntil(async () => (await fetch(`${base}/ready`)).status === 200, store.kind === "mongo" ? 180_000 : 30_000, 100);
		const post = async (path: string, body: unknown, token?: string) => {
			const r = await fetch(`${base}/api/v1${path}`, {
				method: "POST",
				headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
				body: JSON.stringify(body),
			});
			return (await r.json()) as Record<string, unknown>;
		};
		// An account and a token, the way a customer makes them; the activation link comes from the outbox.
		await fetch(`${base}/api/v1/auth/signup`, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ email: USER.email, acceptTerms: true }),
		});
		const link = await (async () => {
			// The notifications process keeps the outbox; read it through a short-lived broker over NATS.
			const { ServiceBroker } = await import("moleculer");
			const probe = new ServiceBroker({
				namespace: env.NAMESPACE,
				transporter: env.TRANSPORTER as "NATS",
				logger: false,
				nodeID: `bench-probe-${process.pid}`,
			});
			await probe.start();
			await probe.waitForServices(["notifications"], 10_000);
			const mail = (await probe.call("notifications.adminOutbox", { to: USER.email })) as { rows: { links: string[] }[] };
			await probe.stop();
			return mail.rows[0].links[0];
		})();
		await post("/auth/activate", { token: new URL(link).searchParams.get("token"), password: USER.password });
		const session = (await post("/auth/signin", USER)).session as string;
		const token = (
			await post("/tokens", { password: USER.password, description: "bench", apiList: ["users.account.GetUserInfo", "meta.platform.Ping"] }, session)
		).token as string;

		// What is measured is the whole answer of API.md: profile, balance, and the trial's end.
		const one = await fetch(`${base}/api/v1/account`, { headers: { authorization: `Bearer ${token}` } });
		const account = (await one.json()) as { email?: string; balance?: { main: string }; trialEndsAt?: string };
		if (one.status !== 200 || account.email !== USER.email || !account.balance || !account.trialEndsAt) {
			throw new Error(`GET /account is not the full answer: ${one.status} ${JSON.stringify(account)}`);
		}

		// Warm up both paths (JIT, caches, connections), then measure: no-op, read, no-op, read.
		await load(`${base}/api/v1/meta/ping`, token);
		const runs: Record<string, ReturnType<typeof summary>[]> = { noop: [], read: [] };
		for (let i = 0; i < 2; i++) {
			runs.noop.push(summary(await load(`${base}/api/v1/meta/ping`, token)));
			runs.read.push(summary(await load(`${base}/api/v1/account`, token)));
		}
		const best = (rs: ReturnType<typeof summary>[]) => rs.reduce((a, b) => (b.reqPerSec > a.reqPerSec ? b : a));
		const read = best(runs.read);
		const noop = best(runs.noop);
		const ratio = +(read.reqPerSec / noop.reqPerSec).toFixed(2);
		const pass = read.reqPerSec >= 3000 && read.p99ms < 50 && ratio >= 0.5 && read.non2xx === 0 && read.errors === 0;
		console.log(
			JSON.stringify(
				{
					benchmark: "api-read",
					store: store.label,
					connections: CONNECTIONS,
					seconds: SECONDS,
					processes: procs.map(p => p.name),
					runs,
					read,
					noop,
					ratio,
					targets: "read ≥ 3000 req/s, p99 < 50 ms, ratio ≥ 0.5",
					verdict: pass ? "PASS" : "FAIL",
				},
				null,
				2,
			),
		);
		console.log(
			`api-read [${store.label}]: GET /account ${read.reqPerSec} req/s p99 ${read.p99ms} ms; no-op ${noop.reqPerSec} req/s; ratio ${ratio} (targets ≥ 3000 req/s, p99 < 50 ms, ratio ≥ 0.5) → ${pass ? "PASS" : "FAIL"}`,
		);
		process.exitCode = pass ? 0 : 1;
	} finally {
		await Promise.all(procs.map(p => p.stop()));
		await deleteUsageStream(env.NAMESPACE);
		await store.stop();
		rmSync(dir, { recursive: true, force: true });
	}
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
