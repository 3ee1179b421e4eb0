// Sessions end by idle (2 h) and absolute (24 h) timeouts on the platform clock (REG-4), and
// notifications are sent once per dedup key and retried until the mail server takes them (NTF-1).
import { startMailServer } from "../helpers/mail";
import { startPlatform, type Platform } from "../helpers/platform";
import { waitUntil } from "../helpers/http";
import { freePort } from "../helpers/processes";

const ADMIN = { email: "admin@example.com", password: "Sessions-adm1n-pass!" };
const HOUR = 3_600_000;

describe("session timeouts", () => {
	let p: Platform;
	let t0: number;
	const at = (ms: number) => p.broker.call("clock.set", { now: new Date(t0 + ms).toISOString() });
	const signIn = async () => (await p.http.post("/auth/signin", ADMIN)).body.session as string;

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_TEST_CLOCK: "1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		await waitUntil(async () => (await p.http.post("/auth/signin", ADMIN)).status === 200);
	});
	afterAll(() => p?.stop());
	beforeEach(() => {
		t0 = Date.now() + 10 * 24 * HOUR * Math.random(); // each test on its own stretch of time
	});

	it("ends a session left alone for two hours", async () => {
		await at(0);
		const s = await signIn();
		await at(2 * HOUR - 60_000);
		expect((await p.http.get("/account", { token: s })).status).toBe(200);
		await at(4 * HOUR - 120_000); // active a minute before: still within two idle hours
		expect((await p.http.get("/account", { token: s })).status).toBe(200);
		await at(6 * HOUR);
		const r = await p.http.get("/account", { token: s });
		expect(r.status).toBe(401);
		expect(r.body.type).toBe("SESSION_EXPIRED");
		expect((await p.http.get("/account", { token: s })).body.type).toBe("UNAUTHORIZED"); // and it is gone
	});

	it("ends a session after 24 hours however active it is", async () => {
		await at(0);
		const s = await signIn();
		for (let h = 1; h < 24; h++) {
			await at(h * HOUR);
			expect((await p.http.get("/account", { token: s })).status).toBe(200);
		}
		await at(24 * HOUR + 60_000);
		expect((await p.http.get("/account", { token: s })).body.type).toBe("SESSION_EXPIRED");
	});

	it("cleans expired sessions out of the store with the sessions-cleanup job", async () => {
		await at(0);
		await signIn();
		await signIn();
		await at(30 * HOUR);
		const fresh = await signIn();
		const job = (await p.broker.call("auth.runJob", { job: "sessions-cleanup" })) as { processed: number };
		expect(job.processed).toBeGreaterThanOrEqual(2);
		expect((await p.http.get("/account", { token: fresh })).status).toBe(200);
	});
});

describe("notification delivery", () => {
	let p: Platform;
	let mail: Awaited<ReturnType<typeof startMailServer>>;
	const send = (dedupKey: string, to = "reader@example.com") =>
		p.broker.call("notifications.send", {
			template: "welcome",
			to,
			accountId: "acc-1",
			dedupKey,
			data: { name: "Reader", signinLink: "https://x.test/signin" },
		});

	beforeAll(async () => {
		mail = await startMailServer();
	});
	afterAll(async () => {
		await p?.stop();
		await mail.close();
	});

	it("sends once per dedup key, also when asked twice at the same moment", async () => {
		p = await startPlatform({ services: ["notifications"], env: { SMTP_URL: mail.url, QM_TEST_CLOCK: "1" } });
		const answers = await Promise.all([send("welcome:acc-1"), send("welcome:acc-1"), send("welcome:acc-1")]);
		expect(answers.filter(a => !(a as { duplicate: boolean }).duplicate)).toHaveLength(1);
		await mail.waitFor("reader@example.com", /ready/);
		await new Promise(r => setTimeout(r, 200));
		expect(mail.messages.filter(m => m.to === "reader@example.com")).toHaveLength(1);
		const feed = (await p.broker.call("notifications.list", {}, { meta: { user: { id: "acc-1" } } })) as { total: number };
		expect(feed.total).toBe(1);
		await p.stop();
	});

	it("keeps an email the mail server refused and delivers it on a later run of the deliver job", async () => {
		const port = await freePort(); // nothing listens there yet
		p = await startPlatform({ services: ["notifications"], env: { SMTP_URL: `smtp://127.0.0.1:${port}`, QM_TEST_CLOCK: "1" } });
		await send("retry:1", "patient@example.com");
		const outbox = async () =>
			((await p.broker.call("notifications.adminOutbox", { to: "patient@example.com" })) as { rows: { status: string; attempts: number }[] }).rows[0];
		await waitUntil(async () => (await outbox())?.status === "retrying");
		expect((await outbox()).attempts).toBe(1);

		const late = await startMailServer(port);
		try {
			// Not before its backoff (1 minute after the first attempt)…
			expect(await p.broker.call("notifications.runJob", { job: "deliver" })).toEqual({ job: "notifications.deliver", processed: 0 });
			await p.broker.call("clock.set", { now: new Date(Date.now() + 2 * 60_000).toISOString() });
			// …then once, and never again.
			expect(await p.broker.call("notifications.runJob", { job: "deliver" })).toEqual({ job: "notifications.deliver", processed: 1 });
			expect(await p.broker.call("notifications.runJob", { job: "deliver" })).toEqual({ job: "notifications.deliver", processed: 0 });
			await late.waitFor("patient@example.com", /ready/);
			expect(await outbox()).toMatchObject({ status: "sent", attempts: 2 });
			expect(late.messages).toHaveLength(1);
		} finally {
			await late.close();
		}
	});
});
