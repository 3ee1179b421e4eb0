/**
 * Rating of an environment-hour (services/billing/rating.ts), table-driven from the spec's own
 * examples: tiers (PRC-1/PRC-2) at every boundary in volume and graduated mode, cloudlets used
 * (MTR-3), the discount example (DSC-3), stopped and subscription environments (MTR-3, MTR-5),
 * the traffic tier of the previous month (DSC-2) and the split of each line over the nodes (BIL-1).
 */
import Big from "big.js";
import fc from "fast-check";
import { formatMoney } from "../../lib/money";
import {
	allocate,
	cloudletsUsed,
	isResource,
	rateEnvHour,
	tierCost,
	type EnvHour,
	type NodeHour,
	type PriceList,
	type Tariff,
} from "../../services/billing/rating";
import { DEFAULT_PRICES } from "../../services/billing/tariffs";

const graduated = (t: Tariff): Tariff => ({ ...t, mode: "graduated" });
const GRADUATED_PRICES: PriceList = Object.fromEntries(Object.entries(DEFAULT_PRICES).map(([r, t]) => [r, graduated(t)]));

/** A node with nothing: the tests say what they need. Scaling limits are large unless a test caps them. */
const node = (over: Partial<NodeHour> = {}): NodeHour => ({
	nodeId: "n1",
	layer: "cp",
	reservedCloudlets: 0,
	scalingLimit: 1000,
	publicIPv4: 0,
	publicIPv6: 0,
	peakRamMiB: 0,
	avgCpuMHz: 0,
	peakDiskMB: 0,
	trafficMB: 0,
	...over,
});
const env = (nodes: NodeHour[], over: Partial<EnvHour> = {}): EnvHour => ({
	running: true,
	subscription: false,
	ssl: false,
	nodes,
	previousMonthTrafficGB: "0",
	...over,
});
const lineOf = (r: ReturnType<typeof rateEnvHour>, resource: string) => r.lines.find(l => l.resource === resource);

/** Every sum BIL-1 promises: Σ nodes + Σ options = total = Σ lines. */
function expectBalanced(r: ReturnType<typeof rateEnvHour>) {
	const lines = r.lines.reduce((a, l) => a + l.amount, 0);
	const parts = r.nodes.reduce((a, n) => a + n.cost, 0) + r.options.reduce((a, o) => a + o.cost, 0);
	expect(r.total).toBe(lines);
	expect(parts).toBe(r.total);
	for (const n of r.nodes) expect(Number.isSafeInteger(n.cost) && n.cost >= 0).toBe(true);
}

describe("isResource (PRC-1)", () => {
	test.each([
		["cloudlet.reserved", true],
		["cloudlet.dynamic", true],
		["disk", true],
		["traffic", true],
		["ip.v4", true],
		["ip.v6", true],
		["ssl", true],
		["license:litespeed", true],
		["license:windows-2022_dc.1", true],
		[`license:${"a".repeat(64)}`, true],
		[`license:${"a".repeat(65)}`, false],
		["license:", false],
		["license:LiteSpeed", false],
		["license:-x", false],
		["license:a b", false],
		["cloudlet", false],
		["ram", false],
		["", false],
		["SSL", false],
	])("%s → %p", (r, ok) => {
		expect(isResource(r)).toBe(ok);
	});
});

describe("tierCost at every PRC-2 boundary", () => {
	// [quantity, volume exact, volume unit price, graduated exact (by hand), graduated unit price]
	const reserved: [number, string, string, string, string][] = [
		[0, "0", "0.0043", "0", "0.0043"],
		[1, "0.0043", "0.0043", "0.0043", "0.0043"],
		[4, "0.0172", "0.0043", "0.0172", "0.0043"], // 4 × 0.0043
		[5, "0.02", "0.004", "0.0212", "0.004"], // 5 × 0.004 | 4 × 0.0043 + 1 × 0.004
		[8, "0.032", "0.004", "0.0332", "0.004"], // 8 × 0.004 | 0.0172 + 4 × 0.004
		[9, "0.0315", "0.0035", "0.0367", "0.0035"], // 9 × 0.0035 | 0.0332 + 0.0035
		[16, "0.056", "0.0035", "0.0612", "0.0035"], // 16 × 0.0035 | 0.0332 + 8 × 0.0035
		[17, "0.0561", "0.0033", "0.0645", "0.0033"], // 17 × 0.0033 | 0.0612 + 0.0033
		[32, "0.1056", "0.0033", "0.114", "0.0033"], // 32 × 0.0033 | 0.0612 + 16 × 0.0033
		[33, "0.099", "0.003", "0.117", "0.003"], // 33 × 0.003 | 0.114 + 0.003
		[40, "0.12", "0.003", "0.138", "0.003"], // 40 × 0.003 | 0.114 + 8 × 0.003
	];
	const dynamic: [number, string, string, string, string][] = [
		[0, "0", "0.005", "0", "0.005"],
		[1, "0.005", "0.005", "0.005", "0.005"],
		[4, "0.02", "0.005", "0.02", "0.005"],
		[5, "0.024", "0.0048", "0.0248", "0.0048"], // 5 × 0.0048 | 4 × 0.005 + 0.0048
		[8, "0.0384", "0.0048", "0.0392", "0.0048"], // 8 × 0.0048 | 0.02 + 4 × 0.0048
		[9, "0.0405", "0.0045", "0.0437", "0.0045"], // 9 × 0.0045 | 0.0392 + 0.0045
		[16, "0.072", "0.0045", "0.0752", "0.0045"], // 16 × 0.0045 | 0.0392 + 8 × 0.0045
		[17, "0.0731", "0.0043", "0.0795", "0.0043"], // 17 × 0.0043 | 0.0752 + 0.0043
		[32, "0.1376", "0.0043", "0.144", "0.0043"], // 32 × 0.0043 | 0.0752 + 16 × 0.0043
		[33, "0.132", "0.004", "0.148", "0.004"], // 33 × 0.004 | 0.144 + 0.004
		[40, "0.16", "0.004", "0.176", "0.004"], // 40 × 0.004 | 0.144 + 8 × 0.004
	];

	describe.each([
		["cloudlet.reserved", reserved],
		["cloudlet.dynamic", dynamic],
	])("%s", (resource, table) => {
		test.each(table)("%i cloudlets: volume %s @ %s, graduated %s @ %s", (q, volume, volumePrice, grad, gradPrice) => {
			expect(tierCost(DEFAULT_PRICES[resource], q)).toEqual({ exact: new Big(volume), unitPrice: volumePrice });
			const g = tierCost(GRADUATED_PRICES[resource], q);
			expect(g.exact.eq(grad)).toBe(true);
			expect(g.unitPrice).toBe(gradPrice);
		});

		// The same figures through rateEnvHour: one env, one line, rounded once to micros.
		test.each(table.filter(([q]) => q > 0))("%i cloudlets rated in one env-hour, volume and graduated", (q, volume, volumePrice, grad, gradPrice) => {
			const n =
				resource === "cloudlet.reserved"
					? node({ reservedCloudlets: q }) // used 0: all reserved, no dynamic
					: node({ reservedCloudlets: 0, peakRamMiB: q * 128 });
			for (const [prices, exact, unitPrice] of [
				[DEFAULT_PRICES, volume, volumePrice],
				[GRADUATED_PRICES, grad, gradPrice],
			] as const) {
				const r = rateEnvHour(env([n]), prices);
				expect(r.lines).toEqual([{ resource, quantity: String(q), unitPrice, amount: Number(new Big(exact).times(1e6)) }]);
				expect(r.tiers[resource === "cloudlet.reserved" ? "reserved" : "dynamic"]).toBe(unitPrice);
				expectBalanced(r);
			}
		});
	});

	test("with prices falling tier by tier, graduated never costs less than volume (1..60 cloudlets)", () => {
		for (let q = 1; q <= 60; q++) {
			for (const r of ["cloudlet.reserved", "cloudlet.dynamic"]) {
				const v = tierCost(DEFAULT_PRICES[r], q).exact;
				const g = tierCost(GRADUATED_PRICES[r], q).exact;
				expect(g.gte(v)).toBe(true); // prices fall with the tiers: graduated keeps the dearer early units
			}
		}
	});
});

describe("tierCost semantics (PRC-1)", () => {
	const t = (mode: "volume" | "graduated", tiers: [number, string][]): Tariff => ({
		resource: "disk",
		mode,
		tiers: tiers.map(([from, price]) => ({ from, price })),
	});
	test.each([
		// [name, tariff, quantity, exact, unitPrice]
		[
			"volume, a fraction below the boundary stays in the first tier",
			t("volume", [
				[1, "0.1"],
				[5, "0.2"],
			]),
			"3.5",
			"0.35",
			"0.1",
		],
		[
			"volume, exactly on the last unit of the first tier",
			t("volume", [
				[1, "0.1"],
				[5, "0.2"],
			]),
			"4",
			"0.4",
			"0.1",
		],
		[
			"volume, 4.5 has started the 5th unit: tier 5– prices all",
			t("volume", [
				[1, "0.1"],
				[5, "0.2"],
			]),
			"4.5",
			"0.9",
			"0.2",
		],
		[
			"graduated, 4.5: 4 units at 0.1 and half a unit at 0.2",
			t("graduated", [
				[1, "0.1"],
				[5, "0.2"],
			]),
			"4.5",
			"0.5",
			"0.2",
		],
		[
			"graduated, 3.5 stays in the first tier",
			t("graduated", [
				[1, "0.1"],
				[5, "0.2"],
			]),
			"3.5",
			"0.35",
			"0.1",
		],
		[
			"first tier from 0 is the same as from 1",
			t("volume", [
				[0, "0.1"],
				[5, "0.2"],
			]),
			"0.5",
			"0.05",
			"0.1",
		],
		[
			"first tier from 0, graduated",
			t("graduated", [
				[0, "0.1"],
				[5, "0.2"],
			]),
			"6",
			"0.8",
			"0.2",
		],
		[
			"a free first tier (free units), volume: reached tier prices all",
			t("volume", [
				[1, "0"],
				[11, "0.01"],
			]),
			"12",
			"0.12",
			"0.01",
		],
		[
			"a free first tier, graduated: the first 10 units are free",
			t("graduated", [
				[1, "0"],
				[11, "0.01"],
			]),
			"12",
			"0.02",
			"0.01",
		],
		["free tier price 0", t("volume", [[1, "0"]]), "1000", "0", "0"],
		["a fraction of a unit", t("volume", [[1, "0.00015"]]), "0.001", "0.00000015", "0.00015"],
		["prices with 10 decimals stay exact", t("volume", [[1, "0.0000000001"]]), "3", "0.0000000003", "0.0000000001"],
		["unit price is shown canonical", t("volume", [[1, "0.00430"]]), "1", "0.0043", "0.0043"],
		["quantity 0 costs 0 (volume)", t("volume", [[1, "0.1"]]), "0", "0", "0.1"],
		[
			"quantity 0 costs 0 (graduated)",
			t("graduated", [
				[1, "0.1"],
				[2, "0.2"],
			]),
			"0",
			"0",
			"0.1",
		],
		[
			"graduated, far past the last tier",
			t("graduated", [
				[1, "1"],
				[2, "2"],
				[3, "3"],
			]),
			"10",
			"27",
			"3",
		], // 1 + 2 + 8 × 3
	])("%s", (_name, tariff, q, exact, unitPrice) => {
		const c = tierCost(tariff, q);
		expect(c.exact.eq(exact)).toBe(true);
		expect(c.unitPrice).toBe(unitPrice);
	});

	test("a resource without a tariff is free", () => {
		expect(tierCost(undefined, 12)).toEqual({ exact: new Big(0), unitPrice: "0" });
		expect(tierCost({ resource: "disk", mode: "volume", tiers: [] }, 12)).toEqual({ exact: new Big(0), unitPrice: "0" });
	});

	test("a tariff stored without a mode prices as volume (PRC-1 default)", () => {
		const noMode = { resource: "cloudlet.reserved", tiers: DEFAULT_PRICES["cloudlet.reserved"].tiers } as unknown as Tariff;
		expect(tierCost(noMode, 5).exact.eq("0.02")).toBe(true);
	});

	test("quantities as Big, string or number are the same", () => {
		const tariff = DEFAULT_PRICES["cloudlet.dynamic"];
		for (const q of [new Big(9), "9", 9, "9.0"]) expect(tierCost(tariff, q).exact.eq("0.0405")).toBe(true);
	});

	test("a negative quantity is refused", () => {
		expect(() => tierCost(DEFAULT_PRICES["disk"], -1)).toThrow(RangeError);
	});
});

describe("cloudletsUsed (MTR-3)", () => {
	test.each([
		// [name, peakRamMiB, avgCpuMHz, scalingLimit, used]
		["the platform's example: 2400 MHz (6) vs 1024 MiB (8) → 8", 1024, 2400, 100, 8],
		["RAM larger wins", 640, 400, 20, 5],
		["CPU larger wins", 128, 2000, 20, 5],
		["equal", 512, 1600, 20, 4],
		["RAM exactly one cloudlet", 128, 0, 10, 1],
		["RAM ceil: one MiB over", 129, 0, 10, 2],
		["RAM ceil: one MiB is a cloudlet", 1, 0, 10, 1],
		["RAM fractional MiB", 0.5, 0, 10, 1],
		["CPU exactly one cloudlet", 0, 400, 10, 1],
		["CPU ceil: one MHz over", 0, 401, 10, 2],
		["CPU fraction of a MHz", 0, 0.5, 10, 1],
		["CPU float just above a boundary is not lost", 0, 800.0000000000001, 10, 3],
		["CPU average with decimals", 0, 1199.99, 10, 3],
		["nothing used", 0, 0, 10, 0],
		["capped at the scaling limit (RAM)", 5000, 0, 16, 16],
		["capped at the scaling limit (CPU)", 0, 40000, 16, 16],
		["at the scaling limit exactly", 16 * 128, 0, 16, 16],
		["scaling limit 0", 1024, 2400, 0, 0],
		["never negative: negative samples", -512, -400, 10, 0],
		["never negative: negative scaling limit", 1024, 0, -3, 0],
		["NaN samples count as nothing", NaN, NaN, 10, 0],
		["an infinite scaling limit is no limit we trust: 0", 1024, 0, Infinity, 0],
	])("%s", (_name, ram, cpu, limit, used) => {
		expect(cloudletsUsed(ram, cpu, limit)).toBe(used);
	});
});

describe("rateEnvHour: DSC-3 worked example", () => {
	// Nodes A, B, C reserved 2 + 2 + 4 = 8; used 5, 2, 11 → dynamic 3 + 0 + 7 = 10.
	const nodes = [
		node({ nodeId: "A", reservedCloudlets: 2, peakRamMiB: 5 * 128 }),
		node({ nodeId: "B", reservedCloudlets: 2, peakRamMiB: 2 * 128 }),
		node({ nodeId: "C", layer: "sqldb", reservedCloudlets: 4, peakRamMiB: 11 * 128 }),
	];

	test("8 × 0.004 + 10 × 0.0045 = 0.077000 for the hour's cloudlets", () => {
		const r = rateEnvHour(env(nodes), DEFAULT_PRICES);
		expect(r.lines).toEqual([
			{ resource: "cloudlet.reserved", quantity: "8", unitPrice: "0.004", amount: 32000 },
			{ resource: "cloudlet.dynamic", quantity: "10", unitPrice: "0.0045", amount: 45000 },
		]);
		expect(r.total).toBe(77000);
		expect(formatMoney(r.total, 6)).toBe("0.077000");
		expect(r.tiers).toEqual({ reserved: "0.004", dynamic: "0.0045" });
		expect(r.options).toEqual([]);
		expect(r.nodes).toEqual([
			// reserved 32000 split 2:2:4, dynamic 45000 split 3:0:7
			{ nodeId: "A", layer: "cp", reservedCloudlets: 2, dynamicCloudlets: 3, usedCloudlets: 5, storageGB: "0", trafficGB: "0", cost: 8000 + 13500 },
			{ nodeId: "B", layer: "cp", reservedCloudlets: 2, dynamicCloudlets: 0, usedCloudlets: 2, storageGB: "0", trafficGB: "0", cost: 8000 },
			{ nodeId: "C", layer: "sqldb", reservedCloudlets: 4, dynamicCloudlets: 7, usedCloudlets: 11, storageGB: "0", trafficGB: "0", cost: 16000 + 31500 },
		]);
		expectBalanced(r);
	});

	test("the next hour with 2 dynamic → tier 1–4: 2 × 0.005 = 0.010 (the reserved tier is independent)", () => {
		const next = [
			node({ nodeId: "A", reservedCloudlets: 2, peakRamMiB: 4 * 128 }),
			node({ nodeId: "B", reservedCloudlets: 2 }),
			node({ nodeId: "C", reservedCloudlets: 4, avgCpuMHz: 1600 }),
		];
		const r = rateEnvHour(env(next), DEFAULT_PRICES);
		expect(lineOf(r, "cloudlet.dynamic")).toEqual({ resource: "cloudlet.dynamic", quantity: "2", unitPrice: "0.005", amount: 10000 });
		expect(lineOf(r, "cloudlet.reserved")?.amount).toBe(32000);
		expect(r.tiers).toEqual({ reserved: "0.004", dynamic: "0.005" });
		expect(r.nodes.map(n => n.cost)).toEqual([8000 + 10000, 8000, 16000]);
		expectBalanced(r);
	});

	test("the tier comes from the environment, not the node (DSC-1): each node alone would be in tier 1–4", () => {
		const r = rateEnvHour(
			env([node({ reservedCloudlets: 3 }), node({ nodeId: "n2", reservedCloudlets: 3 }), node({ nodeId: "n3", reservedCloudlets: 3 })]),
			DEFAULT_PRICES,
		);
		expect(lineOf(r, "cloudlet.reserved")).toEqual({ resource: "cloudlet.reserved", quantity: "9", unitPrice: "0.0035", amount: 31500 });
		expect(r.nodes.map(n => n.cost)).toEqual([10500, 10500, 10500]);
	});

	test("RAM used below reserved pays reserved only", () => {
		const r = rateEnvHour(env([node({ reservedCloudlets: 4, peakRamMiB: 128 })]), DEFAULT_PRICES);
		expect(r.lines).toEqual([{ resource: "cloudlet.reserved", quantity: "4", unitPrice: "0.0043", amount: 17200 }]);
		expect(r.tiers).toEqual({ reserved: "0.0043", dynamic: null });
		expect(r.nodes[0]).toMatchObject({ reservedCloudlets: 4, dynamicCloudlets: 0, usedCloudlets: 1 });
	});

	test("RAM above the scaling limit is capped (MTR-3): used 6, not 20", () => {
		const r = rateEnvHour(env([node({ reservedCloudlets: 2, scalingLimit: 6, peakRamMiB: 20 * 128, avgCpuMHz: 20 * 400 })]), DEFAULT_PRICES);
		expect(r.nodes[0]).toMatchObject({ reservedCloudlets: 2, dynamicCloudlets: 4, usedCloudlets: 6 });
		expect(lineOf(r, "cloudlet.dynamic")).toEqual({ resource: "cloudlet.dynamic", quantity: "4", unitPrice: "0.005", amount: 20000 });
	});

	test("the platform's pricing example: 4 reserved, 16 used → 4 reserved + 12 dynamic", () => {
		const r = rateEnvHour(env([node({ reservedCloudlets: 4, scalingLimit: 24, peakRamMiB: 16 * 128 })]), DEFAULT_PRICES);
		expect(r.lines.map(l => [l.resource, l.quantity, l.amount])).toEqual([
			["cloudlet.reserved", "4", 17200], // 4 × 0.0043
			["cloudlet.dynamic", "12", 54000], // 12 × 0.0045
		]);
	});
});

describe("rateEnvHour: stopped, subscription, disk, traffic, options", () => {
	const pricesWithSsl: PriceList = { ...DEFAULT_PRICES, ssl: { resource: "ssl", mode: "volume", tiers: [{ from: 1, price: "0.001" }] } };
	const nodes = [
		node({ nodeId: "A", reservedCloudlets: 2, peakRamMiB: 6 * 128, peakDiskMB: 1500, trafficMB: 400, publicIPv4: 1 }),
		node({ nodeId: "B", reservedCloudlets: 4, peakRamMiB: 5 * 128, peakDiskMB: 1000, trafficMB: 300, publicIPv4: 1, publicIPv6: 2 }),
	];

	test("a stopped environment pays disk, IPs and SSL only (MTR-3)", () => {
		const r = rateEnvHour(env(nodes, { running: false, ssl: true, previousMonthTrafficGB: "500" }), pricesWithSsl);
		expect(r.lines).toEqual([
			{ resource: "disk", quantity: "2.5", unitPrice: "0.00015", amount: 375 }, // 2.5 GB × 0.00015
			{ resource: "ip.v4", quantity: "2", unitPrice: "0.005", amount: 10000 },
			{ resource: "ip.v6", quantity: "2", unitPrice: "0", amount: 0 }, // free, still a line
			{ resource: "ssl", quantity: "1", unitPrice: "0.001", amount: 1000 },
		]);
		expect(r.options).toEqual([
			{ name: "ip.v4", quantity: 2, cost: 10000 },
			{ name: "ip.v6", quantity: 2, cost: 0 },
			{ name: "ssl", quantity: 1, cost: 1000 },
		]);
		expect(r.nodes.map(n => [n.reservedCloudlets, n.dynamicCloudlets, n.storageGB, n.trafficGB, n.cost])).toEqual([
			[0, 0, "1.5", "0", 225], // disk 375 split 1.5 : 1
			[0, 0, "1", "0", 150],
		]);
		expect(r.tiers).toEqual({ reserved: null, dynamic: null });
		expect(r.total).toBe(11375);
		expectBalanced(r);
	});

	test("the same environment running pays cloudlets and traffic too", () => {
		const r = rateEnvHour(env(nodes, { ssl: true }), pricesWithSsl);
		expect(r.lines.map(l => [l.resource, l.quantity, l.unitPrice, l.amount])).toEqual([
			["cloudlet.reserved", "6", "0.004", 24000],
			["cloudlet.dynamic", "5", "0.0048", 24000], // A 6 − 2 = 4, B 5 − 4 = 1
			["disk", "2.5", "0.00015", 375],
			["traffic", "0.7", "0", 0], // free by default, still a line
			["ip.v4", "2", "0.005", 10000],
			["ip.v6", "2", "0", 0],
			["ssl", "1", "0.001", 1000],
		]);
		expect(r.nodes.map(n => n.trafficGB)).toEqual(["0.4", "0.3"]);
		expect(r.total).toBe(24000 + 24000 + 375 + 10000 + 1000);
		expectBalanced(r);
	});

	test("a subscription environment is free (MTR-5), running or not", () => {
		for (const running of [true, false]) {
			const r = rateEnvHour(env(nodes, { running, ssl: true, subscription: true }), pricesWithSsl);
			expect(r).toEqual({
				nodes: [
					{ nodeId: "A", layer: "cp", reservedCloudlets: 0, dynamicCloudlets: 0, usedCloudlets: 0, storageGB: "0", trafficGB: "0", cost: 0 },
					{ nodeId: "B", layer: "cp", reservedCloudlets: 0, dynamicCloudlets: 0, usedCloudlets: 0, storageGB: "0", trafficGB: "0", cost: 0 },
				],
				options: [],
				lines: [],
				total: 0,
				tiers: { reserved: null, dynamic: null },
			});
		}
	});

	test("an hour without samples: reserved, IPs and the last known disk (MTR-3)", () => {
		const r = rateEnvHour(env([node({ reservedCloudlets: 1, peakDiskMB: 2000, publicIPv4: 1 })]), DEFAULT_PRICES);
		expect(r.lines.map(l => [l.resource, l.amount])).toEqual([
			["cloudlet.reserved", 4300],
			["disk", 300],
			["ip.v4", 5000],
		]);
	});

	test("an environment without nodes pays its SSL", () => {
		const r = rateEnvHour(env([], { ssl: true }), pricesWithSsl);
		expect(r.lines).toEqual([{ resource: "ssl", quantity: "1", unitPrice: "0.001", amount: 1000 }]);
		expect(r.nodes).toEqual([]);
		expectBalanced(r);
	});

	test("the disk tier comes from the environment's GB (DSC-2)", () => {
		const disk: Tariff = {
			resource: "disk",
			mode: "volume",
			tiers: [
				{ from: 1, price: "0.0002" },
				{ from: 11, price: "0.0001" },
			],
		};
		const r = rateEnvHour(env([node({ peakDiskMB: 6000 }), node({ nodeId: "n2", peakDiskMB: 5000 })]), { disk });
		expect(lineOf(r, "disk")).toEqual({ resource: "disk", quantity: "11", unitPrice: "0.0001", amount: 1100 });
		expect(r.nodes.map(n => n.cost)).toEqual([600, 500]);
		// 10.5 GB has started the 11th GB: tier 11– as well (a partial unit is in the tier of the unit it started)
		const half = rateEnvHour(env([node({ peakDiskMB: 10500 })]), { disk });
		expect(lineOf(half, "disk")).toEqual({ resource: "disk", quantity: "10.5", unitPrice: "0.0001", amount: 1050 });
		const ten = rateEnvHour(env([node({ peakDiskMB: 10000 })]), { disk });
		expect(lineOf(ten, "disk")).toEqual({ resource: "disk", quantity: "10", unitPrice: "0.0002", amount: 2000 });
	});

	describe("the traffic price is the tier reached by the previous month's traffic (DSC-2)", () => {
		// Graduated on purpose: the previous month picks one price, which prices this hour's GB.
		const traffic: Tariff = {
			resource: "traffic",
			mode: "graduated",
			tiers: [
				{ from: 0, price: "0" },
				{ from: 11, price: "0.01" },
				{ from: 101, price: "0.005" },
			],
		};
		test.each([
			// [previous month GB, this hour MB, unit price, amount]
			["0", 2000, "0", 0],
			["5", 2000, "0", 0],
			["10", 2000, "0", 0],
			["10.5", 2000, "0.01", 20000], // started the 11th GB
			["11", 2000, "0.01", 20000],
			["100", 2000, "0.01", 20000],
			["101", 2000, "0.005", 10000],
			["5000", 2000, "0.005", 10000],
			["0", 200_000, "0", 0], // this hour's 200 GB does not move the tier
			["50", 1, "0.01", 10], // 0.001 GB × 0.01
			["50", 0.04, "0.01", 0], // 0.00004 GB × 0.01 = 0.4 micro → 0, but the line is there
		])("previous month %s GB, this hour %s MB → %s per GB, %i micros", (prev, mb, unitPrice, amount) => {
			const r = rateEnvHour(env([node({ trafficMB: mb })], { previousMonthTrafficGB: prev }), { traffic });
			expect(lineOf(r, "traffic")).toEqual({ resource: "traffic", quantity: new Big(mb).div(1000).toFixed(), unitPrice, amount });
			expectBalanced(r);
		});

		test("no traffic this hour: no line, whatever last month was", () => {
			expect(rateEnvHour(env([node()], { previousMonthTrafficGB: "5000" }), { traffic }).lines).toEqual([]);
		});
	});

	test("an empty price list: every resource used is free, each still has its line", () => {
		const r = rateEnvHour(env(nodes, { ssl: true }), {});
		expect(r.lines.map(l => [l.resource, l.unitPrice, l.amount])).toEqual([
			["cloudlet.reserved", "0", 0],
			["cloudlet.dynamic", "0", 0],
			["disk", "0", 0],
			["traffic", "0", 0],
			["ip.v4", "0", 0],
			["ip.v6", "0", 0],
			["ssl", "0", 0],
		]);
		expect(r.tiers).toEqual({ reserved: "0", dynamic: "0" });
		expect(r.total).toBe(0);
	});

	test.each([
		["0.0000005", 500, 1], // 0.5 micro → 1 (half-up)
		["0.00000049", 490, 0], // 0.49 micro → 0
		["0.0000015", 1500, 2], // 1.5 → 2
		["0.0000025", 2500, 3], // 2.5 → 3 (half-up, not half-even)
	])("a line is rounded half-up once: 1 reserved at %s → %i nano → %i micros", (price, _nano, micros) => {
		const r = rateEnvHour(env([node({ reservedCloudlets: 1 })]), {
			"cloudlet.reserved": { resource: "cloudlet.reserved", mode: "volume", tiers: [{ from: 1, price }] },
		});
		expect(r.lines[0].amount).toBe(micros);
	});

	test("the line is rounded once, not per node: 3 nodes × 0.0000004 = 1.2 micros → 1, split 1/0/0", () => {
		const prices: PriceList = { "cloudlet.reserved": { resource: "cloudlet.reserved", mode: "volume", tiers: [{ from: 1, price: "0.0000004" }] } };
		const r = rateEnvHour(
			env([node({ reservedCloudlets: 1 }), node({ nodeId: "n2", reservedCloudlets: 1 }), node({ nodeId: "n3", reservedCloudlets: 1 })]),
			prices,
		);
		expect(r.total).toBe(1);
		expect(r.nodes.map(n => n.cost)).toEqual([1, 0, 0]); // ties go to the earlier node
	});

	test.each([
		["reservedCloudlets", -1],
		["reservedCloudlets", 1.5],
		["publicIPv4", -1],
		["publicIPv6", NaN],
		["peakDiskMB", -1],
		["trafficMB", Infinity],
	] as const)("a node with %s = %p is a bug upstream: refused", (field, value) => {
		expect(() => rateEnvHour(env([node({ [field]: value })]), DEFAULT_PRICES)).toThrow(RangeError);
	});
});

describe("allocate: largest remainder (BIL-1)", () => {
	test.each([
		// [amount, weights, shares]
		[10, [1, 1, 1], [4, 3, 3]],
		[7, [2, 2, 4], [2, 2, 3]], // 1.75, 1.75, 3.5: the two .75 remainders get the micros left
		[45000, [3, 0, 7], [13500, 0, 31500]],
		[5, [0, 1], [0, 5]],
		[1, [1, 1], [1, 0]], // a tie goes to the earlier part
		[2, [1, 3, 1], [1, 1, 0]], // 0.4, 1.2, 0.4: floors 0, 1, 0; remainders .4, .2, .4 → the earlier .4
		[3, ["0.1", "0.2"], [1, 2]],
		[0, [0, 0], [0, 0]],
		[0, [1, 2], [0, 0]],
		[-10, [1, 1, 1], [-4, -3, -3]],
		[100, [new Big("0.333"), new Big("0.333"), new Big("0.334")], [33, 33, 34]],
	] as const)("%i over %j → %j", (amount, weights, shares) => {
		const got = allocate(amount, weights as unknown as (Big | number | string)[]);
		expect(got).toEqual(shares);
		expect(got.reduce((a, b) => a + b, 0)).toBe(amount);
	});

	test("equals the largest-remainder rule worked in big.js, for whole and decimal weights, small and huge amounts", () => {
		const reference = (amount: number, weights: string[]) => {
			const w = weights.map(x => new Big(x));
			const total = w.reduce((a, b) => a.plus(b), new Big(0));
			const exact = w.map(x => new Big(Math.abs(amount)).times(x).div(total));
			const floors = exact.map(e => Number(e.round(0, Big.roundDown)));
			let left = Math.abs(amount) - floors.reduce((a, b) => a + b, 0);
			const order = exact.map((_, i) => i).sort((a, b) => exact[b].minus(floors[b]).cmp(exact[a].minus(floors[a])) || a - b);
			for (const i of order) if (left-- > 0) floors[i] += 1;
			return floors.map(f => (amount < 0 && f !== 0 ? -f : f));
		};
		const dp = Big.DP;
		Big.DP = 40; // the reference divides: enough places that its comparisons are exact
		try {
			fc.assert(
				fc.property(
					fc.oneof(fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER })),
					fc.array(
						fc.oneof(
							fc.nat(5000).map(String),
							fc.tuple(fc.nat(99_999), fc.nat(999_999)).map(([i, f]) => `${i}.${f}`),
						),
						{ minLength: 1, maxLength: 8 },
					),
					(amount, weights) => {
						fc.pre(weights.some(x => new Big(x).gt(0)));
						expect(allocate(amount, weights)).toEqual(reference(amount, weights));
					},
				),
				{ numRuns: 2000 },
			);
		} finally {
			Big.DP = dp;
		}
	});

	test("cloudlets of whole and fractional usage: the ceiling, exactly", () => {
		const dp = Big.DP;
		Big.DP = 400; // the reference divides doubles as small as 5e-324 exactly
		try {
			fc.assert(
				fc.property(fc.oneof(fc.nat(10_000_000), fc.double({ min: 0, max: 1e7, noNaN: true })), fc.constantFrom(128, 400), (x, d) => {
					const want = Number(new Big(x).div(d).round(0, Big.roundUp));
					expect(cloudletsUsed(d === 128 ? x : 0, d === 400 ? x : 0, Number.MAX_SAFE_INTEGER)).toBe(want);
				}),
				{ numRuns: 2000 },
			);
		} finally {
			Big.DP = dp;
		}
	});

	test("refuses what cannot be split", () => {
		expect(() => allocate(5, [0, 0])).toThrow(RangeError);
		expect(() => allocate(5, [1, -1])).toThrow(RangeError);
		expect(() => allocate(1, [])).toThrow(RangeError);
	});
});

// A small seeded generator (mulberry32): the same "random" cases on every run.
function mulberry32(seed: number) {
	return () => {
		seed = (seed + 0x6d2b79f5) | 0;
		let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

describe("property: the split always adds up (seeded)", () => {
	const rnd = mulberry32(20240611);
	const int = (max: number) => Math.floor(rnd() * (max + 1));
	const price = () => (rnd() < 0.1 ? "0" : new Big(int(10_000_000_000)).div(1e10).toFixed()); // up to 10 decimals
	const tariff = (resource: string): Tariff => {
		const n = 1 + int(5);
		let from = int(1);
		const tiers = [];
		for (let i = 0; i < n; i++) {
			tiers.push({ from, price: price() });
			from += 1 + int(10);
		}
		return { resource, mode: rnd() < 0.5 ? "volume" : "graduated", tiers };
	};

	test("500 random environment-hours: Σ nodes + Σ options = total = Σ lines, each line rounded once", () => {
		for (let k = 0; k < 500; k++) {
			const prices: PriceList = {};
			for (const r of ["cloudlet.reserved", "cloudlet.dynamic", "disk", "traffic", "ip.v4", "ip.v6", "ssl"]) if (rnd() < 0.9) prices[r] = tariff(r);
			const nodes = Array.from({ length: int(8) }, (_, i) =>
				node({
					nodeId: `n${i}`,
					reservedCloudlets: int(16),
					scalingLimit: int(64),
					publicIPv4: int(2),
					publicIPv6: int(1),
					peakRamMiB: int(64 * 128),
					avgCpuMHz: rnd() * 20000,
					peakDiskMB: rnd() < 0.5 ? int(100_000) : Number((rnd() * 100_000).toFixed(3)),
					trafficMB: rnd() < 0.3 ? 0 : Number((rnd() * 50_000).toFixed(3)),
				}),
			);
			const h = env(nodes, { running: rnd() < 0.8, ssl: rnd() < 0.5, previousMonthTrafficGB: String(int(200)) });
			const r = rateEnvHour(h, prices);
			expectBalanced(r);
			expect(r.nodes.map(n => n.nodeId)).toEqual(nodes.map(n => n.nodeId));
			for (const l of r.lines) {
				expect(new Big(l.quantity).gt(0)).toBe(true);
				if (l.resource !== "traffic") {
					expect(l.amount).toBe(Number(tierCost(prices[l.resource], l.quantity).exact.times(1e6).round(0, Big.roundHalfUp)));
				}
			}
			if (!h.running) expect(r.lines.filter(l => ["cloudlet.reserved", "cloudlet.dynamic", "traffic"].includes(l.resource))).toEqual([]);
		}
	});

	test("1000 random splits: Σ = amount, each share within one micro of its exact share", () => {
		for (let k = 0; k < 1000; k++) {
			const weights = Array.from({ length: 1 + int(9) }, () => (rnd() < 0.2 ? 0 : rnd() < 0.5 ? int(50) : Number((rnd() * 100).toFixed(3))));
			if (!weights.some(w => w > 0)) weights[0] = 1;
			const amount = int(1_000_000);
			const shares = allocate(amount, weights);
			expect(shares.reduce((a, b) => a + b, 0)).toBe(amount);
			const total = weights.reduce((a, b) => a.plus(b), new Big(0));
			shares.forEach((s, i) => {
				const exact = new Big(amount).times(weights[i]).div(total);
				expect(new Big(s).minus(exact).abs().lt(1)).toBe(true);
				if (weights[i] === 0) expect(s).toBe(0);
			});
		}
	});
});
