// Moved here from test/e2e/account-security.test.ts (issue 15): "even when the job runs twice at
// once" means two runs of the job's handler side by side, as two replicas could. Through the front
// door (POST /admin/jobs/auth.password-expiry/run, or `auth.runJob`) the job lease refuses the
// second run, so that case cannot be reached there; it calls the auth service's handler directly.
import { nowMs } from "../../lib/clock";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const DAY = 86_400_000;

describe("password expiry notices (PWD-2)", () => {
	let p: Platform;
	const setClock = (ms: number) => p.broker.call("clock.set", { now: new Date(ms).toISOString() });
	const outbox = async (to: string) =>
		((await p.broker.call("notifications.adminOutbox", { to, pageSize: 100 })) as { rows: { template: string; subject: string }[] }).rows;

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_TEST_CLOCK: "1" } });
	});
	afterAll(() => p?.stop());

	it("sends the expiry notices at 14, 7, 3 and 1 days once each, even when the job runs twice at once", async () => {
		const E = { email: "expiring@example.com", password: "Countdown-passw0rd!" };
		const t0 = nowMs() + 30 * DAY;
		await setClock(t0);
		await createAccount(p, E.email, E.password);
		const auth = p.broker.getLocalService("auth") as unknown as { schema: { jobs: Record<string, { handler(ctx: unknown): Promise<number> }> } };
		const jobCtx = () => p.broker.ContextFactory.create(p.broker, null as never, {}, {});
		const runTwiceAtOnce = () =>
			Promise.all([auth.schema.jobs["password-expiry"].handler.call(auth, jobCtx()), auth.schema.jobs["password-expiry"].handler.call(auth, jobCtx())]);
		// A quarter of an hour past each notice day: the platform clock keeps running after it is set, so a run
		// exactly on the boundary could fall on either side of it by the milliseconds the test takes.
		for (const day of [100, 166.01, 166.5, 170, 173.01, 175, 177.01, 178, 179.01, 179.5]) {
			await setClock(t0 + day * DAY);
			await runTwiceAtOnce();
			expect((await p.broker.call("auth.runJob", { job: "password-expiry" })) as { processed: number }).toMatchObject({ processed: 0 });
		}
		const notices = (await outbox(E.email)).filter(m => m.template === "password-expiry").map(m => m.subject);
		expect(notices.sort()).toEqual(
			["Your password expires in 14 days", "Your password expires in 3 days", "Your password expires in 7 days", "Your password expires tomorrow"].sort(),
		);
		const signin = await p.http.post("/auth/signin", E);
		expect(signin.status).toBe(200);
		const feed = await p.http.get("/account/notifications", { token: signin.body.session });
		expect(feed.body.rows.filter((n: { title: string }) => n.title.startsWith("Password expires"))).toHaveLength(4);
	});
});
