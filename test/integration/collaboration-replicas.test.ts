// COL-9 across nodes: a second gateway, in another broker joined over real NATS, has answered a
// member's request on a shared environment (so it holds the answer in its cache); the owner then
// changes the member's rights through the first gateway, and within 1 s the member's next request
// through the second gateway is answered by the new rights. The product's rule (member-access.ts):
// a member whose roles there lack the method gets 403 naming it; someone the environment is not
// shared with (removed, suspended, or the environment outside the shared group) gets 404, as anyone.
import { waitUntil } from "../helpers/http";
import { createAccount, startReplicaPair, type Platform } from "../helpers/platform";

const ADMIN = { email: "replica-collab-admin@example.com", password: "Replica-adm1n-passw0rd!" };
const PASSWORD = "Replica-team-pass-1!";
const OWNER = "replica-owner@example.com";
const MEMBER = "replica-member@example.com";
const node = { layer: "cp", type: "nginx", reservedCloudlets: 1, scalingLimit: 2 };

describe("collaboration: a change of rights reaches every gateway over NATS within 1 s (COL-9)", () => {
	let main: Platform;
	let edge: Platform;
	let pair: Awaited<ReturnType<typeof startReplicaPair>>;
	const session: Record<string, string> = {};
	const ids: Record<string, string> = {};
	const as = (email: string) => ({ token: session[email] });
	/** The member's view of an environment through the second gateway. */
	const onEdge = async (envId: string) => (await edge.http.get(`/environments/${envId}`, as(MEMBER))).status;

	/** `status` on the edge first (cached there now), then `act` on the main gateway; answers how long until the edge answers `next`. */
	async function takesEffect(envId: string, status: number, act: () => Promise<{ status: number }>, next: number) {
		expect(await onEdge(envId)).toBe(status);
		expect(await onEdge(envId)).toBe(status); // the second answer came from the edge's cache
		const t0 = Date.now();
		expect((await act()).status).toBeLessThan(300);
		await waitUntil(async () => (await onEdge(envId)) === next, 1000, 10);
		return Date.now() - t0;
	}

	beforeAll(async () => {
		pair = await startReplicaPair("collab", ["gateway"], { QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password }); // the replica is a second gateway
		({ main, replica: edge } = pair);
		for (const email of [OWNER, MEMBER]) {
			ids[email] = (await createAccount(main, email, PASSWORD)).id;
			session[email] = (await main.http.post("/auth/signin", { email, password: PASSWORD })).body.session;
		}
		const admin = (await main.http.post("/auth/signin", ADMIN)).body.session;
		expect((await main.http.put(`/admin/accounts/${ids[OWNER]}/quotas/collaboration.enabled`, { value: 1 }, { token: admin })).status).toBe(200);
		ids.group = (await main.http.post("/env-groups", { name: "team" }, as(OWNER))).body.id;
		ids.inGroup = (await main.http.post("/environments", { name: "in-group", groups: [ids.group], nodes: [node] }, as(OWNER))).body.id;
		ids.loose = (await main.http.post("/environments", { name: "loose", nodes: [node] }, as(OWNER))).body.id;
		const role = await main.http.post("/collaboration/roles", { name: "Reader", policies: ["environment.view"] }, as(OWNER));
		expect(role.status).toBe(201);
		ids.role = role.body.id;
		const invited = await main.http.post(
			"/collaboration/members",
			{ email: MEMBER, resources: [{ type: "ENV_GROUP", id: ids.group, roleIds: [ids.role] }] },
			as(OWNER),
		);
		expect(invited.status).toBe(201);
		ids.membership = invited.body.id;
		const mail = ((await main.broker.call("notifications.adminOutbox", { to: MEMBER })) as { rows: { template: string; links: string[] }[] }).rows.find(
			m => m.template === "collaboration-invitation",
		)!;
		const token = new URL(mail.links[0]).searchParams.get("token");
		expect((await main.http.post(`/collaboration/invitations/${ids.membership}/accept`, { token }, as(MEMBER))).status).toBe(200);
	});
	afterAll(() => pair?.stop());

	it("refuses a method taken out of the member's role on the other gateway within 1 s (403 naming it)", async () => {
		const ms = await takesEffect(ids.inGroup, 200, () => main.http.patch(`/collaboration/roles/${ids.role}`, { policies: ["container.logs"] }, as(OWNER)), 403);
		expect(ms).toBeLessThan(1000);
		const refused = await edge.http.get(`/environments/${ids.inGroup}`, as(MEMBER));
		expect(refused.body).toMatchObject({ type: "FORBIDDEN", data: { method: "environment.control.GetEnvInfo" } });
		// Given back: allowed again within 1 s.
		const back = await takesEffect(ids.inGroup, 403, () => main.http.patch(`/collaboration/roles/${ids.role}`, { policies: ["environment.view"] }, as(OWNER)), 200);
		expect(back).toBeLessThan(1000);
	});

	it("follows an environment into and out of the shared group on the other gateway within 1 s", async () => {
		// Outside the shared group the environment is nobody's business of the member's: 404, cached as such on the edge.
		const moveIn = await takesEffect(ids.loose, 404, () => main.http.patch(`/environments/${ids.loose}`, { groups: [ids.group] }, as(OWNER)), 200);
		expect(moveIn).toBeLessThan(1000);
		const moveOut = await takesEffect(ids.loose, 200, () => main.http.patch(`/environments/${ids.loose}`, { groups: [] }, as(OWNER)), 404);
		expect(moveOut).toBeLessThan(1000);
	});

	it("drops access to environments of a deleted shared group on the other gateway within 1 s", async () => {
		const spare = (await main.http.post("/env-groups", { name: "spare" }, as(OWNER))).body.id as string;
		expect((await main.http.patch(`/environments/${ids.loose}`, { groups: [spare] }, as(OWNER))).status).toBe(200);
		// The member's share of the spare group, with the same role.
		const shares = [
			{ type: "ENV_GROUP", id: ids.group, roleIds: [ids.role] },
			{ type: "ENV_GROUP", id: spare, roleIds: [ids.role] },
		];
		expect((await main.http.patch(`/collaboration/members/${ids.membership}`, { resources: shares }, as(OWNER))).status).toBe(200);
		await waitUntil(async () => (await onEdge(ids.loose)) === 200, 1000, 10);
		const ms = await takesEffect(ids.loose, 200, () => main.http.del(`/env-groups/${spare}`, as(OWNER)), 404);
		expect(ms).toBeLessThan(1000);
	});

	it("suspends and activates a member on the other gateway within 1 s", async () => {
		const off = await takesEffect(ids.inGroup, 200, () => main.http.post(`/collaboration/members/${ids.membership}/suspend`, undefined, as(OWNER)), 404);
		expect(off).toBeLessThan(1000);
		const on = await takesEffect(ids.inGroup, 404, () => main.http.post(`/collaboration/members/${ids.membership}/activate`, undefined, as(OWNER)), 200);
		expect(on).toBeLessThan(1000);
	});

	it("blocks a removed member's next request on the other gateway within 1 s", async () => {
		const ms = await takesEffect(ids.inGroup, 200, () => main.http.del(`/collaboration/members/${ids.membership}`, as(OWNER)), 404);
		expect(ms).toBeLessThan(1000);
		expect(await onEdge(ids.inGroup)).toBe(404);
	});
});
