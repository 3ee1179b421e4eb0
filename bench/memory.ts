// Memory and restart of the embedded platform at scale (issue "Storage you can trust"): 35 days of
// 1,000 nodes sampled once a minute — 50 million samples — posted through the HTTP gateway in
// batches of 1,000 to one platform process (every service, SQLite files), then its RSS (now and
// peak), its files, and how long a restart takes to answer /ready.
// Targets: RSS under 400 MB after the 50 million; /ready within 5 s of a restart.
// The platform runs with the Node flags `npm start` gives it (package.json: the heap cap, QM_HEAP_MB).
// Run: npm run build && node dist/bench/memory.js   (BENCH_SAMPLES, default 50,000,000; BENCH_CONNECTIONS;
// QM_HEAP_MB for the platform's heap cap)
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { waitUntil } from "../test/helpers/http";
import { freePort, spawnQm, startFlags, type QmProcess } from "../test/helpers/processes";

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 50_000_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const BATCH = 1000;
const ADMIN = { email: "orchestrator@example.com", password: "Bench-0rchestrator-pass!" };
const MINUTE = 60_000;
const REPORT_MS = Number(process.env.BENCH_REPORT_SECONDS ?? 30) * 1000;

function memoryOf(pid: number) {
	const status = readFileSync(`/proc/${pid}/status`, "utf8");
	const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
	return { rssMB: Math.round(kb("VmRSS") / 1024), peakMB: Math.round(kb("VmHWM") / 1024) };
}

async function main() {
	const dir = mkdtempSync(join(tmpdir(), "qm-bench-memory-"));
	const port = await freePort();
	const env: Record<string, string> = {
		DATA_DIR: dir,
		PORT: String(port),
		LOG_LEVEL: "warn",
		QM_JOBS: "off",
		QM_ADMIN_EMAIL: ADMIN.email,
		QM_ADMIN_PASSWORD: ADMIN.password,
	};
	const base = `http://127.0.0.1:${port}`;
	let proc: QmProcess = spawnQm("platform", env);
	const ready = async () => {
		const t = Date.now();
		await waitUntil(async () => (await fetch(`${base}/ready`).catch(() => null))?.status === 200, 120_000, 50);
		return Date.now() - t;
	};
	try {
		await ready();
		const call = async (path: string, body: unknown, token?: string) => {
			const r = await fetch(`${base}/api/v1${path}`, {
				method: "POST",
				headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
				body: JSON.stringify(body),
			});
			const json = (await r.json()) as Record<string, unknown>;
			if (r.status >= 300) throw new Error(`${path} answered ${r.status}: ${JSON.stringify(json)}`);
			return json;
		};
		let session = "";
		// (The bootstrap admin may come up just after /ready.)
		await waitUntil(async () => !!(session = ((await call("/auth/signin", ADMIN).catch(() => ({}))) as { session?: string }).session ?? ""), 20_000, 100);
		const { token } = (await call("/tokens", { password: ADMIN.password, description: "bench", apiList: ["metering.usage.Ingest"] }, session)) as {
			token: string;
		};
		// 1,000 nodes: 21 environments of 3 layers × 16 nodes (the last layers trimmed to 1,000).
		const nodes: { envId: string; nodeId: string }[] = [];
		for (let i = 0; nodes.length < 1000; i++) {
			const e = (await call(
				"/environments",
				{ name: `mem-${i}`, nodes: ["cp", "bl", "sqldb"].map(layer => ({ layer, type: "x", count: 16, reservedCloudlets: 1, scalingLimit: 8 })) },
				session,
			)) as { id: string; nodes: { nodeIds: string[] }[] };
			for (const g of e.nodes) for (const nodeId of g.nodeIds) if (nodes.length < 1000) nodes.push({ envId: e.id, nodeId });
		}
		// Minute m of the last 35 days: one sample per node (samples older than 35 days are refused).
		const start = Math.floor(Date.now() / MINUTE) * MINUTE - 35 * 24 * 60 * MINUTE + 10 * MINUTE;
		let next = 0;
		let posted = 0;
		const t0 = Date.now();
		let lastReport = t0;
		const body = (b: number) =>
			JSON.stringify({
				samples: Array.from({ length: BATCH }, (_, i) => {
					const k = b * BATCH + i;
					const n = nodes[k % nodes.length];
					return {
						id: `m${k.toString(36)}`,
						envId: n.envId,
						nodeId: n.nodeId,
						time: new Date(Math.min(Date.now() - MINUTE, start + Math.floor(k / nodes.length) * MINUTE)).toISOString(),
						ramMiB: 256 + (k % 1024),
						cpuMHz: k % 2400,
						diskMB: 1000 + (k % 300),
						trafficInMB: 0.1,
						trafficOutMB: 0.2,
					};
				}),
			});
		const batches = Math.ceil(SAMPLES / BATCH);
		await Promise.all(
			Array.from({ length: CONNECTIONS }, async () => {
				while (next < batches) {
					const b = next++;
					const r = (await call("/metering/usage", JSON.parse(body(b)), token)) as { accepted: number; rejected: unknown[] };
					if (r.accepted !== BATCH) throw new Error(`batch ${b}: accepted ${r.accepted}, rejected ${JSON.stringify(r.rejected).slice(0, 300)}`);
					posted += BATCH;
					if (Date.now() - lastReport > REPORT_MS) {
						lastReport = Date.now();
						const m = memoryOf(proc.proc.pid!);
						console.log(
							`${posted} samples in ${Math.round((Date.now() - t0) / 1000)} s (${Math.round(posted / ((Date.now() - t0) / 1000))}/s); RSS ${m.rssMB} MB, peak ${m.peakMB} MB`,
						);
					}
				}
			}),
		);
		const seconds = (Date.now() - t0) / 1000;
		const after = memoryOf(proc.proc.pid!);
		const files = readdirSync(dir)
			.filter(f => f.endsWith(".sqlite"))
			.map(f => `${f} ${Math.round(statSync(join(dir, f)).size / 1e6)} MB`);
		console.log(
			`ingested ${posted} samples in ${Math.round(seconds)} s (${Math.round(posted / seconds)} samples/s); RSS ${after.rssMB} MB, peak ${after.peakMB} MB`,
		);
		console.log(`files: ${files.join(", ")}`);
		console.log(`stopped: exit ${await proc.stop()}`);
		proc = spawnQm("platform", env);
		const restartMs = await ready();
		const idle = memoryOf(proc.proc.pid!);
		console.log(`restart: /ready after ${restartMs} ms; RSS ${idle.rssMB} MB`);
		const pass = after.rssMB < 400 && after.peakMB < 400 && restartMs < 5000;
		console.log(
			`memory (${startFlags().join(" ")}): RSS ${after.rssMB} MB (peak ${after.peakMB} MB; target < 400 MB), restart ${restartMs} ms (target < 5,000 ms) → ${pass ? "PASS" : "FAIL"}`,
		);
	} catch (err) {
		console.error(proc.output().slice(-4000));
		throw err;
	} finally {
		await proc.stop();
		rmSync(dir, { recursive: true, force: true });
	}
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
