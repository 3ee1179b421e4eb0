// The inventory billing and metering read (MTR-1, MTR-3, MTR-5): environments created, stopped,
// changed, deleted and transferred across hours on the test clock, then read back hour by hour
// through `environments.inventory`; node ids that outlive a PATCH; `nodesOf` and `ownerOf`; the
// subscription flag only an administrator sets.
import { waitUntil } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";
import type { InventoryRow } from "../../lib/usage-record";

const ADMIN = { email: "root@example.com", password: "Inventory-adm1n-pass!" };
const node = (over: Record<string, unknown> = {}) => ({ layer: "cp", type: "tomcat", reservedCloudlets: 1, scalingLimit: 4, ...over });
// Two days ahead: far enough to be a clean slate, near enough that no password has expired (PWD-2).
const DAY0 = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
const t = (hhmm: string) => `${DAY0}T${hhmm}:00.000Z`;

interface NodeView {
	layer: string;
	count: number;
	nodeIds: string[];
}
type Row = InventoryRow;

describe("environments inventory across hours", () => {
	let p: Platform;
	let adminSession: string;
	let adminId: string;
	let alice: { id: string; email: string; session: string };
	let bob: { id: string; email: string };
	const envs: Record<string, { id: string; nodes: NodeView[] }> = {};

	const signIn = async (email: string, password: string) => {
		const r = await p.http.post("/auth/signin", { email, password });
		expect(r.status).toBe(200);
		return r.body.session as string;
	};
	async function setClock(hhmm: string) {
		const r = await p.http.post("/admin/clock", { now: t(hhmm) }, { token: adminSession });
		expect(r.status).toBe(200);
	}
	const create = async (session: string, name: string, body: Record<string, unknown> = {}) => {
		const r = await p.http.post("/environments", { name, nodes: [node()], ...body }, { token: session });
		expect({ name, status: r.status }).toEqual({ name, status: 201 });
		envs[name] = r.body;
		return r.body;
	};
	const inventory = (from: string, to: string, more: Record<string, unknown> = {}) =>
		p.broker.call<{ rows: Row[]; next: string | null }, Record<string, unknown>>("environments.inventory", { from: t(from), to: t(to), ...more });
	const byName = (rows: Row[]) => Object.fromEntries(rows.map(r => [r.name, r]));

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_TEST_CLOCK: "1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		await waitUntil(async () => (await p.http.post("/auth/signin", ADMIN)).status === 200);
		adminSession = await signIn(ADMIN.email, ADMIN.password);
		await setClock("09:00");
		// The clock moved by days: sessions begin again on the platform's time.
		adminSession = await signIn(ADMIN.email, ADMIN.password);
		adminId = (await p.http.get("/account", { token: adminSession })).body.id;
		const password = "Hourly-charged-pass-1!";
		const account = await createAccount(p, "alice@example.com", password);
		alice = { ...account, session: await signIn(account.email, password) };
		await p.http.call("PUT", `/admin/accounts/${alice.id}/quotas/environment.maxcount`, { token: adminSession, body: { value: 20 } });
		// A paying customer receives "gift" (administrators are staff: they receive none).
		bob = await createAccount(p, "bob@example.com", password);
		expect((await p.http.post(`/admin/accounts/${bob.id}/group`, { group: "billing" }, { token: adminSession })).status).toBe(200);

		// 09:00 — the hour before the one billed.
		for (const name of ["steady", "stopper", "sleeper", "goner", "gift"]) await create(alice.session, name);
		await create(alice.session, "shaper", { nodes: [node({ count: 2 })] });
		await create(adminSession, "sub", { subscription: true });
		await setClock("09:30");
		await p.http.post(`/environments/${envs.sleeper.id}/stop`, {}, { token: alice.session });

		// 10:00–11:00 — the hour billed.
		await setClock("10:20");
		await p.http.post(`/environments/${envs.stopper.id}/stop`, {}, { token: alice.session });
		await setClock("10:30");
		const patched = await p.http.patch(
			`/environments/${envs.shaper.id}`,
			{ nodes: [node({ reservedCloudlets: 2 }), node({ layer: "sqldb", type: "mysql" })] },
			{ token: alice.session },
		);
		expect(patched.status).toBe(200);
		envs.shaperAfter = patched.body;
		await setClock("10:40");
		expect((await p.http.del(`/environments/${envs.goner.id}`, { token: alice.session })).status).toBe(204);
		await setClock("10:45");
		expect((await p.http.post(`/environments/${envs.gift.id}/transfer`, { email: bob.email }, { token: alice.session })).status).toBe(200);
		await setClock("10:50");
		await create(alice.session, "late");
		await setClock("11:00");
		await create(alice.session, "future");
		await setClock("11:10");
	});
	afterAll(() => p?.stop());

	it("gives every node an id and keeps the ids of the nodes a PATCH keeps", () => {
		const [cp] = envs.shaper.nodes;
		expect(cp.nodeIds).toHaveLength(2);
		for (const id of cp.nodeIds) expect(id).toMatch(/^n[0-9A-Za-z]{16}$/);
		const [cpAfter, sql] = envs.shaperAfter.nodes;
		expect(cpAfter.nodeIds).toEqual([cp.nodeIds[0]]);
		expect(sql.nodeIds).toHaveLength(1);
		expect(cp.nodeIds).not.toContain(sql.nodeIds[0]);
		const all = Object.values(envs).flatMap(e => e.nodes.flatMap(n => n.nodeIds));
		expect(new Set(all).size).toBe(all.length - 1); // shaper's kept node is listed twice, before and after
	});

	it("refuses node ids from clients", async () => {
		const r = await p.http.patch(`/environments/${envs.steady.id}`, { nodes: [{ ...node(), nodeIds: ["nAAAAAAAAAAAAAAAA"] }] }, { token: alice.session });
		expect(r.status).toBe(422);
		expect(r.body.data.map((e: { field: string }) => e.field)).toContain("nodes[0].nodeIds");
	});

	it("lets only an administrator create a subscription environment (MTR-5)", async () => {
		const r = await p.http.post("/environments", { name: "freebie", subscription: true, nodes: [node()] }, { token: alice.session });
		expect(r.status).toBe(422);
		expect(r.body).toMatchObject({ type: "VALIDATION_ERROR", data: [{ field: "subscription" }] });
		expect((await p.http.get(`/environments/${envs.sub.id}`, { token: adminSession })).body.subscription).toBe(true);
		expect((await p.http.get(`/environments/${envs.steady.id}`, { token: alice.session })).body.subscription).toBe(false);
	});

	it("lists every environment of the billed hour as it was within it", async () => {
		const { rows, next } = await inventory("10:00", "11:00");
		expect(next).toBeNull();
		expect(rows.map(r => r.envId)).toEqual([...rows.map(r => r.envId)].sort());
		const rowOf = byName(rows);
		expect(Object.keys(rowOf).sort()).toEqual(["gift", "goner", "late", "shaper", "sleeper", "steady", "stopper", "sub"]);
		expect(rowOf.steady).toMatchObject({ envId: envs.steady.id, ownerId: alice.id, running: true, subscription: false, ssl: false });
		expect(rowOf.stopper.running).toBe(true); // stopped at 10:20: ran for part of the hour
		expect(rowOf.sleeper.running).toBe(false); // stopped all hour
		expect(rowOf.goner.running).toBe(true); // deleted at 10:40
		expect(rowOf.late.running).toBe(true); // created at 10:50
		expect(rowOf.gift.ownerId).toBe(bob.id); // transferred at 10:45: the last owner pays
		expect(rowOf.sub).toMatchObject({ ownerId: adminId, subscription: true });
		// Changed at 10:30: the kept node with its new reservation, the new one, and the removed one as it last was.
		const [kept, removed] = envs.shaper.nodes[0].nodeIds;
		const added = envs.shaperAfter.nodes[1].nodeIds[0];
		expect(rowOf.shaper.nodes.map(n => [n.nodeId, n.layer, n.reservedCloudlets])).toEqual([
			[kept, "cp", 2],
			[added, "sqldb", 1],
			[removed, "cp", 1],
		]);
		expect(rowOf.steady.nodes).toEqual([
			{ nodeId: envs.steady.nodes[0].nodeIds[0], layer: "cp", reservedCloudlets: 1, scalingLimit: 4, diskLimitGB: 10, publicIPv4: 0, publicIPv6: 0 },
		]);
	});

	it("lists the next hour from the live documents and the changes since", async () => {
		const rowOf = byName((await inventory("11:00", "12:00")).rows);
		expect(Object.keys(rowOf).sort()).toEqual(["future", "gift", "late", "shaper", "sleeper", "steady", "stopper", "sub"]);
		expect(rowOf.stopper.running).toBe(false);
		expect(rowOf.shaper.nodes.map(n => n.nodeId)).toEqual(envs.shaperAfter.nodes.flatMap(n => n.nodeIds));
		// Before anything existed, and an hour before the deletion only.
		expect((await inventory("08:00", "09:00")).rows).toEqual([]);
		expect(byName((await inventory("09:00", "10:00")).rows).goner.running).toBe(true);
	});

	it("pages by envId with the same rows as one page", async () => {
		const whole = (await inventory("10:00", "11:00")).rows;
		const paged: Row[] = [];
		let after: string | undefined;
		let pages = 0;
		do {
			const page = await inventory("10:00", "11:00", { limit: 3, ...(after ? { afterEnvId: after } : {}) });
			expect(page.rows.length).toBeLessThanOrEqual(3);
			paged.push(...page.rows);
			after = page.next ?? undefined;
		} while (after && ++pages < 10);
		expect(pages).toBeGreaterThan(1);
		expect(paged).toEqual(whole);
	});

	it("refuses a bad interval naming the field", async () => {
		await expect(inventory("11:00", "10:00")).rejects.toMatchObject({ code: 422, data: [{ field: "to" }] });
		await expect(p.broker.call("environments.inventory", { from: "yesterday", to: t("10:00") })).rejects.toMatchObject({
			code: 422,
			data: [{ field: "from" }],
		});
	});

	it("names the nodes samples may report: removed ones and deleted environments' too (nodesOf)", async () => {
		const rows = await p.broker.call<{ envId: string; ownerId: string; nodeIds: string[] }[], { envIds: string[] }>("environments.nodesOf", {
			envIds: [envs.shaper.id, envs.goner.id, "no-such-env"],
		});
		const of = Object.fromEntries(rows.map(r => [r.envId, r]));
		expect(Object.keys(of).sort()).toEqual([envs.shaper.id, envs.goner.id].sort());
		expect(of[envs.shaper.id].ownerId).toBe(alice.id);
		expect(of[envs.shaper.id].nodeIds.sort()).toEqual([...envs.shaper.nodes[0].nodeIds, envs.shaperAfter.nodes[1].nodeIds[0]].sort());
		expect(of[envs.goner.id].nodeIds).toEqual(envs.goner.nodes[0].nodeIds);

		// 36 days on, the deleted environment and the removed node are forgotten.
		adminSession = await signIn(ADMIN.email, ADMIN.password);
		await p.http.post("/admin/clock", { now: new Date(Date.parse(t("11:10")) + 36 * 86_400_000).toISOString() }, { token: adminSession });
		const later = await p.broker.call<{ envId: string; nodeIds: string[] }[], { envIds: string[] }>("environments.nodesOf", {
			envIds: [envs.shaper.id, envs.goner.id],
		});
		expect(later).toEqual([{ envId: envs.shaper.id, ownerId: alice.id, nodeIds: envs.shaperAfter.nodes.flatMap(n => n.nodeIds) }]);
	});

	it("tells whose an environment is (ownerOf)", async () => {
		expect(await p.broker.call("environments.ownerOf", { id: envs.gift.id })).toMatchObject({
			envId: envs.gift.id,
			ownerId: bob.id,
			name: "gift",
			status: expect.any(String),
		});
		expect(await p.broker.call("environments.ownerOf", { id: envs.goner.id })).toBeNull();
	});
});
