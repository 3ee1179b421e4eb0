// The README's start command on a fresh data directory: the whole platform in one process with
// embedded storage (no NATS, no MongoDB), answering /health within 10 s; the data survives a
// restart; the bootstrap admin is created once, with a generated password printed once.
import { spawn, spawnSync } from "child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { api, waitUntil } from "../helpers/http";
import { linkToken, startMailServer } from "../helpers/mail";
import { freePort, ROOT, spawnQm, type QmProcess } from "../helpers/processes";

const PASSWORD = "Restart-proof-p4ss!";

describe("npm start (embedded mode)", () => {
	let mail: Awaited<ReturnType<typeof startMailServer>>;
	let dataDir: string;
	let running: QmProcess | undefined;

	beforeAll(async () => {
		mail = await startMailServer();
		dataDir = mkdtempSync(join(tmpdir(), "qm-start-"));
	});
	afterAll(async () => {
		await running?.stop("SIGKILL");
		await mail.close();
		rmSync(dataDir, { recursive: true, force: true });
	});

	async function start(extra: Record<string, string> = {}) {
		const port = await freePort();
		const t0 = Date.now();
		running = spawnQm("platform", {
			PORT: String(port),
			DATA_DIR: dataDir,
			SMTP_URL: mail.url,
			QM_ADMIN_EMAIL: "ops@example.com",
			PUBLIC_URL: "http://console.test",
			...extra,
		});
		const base = `http://127.0.0.1:${port}`;
		await waitUntil(async () => (await fetch(`${base}/health`)).status === 200, 10_000, 50);
		const startedIn = Date.now() - t0;
		await waitUntil(async () => (await fetch(`${base}/ready`)).status === 200, 5_000);
		return { http: api(`${base}/api/v1`), startedIn, proc: running };
	}

	it("starts, serves the sign-up journey, and keeps everything across a restart", async () => {
		const metricsPort = await freePort();
		const first = await start({ METRICS_PORT: String(metricsPort) });
		expect(first.startedIn).toBeLessThan(10_000);
		const metrics = await waitUntil(async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
		expect(metrics).toMatch(/^moleculer_broker_middlewares_total/m); // Prometheus text format
		expect(first.proc.output()).not.toMatch(/transporter|NATS|mongo/i);

		// The bootstrap admin, with a generated password printed once.
		const generated = await waitUntil(async () => /Generated password \(shown once\): (\S+)/.exec(first.proc.output())?.[1]);
		expect((await first.http.post("/auth/signin", { email: "ops@example.com", password: generated })).status).toBe(200);

		expect((await first.http.post("/auth/signup", { email: "keeper@example.com", acceptTerms: true })).status).toBe(202);
		const token = linkToken(await mail.waitFor("keeper@example.com", /Activate/), "/activate");
		const activated = await first.http.post("/auth/activate", { token, password: PASSWORD });
		expect(activated.status).toBe(200);
		const id = activated.body.account.id;

		expect(await first.proc.stop()).toBe(0); // graceful
		// One SQLite database per service; a clean stop checkpoints and removes the WAL.
		expect(readdirSync(dataDir)).toEqual(expect.arrayContaining(["accounts.sqlite", "auth.sqlite", "notifications.sqlite", "billing.sqlite"]));
		expect(readdirSync(dataDir).filter(f => f.endsWith("-wal"))).toEqual([]);

		const second = await start();
		const session = await second.http.post("/auth/signin", { email: "keeper@example.com", password: PASSWORD });
		expect(session.status).toBe(200);
		const me = await second.http.get("/account", { token: session.body.session });
		expect(me.body).toMatchObject({ id, email: "keeper@example.com", status: "active", group: "trial" });
		// The used link stays used, the admin is not created again and its password still works.
		expect((await second.http.post("/auth/activate", { token, password: PASSWORD })).body.type).toBe("LINK_INVALID");
		expect((await second.http.post("/auth/signin", { email: "ops@example.com", password: generated })).status).toBe(200);
		expect(second.proc.output()).not.toContain("Generated password");
		expect(await second.proc.stop()).toBe(0);
		running = undefined;
	});

	it("answers /ready only once the bootstrap admin can sign in (issue 14, item 9)", async () => {
		const port = await freePort();
		const dir = mkdtempSync(join(tmpdir(), "qm-ready-"));
		const password = "Ready-means-r3ady!";
		const proc = spawnQm("platform", {
			PORT: String(port),
			DATA_DIR: dir,
			SMTP_URL: mail.url,
			QM_ADMIN_EMAIL: "first@example.com",
			QM_ADMIN_PASSWORD: password,
		});
		try {
			const base = `http://127.0.0.1:${port}`;
			await waitUntil(async () => (await fetch(`${base}/ready`).catch(() => null))?.status === 200, 20_000, 10);
			// The first request after the first 200: the admin exists, the groups and pricing too.
			expect((await api(`${base}/api/v1`).post("/auth/signin", { email: "first@example.com", password })).status).toBe(200);
		} finally {
			await proc.stop("SIGKILL");
			rmSync(dir, { recursive: true, force: true });
		}
	});

	it("npm start on a built checkout: up within about 2 s, one line with the URL and the administrator, no route table (issue 14, item 14)", async () => {
		// Built, and nothing changed since: prestart finds nothing to compile.
		expect(spawnSync(process.execPath, [join(ROOT, "scripts", "build-if-stale.js")], { cwd: ROOT }).status).toBe(0);
		const stamp = join(ROOT, "dist", ".build-stamp");
		const builtAt = statSync(stamp).mtimeMs;
		const port = await freePort();
		const dir = mkdtempSync(join(tmpdir(), "qm-npm-start-"));
		const t0 = Date.now();
		const npm = spawn("npm", ["start"], {
			cwd: ROOT,
			env: { ...process.env, PORT: String(port), DATA_DIR: dir, SMTP_URL: mail.url, QM_ADMIN_EMAIL: "ops@example.com", LOG_LEVEL: "info", BCRYPT_COST: "4" },
			stdio: ["ignore", "pipe", "pipe"],
			detached: true, // its own process group: npm and node stop together
		});
		let out = "";
		npm.stdout!.on("data", d => (out += d));
		npm.stderr!.on("data", d => (out += d));
		try {
			await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.status === 200, 15_000, 20);
			const startedIn = Date.now() - t0;
			// About 1-2 s on an idle machine; room for a loaded CI runner. What proves no compile ran is the stamp below.
			expect(startedIn).toBeLessThan(6_000);
			const line = await waitUntil(async () => out.split("\n").find(l => l.includes("Quartermaster is up:")));
			expect(line).toContain(`http://localhost:${port}/api/v1`);
			expect(line).toContain("administrator: ops@example.com");
			expect(out).not.toMatch(/=> accounts\.signup/); // the route table is at debug level
			expect(statSync(stamp).mtimeMs).toBe(builtAt); // nothing was compiled
		} finally {
			process.kill(-npm.pid!, "SIGKILL");
			rmSync(dir, { recursive: true, force: true });
		}
	});
});
