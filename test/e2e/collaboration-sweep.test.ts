// Issue 18 acceptance, through HTTP: a sweep generated from the API catalogue over every API method a
// member can be given (memberMethods(): the methods of the system policy tree, COL-2) and every route
// that serves one. A route reaches another account's resources by `/environments/{id}…`, by an
// `envId` filter or by `ownerId` (services/gateway/member-target.ts); which one is read from the
// route and its action's parameter schema, not listed here. For each such route:
// - a member whose roles there lack every policy holding the method gets 403 naming the method;
// - a member whose role holds one policy with it gets through to the service: reads answer 200, and
//   writes sent with an empty body answer 2xx or the service's own 4xx (422 naming a missing field,
//   404 of an item of the owner's already deleted by an earlier row, INVALID_STATE) — never 401/403,
//   never the gateway's 404 for an owner the caller is no member of;
// - a token narrower than that role is held to the token (403 naming the method).
// Then COL-7's hiding: prices, balances, billing history and the other members are the owner's to
// see only with the Cost Estimation / Billing History and Collaboration policies, and a member with
// Collaboration manages the owner's members (COL-5) — recorded in the owner's audit trail (COL-8).
import type { ServiceSchema } from "moleculer";
import { API_CATALOGUE, splitRest, type ApiEntry } from "../../lib/api-catalogue";
import { takesBody } from "../../lib/request-shape";
import { memberMethods, SYSTEM_POLICIES } from "../../services/collaboration/policies";
import { ALL_SERVICES } from "../../services";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";
import { signInWhenReady, type Reply } from "../helpers/http";

const ADMIN = { email: "sweep-admin@example.com", password: "Sweep-adm1n-passw0rd!" };
const PASSWORD = "Quarter-ledger-pass-9!";
const OWNER = "sweep-owner@example.com";
const MEMBER = "sweep-member@example.com";
const PEER = "sweep-peer@example.com";
const node = { layer: "cp", type: "nginx", count: 1, reservedCloudlets: 1, scalingLimit: 2 };

/* ---- the table, generated from the catalogue and the services' parameter schemas ---- */

type Kind = "env" | "envId" | "ownerId" | "list";
const ENV_ROUTE = /^[A-Z]+ \/environments\/:id(\/|$)/;
/** Own and shared environments in one list: a shared one is listed only where the roles hold GetEnvs. */
const LIST_ROUTE = "GET /environments";

const schemas = new Map<string, ServiceSchema>();
function paramsOf(schema: ServiceSchema, action: string): Record<string, unknown> | undefined {
	const own = (schema.actions as Record<string, { params?: Record<string, unknown> }> | undefined)?.[action];
	if (own && typeof own === "object" && own.params) return own.params;
	for (const m of (schema.mixins ?? []) as ServiceSchema[]) {
		const found = paramsOf(m, action);
		if (found) return found;
	}
	return undefined;
}
function actionParams(e: ApiEntry): Record<string, unknown> {
	const [service, action] = e.action.split(".");
	if (!schemas.has(service)) schemas.set(service, ALL_SERVICES[service]());
	return paramsOf(schemas.get(service)!, action) ?? {};
}
function kindOf(e: ApiEntry): Kind | null {
	if (ENV_ROUTE.test(e.rest)) return "env";
	if (e.rest === LIST_ROUTE) return "list";
	const params = actionParams(e);
	if ("ownerId" in params) return "ownerId";
	if ("envId" in params) return "envId";
	return null;
}

interface Row {
	method: string;
	rest: string;
	kind: Kind;
	/** system policies holding the method (the "lacking" role has none of them) */
	holding: string[];
}
const MEMBER_METHODS = memberMethods();
const routesOf = (method: string) => API_CATALOGUE.filter(e => e.method === method && e.access === "user");
const isDelete = (r: Row) => (r.rest.startsWith("DELETE ") ? 1 : 0);
const ROWS: Row[] = MEMBER_METHODS.flatMap(method =>
	routesOf(method).flatMap(e => {
		const kind = kindOf(e);
		return kind ? [{ method, rest: e.rest, kind, holding: SYSTEM_POLICIES.filter(p => p.methods.includes(method)).map(p => p.id) }] : [];
	}),
).sort((a, b) => isDelete(a) - isDelete(b)); // deletions last: the rows before them act on the owner's items while they exist
/** Routes of member methods that could name no other account's resource (there must be none). */
const OWN_ONLY = MEMBER_METHODS.flatMap(method =>
	routesOf(method)
		.filter(e => !kindOf(e))
		.map(e => ({ method, rest: e.rest })),
);

describe("collaboration: a sweep over every API method a member can be given", () => {
	let p: Platform;
	let admin = "";
	const session: Record<string, string> = {};
	const ids: Record<string, string> = {};
	let patId = "";
	let pat = "";

	const as = (email: string) => ({ token: session[email] });
	const signIn = async (email: string) => (session[email] = (await p.http.post("/auth/signin", { email, password: PASSWORD })).body.session);
	const envFor = async (name: string) => {
		const made = await p.http.post("/environments", { name, nodes: [node] }, as(OWNER));
		expect(made.status).toBe(201);
		return made.body.id as string;
	};
	const mails = async (to: string) =>
		((await p.broker.call("notifications.adminOutbox", { to })) as { rows: { template: string; subject: string; text: string; links: string[] }[] }).rows;

	async function join(email: string, resources: unknown[]) {
		const invited = await p.http.post("/collaboration/members", { email, resources }, as(OWNER));
		expect(invited.status).toBe(201);
		const link = (await mails(email)).find(m => m.template === "collaboration-invitation")!.links[0];
		const accepted = await p.http.post(`/collaboration/invitations/${invited.body.id}/accept`, { token: new URL(link).searchParams.get("token") }, as(email));
		expect(accepted.status).toBe(200);
		return invited.body.id as string;
	}
	async function role(name: string, policies: string[]) {
		const made = await p.http.post("/collaboration/roles", { name, policies }, as(OWNER));
		expect(made.status).toBe(201);
		return made.body.id as string;
	}
	/** The member's roles: `roleId` on the environment (direct) and on the account root (base). */
	async function share(memberId: string, roleId: string, envId = ids.env) {
		const r = await p.http.patch(
			`/collaboration/members/${memberId}`,
			{
				resources: [
					{ type: "ENV", id: envId, roleIds: [roleId] },
					{ type: "ACCOUNT", roleIds: [roleId] },
				],
			},
			as(OWNER),
		);
		expect(r.status).toBe(200);
	}

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_TEST_CLOCK: "1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		admin = await signInWhenReady(p.http, ADMIN);
		for (const email of [OWNER, MEMBER, PEER]) {
			ids[email] = (await createAccount(p, email, PASSWORD)).id;
			await signIn(email);
		}
		// The owner is a billing account (collaboration.enabled); the members stay trial accounts.
		expect((await p.http.post(`/admin/accounts/${ids[OWNER]}/group`, { group: "billing" }, { token: admin })).status).toBe(200);
		ids.env = await envFor("shared");
		const viewer = ((await p.http.get("/collaboration/roles", as(OWNER))).body as { id: string; name: string }[]).find(r => r.name === "Viewer")!.id;
		ids.member = await join(MEMBER, [{ type: "ACCOUNT", roleIds: [viewer] }]);
		ids.peer = await join(PEER, [{ type: "ENV", id: ids.env, roleIds: [viewer] }]);
		// The owner's items that routes with an id act on (an earlier row may delete one: a later row gets the service's 404).
		ids.spareMember = (
			await p.http.post("/collaboration/members", { email: "spare@example.com", resources: [{ type: "ACCOUNT", roleIds: [viewer] }] }, as(OWNER))
		).body.id;
		ids.spareRole = await role("Spare", ["environment.view"]);
		ids.sparePolicy = (await p.http.post("/collaboration/policies", { name: "Spare", methods: ["environment.control.StopEnv"] }, as(OWNER))).body.id;
		ids.spareGroup = (await p.http.post("/env-groups", { name: "spare" }, as(OWNER))).body.id;
		const token = await p.http.post("/tokens", { password: PASSWORD, description: "narrow", apiList: ["meta.platform.Ping"] }, as(MEMBER));
		expect(token.status).toBe(201);
		[patId, pat] = [token.body.id, token.body.token];
	});
	afterAll(() => p?.stop());

	it("covers every method of the policy tree on every route that serves it", () => {
		expect(MEMBER_METHODS.length).toBeGreaterThan(30);
		expect(MEMBER_METHODS.filter(m => !ROWS.some(r => r.method === m))).toEqual([]);
		// A member's route that could name no owner's resource would bypass the check: none may.
		expect(OWN_ONLY).toEqual([]);
		expect(ROWS.every(r => r.holding.length > 0)).toBe(true);
	});

	/** The id a route's `:id` takes: the owner's environment, or one of its spare items. */
	function idFor(row: Row, envId: string): string {
		if (row.kind === "env") return envId;
		const { path } = splitRest(row.rest);
		const byPrefix: [string, string][] = [
			["/collaboration/members/", ids.spareMember],
			["/collaboration/roles/", ids.spareRole],
			["/collaboration/policies/", ids.sparePolicy],
			["/env-groups/", ids.spareGroup],
			["/billing/invoices/", "no-such-invoice"],
		];
		const found = byPrefix.find(([prefix]) => path.startsWith(prefix));
		if (!found) throw new Error(`No owner's id for ${row.rest}: add one to the sweep`);
		return found[1];
	}

	function send(row: Row, token: string, envId: string): Promise<Reply> {
		const { verb, path } = splitRest(row.rest);
		let url = path.includes(":") ? path.replace(/:[A-Za-z]+/, encodeURIComponent(idFor(row, envId))) : path;
		const owner = row.kind === "ownerId" ? { ownerId: ids[OWNER] } : {};
		if (row.kind === "envId") url += `?envId=${envId}`;
		if (takesBody(verb)) return p.http.call(verb, url, { token, body: owner });
		if (row.kind === "ownerId") url += `?ownerId=${ids[OWNER]}`;
		return p.http.call(verb, url, { token });
	}

	/** "reached": the service answered (see the file's head); anything else is the refusal, with its body. */
	function outcome(row: Row, r: Reply): string {
		const { verb, path } = splitRest(row.rest);
		if (verb === "GET" && (row.kind !== "ownerId" || !path.includes(":"))) return r.status === 200 ? "reached" : `${r.status} ${r.text}`;
		if (r.status < 300) return "reached";
		const gatewaysNotFound = r.status === 404 && (row.kind === "env" || /^Account /.test(r.body?.message ?? ""));
		return r.status >= 400 && r.status < 500 && ![401, 403].includes(r.status) && !gatewaysNotFound ? "reached" : `${r.status} ${r.text}`;
	}

	test.each(ROWS.map((r, i) => ({ ...r, i })))("$method on $rest ($kind): 403 without the policy, through with it, held to a narrower token", async row => {
		// A DELETE of an environment gets one of its own, shared like the other.
		const envId = row.kind === "env" && row.rest.startsWith("DELETE ") ? await envFor(`doomed-${row.i}`) : ids.env;
		const lacking = await role(
			`without ${row.i}`,
			SYSTEM_POLICIES.map(x => x.id).filter(x => !row.holding.includes(x)),
		);
		const having = await role(`with ${row.i}`, [row.holding[0]]);
		const listed = async (r: Reply) => (r.body.rows as { id: string }[]).some(e => e.id === envId);

		await share(ids.member, lacking, envId);
		const refused = await send(row, session[MEMBER], envId);
		if (row.kind === "list") {
			// A list of the member's own and shared environments: the shared one is left out, not refused.
			expect(refused.status).toBe(200);
			expect(await listed(refused)).toBe(false);
		} else {
			expect(refused.status).toBe(403);
			expect(refused.body).toMatchObject({ type: "FORBIDDEN", data: { method: row.method } });
			expect(refused.body.message).toContain(row.method);
		}

		await share(ids.member, having, envId);
		const allowed = await send(row, session[MEMBER], envId);
		expect(outcome(row, allowed)).toBe("reached");
		if (row.kind === "list") expect(await listed(allowed)).toBe(true);

		// The role has it, the token does not: the token decides.
		const edited = await p.http.patch(`/tokens/${patId}`, { password: PASSWORD, apiList: MEMBER_METHODS.filter(m => m !== row.method) }, as(MEMBER));
		expect(edited.status).toBe(200);
		const byToken = await send(row, pat, envId);
		expect(byToken.status).toBe(403);
		expect(byToken.body).toMatchObject({ type: "FORBIDDEN", data: { method: row.method } });
		expect(byToken.body.message).toContain("access token");
	});

	describe("hiding without the policy (COL-7)", () => {
		let viewerRole = "";
		let billingViewer = "";
		beforeAll(async () => {
			const roles = (await p.http.get("/collaboration/roles", as(OWNER))).body as { id: string; name: string }[];
			viewerRole = roles.find(r => r.name === "Viewer")!.id;
			billingViewer = roles.find(r => r.name === "Billing viewer")!.id;
			const charge = await p.http.post(
				`/admin/accounts/${ids[OWNER]}/charge`,
				{ amount: "1.25", description: "shared env extra", envId: ids.env },
				{ token: admin, headers: { "idempotency-key": "sweep-charge" } },
			);
			expect(charge.status).toBe(201);
		});

		it("shows prices, balances and the shared environment's ledger only with Cost Estimation / Billing History", async () => {
			await share(ids.member, viewerRole);
			const refusals = [
				await p.http.get(`/billing/transactions?envId=${ids.env}`, as(MEMBER)),
				await p.http.get(`/billing/history?envId=${ids.env}`, as(MEMBER)),
				await p.http.get(`/pricing?ownerId=${ids[OWNER]}`, as(MEMBER)),
				await p.http.post("/pricing/estimate", { ownerId: ids[OWNER], nodes: [node] }, as(MEMBER)),
				await p.http.get(`/billing/balance?ownerId=${ids[OWNER]}`, as(MEMBER)),
			];
			expect(refusals.map(r => [r.status, r.body.data?.method])).toEqual([
				[403, "billing.account.GetFundAccountHistory"],
				[403, "billing.account.GetAccountBillingHistoryByPeriod"],
				[403, "billing.pricing.GetPricing"],
				[403, "billing.pricing.Estimate"],
				[403, "billing.account.GetAccount"],
			]);
			// The environment itself is still the member's to see: nothing of its price is in the view.
			const seen = await p.http.get(`/environments/${ids.env}`, as(MEMBER));
			expect(seen.status).toBe(200);
			expect(JSON.stringify(seen.body)).not.toMatch(/"(cost|price|prices|tariffs|hourly|monthly)"/);

			await share(ids.member, billingViewer);
			const ledger = await p.http.get(`/billing/transactions?envId=${ids.env}`, as(MEMBER));
			expect(ledger.status).toBe(200);
			expect(ledger.body.rows).toEqual([expect.objectContaining({ kind: "charge", amount: "-1.25", envId: ids.env })]);
			// Only that environment's entries of the owner's ledger, and never in the member's own.
			expect((await p.http.get("/billing/transactions", as(MEMBER))).body.rows.filter((r: { envId?: string }) => r.envId === ids.env)).toEqual([]);
			const prices = await p.http.get(`/pricing?ownerId=${ids[OWNER]}`, as(MEMBER));
			expect(prices.status).toBe(200);
			expect(prices.body.group).toBe("billing"); // the owner's group, not the member's trial
			expect((await p.http.get("/pricing", as(MEMBER))).body.group).toBe("trial");
			const estimate = await p.http.post("/pricing/estimate", { ownerId: ids[OWNER], nodes: [node] }, as(MEMBER));
			expect(estimate.status).toBe(200);
			expect(estimate.body.hourly.min).toMatch(/^\d+\.\d+$/); // money as an exact decimal string
			// Another account's id, of which the caller is no member: 404, never the caller's own prices.
			expect((await p.http.get(`/pricing?ownerId=${ids[PEER]}`, as(MEMBER))).status).toBe(404);
		});

		it("hides the other members without Collaboration, and lets a member with it manage the owner's members (COL-5)", async () => {
			await share(ids.member, viewerRole);
			const hidden = await p.http.get(`/collaboration/members?ownerId=${ids[OWNER]}`, as(MEMBER));
			expect(hidden.status).toBe(403);
			expect(hidden.body.data).toEqual({ method: "users.collaboration.GetMembers" });
			// Nothing the member sees of the shared items names another member.
			const mine = await p.http.get("/collaboration/shared-with-me", as(MEMBER));
			const env = await p.http.get(`/environments/${ids.env}`, as(MEMBER));
			expect(JSON.stringify([mine.body, env.body])).not.toContain(PEER);

			const admins = ((await p.http.get("/collaboration/roles", as(OWNER))).body as { id: string; name: string }[]).find(r => r.name === "Admin")!.id;
			await share(ids.member, admins);
			const listed = await p.http.get(`/collaboration/members?ownerId=${ids[OWNER]}`, as(MEMBER));
			expect(listed.status).toBe(200);
			expect(listed.body.rows.map((m: { email: string }) => m.email)).toEqual(expect.arrayContaining([MEMBER, PEER]));
			// Its own members are its own: none.
			expect((await p.http.get("/collaboration/members", as(MEMBER))).body.total).toBe(0);

			const invited = await p.http.post(
				"/collaboration/members",
				{ ownerId: ids[OWNER], email: "helper@example.com", resources: [{ type: "ENV", id: ids.env, roleIds: [viewerRole] }] },
				as(MEMBER),
			);
			expect(invited.status).toBe(201);
			expect(invited.body).toMatchObject({ email: "helper@example.com", status: "pending" });
			// The owner's member, invited in the owner's name.
			expect(((await p.http.get("/collaboration/members?pageSize=100", as(OWNER))).body.rows as { email: string }[]).map(m => m.email)).toContain(
				"helper@example.com",
			);
			const invitation = (await mails("helper@example.com")).find(m => m.template === "collaboration-invitation")!;
			expect(`${invitation.subject} ${invitation.text}`).toContain(OWNER);
			const suspended = await p.http.post(`/collaboration/members/${ids.peer}/suspend`, { ownerId: ids[OWNER] }, as(MEMBER));
			expect(suspended.status).toBe(200);
			expect(suspended.body.status).toBe("suspended");
			expect((await p.http.get(`/environments/${ids.env}`, as(PEER))).status).toBe(404);

			// COL-8: the owner reads in its audit what its member did for it.
			const audit = (await p.http.get(`/account/audit?actor=${MEMBER}&pageSize=100`, as(OWNER))).body.rows as Record<string, any>[];
			expect(audit.map(e => e.action)).toEqual(expect.arrayContaining(["users.collaboration.InviteMember", "users.collaboration.SuspendMember"]));
			expect(audit.find(e => e.action === "users.collaboration.SuspendMember")).toMatchObject({
				actor: { id: ids[MEMBER], email: MEMBER },
				onBehalfOf: { accountId: ids[OWNER], email: OWNER },
				account: ids[OWNER],
			});
		});
	});
});
