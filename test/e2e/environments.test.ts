// Environments over HTTP (ENV-1…ENV-3, QTA-3, QTA-4, STS-1): trial limits refuse what they should
// with the quota, limit and requested value; lifecycle commands publish events for the
// orchestrator; account status gates what may change; transfers go to active billing accounts.
import type { Context, ServiceSchema } from "moleculer";
import { signInWhenReady, waitUntil } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "root@example.com", password: "Envs-adm1n-passw0rd!" };
const node = (over: Record<string, unknown> = {}) => ({ layer: "cp", type: "tomcat", reservedCloudlets: 1, scalingLimit: 4, ...over });

describe("environments", () => {
	let p: Platform;
	let admin: string;
	const events: { event: string; id: string; status?: string }[] = [];
	const orchestrator: ServiceSchema = {
		name: "test-orchestrator",
		events: {
			"environments.*"(ctx: Context<{ id: string; status: string }>) {
				events.push({ event: String(ctx.eventName), id: ctx.params.id, status: ctx.params.status });
			},
		},
	};

	async function user(email: string) {
		const password = "Cloud-native-pass-1!";
		const account = await createAccount(p, email, password);
		const session = (await p.http.post("/auth/signin", { email, password })).body.session as string;
		return { ...account, session, password };
	}
	const create = (session: string, body: Record<string, unknown>) => p.http.post("/environments", { nodes: [node()], ...body }, { token: session });
	const count = async (session: string) => (await p.http.get("/environments", { token: session })).body.total as number;
	async function setStatus(id: string, status: string) {
		const r = await p.http.post(`/admin/accounts/${id}/status`, { status, reason: "environments test" }, { token: admin });
		expect(r.status).toBe(200);
	}
	async function setGroup(id: string, group: string) {
		const r = await p.http.post(`/admin/accounts/${id}/group`, { group }, { token: admin });
		expect(r.status).toBe(200);
	}

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password }, extra: [orchestrator] });
		admin = await signInWhenReady(p.http, ADMIN);
	});
	afterAll(() => p?.stop());

	it("lets a trial account create 5 environments and refuses the 6th naming quota, limit and request", async () => {
		const u = await user("trial-five@example.com");
		for (let i = 1; i <= 5; i++) expect((await create(u.session, { name: `env-${i}` })).status).toBe(201);
		const sixth = await create(u.session, { name: "env-6" });
		expect(sixth.status).toBe(422);
		expect(sixth.body).toMatchObject({ type: "QUOTA_EXCEEDED", data: { quota: "environment.maxcount", limit: 5, requested: 6 } });
		expect(await count(u.session)).toBe(5);
	});

	it("refuses nodes, layers, cloudlets, public IPs, SSL, HA and custom domains beyond trial limits", async () => {
		const u = await user("trial-limits@example.com");
		const cases: [Record<string, unknown>, string, number, number][] = [
			[{ nodes: [node({ count: 3 }), node({ layer: "sqldb", count: 2 }), node({ layer: "cache", count: 2 })] }, "environment.maxnodescount", 6, 7],
			[{ nodes: [node({ count: 3 })] }, "environment.maxsamenodescount", 2, 3],
			[{ nodes: [node({ scalingLimit: 9 })] }, "environment.maxcloudletsperrec", 8, 9],
			[{ nodes: [node({ publicIPv4: 1 })] }, "environment.externalip.enabled", 0, 1],
			[{ nodes: [node({ publicIPv6: 1 })] }, "environment.externalipv6.enabled", 0, 1],
			[{ nodes: [node({ diskLimitGB: 11 })] }, "disk.limitation", 10, 11],
			[{ ssl: true }, "environment.jelasticssl.enabled", 0, 1],
			[{ highAvailability: true }, "environment.highavailability.enabled", 0, 1],
			[{ customDomains: ["shop.example.com"] }, "environment.customdomains.enabled", 0, 1],
		];
		for (const [body, quota, limit, requested] of cases) {
			const r = await create(u.session, { name: "limited", ...body });
			expect({ quota, status: r.status, data: r.body.data }).toEqual({ quota, status: 422, data: { quota, limit, requested } });
		}
		expect(await count(u.session)).toBe(0);
		// Raised limits (an upgrade does this through the group) allow the same requests.
		for (const [key, value] of [
			["environment.jelasticssl.enabled", 1],
			["environment.externalip.enabled", 1],
			["environment.externalip.maxcount", 2],
			["environment.externalip.maxcount.per.node", 1],
		] as const) {
			expect((await p.http.call("PUT", `/admin/accounts/${u.id}/quotas/${key}`, { token: admin, body: { value } })).status).toBe(200);
		}
		expect((await create(u.session, { name: "allowed", ssl: true, nodes: [node({ publicIPv4: 1 })] })).status).toBe(201);
	});

	it("needs a balance of at least account.minbalance to create (QTA-3)", async () => {
		const u = await user("thrifty@example.com");
		await p.http.call("PUT", `/admin/accounts/${u.id}/quotas/account.minbalance`, { token: admin, body: { value: "50.00" } });
		const r = await create(u.session, { name: "wish" });
		expect(r.status).toBe(422);
		expect(r.body).toMatchObject({ type: "INSUFFICIENT_BALANCE", data: { balance: "10.00", minBalance: "50.00" } });
		await p.http.del(`/admin/accounts/${u.id}/quotas/account.minbalance`, { token: admin });
		expect((await create(u.session, { name: "wish" })).status).toBe(201);
	});

	it("refuses bad input naming the field, and creates nothing", async () => {
		const u = await user("careless@example.com");
		expect((await create(u.session, { name: "taken" })).status).toBe(201);
		const cases: [Record<string, unknown>, number, string][] = [
			[{ name: "neg", nodes: [node({ reservedCloudlets: -1 })] }, 422, "nodes[0].reservedCloudlets"],
			[{ name: "over", nodes: [node({ reservedCloudlets: 5, scalingLimit: 4 })] }, 422, "nodes[0].reservedCloudlets"],
			[{ name: "bad name!" }, 422, "name"],
			[{ name: "nolayer", nodes: [{ type: "x", reservedCloudlets: 1, scalingLimit: 2 }] }, 422, "nodes[0].layer"],
			[{ name: "extra", nodes: [node({ gpu: 1 })] }, 422, "nodes[0].gpu"],
			[{ name: "unknown", colour: "blue" }, 422, "colour"],
			[{ name: "empty", nodes: [] }, 422, "nodes"],
			[{ name: "grp", groups: ["not-mine"] }, 422, "groups[0]"],
			[{ name: "TAKEN" }, 409, "name"],
		];
		for (const [body, status, field] of cases) {
			const r = await create(u.session, body);
			expect({ body, status: r.status }).toEqual({ body, status });
			expect(r.body.data.map((e: { field: string }) => e.field)).toContain(field);
		}
		expect(await count(u.session)).toBe(1);
	});

	it("publishes lifecycle events; lowered limits never block stop, scale-down or delete", async () => {
		const u = await user("operator@example.com");
		const env = (await create(u.session, { name: "shop", nodes: [node({ count: 2, scalingLimit: 8 })] })).body;
		await waitUntil(async () => events.some(e => e.id === env.id && e.event === "environments.started"), 1000);
		expect((await p.http.post(`/environments/${env.id}/stop`, {}, { token: u.session })).body.status).toBe("stopped");
		expect((await p.http.post(`/environments/${env.id}/start`, {}, { token: u.session })).body.status).toBe("running");

		// The provider lowers the cloudlet limit below what the environment has.
		await p.http.call("PUT", `/admin/accounts/${u.id}/quotas/environment.maxcloudletsperrec`, { token: admin, body: { value: 4 } });
		const up = await p.http.patch(`/environments/${env.id}`, { nodes: [node({ count: 2, scalingLimit: 10 })] }, { token: u.session });
		expect(up.body.data).toEqual({ quota: "environment.maxcloudletsperrec", limit: 4, requested: 10 });
		const down = await p.http.patch(`/environments/${env.id}`, { nodes: [node({ count: 1, scalingLimit: 6 })] }, { token: u.session });
		expect(down.status).toBe(200);
		expect((await p.http.post(`/environments/${env.id}/stop`, {}, { token: u.session })).status).toBe(200);
		expect((await p.http.del(`/environments/${env.id}`, { token: u.session })).status).toBe(204);
		await waitUntil(async () => events.some(e => e.id === env.id && e.event === "environments.deleted"), 1000);
		expect(events.filter(e => e.id === env.id).map(e => e.event)).toEqual([
			"environments.created",
			"environments.started",
			"environments.stopped",
			"environments.started",
			"environments.changed",
			"environments.stopped",
			"environments.deleted",
		]);
		expect(((await p.broker.call("quotas.usage", { accountId: u.id, key: "environment.maxcount" })) as { used: number }).used).toBe(0);
	});

	it("lets a deactivated account stop, delete and transfer out, but not create, start or change (STS-1)", async () => {
		const u = await user("lapsed@example.com");
		const a = (await create(u.session, { name: "a" })).body;
		const b = (await create(u.session, { name: "b" })).body;
		await setStatus(u.id, "deactivated");
		expect((await create(u.session, { name: "c" })).body.type).toBe("ACCOUNT_DEACTIVATED");
		expect((await p.http.patch(`/environments/${a.id}`, { ssl: false }, { token: u.session })).status).toBe(403);
		expect((await p.http.post(`/environments/${a.id}/stop`, {}, { token: u.session })).status).toBe(200);
		expect((await p.http.post(`/environments/${a.id}/start`, {}, { token: u.session })).body.type).toBe("ACCOUNT_DEACTIVATED");
		expect((await p.http.del(`/environments/${b.id}`, { token: u.session })).status).toBe(204);
		await setStatus(u.id, "active");
	});

	it("transfers only to active non-trial accounts, moving the quota usage (ENV-3)", async () => {
		const from = await user("giver@example.com");
		const trial = await user("trial-taker@example.com");
		const paid = await user("paid-taker@example.com");
		await setGroup(paid.id, "billing");
		const env = (await create(from.session, { name: "handover" })).body;

		expect((await p.http.post(`/environments/${env.id}/transfer`, { email: trial.email }, { token: from.session })).body.type).toBe("INVALID_STATE");
		expect((await p.http.post(`/environments/${env.id}/transfer`, { email: "nobody@example.com" }, { token: from.session })).body.data[0].field).toBe("email");
		const moved = await p.http.post(`/environments/${env.id}/transfer`, { email: paid.email }, { token: from.session });
		expect(moved.status).toBe(200);
		expect(moved.body).toMatchObject({ ownerId: paid.id, ownerEmail: paid.email });
		expect(await count(from.session)).toBe(0);
		expect((await p.http.get(`/environments/${env.id}`, { token: paid.session })).status).toBe(200);
		expect((await p.http.get(`/environments/${env.id}`, { token: from.session })).status).toBe(404);
		const used = async (id: string) => ((await p.broker.call("quotas.usage", { accountId: id, key: "environment.maxcount" })) as { used: number }).used;
		expect([await used(from.id), await used(paid.id)]).toEqual([0, 1]);
	});

	it("keeps environment groups as a tree of my own", async () => {
		const u = await user("organised@example.com");
		const root = (await p.http.post("/env-groups", { name: "Production" }, { token: u.session })).body;
		const child = (await p.http.post("/env-groups", { name: "EU", parentId: root.id }, { token: u.session })).body;
		expect(child.parentId).toBe(root.id);
		const env = (await create(u.session, { name: "eu-shop", groups: [child.id] })).body;
		expect(env.groups).toEqual([child.id]);
		const other = await user("snooper@example.com");
		expect((await p.http.post("/env-groups", { name: "Mine", parentId: root.id }, { token: other.session })).body.data[0].field).toBe("parentId");
		expect((await p.http.del(`/env-groups/${root.id}`, { token: u.session })).status).toBe(409);
		expect((await p.http.del(`/env-groups/${child.id}`, { token: u.session })).status).toBe(204);
		expect((await p.http.get(`/environments/${env.id}`, { token: u.session })).body.groups).toEqual([]);
	});

	it("creates exactly 7 of 100 parallel environments against a remaining allowance of 7", async () => {
		const u = await user("burst@example.com");
		await p.http.call("PUT", `/admin/accounts/${u.id}/quotas/environment.maxcount`, { token: admin, body: { value: 10 } });
		for (let i = 0; i < 3; i++) await create(u.session, { name: `base-${i}` });
		const meta = { user: { id: u.id, email: u.email, status: "active" } };
		const outcomes = await Promise.allSettled(
			Array.from({ length: 100 }, (_, i) => p.broker.call("environments.create", { name: `burst-${i}`, nodes: [node()] }, { meta })),
		);
		expect(outcomes.filter(o => o.status === "fulfilled")).toHaveLength(7);
		expect(await count(u.session)).toBe(10);
	});
});
