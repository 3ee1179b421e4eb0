// Issue 14 item 10 (MTR-2): metering never skips the first hours. On a new platform it closes
// from the earliest of the first environment, the first sample and its own first run: the hours
// an environment ran before close-hours first ran are charged like any other.
import { signInWhenReady } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "first-hours@example.com", password: "First-h0urs-admin!" };
const USER = { email: "early@example.com", password: "Pays-by-the-h0ur!" };
const HOUR = 3_600_000;
const T0 = Date.parse("2026-12-01T08:30:00Z");
const hourText = (ms: number) => new Date(ms).toISOString().slice(0, 13).replace("T", " ");

describe("the first hours of a new platform", () => {
	let p: Platform;
	afterAll(() => p?.stop());

	it("charges every hour an environment existed before close-hours first ran", async () => {
		p = await startPlatform({ env: { QM_TEST_CLOCK: "1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		const setClock = (ms: number) => p.broker.call("gateway.setClock", { now: new Date(ms).toISOString() });
		const runJob = (name: string) => p.broker.call<{ processed: number }, { name: string }>("gateway.runJob", { name });
		await setClock(T0);
		const admin = await signInWhenReady(p.http, ADMIN);
		const account = await createAccount(p, USER.email, USER.password);
		await p.http.post(`/admin/accounts/${account.id}/group`, { group: "billing" }, { token: admin });
		const funded = await p.http.post(`/admin/accounts/${account.id}/fund`, { amount: "50", note: "prepaid" }, { token: admin, headers: { "Idempotency-Key": "first-hours-fund" } });
		expect(funded.status).toBe(201);
		const signIn = async () => (await p.http.post("/auth/signin", USER)).body.session as string;
		const env = await p.http.post("/environments", { name: "early", nodes: [{ layer: "cp", type: "tomcat", reservedCloudlets: 2, scalingLimit: 4 }] }, { token: await signIn() });
		expect(env.status).toBe(201);

		// close-hours runs for the first time at 11:10: hours 08, 09 and 10 are past their grace.
		await setClock(Date.parse("2026-12-01T11:10:00Z"));
		await runJob("metering.close-hours");
		await runJob("billing.charge");
		const rows = (await p.http.get("/billing/transactions?pageSize=100", { token: await signIn() })).body.rows as { kind: string; description: string; envId?: string }[];
		const charged = rows.filter(r => r.kind === "charge" && r.envId === env.body.id).map(r => r.description);
		for (const hour of [Date.parse("2026-12-01T08:00:00Z"), Date.parse("2026-12-01T09:00:00Z"), Date.parse("2026-12-01T10:00:00Z")])
			expect(charged.filter(d => d.includes(hourText(hour)))).toHaveLength(1);
		expect(charged).toHaveLength(3);
		expect(charged.some(d => d.includes(hourText(T0 + 3 * HOUR)))).toBe(false); // 11:00 is still open
	});
});
