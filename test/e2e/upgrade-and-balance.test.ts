// Upgrade (ACC-4) and money-driven statuses (STS-2, STS-3): a trial's 6th environment is refused
// until upgrade + first fund lift the limits; a deactivated trial that upgrades and pays comes back
// with exactly its remembered environments; a billing account charged below its minimum balance is
// deactivated at once, and funded above it is active again.
import { nowMs } from "../../lib/clock";
import { waitUntil } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "root@example.com", password: "Upgrade-adm1n-pass!" };
const DAY = 86_400_000;
const node = { layer: "cp", type: "nginx", reservedCloudlets: 1, scalingLimit: 2 };
const INFO = {
	firstName: "Grace",
	lastName: "Hopper",
	country: "US",
	state: "VA",
	address: "1 Navy Way",
	city: "Arlington",
	postalCode: "22202",
	phone: "+1 703 555 0100",
};

describe("upgrade and balance-driven status", () => {
	let p: Platform;
	let keyCount = 0;
	const admin = () => p.http.post("/auth/signin", ADMIN).then(r => r.body.session as string);
	const fund = async (id: string, amount: string) =>
		p.http.post(`/admin/accounts/${id}/fund`, { amount, note: "test" }, { token: await admin(), headers: { "idempotency-key": `fund-${++keyCount}` } });
	const charge = async (id: string, amount: string) =>
		p.http.post(
			`/admin/accounts/${id}/charge`,
			{ amount, description: "test" },
			{ token: await admin(), headers: { "idempotency-key": `charge-${++keyCount}` } },
		);
	async function user(email: string) {
		const password = "Paying-customer-1!";
		const account = await createAccount(p, email, password);
		return { ...account, email, password, session: (await p.http.post("/auth/signin", { email, password })).body.session as string };
	}
	const me = (session: string) => p.http.get("/account", { token: session }).then(r => r.body);

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_TEST_CLOCK: "1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		await waitUntil(async () => (await p.http.post("/auth/signin", ADMIN)).status === 200);
	});
	afterAll(() => p?.stop());

	it("keeps a trial to 5 environments until upgrade and first fund; bad billing info changes nothing", async () => {
		const u = await user("growing@example.com");
		for (let i = 0; i < 5; i++) expect((await p.http.post("/environments", { name: `e${i}`, nodes: [node] }, { token: u.session })).status).toBe(201);
		expect((await p.http.post("/environments", { name: "e5", nodes: [node] }, { token: u.session })).body.data).toEqual({
			quota: "environment.maxcount",
			limit: 5,
			requested: 6,
		});

		const bad = await p.http.post("/account/upgrade", { billingInfo: { ...INFO, postalCode: "2220" }, acceptTerms: true }, { token: u.session });
		expect(bad.status).toBe(422);
		expect(bad.body.data.map((e: { field: string }) => e.field)).toEqual(["billingInfo.postalCode"]);
		expect(
			(await p.http.post("/account/upgrade", { billingInfo: { ...INFO, state: undefined }, acceptTerms: true }, { token: u.session })).body.data[0].field,
		).toBe("billingInfo.state");
		expect((await p.http.post("/account/upgrade", { billingInfo: { ...INFO, vatId: "x" }, acceptTerms: true }, { token: u.session })).body.data[0].field).toBe(
			"billingInfo.vatId",
		);
		expect((await me(u.session)).upgrade.state).toBe("none");

		const up = await p.http.post("/account/upgrade", { billingInfo: INFO, acceptTerms: true }, { token: u.session });
		expect(up.status).toBe(200);
		expect(up.body.account).toMatchObject({ group: "trial", upgrade: { state: "pending" } });
		expect((await p.http.post("/environments", { name: "e5", nodes: [node] }, { token: u.session })).status).toBe(422); // still pending

		expect((await fund(u.id, "20.00")).status).toBe(201);
		await waitUntil(async () => (await me(u.session)).group === "billing", 1000);
		expect(await me(u.session)).toMatchObject({ type: "billing", upgrade: { state: "done" } });
		expect((await p.http.post("/environments", { name: "e5", nodes: [node] }, { token: u.session })).status).toBe(201);
		// The billing group's limits: SSL, public IPs, bigger nodes and more of them.
		const big = await p.http.post(
			"/environments",
			{ name: "big", ssl: true, nodes: [{ ...node, count: 3, scalingLimit: 16, publicIPv4: 1 }] },
			{ token: u.session },
		);
		expect(big.status).toBe(201);
		expect((await p.http.post("/account/upgrade", { billingInfo: INFO, acceptTerms: true }, { token: u.session })).body.type).toBe("INVALID_STATE");
	});

	it("brings a deactivated trial back on upgrade + fund, starting exactly its remembered environments", async () => {
		const t0 = nowMs();
		const u = await user("lapsed-trial@example.com");
		const running = (await p.http.post("/environments", { name: "live", nodes: [node] }, { token: u.session })).body;
		const idle = (await p.http.post("/environments", { name: "idle", nodes: [node] }, { token: u.session })).body;
		await p.http.post(`/environments/${idle.id}/stop`, {}, { token: u.session });
		await p.broker.call("gateway.setClock", { now: new Date(t0 + 15 * DAY).toISOString() });
		await p.broker.call("gateway.runJob", { name: "accounts.trial-expiry" });
		const session = (await p.http.post("/auth/signin", { email: u.email, password: u.password })).body.session;
		expect((await me(session)).status).toBe("deactivated");

		await p.http.post("/account/upgrade", { billingInfo: INFO, acceptTerms: true }, { token: session });
		await fund(u.id, "15.00");
		await waitUntil(async () => (await me(session)).status === "active", 1000);
		// The status is written first, then its environments are started (a crash between leaves
		// an active account with environments to start, never a deactivated one running them).
		const envStatus = async (id: string) => (await p.http.get(`/environments/${id}`, { token: session })).body.status;
		await waitUntil(async () => (await envStatus(running.id)) === "running", 2000);
		expect(await envStatus(idle.id)).toBe("stopped");
	});

	it("converts at once when the provider does not wait for the first fund", async () => {
		const u = await user("instant@example.com");
		await p.http.call("PUT", `/admin/accounts/${u.id}/quotas/account.convert.after.first.fund.enabled`, { token: await admin(), body: { value: 0 } });
		const up = await p.http.post(
			"/account/upgrade",
			{ billingInfo: { ...INFO, country: "DE", state: undefined, postalCode: "10115" }, acceptTerms: true },
			{ token: u.session },
		);
		expect(up.body.account).toMatchObject({ group: "billing", type: "billing", upgrade: { state: "done" } });
	});

	it("deactivates a billing account charged below its minimum balance at once, and reactivates it when funded", async () => {
		const u = await user("spender@example.com");
		await p.http.call("PUT", `/admin/accounts/${u.id}/quotas/account.convert.after.first.fund.enabled`, { token: await admin(), body: { value: 0 } });
		await p.http.post("/account/upgrade", { billingInfo: INFO, acceptTerms: true }, { token: u.session });
		await fund(u.id, "5.00");
		const env = (await p.http.post("/environments", { name: "app", nodes: [node] }, { token: u.session })).body;
		expect((await me(u.session)).status).toBe("active");

		// The trial bonus (10.00) goes first (BIL-3): 17.50 leaves main at -2.50.
		await charge(u.id, "17.50");
		await waitUntil(async () => (await me(u.session)).status === "deactivated", 1000);
		await waitUntil(async () => (await p.http.get(`/environments/${env.id}`, { token: u.session })).body.status === "stopped", 2000);
		expect((await p.http.get("/billing/balance", { token: u.session })).body.main).toBe("-2.50");

		await fund(u.id, "10.00");
		await waitUntil(async () => (await me(u.session)).status === "active", 1000);
		await waitUntil(async () => (await p.http.get(`/environments/${env.id}`, { token: u.session })).body.status === "running", 2000);
	});
});
