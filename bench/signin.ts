// Sign-in must not stall other requests: bcrypt (cost 12) runs in worker threads. While 20
// sign-ins run at once, again and again, the event loop's delay and the latency of other API
// calls are measured; the same is measured first without sign-ins for comparison.
// Target (ARCHITECTURE.md): event-loop lag p99 < 20 ms. Run: npm run build && node dist/bench/signin.js
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { monitorEventLoopDelay } from "perf_hooks";

const dir = mkdtempSync(join(tmpdir(), "qm-bench-"));
Object.assign(process.env, {
	TRUST_PROXY: "127.0.0.1",
	DATA_DIR: dir,
	PORT: "0",
	HOST: "127.0.0.1",
	BCRYPT_COST: process.env.BCRYPT_COST ?? "12",
	LOG_LEVEL: "warn",
	QM_JOBS: "off",
});

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { startPlatform } = require("../bin/qm") as typeof import("../bin/qm");

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const PARALLEL = 20;
const PASSWORD = "Bench-mark-passw0rd!";

function percentile(values: number[], p: number) {
	const s = [...values].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function main() {
	const { broker, stop } = await startPlatform();
	const port = (broker.getLocalService("gateway") as unknown as { server: { address(): { port: number } } }).server.address().port;
	const base = `http://127.0.0.1:${port}/api/v1`;
	// Each of the 20 clients has its own address (X-Forwarded-For through the trusted local proxy).
	const post = (path: string, body: unknown, ip = "192.0.2.250") =>
		fetch(base + path, { method: "POST", headers: { "content-type": "application/json", "x-forwarded-for": ip }, body: JSON.stringify(body) });

	await post("/auth/signup", { email: "loadtest@example.com", acceptTerms: true });
	const mail = (await broker.call("notifications.adminOutbox", { to: "loadtest@example.com" })) as { rows: { links: string[] }[] };
	const token = new URL(mail.rows[0].links[0]).searchParams.get("token");
	if ((await post("/auth/activate", { token, password: PASSWORD })).status !== 200) throw new Error("activation failed");

	async function phase(withSignins: boolean) {
		const lag = monitorEventLoopDelay({ resolution: 1 });
		const latencies: number[] = [];
		let signins = 0;
		const end = Date.now() + SECONDS * 1000;
		lag.enable();
		const load = withSignins
			? Array.from({ length: PARALLEL }, async (_, client) => {
					while (Date.now() < end) {
						const r = await post("/auth/signin", { email: "loadtest@example.com", password: PASSWORD }, `192.0.2.${client + 1}`);
						if (r.status !== 200) throw new Error(`sign-in answered ${r.status} ${await r.text()}`);
						await r.arrayBuffer();
						signins++;
					}
				})
			: [];
		const probe = (async () => {
			while (Date.now() < end) {
				const t0 = performance.now();
				const r = await fetch(`${base}/api-methods`);
				await r.arrayBuffer();
				latencies.push(performance.now() - t0);
				await new Promise(r => setTimeout(r, 10));
			}
		})();
		await Promise.all([...load, probe]);
		lag.disable();
		return {
			signinsPerSecond: Math.round(signins / SECONDS),
			lagP99ms: +(lag.percentile(99) / 1e6).toFixed(1),
			lagMaxMs: +(lag.max / 1e6).toFixed(1),
			otherRequestP99ms: +percentile(latencies, 99).toFixed(1),
			otherRequests: latencies.length,
		};
	}

	const idle = await phase(false);
	const busy = await phase(true);
	await stop();
	rmSync(dir, { recursive: true, force: true });
	const verdict = busy.lagP99ms < 20 ? "PASS" : "FAIL";
	console.log(
		JSON.stringify(
			{
				benchmark: "signin",
				bcryptCost: Number(process.env.BCRYPT_COST),
				parallelSignins: PARALLEL,
				seconds: SECONDS,
				idle,
				busy,
				target: "lag p99 < 20 ms",
				verdict,
			},
			null,
			2,
		),
	);
	process.exit(verdict === "PASS" ? 0 : 1);
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
