// Collaboration through HTTP (issue 18, first slice: COL-1…COL-6, COL-9): policies over the API
// catalogue, roles with their templates and a 409 for one in use, invitations of a known and an
// unknown address accepted by the emailed link (single-use, bound to the email, 7 days, rotated by
// a resend), reject / leave / suspend / remove with the primary's emails, what a member sees, and
// the gateway's check: a member's call outside its roles is refused naming the method, within them
// it works, a token narrower than the role is held to the token, and a removal blocks the very next
// request.
import { createAccount, startPlatform, type Platform } from "../helpers/platform";
import { signInWhenReady } from "../helpers/http";

const ADMIN = { email: "collab-admin@example.com", password: "Collab-adm1n-passw0rd!" };
const PASSWORD = "Team-player-pass-1!";
const DAY = 86_400_000;

interface Mail {
	template: string;
	links: string[];
	subject: string;
	text: string;
}

describe("collaboration", () => {
	let p: Platform;
	let admin: string;
	const session: Record<string, string> = {};
	const ids: Record<string, string> = {};

	const signIn = async (email: string) => (session[email] = (await p.http.post("/auth/signin", { email, password: PASSWORD })).body.session);
	const mails = async (to: string) => ((await p.broker.call("notifications.adminOutbox", { to })) as { rows: Mail[] }).rows;
	const invitationToken = async (to: string) => {
		const link = (await mails(to)).find(m => m.template === "collaboration-invitation")!.links[0]; // newest first
		return new URL(link).searchParams.get("token") as string;
	};
	const as = (email: string) => ({ token: session[email] });
	const envOf = (email: string, name: string) =>
		p.http.post("/environments", { name, nodes: [{ layer: "cp", type: "nginx", reservedCloudlets: 1, scalingLimit: 2 }] }, as(email));

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_TEST_CLOCK: "1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		admin = await signInWhenReady(p.http, ADMIN);
		for (const email of ["owner@example.com", "dev@example.com", "other@example.com"]) {
			ids[email] = (await createAccount(p, email, PASSWORD)).id;
			await signIn(email);
		}
		ids.shared = (await envOf("owner@example.com", "shared")).body.id;
		ids.private = (await envOf("owner@example.com", "private")).body.id;
		ids.othersEnv = (await envOf("other@example.com", "elsewhere")).body.id;
	});
	afterAll(() => p?.stop());

	it("lets only accounts with collaboration.enabled invite (COL-1)", async () => {
		const roles = (await p.http.get("/collaboration/roles", as("owner@example.com"))).body;
		const viewer = roles.find((r: { name: string }) => r.name === "Viewer").id;
		const r = await p.http.post(
			"/collaboration/members",
			{ email: "dev@example.com", resources: [{ type: "ACCOUNT", roleIds: [viewer] }] },
			as("owner@example.com"),
		);
		expect(r.status).toBe(422);
		expect(r.body).toMatchObject({ type: "QUOTA_EXCEEDED", data: { quota: "collaboration.enabled", limit: 0, requested: 1 } });
		const set = await p.http.put(`/admin/accounts/${ids["owner@example.com"]}/quotas/collaboration.enabled`, { value: 1 }, { token: admin });
		expect(set.status).toBe(200);
	});

	it("lists the system policies and keeps custom ones to catalogue methods (COL-2)", async () => {
		const list = (await p.http.get("/collaboration/policies", as("owner@example.com"))).body;
		expect(list.find((x: { id: string }) => x.id === "environment.state")).toMatchObject({
			path: ["Environment", "State"],
			system: true,
			methods: ["environment.control.StartEnv", "environment.control.StopEnv"],
		});
		const unknown = await p.http.post("/collaboration/policies", { name: "Odd", methods: ["environment.control.Teleport"] }, as("owner@example.com"));
		expect(unknown.status).toBe(422);
		expect(unknown.body.data[0]).toMatchObject({ field: "methods[0]", message: expect.stringContaining("environment.control.Teleport") });
		const extra = await p.http.post(
			"/collaboration/policies",
			{ name: "Odd", methods: ["environment.control.StopEnv"], color: "red" },
			as("owner@example.com"),
		);
		expect(extra.status).toBe(422);
		const made = await p.http.post("/collaboration/policies", { name: "Stopper", methods: ["environment.control.StopEnv"] }, as("owner@example.com"));
		expect(made.status).toBe(201);
		ids.stopper = made.body.id;
		expect((await p.http.post("/collaboration/policies", { name: "stopper", methods: ["environment.control.StopEnv"] }, as("owner@example.com"))).status).toBe(
			409,
		);
	});

	it("starts every primary account with the role templates, and edits, copies and deletes roles (COL-3)", async () => {
		const roles = (await p.http.get("/collaboration/roles", as("owner@example.com"))).body as { id: string; name: string }[];
		expect(roles.map(r => r.name)).toEqual(["Viewer", "Operator", "Developer", "Admin", "Billing viewer"]);
		ids.viewer = roles[0].id;
		ids.operator = roles[1].id;
		// Another account's templates are its own.
		const others = (await p.http.get("/collaboration/roles", as("other@example.com"))).body as { id: string }[];
		expect(others.map(r => r.id).filter(id => roles.some(r => r.id === id))).toEqual([]);

		const bad = await p.http.post("/collaboration/roles", { name: "Stop only", policies: ["environment.view", "nope"] }, as("owner@example.com"));
		expect(bad.status).toBe(422);
		expect(bad.body.data).toEqual([{ field: "policies[1]", message: expect.stringContaining('"nope"') }]);
		const role = await p.http.post(
			"/collaboration/roles",
			{ name: "Stop only", policies: ["environment.view", ids.stopper], receiveLoadAlerts: true },
			as("owner@example.com"),
		);
		expect(role.status).toBe(201);
		expect(role.body).toMatchObject({ name: "Stop only", receiveLoadAlerts: true, policies: ["environment.view", ids.stopper] });
		ids.stopOnly = role.body.id;
		expect((await p.http.post("/collaboration/roles", { name: "viewer", policies: ["environment.view"] }, as("owner@example.com"))).status).toBe(409);
		const copy = await p.http.post(`/collaboration/roles/${ids.stopOnly}/copy`, {}, as("owner@example.com"));
		expect(copy.status).toBe(201);
		expect(copy.body).toMatchObject({ name: "Copy of Stop only", policies: ["environment.view", ids.stopper] });
		const edited = await p.http.patch(`/collaboration/roles/${copy.body.id}`, { description: "spare" }, as("owner@example.com"));
		expect(edited.body.description).toBe("spare");
		expect((await p.http.del(`/collaboration/roles/${copy.body.id}`, as("owner@example.com"))).status).toBe(204);
		// A policy held by a role cannot go.
		const held = await p.http.del(`/collaboration/policies/${ids.stopper}`, as("owner@example.com"));
		expect(held.status).toBe(409);
		expect(held.body.message).toContain("Stop only");
	});

	it("invites a known account, which accepts by the emailed link once (COL-4, COL-5)", async () => {
		const foreign = await p.http.post(
			"/collaboration/members",
			{ email: "dev@example.com", resources: [{ type: "ENV", id: ids.othersEnv, roleIds: [ids.viewer] }] },
			as("owner@example.com"),
		);
		expect(foreign.status).toBe(404);
		expect(foreign.body.message).toContain(ids.othersEnv);
		const invited = await p.http.post(
			"/collaboration/members",
			{ email: "dev@example.com", displayName: "Dev", resources: [{ type: "ENV", id: ids.shared, roleIds: [ids.viewer] }] },
			as("owner@example.com"),
		);
		expect(invited.status).toBe(201);
		expect(invited.body).toMatchObject({ email: "dev@example.com", displayName: "Dev", status: "pending", memberId: null });
		expect(JSON.stringify(invited.body)).not.toMatch(/token/i);
		ids.devMember = invited.body.id;
		expect(
			(
				await p.http.post(
					"/collaboration/members",
					{ email: "dev@example.com", resources: [{ type: "ACCOUNT", roleIds: [ids.viewer] }] },
					as("owner@example.com"),
				)
			).status,
		).toBe(409);

		const pending = (await p.http.get("/collaboration/shared-with-me", as("dev@example.com"))).body;
		expect(pending).toMatchObject([{ id: ids.devMember, status: "pending", owner: { email: "owner@example.com" } }]);
		const token = await invitationToken("dev@example.com");
		// Presented by another account, the link is refused.
		expect((await p.http.post(`/collaboration/invitations/${ids.devMember}/accept`, { token }, as("other@example.com"))).body.type).toBe("LINK_INVALID");
		const accepted = await p.http.post(`/collaboration/invitations/${ids.devMember}/accept`, { token }, as("dev@example.com"));
		expect(accepted.status).toBe(200);
		expect(accepted.body.status).toBe("active");
		const again = await p.http.post(`/collaboration/invitations/${ids.devMember}/accept`, { token }, as("dev@example.com"));
		expect(again.status).toBe(422);
		expect(again.body.type).toBe("LINK_INVALID");
		expect((await mails("owner@example.com")).map(m => m.subject)).toContain("dev@example.com accepted your invitation");
	});

	it("shows the member only what is shared, and checks its roles on every request (COL-6, COL-9)", async () => {
		const mine = (await p.http.get("/collaboration/shared-with-me", as("dev@example.com"))).body;
		expect(mine).toHaveLength(1);
		expect(mine[0].resources).toEqual([
			{ type: "ENV", id: ids.shared, name: "shared", roleIds: [ids.viewer], roles: [expect.objectContaining({ id: ids.viewer, name: "Viewer" })] },
		]);

		const seen = await p.http.get(`/environments/${ids.shared}`, as("dev@example.com"));
		expect(seen.status).toBe(200);
		expect(seen.body).toMatchObject({ id: ids.shared, ownerEmail: "owner@example.com" });
		expect((await p.http.get(`/environments/${ids.private}`, as("dev@example.com"))).status).toBe(404);
		const stop = await p.http.post(`/environments/${ids.shared}/stop`, undefined, as("dev@example.com"));
		expect(stop.status).toBe(403);
		expect(stop.body).toMatchObject({ type: "FORBIDDEN", data: { method: "environment.control.StopEnv" } });
		expect(stop.body.message).toContain("environment.control.StopEnv");

		// The role is in use: 409 naming the member.
		const inUse = await p.http.del(`/collaboration/roles/${ids.viewer}`, as("owner@example.com"));
		expect(inUse.status).toBe(409);
		expect(inUse.body.message).toContain("dev@example.com");

		// A new role on the share takes effect on the next request.
		const edited = await p.http.patch(
			`/collaboration/members/${ids.devMember}`,
			{ resources: [{ type: "ENV", id: ids.shared, roleIds: [ids.stopOnly] }] },
			as("owner@example.com"),
		);
		expect(edited.status).toBe(200);
		const stopped = await p.http.post(`/environments/${ids.shared}/stop`, undefined, as("dev@example.com"));
		expect(stopped.status).toBe(200);
		expect(stopped.body.status).toBe("stopped");
		expect((await p.http.post(`/environments/${ids.shared}/start`, undefined, as("dev@example.com"))).body.data).toEqual({
			method: "environment.control.StartEnv",
		});

		// A token narrower than the role is held to the token.
		const pat = await p.http.post("/tokens", { password: PASSWORD, description: "read", apiList: ["environment.control.GetEnvInfo"] }, as("dev@example.com"));
		expect((await p.http.get(`/environments/${ids.shared}`, { token: pat.body.token })).status).toBe(200);
		const byToken = await p.http.post(`/environments/${ids.shared}/stop`, undefined, { token: pat.body.token });
		expect(byToken.status).toBe(403);
		expect(byToken.body.message).toContain("access token");

		// Suspended: nothing is shared; activated again: it is.
		expect((await p.http.post(`/collaboration/members/${ids.devMember}/suspend`, undefined, as("owner@example.com"))).body.status).toBe("suspended");
		expect((await p.http.get(`/environments/${ids.shared}`, as("dev@example.com"))).status).toBe(404);
		expect((await p.http.post(`/collaboration/members/${ids.devMember}/suspend`, undefined, as("owner@example.com"))).body.type).toBe("INVALID_STATE");
		expect((await p.http.post(`/collaboration/members/${ids.devMember}/activate`, undefined, as("owner@example.com"))).body.status).toBe("active");
		expect((await p.http.get(`/environments/${ids.shared}`, as("dev@example.com"))).status).toBe(200);

		// Copy the shares to another address.
		const copy = await p.http.post(`/collaboration/members/${ids.devMember}/copy`, { email: "other@example.com" }, as("owner@example.com"));
		expect(copy.status).toBe(201);
		expect(copy.body).toMatchObject({ email: "other@example.com", status: "pending", resources: [{ type: "ENV", id: ids.shared, roleIds: [ids.stopOnly] }] });
		ids.otherMember = copy.body.id;

		// Removed: the very next request is refused.
		expect((await p.http.del(`/collaboration/members/${ids.devMember}`, as("owner@example.com"))).status).toBe(204);
		expect((await p.http.get(`/environments/${ids.shared}`, as("dev@example.com"))).status).toBe(404);
		expect((await p.http.get("/collaboration/shared-with-me", as("dev@example.com"))).body).toEqual([]);
	});

	it("rejects an invitation, and the primary hears of it", async () => {
		const r = await p.http.post(`/collaboration/invitations/${ids.otherMember}/reject`, {}, as("other@example.com"));
		expect(r.status).toBe(200);
		expect(r.body.status).toBe("rejected");
		expect((await mails("owner@example.com")).map(m => m.subject)).toContain("other@example.com rejected your invitation");
		expect(
			(
				await p.http.post(
					`/collaboration/invitations/${ids.otherMember}/accept`,
					{ token: await invitationToken("other@example.com") },
					as("other@example.com"),
				)
			).body.type,
		).toBe("LINK_INVALID");
	});

	it("registers an unknown address in the collaboration group; resend and expiry kill links; the member leaves", async () => {
		const invited = await p.http.post(
			"/collaboration/members",
			{ email: "new@example.com", resources: [{ type: "ACCOUNT", roleIds: [ids.viewer] }] },
			as("owner@example.com"),
		);
		expect(invited.status).toBe(201);
		const member = invited.body.id;
		const first = await invitationToken("new@example.com");
		const activation = (await mails("new@example.com")).find(m => m.template === "activation")!.links[0];
		const activated = await p.http.post("/auth/activate", { token: new URL(activation).searchParams.get("token"), password: PASSWORD });
		expect(activated.status).toBe(200);
		expect(activated.body.account.group).toBe("collaboration");
		await signIn("new@example.com");

		// Resend rotates the link.
		expect((await p.http.post(`/collaboration/members/${member}/resend`, undefined, as("owner@example.com"))).status).toBe(200);
		const second = await invitationToken("new@example.com");
		expect(second).not.toBe(first);
		expect((await p.http.post(`/collaboration/invitations/${member}/accept`, { token: first }, as("new@example.com"))).body.type).toBe("LINK_INVALID");

		// Expired after 7 days.
		await p.http.post("/admin/clock", { now: new Date(Date.now() + 7 * DAY + 60_000).toISOString() }, { token: admin });
		for (const email of ["new@example.com", "owner@example.com", "dev@example.com"]) await signIn(email);
		expect((await p.http.post(`/collaboration/invitations/${member}/accept`, { token: second }, as("new@example.com"))).body.type).toBe("LINK_INVALID");

		// A fresh link works; the member sees the owner's environments through the base role, then leaves.
		await p.http.post(`/collaboration/members/${member}/resend`, undefined, as("owner@example.com"));
		expect(
			(await p.http.post(`/collaboration/invitations/${member}/accept`, { token: await invitationToken("new@example.com") }, as("new@example.com"))).status,
		).toBe(200);
		expect((await p.http.get(`/environments/${ids.private}`, as("new@example.com"))).status).toBe(200);
		expect((await p.http.post(`/collaboration/${member}/leave`, undefined, as("dev@example.com"))).status).toBe(404);
		const left = await p.http.post(`/collaboration/${member}/leave`, undefined, as("new@example.com"));
		expect(left.body.status).toBe("left");
		expect((await p.http.get(`/environments/${ids.private}`, as("new@example.com"))).status).toBe(404);
		expect((await mails("owner@example.com")).map(m => m.subject)).toContain("new@example.com left your collaboration");
		const list = (await p.http.get("/collaboration/members", as("owner@example.com"))).body.rows as { email: string; status: string }[];
		expect(list.map(m => [m.email, m.status])).toEqual([
			["dev@example.com", "removed"],
			["other@example.com", "rejected"],
			["new@example.com", "left"],
		]);
	});
});
