// The account status lifecycle through the test clock (ACC-2, ACC-3, STS-1…STS-6): trial reminders,
// deactivation at day 14 stopping (and remembering) running environments, reactivation starting
// exactly those, destruction after the destroy period, and admin suspension closing sessions and
// tokens at once. Each change is recorded and emailed once, even when jobs run twice.
import type { Context, ServiceSchema } from "moleculer";
import { nowMs } from "../../lib/clock";
import { waitUntil } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "root@example.com", password: "Status-adm1n-pass!" };
const DAY = 86_400_000;
const node = { layer: "cp", type: "nginx", reservedCloudlets: 1, scalingLimit: 2 };

describe("account status lifecycle", () => {
	let p: Platform;
	const events: { event: string; id: string }[] = [];
	const listener: ServiceSchema = {
		name: "test-orchestrator",
		events: {
			"environments.*"(ctx: Context<{ id: string }>) {
				events.push({ event: String(ctx.eventName), id: ctx.params.id });
			},
		},
	};
	const setClock = (ms: number) => p.broker.call("gateway.setClock", { now: new Date(ms).toISOString() });
	const runJob = (name: string) => p.broker.call("gateway.runJob", { name });
	const admin = () => p.http.post("/auth/signin", ADMIN).then(r => r.body.session as string);
	const mails = async (to: string, template: string) =>
		((await p.broker.call("notifications.adminOutbox", { to, pageSize: 100 })) as { rows: { template: string; subject: string }[] }).rows.filter(
			m => m.template === template,
		);

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_TEST_CLOCK: "1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password }, extra: [listener] });
		await waitUntil(async () => (await p.http.post("/auth/signin", ADMIN)).status === 200);
	});
	afterAll(() => p?.stop());

	it("reminds, deactivates a trial at day 14 keeping its stopped environments stopped, restarts only the remembered ones, and destroys it after 30 days", async () => {
		const t0 = nowMs();
		const user = { email: "trialist@example.com", password: "Fourteen-days-1!" };
		const account = await createAccount(p, user.email, user.password);
		let session = (await p.http.post("/auth/signin", user)).body.session;
		const envs = [];
		for (const name of ["web", "db", "idle"]) envs.push((await p.http.post("/environments", { name, nodes: [node] }, { token: session })).body);
		expect((await p.http.post(`/environments/${envs[2].id}/stop`, {}, { token: session })).status).toBe(200);

		// Reminders say the days left, to the nearest day (lib/reminders.ts): 5.8 → 6, 2.8 → 3, 0.8 → tomorrow.
		for (const day of [7, 8.2, 11.2, 12, 13.2, 13.5]) {
			await setClock(t0 + day * DAY);
			await runJob("accounts.trial-expiry");
			await runJob("accounts.trial-expiry");
		}
		expect((await mails(user.email, "trial-reminder")).map(m => m.subject).sort()).toEqual([
			"Your trial ends in 3 days",
			"Your trial ends in 6 days",
			"Your trial ends tomorrow",
		]);

		await setClock(t0 + 14 * DAY + 60_000);
		events.length = 0;
		await runJob("accounts.trial-expiry");
		await runJob("accounts.trial-expiry");
		session = (await p.http.post("/auth/signin", user)).body.session; // a day later the old session is gone; deactivated accounts still sign in
		expect((await p.http.get("/account", { token: session })).body.status).toBe("deactivated");
		expect(
			events
				.filter(e => e.event === "environments.stopped")
				.map(e => e.id)
				.sort(),
		).toEqual([envs[0].id, envs[1].id].sort());
		const history = (await p.http.get("/account/status-history", { token: session })).body.rows;
		expect(history).toEqual([expect.objectContaining({ from: "active", to: "deactivated", reason: "trial period ended", actor: "system" })]);
		expect(await mails(user.email, "account-status")).toHaveLength(1);

		// The provider reactivates it (an upgrade does the same): exactly the remembered ones start.
		events.length = 0;
		const r = await p.http.post(`/admin/accounts/${account.id}/status`, { status: "active", reason: "goodwill" }, { token: await admin() });
		expect(r.status).toBe(200);
		expect(
			events
				.filter(e => e.event === "environments.started")
				.map(e => e.id)
				.sort(),
		).toEqual([envs[0].id, envs[1].id].sort());
		expect((await p.http.get(`/environments/${envs[2].id}`, { token: session })).body.status).toBe("stopped");

		// Deactivated again, then left for the destroy period.
		await p.http.post(`/admin/accounts/${account.id}/status`, { status: "deactivated", reason: "unpaid" }, { token: await admin() });
		for (const day of [20, 23.5, 24, 29.2, 29.5]) {
			await setClock(t0 + 14 * DAY + day * DAY);
			expect(await runJob("accounts.destroy")).toMatchObject({ processed: 0 });
			await runJob("accounts.destroy");
		}
		expect((await mails(user.email, "destroy-warning")).map(m => m.subject).sort()).toEqual([
			"Your account will be destroyed in 7 days",
			"Your account will be destroyed tomorrow",
		]);
		await setClock(t0 + 14 * DAY + 31 * DAY);
		expect(await runJob("accounts.destroy")).toMatchObject({ processed: 1 });
		expect(await runJob("accounts.destroy")).toMatchObject({ processed: 0 });
		session = (await p.http.post("/auth/signin", user)).body.session; // destroyed accounts may sign in (STS-1)
		expect((await p.http.get("/account", { token: session })).body.status).toBe("destroyed");
		expect((await p.http.get("/environments", { token: session })).body.total).toBe(0);
		expect((await mails(user.email, "account-status")).map(m => m.subject).sort()).toEqual(
			["Your account is active", "Your account is deactivated", "Your account is deactivated", "Your account is destroyed"].sort(),
		);

		// PAY-5: a refill brings a destroyed account back, with no environments.
		const funded = await p.http.post(
			`/admin/accounts/${account.id}/fund`,
			{ amount: "5.00", note: "came back" },
			{ token: await admin(), headers: { "idempotency-key": "comeback-1" } },
		);
		expect(funded.status).toBe(201);
		await waitUntil(async () => (await p.http.get("/account", { token: session })).body.status === "active", 1000);
		expect((await p.http.get("/environments", { token: session })).body.total).toBe(0);
	});

	it("suspends an account: its sessions and tokens are refused within a second; activation lets it back in", async () => {
		const user = { email: "rulebreaker@example.com", password: "Terms-of-service-1!" };
		const account = await createAccount(p, user.email, user.password);
		const session = (await p.http.post("/auth/signin", user)).body.session;
		const token = (await p.http.post("/tokens", { password: user.password, description: "ci", template: "extended-access" }, { token: session })).body.token;
		expect((await p.http.get("/account", { token })).status).toBe(200);

		const t = Date.now();
		expect(
			(await p.http.post(`/admin/accounts/${account.id}/status`, { status: "suspended", reason: "terms violation" }, { token: await admin() })).status,
		).toBe(200);
		await waitUntil(
			async () => (await p.http.get("/account", { token })).status === 401 && (await p.http.get("/account", { token: session })).status === 401,
			1000,
			20,
		);
		expect(Date.now() - t).toBeLessThan(1000);
		expect((await p.http.post("/auth/signin", user)).body.type).toBe("ACCOUNT_SUSPENDED");

		await p.http.post(`/admin/accounts/${account.id}/status`, { status: "active", reason: "appeal accepted" }, { token: await admin() });
		expect((await p.http.post("/auth/signin", user)).status).toBe(200);
		expect((await p.http.get("/account", { token })).status).toBe(200);
	});

	it("grants the trial bonus once, however often activation, the event and the trial job ask (ACC-2)", async () => {
		const u = await createAccount(p, "bonus-once@example.com", "Ten-dollars-only-1!");
		await Promise.all([p.broker.call("billing.grantTrialBonus", { accountId: u.id }), p.broker.call("billing.grantTrialBonus", { accountId: u.id })]);
		await runJob("accounts.trial-expiry");
		const session = (await p.http.post("/auth/signin", { email: "bonus-once@example.com", password: "Ten-dollars-only-1!" })).body.session;
		expect((await p.http.get("/billing/balance", { token: session })).body).toMatchObject({ main: "0.00", bonus: "10.00" });
		expect((await p.http.get("/billing/transactions?kind=bonus", { token: session })).body.total).toBe(1);
	});

	it("refuses bad admin status requests", async () => {
		const user = await createAccount(p, "bystander@example.com", "Just-passing-by-1!");
		const session = (await p.http.post("/auth/signin", { email: "bystander@example.com", password: "Just-passing-by-1!" })).body.session;
		const a = await admin();
		expect((await p.http.post(`/admin/accounts/${user.id}/status`, { status: "frozen", reason: "x" }, { token: a })).body.data[0].field).toBe("status");
		expect((await p.http.post(`/admin/accounts/${user.id}/status`, { status: "suspended" }, { token: a })).body.data[0].field).toBe("reason");
		expect((await p.http.post(`/admin/accounts/${user.id}/status`, { status: "active", reason: "x" }, { token: a })).body.type).toBe("INVALID_STATE");
		expect((await p.http.post("/admin/accounts/nobody/status", { status: "suspended", reason: "x" }, { token: a })).status).toBe(404);
		expect((await p.http.post(`/admin/accounts/${user.id}/status`, { status: "suspended", reason: "x" }, { token: session })).status).toBe(403);
		expect((await p.http.get("/account", { token: session })).body.status).toBe("active");
	});
});
