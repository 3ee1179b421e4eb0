// PAT-3 across nodes: a second gateway, in another broker joined over real NATS, caches a token
// and drops it within a second when the token is regenerated or deleted elsewhere.
import { waitUntil } from "../helpers/http";
import { createAccount, startReplicaPair, type Platform } from "../helpers/platform";

describe("token revocation reaches every gateway over NATS", () => {
	let main: Platform;
	let edge: Platform;
	let pair: Awaited<ReturnType<typeof startReplicaPair>>;
	const user = { email: "ops@example.com", password: "Pipeline-owner-7!" };

	beforeAll(async () => {
		pair = await startReplicaPair("revoke", ["gateway"]); // the replica is a second gateway
		({ main, replica: edge } = pair);
		await createAccount(main, user.email, user.password);
	});
	afterAll(() => pair?.stop());

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
