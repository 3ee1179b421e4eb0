// Billing history (ARCHITECTURE.md budget): one account, one month, hourly rows — p99 < 100 ms.
// Embedded (one process, SQLite files): an account with 10 environments of 3 nodes charged for every
// hour of a 30-day month (7,200 environment-hours, 21,600 node rows), then
// `GET /billing/history?interval=HOUR` for that month through the HTTP gateway, and the same for
// DAY and for one environment.
// BENCH_STORE=mongo: the same on MongoDB (MONGO_URI, or a FerretDB started by bench/mongo-server.ts);
// target there p99 < 150 ms (issue 13, the production path).
// Timed: the answer's last byte at a client in this process (`p50ms`, `p99ms`), the body counted and
// not decoded — decoding 4 MB into a string is the client's work, and it would run on the server's
// event loop here. For comparison, the same requests read as text by fetch (`fetchTextP50ms`, …).
// Every case's answer is checked once, whole (JSON parsed, CSV ending in its total line).
// Run: npm run build && node dist/bench/history.js   (BENCH_REQUESTS per case; BENCH_STORE; BENCH_KEEP=1 keeps the data directory)
import { mkdtempSync, rmSync } from "fs";
import { Agent, request } from "http";
import { tmpdir } from "os";
import { join } from "path";
import type { AddressInfo } from "net";
import { ServiceBroker } from "moleculer";
import type { UsageRecord } from "../lib/usage-record";
import { brokerConfig } from "../moleculer.config";
import { selectServices } from "../services";
import { benchStore } from "./mongo-server";

const ENVS = 10;
const DAYS = 30;
// 200 a case: the 99th percentile of 50 samples is their maximum, one hiccup of a shared machine.
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const T0 = Date.UTC(2026, 9, 1); // 1 October 2026
const USER = { email: "historian@example.com", password: "Reads-the-history-1!" };

function percentile(sorted: number[], p: number) {
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const agent = new Agent({ keepAlive: true });

/** GET `url` as a client that counts the body: the time to its last byte. */
function lastByte(url: string, session: string): Promise<{ ms: number; status: number; bytes: number }> {
	return new Promise((resolve, reject) => {
		const t = performance.now();
		request(url, { agent, headers: { authorization: `Bearer ${session}` } }, res => {
			let bytes = 0;
			res.on("data", (chunk: Buffer) => (bytes += chunk.length));
			res.on("end", () => resolve({ ms: performance.now() - t, status: res.statusCode ?? 0, bytes }));
			res.on("error", reject);
		})
			.on("error", reject)
			.end();
	});
}

/** GET `url` read as text by fetch: the time and the text. */
async function fetchText(url: string, session: string): Promise<{ ms: number; status: number; text: string }> {
	const t = performance.now();
	const r = await fetch(url, { headers: { authorization: `Bearer ${session}` } });
	const text = await r.text();
	return { ms: performance.now() - t, status: r.status, text };
}

const summary = (times: number[]) => {
	const sorted = [...times].sort((a, b) => a - b);
	return { p50: Math.round(percentile(sorted, 50)), p99: Math.round(percentile(sorted, 99)) };
};

async function main() {
	const store = await benchStore("history");
	const limit = store.kind === "mongo" ? 150 : 100;
	const dir = mkdtempSync(join(tmpdir(), "qm-bench-history-"));
	Object.assign(process.env, { DATA_DIR: dir, QM_JOBS: "off", LOG_LEVEL: "warn", PORT: "0", HOST: "127.0.0.1", BCRYPT_COST: "4" }, store.env);
	const broker = new ServiceBroker(brokerConfig({ nodeID: "bench-history", logger: false }));
	for (const s of selectServices([])) broker.createService(s);
	await broker.start().catch(async err => {
		await store.stop();
		throw err;
	});
	const gateway = broker.getLocalService("gateway") as unknown as { server: { address(): AddressInfo } };
	const url = `http://127.0.0.1:${gateway.server.address().port}/api/v1`;
	const post = async (path: string, body: unknown) =>
		(await (await fetch(url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })).json()) as Record<
			string,
			unknown
		>;
	try {
		// An account the way a customer makes one: sign up, the link from the outbox, activate.
		await post("/auth/signup", { email: USER.email, acceptTerms: true });
		const mail = (await broker.call("notifications.adminOutbox", { to: USER.email })) as { rows: { links: string[] }[] };
		const activated = await post("/auth/activate", { token: new URL(mail.rows[0].links[0]).searchParams.get("token"), password: USER.password });
		const account = activated.account as { id: string };
		const session = (await post("/auth/signin", USER)).session as string;
		const records: UsageRecord[] = [];
		for (let h = 0; h < DAYS * 24; h++) {
			for (let e = 0; e < ENVS; e++) {
				const envId = `hist-env-${e}`;
				records.push({
					envId,
					hour: T0 + h * 3_600_000,
					rev: 1,
					ownerId: account.id,
					name: `app-${e}`,
					running: true,
					subscription: false,
					ssl: true,
					nodes: ["cp", "bl", "sqldb"].map((layer, n) => ({
						nodeId: `${envId}-n${n}`,
						layer,
						reservedCloudlets: 2,
						scalingLimit: 16,
						diskLimitGB: 10,
						publicIPv4: n === 0 ? 1 : 0,
						publicIPv6: 0,
						peakRamMiB: ((h + e + n) % 12) * 128,
						avgCpuMHz: 0,
						peakDiskMB: 1500,
						trafficInMB: 20,
						trafficOutMB: 40,
						samples: 180,
					})),
				});
			}
		}
		const charging = Date.now();
		for (let i = 0; i < records.length; i += 2000) await broker.call("billing.chargeRecords", { records: records.slice(i, i + 2000) }, { timeout: 0 });
		const chargeSeconds = Math.round((Date.now() - charging) / 100) / 10;

		const from = new Date(T0).toISOString();
		const to = new Date(T0 + DAYS * 86_400_000).toISOString();
		const cases = {
			"month, HOUR, all environments": `/billing/history?from=${from}&to=${to}&interval=HOUR`,
			"month, DAY, all environments": `/billing/history?from=${from}&to=${to}&interval=DAY`,
			"month, HOUR, one environment": `/billing/history?from=${from}&to=${to}&interval=HOUR&envId=hist-env-3`,
			"month, HOUR, CSV": `/billing/history?from=${from}&to=${to}&interval=HOUR&format=csv`,
		};
		const results: Record<string, { p50ms: number; p99ms: number; fetchTextP50ms: number; fetchTextP99ms: number; bytes: number }> = {};
		for (const [name, path] of Object.entries(cases)) {
			// The answer, whole, once: what every timed request must count to.
			const whole = await fetchText(url + path, session);
			if (whole.status !== 200) throw new Error(`${path} answered ${whole.status}: ${whole.text.slice(0, 200)}`);
			if (path.includes("format=csv")) {
				if (!/\ntotal,[^\n]*\n$/.test(whole.text)) throw new Error(`${path}: the CSV does not end in its total line`);
			} else if (!Array.isArray((JSON.parse(whole.text) as { intervals?: unknown }).intervals)) throw new Error(`${path}: no intervals`);
			const bytes = Buffer.byteLength(whole.text);
			const counted: number[] = [];
			const decoded: number[] = [];
			for (let i = 0; i < REQUESTS + 3; i++) {
				const r = await lastByte(url + path, session);
				if (r.status !== 200 || r.bytes !== bytes) throw new Error(`${path} answered ${r.status} with ${r.bytes} bytes, not ${bytes}`);
				if (i >= 3) counted.push(r.ms); // three warm-up requests
			}
			for (let i = 0; i < REQUESTS; i++) decoded.push((await fetchText(url + path, session)).ms);
			const c = summary(counted);
			const d = summary(decoded);
			results[name] = { p50ms: c.p50, p99ms: c.p99, fetchTextP50ms: d.p50, fetchTextP99ms: d.p99, bytes };
		}
		console.log(JSON.stringify({ store: store.label, environmentHours: records.length, chargeSeconds, requests: REQUESTS, results }));
		const worst = Math.max(...Object.values(results).map(r => r.p99ms));
		console.log(
			`history [${store.label}]: ${records.length} environment-hours, ${REQUESTS} requests a case; worst p99 ${worst} ms over ${Object.keys(cases).length} cases (target < ${limit} ms) → ${worst < limit ? "PASS" : "FAIL"}`,
		);
	} finally {
		agent.destroy();
		await broker.stop();
		await store.stop();
		if (process.env.BENCH_KEEP) console.log(`kept ${dir}`);
		else rmSync(dir, { recursive: true, force: true });
	}
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
