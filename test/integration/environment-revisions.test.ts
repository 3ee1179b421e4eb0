// Moved here from test/e2e/environments-inventory.test.ts (issue 15): both cases need the
// environments service's stores, which no public action reaches. One deletes a revision row to stand
// for a process that stopped between writing an environment and appending its revision; the other
// stores an environment in the shape written before node ids and runs the backfill. The inventory
// itself is read through its public action, `environments.inventory`, as billing and metering do.
import type { Doc, Store } from "../../mixins/db.mixin";
import { backfillRevisions, type EnvDoc, type InventoryStores } from "../../services/environments/store";
import type { InventoryRow } from "../../lib/usage-record";
import { waitUntil } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "root@example.com", password: "Revisions-adm1n-pass!" };
const node = (over: Record<string, unknown> = {}) => ({ layer: "cp", type: "tomcat", reservedCloudlets: 1, scalingLimit: 4, ...over });
// Two days ahead: a clean slate, near enough that no password has expired (PWD-2).
const DAY0 = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
const t = (hhmm: string) => `${DAY0}T${hhmm}:00.000Z`;

describe("environment revisions (internals of the inventory)", () => {
	let p: Platform;
	let adminSession: string;
	let alice: { id: string; session: string };
	const envs: Record<string, { id: string }> = {};

	const signIn = async (email: string, password: string) => {
		const r = await p.http.post("/auth/signin", { email, password });
		expect(r.status).toBe(200);
		return r.body.session as string;
	};
	async function setClock(hhmm: string) {
		const r = await p.http.post("/admin/clock", { now: t(hhmm) }, { token: adminSession });
		expect(r.status).toBe(200);
	}
	const create = async (name: string, body: Record<string, unknown> = {}) => {
		const r = await p.http.post("/environments", { name, nodes: [node()], ...body }, { token: alice.session });
		expect({ name, status: r.status }).toEqual({ name, status: 201 });
		envs[name] = r.body;
	};
	const inventory = (from: string, to: string) =>
		p.broker.call<{ rows: InventoryRow[]; next: string | null }, Record<string, unknown>>("environments.inventory", { from: t(from), to: t(to) });
	const byName = (rows: InventoryRow[]) => Object.fromEntries(rows.map(r => [r.name, r]));

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_TEST_CLOCK: "1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		await waitUntil(async () => (await p.http.post("/auth/signin", ADMIN)).status === 200);
		adminSession = await signIn(ADMIN.email, ADMIN.password);
		await setClock("09:00");
		// The clock moved by days: sessions begin again on the platform's time.
		adminSession = await signIn(ADMIN.email, ADMIN.password);
		const password = "Hourly-charged-pass-1!";
		const account = await createAccount(p, "alice@example.com", password);
		alice = { id: account.id, session: await signIn(account.email, password) };

		// 09:00 — the hour before; 10:00–11:00 — the hour read back.
		await create("steady");
		await create("shaper", { nodes: [node({ count: 2 })] });
		await setClock("10:20");
		expect((await p.http.post(`/environments/${envs.steady.id}/stop`, {}, { token: alice.session })).status).toBe(200);
		await setClock("10:30");
		const patched = await p.http.patch(
			`/environments/${envs.shaper.id}`,
			{ nodes: [node({ reservedCloudlets: 2 }), node({ layer: "sqldb", type: "mysql" })] },
			{ token: alice.session },
		);
		expect(patched.status).toBe(200);
		await setClock("11:10");
	});
	afterAll(() => p?.stop());

	it("loses nothing when a process stopped between writing an environment and appending its revision", async () => {
		const whole = (await inventory("10:00", "11:00")).rows;
		expect(Object.keys(byName(whole)).sort()).toEqual(["shaper", "steady"]);
		const envService = p.broker.getLocalService("environments") as unknown as { db: { env_revisions: Store } };
		const lost = await envService.db.env_revisions.findById(`${envs.shaper.id}-2`); // the PATCH at 10:30
		expect(lost).toMatchObject({ envId: envs.shaper.id, status: "running" });
		await envService.db.env_revisions.remove({ _id: lost?._id });
		try {
			expect((await inventory("10:00", "11:00")).rows).toEqual(whole);
		} finally {
			await envService.db.env_revisions.insert(lost as Doc);
		}
	});

	it("gives environments stored before node ids their ids, a rev and a first revision, once", async () => {
		const envService = p.broker.getLocalService("environments") as unknown as { db: InventoryStores };
		const createdAt = new Date(t("08:00"));
		const legacy = {
			_id: "legacyEnv00000000000",
			ownerId: alice.id,
			ownerName: `${alice.id}|legacy`,
			name: "legacy",
			status: "running",
			groups: [],
			nodes: [{ layer: "cp", type: "tomcat", count: 2, reservedCloudlets: 1, scalingLimit: 4, diskLimitGB: 10, publicIPv4: 0, publicIPv6: 0 }],
			ssl: false,
			highAvailability: false,
			customDomains: [],
			createdAt,
			updatedAt: new Date(t("08:30")),
		};
		await envService.db.environments.insert(legacy as unknown as EnvDoc);
		expect(await backfillRevisions(envService.db)).toBe(1);
		expect(await backfillRevisions(envService.db)).toBe(0);
		const doc = await envService.db.environments.findById(legacy._id);
		expect(doc).toMatchObject({ rev: 1, subscription: false });
		expect(doc?.nodes[0].nodeIds).toHaveLength(2);
		expect(await envService.db.env_revisions.findById(`${legacy._id}-1`)).toMatchObject({ at: createdAt, status: "running", nodes: [{}, {}] });
		const row = byName((await inventory("08:00", "09:00")).rows).legacy;
		expect(row.nodes.map(n => n.nodeId)).toEqual(doc?.nodes[0].nodeIds);
	});
});
