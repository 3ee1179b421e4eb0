// NFR-1: no object of one account is reachable by another. Every id-taking route of the catalogue
// is called with another account's session and extended-access token and must answer 404 (403 for
// a token on a session-only route). The helper fails when a route has no id here: a new route
// must be added below.
import { crossAccountReplies, expectedClosed } from "../helpers/cross-account";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

describe("cross-account protection of every id-taking route", () => {
	let p: Platform;
	afterAll(() => p?.stop());

	it("answers 404 to another account for each of them, and leaves the owner's things untouched", async () => {
		p = await startPlatform({ env: { QM_PAYMENT_PROVIDERS: "manual,test" } });
		const signIn = async (email: string, password: string) => (await p.http.post("/auth/signin", { email, password })).body.session as string;
		const newToken = async (session: string, password: string) =>
			(await p.http.post("/tokens", { password, description: "all", template: "extended-access" }, { token: session })).body as { id: string; token: string };

		const owner = { email: "owner@example.com", password: "Keeper-of-things-1!" };
		await createAccount(p, owner.email, owner.password);
		const session = await signIn(owner.email, owner.password);
		const ownerToken = await newToken(session, owner.password);
		const sessionId = (await p.http.get("/auth/sessions", { token: session })).body.find((s: { current: boolean }) => s.current).id;
		const noticeId = (await p.http.get("/account/notifications", { token: session })).body.rows[0].id;
		const env = (
			await p.http.post(
				"/environments",
				{ name: "private", nodes: [{ layer: "cp", type: "nginx", reservedCloudlets: 1, scalingLimit: 2 }] },
				{ token: session },
			)
		).body;
		const group = (await p.http.post("/env-groups", { name: "Private" }, { token: session })).body;
		const card = { type: "card", number: "4242424242424242", expMonth: 12, expYear: 2031, cvc: "123" };
		const method = (await p.http.post("/billing/payment-methods", card, { token: session })).body;
		const invoice = (
			await p.http.post("/billing/refill", { amount: "5.00", paymentMethodId: method.id }, { token: session, headers: { "idempotency-key": "owner-1" } })
		).body.invoice;
		// Collaboration (COL-1…COL-5): a role, a policy and an invitation of the owner's.
		const ownerId = (await p.http.get("/account", { token: session })).body.id;
		await p.broker.call("quotas.adminSetOverride", { id: ownerId, key: "collaboration.enabled", value: 1 });
		const role = (await p.http.post("/collaboration/roles", { name: "Watcher", policies: ["environment.view"] }, { token: session })).body;
		const policy = (await p.http.post("/collaboration/policies", { name: "Starter", methods: ["environment.control.StartEnv"] }, { token: session })).body;
		const member = (
			await p.http.post(
				"/collaboration/members",
				{ email: "friend@example.com", resources: [{ type: "ENV", id: env.id, roleIds: [role.id] }] },
				{ token: session },
			)
		).body;

		const intruder = { email: "intruder@example.com", password: "Curious-George-2!" };
		await createAccount(p, intruder.email, intruder.password);
		const intruderSession = await signIn(intruder.email, intruder.password);
		const intruderToken = (await newToken(intruderSession, intruder.password)).token;

		const results = await crossAccountReplies(
			p.http,
			{ session: intruderSession, token: intruderToken, password: intruder.password },
			{
				"DELETE /auth/sessions/:id": sessionId,
				"POST /account/notifications/:id/read": noticeId,
				"PATCH /tokens/:id": ownerToken.id,
				"POST /tokens/:id/regenerate": ownerToken.id,
				"POST /tokens/:id/copy": ownerToken.id,
				"GET /environments/:id": env.id,
				"PATCH /environments/:id": env.id,
				"POST /environments/:id/start": env.id,
				"POST /environments/:id/stop": env.id,
				"DELETE /environments/:id": env.id,
				"POST /environments/:id/transfer": { id: env.id, body: { email: intruder.email } },
				"GET /environments/:id/usage": env.id,
				"DELETE /env-groups/:id": group.id,
				"DELETE /billing/payment-methods/:id": method.id,
				"POST /billing/payment-methods/:id/default": method.id,
				"GET /billing/invoices/:id": invoice.id,
				"POST /billing/invoices/:id/pay": { id: invoice.id, body: { paymentMethodId: method.id } },
				"PATCH /collaboration/members/:id": { id: member.id, body: { displayName: "Mine now" } },
				"DELETE /collaboration/members/:id": member.id,
				"POST /collaboration/members/:id/suspend": member.id,
				"POST /collaboration/members/:id/activate": member.id,
				"POST /collaboration/members/:id/resend": member.id,
				"POST /collaboration/members/:id/copy": { id: member.id, body: { email: "accomplice@example.com" } },
				"PATCH /collaboration/roles/:id": { id: role.id, body: { description: "mine now" } },
				"DELETE /collaboration/roles/:id": role.id,
				"POST /collaboration/roles/:id/copy": role.id,
				"DELETE /collaboration/policies/:id": policy.id,
				"POST /collaboration/invitations/:id/accept": member.id,
				"POST /collaboration/invitations/:id/reject": member.id,
				"POST /collaboration/:id/leave": member.id,
			},
		);
		expect(results.map(({ route, credential, status }) => ({ route, credential, status }))).toEqual(expectedClosed(results));

		// Untouched: the owner's session, token, environment and group still work.
		expect((await p.http.get("/account", { token: ownerToken.token })).status).toBe(200);
		expect((await p.http.get(`/environments/${env.id}`, { token: session })).body.status).toBe("running");
		expect((await p.http.get("/env-groups", { token: session })).body).toHaveLength(1);
		expect((await p.http.get("/billing/payment-methods", { token: session })).body).toMatchObject([{ id: method.id, default: true }]);
		expect((await p.http.get(`/billing/invoices/${invoice.id}`, { token: session })).body.status).toBe("paid");
		expect((await p.http.get("/collaboration/members", { token: session })).body.rows).toMatchObject([{ id: member.id, status: "pending", displayName: "" }]);
		expect((await p.http.get("/collaboration/roles", { token: session })).body.find((r: { id: string }) => r.id === role.id)?.description).toBe("");
		expect((await p.http.get("/collaboration/policies", { token: session })).body.some((x: { id: string }) => x.id === policy.id)).toBe(true);
	});
});
