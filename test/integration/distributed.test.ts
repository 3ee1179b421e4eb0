// Distributed mode over real NATS: every service in a process of its own, joined by TRANSPORTER —
// the whole journey over HTTP, and a restart of one service in the middle of it.
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { ALL_SERVICES } from "../../services";
import { api, waitUntil, type Api } from "../helpers/http";
import { linkToken, startMailServer } from "../helpers/mail";
import { ownDatabase } from "../helpers/platform";
import { assertNatsListening, deleteUsageStream, freePort, natsUrl, spawnQm, type QmProcess } from "../helpers/processes";

const ADMIN = { email: "ops@example.com", password: "Distributed-adm1n!" };
const PASSWORD = "Over-NATS-pa55word";

describe("distributed over NATS", () => {
	let mail: Awaited<ReturnType<typeof startMailServer>>;
	let dataDir: string;
	let env: Record<string, string>;
	const procs: Record<string, QmProcess> = {};
	let http: Api;
	let base: string;

	const start = (service: string) => (procs[service] = spawnQm(service, { ...env, SERVICES: service, NODE_ID: `${service}-${process.pid}` }));

	beforeAll(async () => {
		await assertNatsListening();
		mail = await startMailServer();
		dataDir = mkdtempSync(join(tmpdir(), "qm-dist-"));
		const port = await freePort();
		env = {
			TRANSPORTER: natsUrl(),
			NAMESPACE: `qm-dist-${process.pid}-${Date.now()}`, // apart from any other run on this NATS
			DATA_DIR: dataDir,
			SMTP_URL: mail.url,
			PORT: String(port),
			PUBLIC_URL: "https://qm.example.test",
			QM_ADMIN_EMAIL: ADMIN.email,
			QM_ADMIN_PASSWORD: ADMIN.password,
			QM_MASTER_KEY: Buffer.alloc(32, 7).toString("base64"),
			...ownDatabase("distributed"), // the MongoDB leg: every process on one database, as in production
		};
		for (const s of Object.keys(ALL_SERVICES)) start(s); // one process per service
		base = `http://127.0.0.1:${port}`;
		http = api(`${base}/api/v1`);
		// Thirteen Node processes loading the platform at once: on 2 shared cores that takes 10-25 s.
		await waitUntil(async () => (await fetch(`${base}/ready`)).status === 200, 60_000, 100);
	}, 90_000);

	afterAll(async () => {
		await Promise.all(Object.values(procs).map(p => p.stop("SIGKILL")));
		if (env) await deleteUsageStream(env.NAMESPACE);
		await mail?.close();
		rmSync(dataDir, { recursive: true, force: true });
	});

	it("runs the sign-up journey across one process per service", async () => {
		expect((await fetch(`${base}/health`)).status).toBe(200);
		expect((await http.post("/auth/signup", { email: "remote@example.com", acceptTerms: true, name: "Remote" })).status).toBe(202);
		const token = linkToken(await mail.waitFor("remote@example.com", /Activate/), "/activate");
		expect(token).toBeTruthy();

		const activated = await http.post("/auth/activate", { token, password: PASSWORD });
		expect(activated.status).toBe(200);
		await mail.waitFor("remote@example.com", /ready/);

		const signin = await http.post("/auth/signin", { email: "remote@example.com", password: PASSWORD });
		expect(signin.status).toBe(200);
		const session = signin.body.session;
		const me = await http.get("/account", { token: session });
		expect(me.body).toMatchObject({ email: "remote@example.com", type: "trial", status: "active", group: "trial", twoFactorEnabled: false });

		const feed = await http.get("/account/notifications", { token: session });
		expect(feed.body.rows.map((n: { title: string }) => n.title)).toEqual(["Welcome!"]);

		// An hourly history is a stream of text: it crosses from the billing process to the gateway's in chunks, with its type.
		const period = `from=${new Date(Date.now() - 86_400_000).toISOString()}&to=${new Date().toISOString()}&interval=HOUR`;
		const hourly = await http.get(`/billing/history?${period}`, { token: session });
		expect(hourly.headers.get("content-type")).toMatch(/application\/json/);
		expect(hourly.body).toMatchObject({ interval: "HOUR", intervals: [], currency: expect.any(String) });
		const csv = await http.get(`/billing/history?${period}&format=csv`, { token: session });
		expect(csv.headers.get("content-type")).toMatch(/text\/csv/);
		expect(csv.text).toMatch(/^intervalStart,intervalEnd,.*\ntotal,/s);

		// Validation errors cross the wire with their fields.
		const bad = await http.patch("/account", { role: "admin" }, { token: session });
		expect(bad.status).toBe(422);
		expect(bad.body.data).toEqual([{ field: "role", message: expect.any(String) }]);

		// The bootstrap admin came up although auth and accounts started in any order.
		const admin = await waitUntil(async () => {
			const r = await http.post("/auth/signin", ADMIN);
			return r.status === 200 && r.body.session;
		});
		const outbox = await http.get("/admin/outbox?to=remote@example.com", { token: admin });
		expect(outbox.body.rows.map((m: { template: string }) => m.template).sort()).toEqual(["activation", "welcome"]);

		expect((await http.post("/auth/signout", undefined, { token: session })).status).toBe(204);
		expect((await http.get("/account", { token: session })).status).toBe(401);
	});

	it("answers 503 while a service is down and recovers when it is back", async () => {
		expect(await procs.auth.stop()).toBe(0);
		await waitUntil(async () => (await fetch(`${base}/ready`)).status === 503, 10_000);
		const down = await http.post("/auth/signin", { email: "remote@example.com", password: PASSWORD });
		expect(down.status).toBe(503);
		expect(down.body.type).toBe("SERVICE_UNAVAILABLE");

		start("auth");
		await waitUntil(async () => (await fetch(`${base}/ready`)).status === 200, 20_000, 100);
		expect((await http.post("/auth/signin", { email: "remote@example.com", password: PASSWORD })).status).toBe(200);
	});

	it("keeps passwords and tokens out of every process's log", () => {
		const logs = Object.values(procs)
			.map(p => p.output())
			.join("\n");
		expect(logs).toContain("ServiceBroker with");
		for (const secret of [PASSWORD, ADMIN.password]) expect(logs).not.toContain(secret);
		expect(logs).not.toMatch(/qm_ses_[A-Za-z0-9_-]{20}/);
		expect(logs).not.toMatch(/\$2[aby]\$\d\d\$/);
	});
});
