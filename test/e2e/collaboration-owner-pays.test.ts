// COL-7, QTA-3 through HTTP (issue 18, second slice): a member whose roles on the owner's account
// root hold Environment → Managing creates an environment for the owner (`ownerId`). The owner's
// quotas apply (a refusal names the owner's limit), the environment is the owner's, its hours are
// charged to the owner's ledger and never the member's, and the owner's account status applies.
// Members list the environments shared with them, tagged with their owner.
import { createAccount, startPlatform, type Platform } from "../helpers/platform";
import { signInWhenReady } from "../helpers/http";

const ADMIN = { email: "pays-admin@example.com", password: "Pays-adm1n-passw0rd!" };
const PASSWORD = "Owner-pays-pass-1!";
const OWNER = "payer@example.com";
const MEMBER = "builder@example.com";
const VIEWER = "looker@example.com";
const STRANGER = "stranger@example.com";
const node = (count = 1) => ({ layer: "cp", type: "nginx", count, reservedCloudlets: 2, scalingLimit: 4 });

describe("collaboration: the owner pays (COL-7)", () => {
	let p: Platform;
	let adminSession = "";
	const session: Record<string, string> = {};
	const ids: Record<string, string> = {};

	const asAdmin = {
		get token() {
			return adminSession;
		},
	};
	const as = (email: string) => ({ token: session[email] });
	const signIn = async (email: string) => (session[email] = (await p.http.post("/auth/signin", { email, password: PASSWORD })).body.session);
	const setClock = async (iso: string) => {
		expect((await p.http.post("/admin/clock", { now: iso }, asAdmin)).status).toBe(200);
		adminSession = await signInWhenReady(p.http, ADMIN);
		for (const email of Object.keys(session)) await signIn(email);
	};
	const runJob = async (name: string) => expect((await p.http.post(`/admin/jobs/${name}/run`, {}, asAdmin)).status).toBe(200);
	const createFor = (email: string, name: string, ownerId: string | undefined, count = 1) =>
		p.http.post("/environments", { name, ...(ownerId ? { ownerId } : {}), nodes: [node(count)] }, as(email));
	const ledger = async (email: string) =>
		(await p.http.get("/billing/transactions?pageSize=100", as(email))).body.rows as { kind: string; amount: string; envId?: string }[];

	async function join(email: string, roleId: string) {
		const invited = await p.http.post("/collaboration/members", { email, resources: [{ type: "ACCOUNT", roleIds: [roleId] }] }, as(OWNER));
		expect(invited.status).toBe(201);
		const mail = ((await p.broker.call("notifications.adminOutbox", { to: email })) as { rows: { template: string; links: string[] }[] }).rows.find(
			m => m.template === "collaboration-invitation",
		)!;
		const token = new URL(mail.links[0]).searchParams.get("token");
		expect((await p.http.post(`/collaboration/invitations/${invited.body.id}/accept`, { token }, as(email))).status).toBe(200);
	}

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_TEST_CLOCK: "1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		adminSession = await signInWhenReady(p.http, ADMIN);
		await setClock("2027-03-01T10:00:00Z");
		for (const email of [OWNER, MEMBER, VIEWER, STRANGER]) {
			ids[email] = (await createAccount(p, email, PASSWORD)).id;
			await signIn(email);
		}
		// The owner is a billing account (collaboration.enabled) with money; the members are trial accounts.
		expect((await p.http.post(`/admin/accounts/${ids[OWNER]}/group`, { group: "billing", resetBonus: true }, asAdmin)).status).toBe(200);
		const fund = await p.http.post(
			`/admin/accounts/${ids[OWNER]}/fund`,
			{ amount: "100", note: "owner pays" },
			{ ...asAdmin, headers: { "idempotency-key": "pays-fund" } },
		);
		expect(fund.status).toBe(201);
		const creator = await p.http.post("/collaboration/roles", { name: "Creator", policies: ["environment.managing", "environment.state"] }, as(OWNER));
		expect(creator.status).toBe(201);
		const roles = (await p.http.get("/collaboration/roles", as(OWNER))).body as { id: string; name: string }[];
		await join(MEMBER, creator.body.id);
		await join(VIEWER, roles.find(r => r.name === "Viewer")!.id);
	});
	afterAll(() => p?.stop());

	it("creates an environment for the owner, within the owner's quotas, not the member's (QTA-3)", async () => {
		// Three same nodes: above a trial account's environment.maxsamenodescount (2), within the owner's billing group (16).
		const made = await createFor(MEMBER, "for-owner", ids[OWNER], 3);
		expect(made.status).toBe(201);
		expect(made.body).toMatchObject({ ownerId: ids[OWNER], ownerEmail: OWNER, owner: { id: ids[OWNER], email: OWNER }, shared: true });
		ids.env = made.body.id;
		// The same request for itself is held to the member's own (trial) quotas.
		const own = await createFor(MEMBER, "for-me", undefined, 3);
		expect(own.body).toMatchObject({ type: "QUOTA_EXCEEDED", data: { quota: "environment.maxsamenodescount", limit: 2, requested: 3 } });

		// The owner's limit lowered: the refusal names it as the owner's.
		expect((await p.http.put(`/admin/accounts/${ids[OWNER]}/quotas/environment.maxnodescount`, { value: 4 }, asAdmin)).status).toBe(200);
		const refused = await createFor(MEMBER, "too-big", ids[OWNER], 5);
		expect(refused.status).toBe(422);
		expect(refused.body).toMatchObject({ type: "QUOTA_EXCEEDED", data: { quota: "environment.maxnodescount", limit: 4, requested: 5, owner: OWNER } });
		expect(refused.body.message).toContain(`${OWNER}'s limit`);
		expect((await p.http.del(`/admin/accounts/${ids[OWNER]}/quotas/environment.maxnodescount`, asAdmin)).status).toBe(204);
	});

	it("refuses members without the create permission (403 naming it) and strangers (404)", async () => {
		const viewer = await createFor(VIEWER, "viewers", ids[OWNER]);
		expect(viewer.status).toBe(403);
		expect(viewer.body).toMatchObject({ type: "FORBIDDEN", data: { method: "environment.control.CreateEnvironment" } });
		const stranger = await createFor(STRANGER, "strangers", ids[OWNER]);
		expect(stranger.status).toBe(404);
		// A token narrower than the role is held to the token.
		const pat = await p.http.post("/tokens", { password: PASSWORD, description: "read", apiList: ["environment.control.GetEnvs"] }, as(MEMBER));
		const byToken = await p.http.post("/environments", { name: "by-token", ownerId: ids[OWNER], nodes: [node()] }, { token: pat.body.token });
		expect(byToken.status).toBe(403);
		expect(byToken.body.data).toEqual({ method: "environment.control.CreateEnvironment" });
	});

	it("lists shared environments beside the member's own, tagged with their owner", async () => {
		const mine = await createFor(VIEWER, "viewer-own", undefined);
		expect(mine.status).toBe(201);
		const list = (await p.http.get("/environments", as(VIEWER))).body as {
			rows: { id: string; shared: boolean; owner: { id: string; email: string } }[];
			total: number;
		};
		expect(list.total).toBe(2);
		expect(list.rows).toEqual([
			expect.objectContaining({ id: ids.env, shared: true, owner: { id: ids[OWNER], email: OWNER } }),
			expect.objectContaining({ id: mine.body.id, shared: false, owner: { id: ids[VIEWER], email: VIEWER } }),
		]);
		const owners = (await p.http.get("/environments", as(OWNER))).body.rows as { id: string; shared: boolean }[];
		expect(owners).toEqual([expect.objectContaining({ id: ids.env, shared: false })]);
		expect((await p.http.get("/environments", as(STRANGER))).body.total).toBe(0);
	});

	it("charges the environment's hours to the owner, never to the member", async () => {
		const before = await ledger(MEMBER);
		await setClock("2027-03-01T13:10:00Z");
		await runJob("metering.close-hours");
		await runJob("billing.charge");
		const charges = (await ledger(OWNER)).filter(r => r.kind === "charge");
		expect(charges.length).toBeGreaterThanOrEqual(3);
		expect(new Set(charges.map(c => c.envId))).toEqual(new Set([ids.env]));
		expect(await ledger(MEMBER)).toEqual(before);
		expect((await ledger(MEMBER)).filter(r => r.envId === ids.env)).toEqual([]);
	});

	it("shows the owner which member's environment cost what: charges and history carry the initiator (COL-8)", async () => {
		const initiator = { id: ids[MEMBER], email: MEMBER };
		const charges = (await ledger(OWNER)).filter(r => r.kind === "charge");
		expect(charges.length).toBeGreaterThanOrEqual(3);
		expect(charges.every(c => (c as { initiator?: unknown }).initiator && c.envId === ids.env)).toBe(true);
		expect(charges[0]).toMatchObject({ envId: ids.env, initiator });
		type Env = { envId: string; name: string; initiator?: unknown; cost: string };
		const period = "from=2027-03-01T00:00:00Z&to=2027-03-02T00:00:00Z";
		// Hourly rows (kept at charge time) and a day's (built from the hours): the initiator beside the environment's cost.
		for (const interval of ["HOUR", "DAY"]) {
			const history = await p.http.get(`/billing/history?${period}&interval=${interval}`, as(OWNER));
			expect(history.status).toBe(200);
			const envs = (history.body.intervals as { environments: Env[] }[]).flatMap(i => i.environments);
			expect(envs.length).toBeGreaterThanOrEqual(interval === "HOUR" ? 3 : 1);
			for (const e of envs) expect(e).toMatchObject({ envId: ids.env, name: "for-owner", initiator });
		}
		// An environment its owner made itself names no initiator.
		const own = (await p.http.get(`/billing/history?${period}&interval=DAY`, as(VIEWER))).body.intervals as { environments: Env[] }[];
		const viewerEnvs = own.flatMap(i => i.environments);
		expect(viewerEnvs.length).toBeGreaterThanOrEqual(1);
		expect(viewerEnvs.every(e => e.envId !== ids.env && !("initiator" in e))).toBe(true);
	});

	it("a member's action for the owner is audited with before/after (COL-8)", async () => {
		const stopped = await p.http.post(`/environments/${ids.env}/stop`, undefined, as(MEMBER));
		expect(stopped.status).toBe(200);
		const trail = (await p.http.get(`/admin/audit?actor=${MEMBER}&pageSize=100`, asAdmin)).body.rows as Record<string, any>[];
		expect(trail).toEqual([
			expect.objectContaining({
				action: "environment.control.StopEnv",
				actor: { id: ids[MEMBER], email: MEMBER },
				onBehalfOf: { accountId: ids[OWNER], email: OWNER },
				account: ids[OWNER],
				target: { type: "environment", id: ids.env },
				before: expect.objectContaining({ status: "running" }),
				after: expect.objectContaining({ status: "stopped" }),
				requestId: expect.any(String),
				ip: expect.any(String),
			}),
			expect.objectContaining({
				action: "environment.control.CreateEnvironment",
				onBehalfOf: { accountId: ids[OWNER], email: OWNER },
				target: { type: "environment", id: ids.env },
				before: null,
				after: expect.objectContaining({ id: ids.env, ownerId: ids[OWNER] }),
			}),
		]);
	});

	it("applies the owner's account status, not the member's", async () => {
		const off = await p.http.post(`/admin/accounts/${ids[OWNER]}/status`, { status: "deactivated", reason: "test" }, asAdmin);
		expect(off.status).toBe(200);
		const refused = await createFor(MEMBER, "while-off", ids[OWNER]);
		expect(refused.status).toBe(403);
		expect(refused.body.type).toBe("ACCOUNT_DEACTIVATED");
		// The member's own account is active: for itself it still creates.
		expect((await createFor(MEMBER, "mine-meanwhile", undefined)).status).toBe(201);
	});

	it("audits every admin action, and shows the owner what happened in its account (ADM-2, COL-8)", async () => {
		const trail = (await p.http.get("/admin/audit?pageSize=100", asAdmin)).body.rows as Record<string, any>[];
		const byAction = (action: string) => trail.filter(e => e.action === action);
		// One entry per action of this file: the member's two (create, stop); the admin's on the owner's account.
		expect(trail.filter(e => e.actor.email === MEMBER).map(e => e.action)).toEqual(["environment.control.StopEnv", "environment.control.CreateEnvironment"]);
		expect(byAction("admin.accounts.SetGroup")).toEqual([
			expect.objectContaining({
				account: ids[OWNER],
				before: expect.objectContaining({ group: "trial" }),
				after: expect.objectContaining({ group: "billing" }),
			}),
		]);
		expect(byAction("admin.accounts.SetStatus")).toEqual([
			expect.objectContaining({
				actor: expect.objectContaining({ email: ADMIN.email }),
				account: ids[OWNER],
				reason: "test",
				before: expect.objectContaining({ status: "active" }),
				after: expect.objectContaining({ status: "deactivated" }),
			}),
		]);
		expect(byAction("admin.billing.FundAccount")).toHaveLength(1);
		expect(trail.filter(e => e.route.includes("/quotas/"))).toHaveLength(2);
		expect(trail.every(e => e.requestId && e.time && e.actor.id)).toBe(true);
		// The owner sees its members' and the administrators' actions in its account, and nobody else's.
		const mine = (await p.http.get("/account/audit?pageSize=100", as(OWNER))).body.rows as Record<string, any>[];
		expect(mine.length).toBeGreaterThanOrEqual(6);
		expect(mine.every(e => e.account === ids[OWNER])).toBe(true);
		expect((await p.http.get(`/account/audit?actor=${MEMBER}`, as(OWNER))).body.total).toBe(2);
		expect((await p.http.get("/account/audit", as(STRANGER))).body.total).toBe(0);
		expect((await p.http.get("/admin/audit?from=2027-03-02T00:00:00Z&to=2027-03-01T00:00:00Z", asAdmin)).status).toBe(422);
	});
});
