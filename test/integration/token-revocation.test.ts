// PAT-3 across nodes: a second gateway, in another broker joined over real NATS, caches a token
// and drops it within a second when the token is regenerated or deleted elsewhere.
import { waitUntil } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";
import { assertNatsListening, natsUrl } from "../helpers/processes";

describe("token revocation reaches every gateway over NATS", () => {
	let main: Platform;
	let edge: Platform;
	const user = { email: "ops@example.com", password: "Pipeline-owner-7!" };

	beforeAll(async () => {
		await assertNatsListening();
		const env = { TRANSPORTER: natsUrl(), NAMESPACE: `qm-revoke-${process.pid}-${Date.now()}`, QM_MASTER_KEY: Buffer.alloc(32, 9).toString("base64") };
		main = await startPlatform({ env, nodeID: "main" });
		edge = await startPlatform({ env, services: ["gateway"], nodeID: "edge" });
		await edge.broker.waitForServices(["accounts", "auth", "tokens", "notifications"], 10_000);
		// Broadcasts reach the nodes a broker knows: wait until the main broker has seen the edge.
		await waitUntil(
			async () => main.broker.registry.getNodeList({ onlyAvailable: true, withServices: false }).some((n: { id: string }) => n.id === "edge"),
			10_000,
		);
		await createAccount(main, user.email, user.password);
	});
	afterAll(async () => {
		await edge?.stop();
		await main?.stop();
	});

	async function newToken() {
		const session = (await main.http.post("/auth/signin", user)).body.session;
		const t = (await main.http.post("/tokens", { password: user.password, description: "ci", template: "extended-access" }, { token: session })).body;
		return { session, ...t } as { session: string; id: string; token: string };
	}

	async function refusedWithin(token: string, act: () => Promise<unknown>) {
		expect((await edge.http.get("/account", { token })).status).toBe(200); // cached on the edge gateway now
		const t0 = Date.now();
		await act();
		await waitUntil(async () => (await edge.http.get("/account", { token })).status === 401, 1000, 10);
		return Date.now() - t0;
	}

	it("refuses a regenerated token's old value on the other gateway within 1 s", async () => {
		const t = await newToken();
		const ms = await refusedWithin(t.token, () => main.http.post(`/tokens/${t.id}/regenerate`, { password: user.password }, { token: t.session }));
		expect(ms).toBeLessThan(1000);
	});

	it("refuses a deleted token on the other gateway within 1 s", async () => {
		const t = await newToken();
		const ms = await refusedWithin(t.token, () => main.http.post("/tokens/delete", { password: user.password, ids: [t.id] }, { token: t.session }));
		expect(ms).toBeLessThan(1000);
	});
});
