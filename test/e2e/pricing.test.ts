// Tariffs, pricing models and what they do (PRC-1…PRC-4, BIL-3, STS-2, MTR-5): the default model
// of PRC-2 as users see it, the estimate of a topology, admin CRUD with bad input refused field by
// field, a group moved to a new model paying its prices, a subscription environment charged
// nothing, and an account deactivated by the charge that takes it below its minimum balance.
import type { UsageRecord } from "../../lib/usage-record";
import { signInWhenReady, waitUntil, type Reply } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "pricing-admin@example.com", password: "Sets-the-prices-1!" };
const USER = { email: "shopper@example.com", password: "Compares-prices-2!" };

describe("pricing", () => {
	let p: Platform;
	let admin: string;
	let user: { id: string; session: string };
	const fields = (r: Reply) => (r.body.data as { field: string }[]).map(d => d.field).sort();
	const charge = (records: UsageRecord[]) =>
		p.broker.call<{ charged: number; failed: number }, { records: UsageRecord[] }>("billing.chargeRecords", { records });
	const hourRecord = (over: Partial<UsageRecord> & { reserved: number }): UsageRecord => ({
		envId: over.envId ?? `synthetic-${Math.random().toString(36).slice(2)}`,
		hour: Date.parse("2026-11-20T05:00:00Z"),
		rev: 1,
		ownerId: user.id,
		name: "synthetic",
		running: true,
		subscription: false,
		ssl: false,
		...over,
		nodes: [
			{
				nodeId: "n1",
				layer: "cp",
				reservedCloudlets: over.reserved,
				scalingLimit: over.reserved,
				diskLimitGB: 0,
				publicIPv4: 0,
				publicIPv6: 0,
				peakRamMiB: 0,
				avgCpuMHz: 0,
				peakDiskMB: 0,
				trafficInMB: 0,
				trafficOutMB: 0,
				samples: 0,
			},
		],
	});
	const usage = async () =>
		((await p.http.get("/billing/transactions?pageSize=100", { token: user.session })).body.rows as { kind: string; amount: string; envId?: string }[]).filter(
			r => r.kind === "charge",
		);

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		admin = await signInWhenReady(p.http, ADMIN);
		const a = await createAccount(p, USER.email, USER.password);
		user = { id: a.id, session: (await p.http.post("/auth/signin", USER)).body.session };
	});
	afterAll(() => p?.stop());

	it("shows my group's tariffs with tiers, hourly and monthly at 730 hours (PRC-2, PRC-3)", async () => {
		const r = await p.http.get("/pricing", { token: user.session });
		expect(r.status).toBe(200);
		expect(r.body).toMatchObject({ group: "trial", model: { id: "default" }, currency: "USD", hoursPerMonth: 730 });
		const reserved = r.body.tariffs.find((t: { resource: string }) => t.resource === "cloudlet.reserved");
		expect(reserved.mode).toBe("volume");
		expect(reserved.tiers.map((t: { from: number; to: number | null; price: string; monthly: string }) => [t.from, t.to, t.price, t.monthly])).toEqual([
			[1, 4, "0.0043", "3.14"],
			[5, 8, "0.0040", "2.92"],
			[9, 16, "0.0035", "2.56"],
			[17, 32, "0.0033", "2.41"],
			[33, null, "0.0030", "2.19"],
		]);
		const ip = r.body.tariffs.find((t: { resource: string }) => t.resource === "ip.v4");
		expect(ip.tiers[0]).toMatchObject({ price: "0.0050", monthly: "3.65" });
	});

	it("estimates a topology: reserved only to all at the scaling limit, with the discount (PRC-4)", async () => {
		const r = await p.http.post(
			"/pricing/estimate",
			{ nodes: [{ layer: "cp", type: "tomcat", reservedCloudlets: 8, scalingLimit: 16 }] },
			{ token: user.session },
		);
		expect(r.status).toBe(200);
		// min: 8 reserved × 0.004 = 0.032; max: + 8 dynamic × 0.0048 + the default 10 GB disk × 0.00015 = 0.0719 an hour.
		expect(r.body.hourly).toEqual({ min: "0.0320", max: "0.0719" });
		expect(r.body.monthly).toEqual({ min: "23.36", max: "52.49" });
		expect(r.body.discount).toEqual({ reserved: "20%", dynamic: "4%" });
		expect(r.body.currency).toBe("USD");

		const bad = await p.http.post(
			"/pricing/estimate",
			{ nodes: [{ layer: "cp", type: "x", reservedCloudlets: 9, scalingLimit: 4 }], colour: "red" },
			{ token: user.session },
		);
		expect(bad.status).toBe(422);
		const again = await p.http.post(
			"/pricing/estimate",
			{ nodes: [{ layer: "cp", type: "x", reservedCloudlets: 9, scalingLimit: 4 }] },
			{ token: user.session },
		);
		expect(fields(again)).toEqual(["nodes[0].reservedCloudlets"]);
	});

	it("lets admins add tariffs and models, refusing bad ones field by field, and only admins", async () => {
		expect((await p.http.get("/admin/tariffs", { token: user.session })).status).toBe(403);
		const tariffs = (await p.http.get("/admin/tariffs", { token: admin })).body as { id: string; resource: string }[];
		expect(tariffs.map(t => t.resource).sort()).toEqual(["cloudlet.dynamic", "cloudlet.reserved", "disk", "ip.v4", "ip.v6", "ssl", "traffic"]);

		const bad = await p.http.post(
			"/admin/tariffs",
			{
				id: "broken",
				name: "Broken",
				resource: "cloudlet.reserved",
				tiers: [
					{ from: 1, price: "-0.1" },
					{ from: 1, price: "0.002" },
				],
			},
			{ token: admin },
		);
		expect(bad.status).toBe(422);
		expect(fields(bad)).toEqual(expect.arrayContaining(["tiers[0].price", "tiers[1].from"]));
		expect((await p.http.post("/admin/tariffs", { id: "x", name: "X", resource: "gold", tiers: [{ from: 1, price: "1" }] }, { token: admin })).status).toBe(
			422,
		);

		const cheap = await p.http.post(
			"/admin/tariffs",
			{ id: "cheap.reserved", name: "Cheap reserved", resource: "cloudlet.reserved", tiers: [{ from: 1, price: "0.001" }] },
			{ token: admin },
		);
		expect(cheap.status).toBe(201);
		expect(
			(await p.http.post("/admin/tariffs", { id: "cheap.reserved", name: "Again", resource: "ssl", tiers: [{ from: 1, price: "0" }] }, { token: admin }))
				.status,
		).toBe(409);

		const twoOfOne = await p.http.post(
			"/admin/pricing-models",
			{ id: "cheap", name: "Cheap", tariffs: ["cheap.reserved", "default.cloudlet.reserved"], groups: ["trial"] },
			{ token: admin },
		);
		expect(twoOfOne.status).toBe(422);
		expect(fields(twoOfOne)).toEqual(["tariffs[1]"]);
		const unknown = await p.http.post("/admin/pricing-models", { id: "cheap", name: "Cheap", tariffs: ["nope"], groups: ["nobody"] }, { token: admin });
		expect(fields(unknown)).toEqual(["groups[0]", "tariffs[0]"]);
		expect((await p.http.patch("/admin/pricing-models/missing", { name: "x" }, { token: admin })).status).toBe(404);
		expect((await p.http.patch("/admin/tariffs/missing", { name: "x" }, { token: admin })).status).toBe(404);
	});

	it("moves a group to a new model: its accounts pay the new prices from then on (PRC-1)", async () => {
		const model = await p.http.post("/admin/pricing-models", { id: "cheap", name: "Cheap", tariffs: ["cheap.reserved"], groups: ["trial"] }, { token: admin });
		expect(model.status).toBe(201);
		const models = (await p.http.get("/admin/pricing-models", { token: admin })).body as { id: string; groups: string[] }[];
		expect(models.find(m => m.id === "default")!.groups).not.toContain("trial");
		await waitUntil(async () => (await p.http.get("/pricing", { token: user.session })).body.model?.id === "cheap");

		// 10 reserved cloudlets for an hour: 10 × 0.001 (and nothing else is priced in this model).
		const r = hourRecord({ reserved: 10, envId: "cheap-env" });
		expect(await charge([r])).toEqual({ charged: 1, failed: 0 });
		expect((await usage()).filter(e => e.envId === "cheap-env").map(e => e.amount)).toEqual(["-0.01"]);

		// A price change later does not re-price the hour: a correction uses the prices it was charged at.
		expect((await p.http.patch("/admin/tariffs/cheap.reserved", { tiers: [{ from: 1, price: "0.5" }] }, { token: admin })).status).toBe(200);
		await charge([{ ...r, rev: 2 }]);
		expect((await usage()).filter(e => e.envId === "cheap-env").map(e => e.amount)).toEqual(["-0.01"]);
		await p.http.patch("/admin/pricing-models/default", { groups: ["trial", "billing", "post", "beta", "collaboration"] }, { token: admin });
	});

	it("charges a subscription environment nothing (MTR-5)", async () => {
		await waitUntil(async () => (await p.http.get("/pricing", { token: user.session })).body.model?.id === "default");
		expect(await charge([hourRecord({ reserved: 12, envId: "sub-env", subscription: true })])).toEqual({ charged: 1, failed: 0 });
		expect((await usage()).filter(e => e.envId === "sub-env")).toEqual([]);
	});

	it("deactivates the account whose charge takes it below its minimum balance, stopping its environments (BIL-3, STS-2)", async () => {
		const env = await p.http.post(
			"/environments",
			{ name: "victim", nodes: [{ layer: "cp", type: "x", reservedCloudlets: 1, scalingLimit: 4 }] },
			{ token: user.session },
		);
		expect(env.status).toBe(201);
		// 4,000 reserved cloudlets for an hour at 0.003: 12.00, more than the 10.00 trial bonus. Never refused.
		expect(await charge([hourRecord({ reserved: 4000, envId: env.body.id })])).toEqual({ charged: 1, failed: 0 });
		const balance = (await p.http.get("/billing/balance", { token: user.session })).body;
		expect(balance).toMatchObject({ bonus: "0.00" });
		expect(Number(balance.main)).toBeLessThan(0);
		await waitUntil(async () => (await p.http.get("/account", { token: user.session })).body.status === "deactivated");
		await waitUntil(async () => (await p.http.get(`/environments/${env.body.id}`, { token: user.session })).body.status === "stopped");
	});
});
