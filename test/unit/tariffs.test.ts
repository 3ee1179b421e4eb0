/**
 * Tariffs (services/billing/tariffs.ts): the default pricing of PRC-2, the checks of PRC-1, the
 * "Quotas & Pricing" view of PRC-3 (monthly = hourly × 730) and the estimate of PRC-4, with the
 * platform's discount table (DSC-3) as the reference.
 */
import Big from "big.js";
import { formatMoney } from "../../lib/money";
import { rateEnvHour, RESOURCES, type PriceList, type Tariff } from "../../services/billing/rating";
import {
	DEFAULT_MODEL,
	DEFAULT_PRICES,
	DEFAULT_TARIFFS,
	estimate,
	pricingView,
	priceList,
	tariffErrors,
	type EstimateNode,
} from "../../services/billing/tariffs";

describe("DEFAULT_TARIFFS (PRC-2)", () => {
	test.each([
		// [resource, tiers as [from, price]]
		[
			"cloudlet.reserved",
			[
				[1, "0.0043"],
				[5, "0.004"],
				[9, "0.0035"],
				[17, "0.0033"],
				[33, "0.003"],
			],
		],
		[
			"cloudlet.dynamic",
			[
				[1, "0.005"],
				[5, "0.0048"],
				[9, "0.0045"],
				[17, "0.0043"],
				[33, "0.004"],
			],
		],
		["disk", [[1, "0.00015"]]],
		["traffic", [[1, "0"]]],
		["ip.v4", [[1, "0.005"]]],
		["ip.v6", [[1, "0"]]],
		["ssl", [[1, "0"]]],
	] as [string, [number, string][]][])("%s", (resource, tiers) => {
		const t = DEFAULT_TARIFFS.find(x => x.resource === resource)!;
		expect(t).toMatchObject({ id: `default.${resource}`, mode: "volume", tiers: tiers.map(([from, price]) => ({ from, price })) });
		expect(t.name).toMatch(/\w/);
		expect(tariffErrors(t)).toEqual([]);
	});

	test("one tariff per resource, in RESOURCES order; the model lists them all for every built-in group", () => {
		expect(DEFAULT_TARIFFS.map(t => t.resource)).toEqual([...RESOURCES]);
		expect(DEFAULT_MODEL).toMatchObject({ id: "default", name: "Default", tariffs: DEFAULT_TARIFFS.map(t => t.id) });
		expect(DEFAULT_MODEL.groups).toEqual(["trial", "billing", "post", "beta", "collaboration"]);
		expect(DEFAULT_MODEL.description).toMatch(/\w/);
	});

	test("priceList indexes by resource and copies (the defaults cannot be changed through it)", () => {
		const prices = priceList(DEFAULT_TARIFFS);
		expect(Object.keys(prices)).toEqual([...RESOURCES]);
		expect(prices).toEqual(DEFAULT_PRICES);
		prices["disk"].tiers[0].price = "1";
		expect(DEFAULT_TARIFFS[2].tiers[0].price).toBe("0.00015");
	});
});

describe("tariffErrors (PRC-1)", () => {
	const good = { resource: "cloudlet.reserved", mode: "volume", tiers: [{ from: 1, price: "0.0043" }] };
	const tiers = (...list: unknown[]) => ({ ...good, tiers: list });
	const fields = (input: Record<string, unknown>, prefix?: string) => tariffErrors(input, prefix).map(e => e.field);

	test.each([
		["the defaults' shape", good],
		["graduated", { ...good, mode: "graduated" }],
		["mode left out: the default, volume", { resource: "disk", tiers: [{ from: 0, price: "0.00015" }] }],
		["a licence", { ...good, resource: "license:litespeed" }],
		["a licence name with digits, dots, dashes, underscores", { ...good, resource: "license:win-2022_dc.1" }],
		["first from 0", tiers({ from: 0, price: "0" })],
		["free tier price 0", tiers({ from: 1, price: "0" })],
		["10 decimals", tiers({ from: 1, price: "0.0000000001" })],
		["trailing zeros beyond 10 decimals are exact", tiers({ from: 1, price: "0.00000000010" })],
		["the largest price", tiers({ from: 1, price: "1000" })],
		["1000 with zero decimals", tiers({ from: 1, price: "1000.0000" })],
		["20 tiers", { ...good, tiers: Array.from({ length: 20 }, (_, i) => ({ from: i + 1, price: "0.001" })) }],
		["ascending with gaps", tiers({ from: 1, price: "1" }, { from: 5, price: "0.5" }, { from: 100, price: "0.1" })],
	])("accepts %s", (_name, input) => {
		expect(tariffErrors(input)).toEqual([]);
	});

	test.each([
		// [name, input, fields in error]
		["resource missing", { mode: "volume", tiers: good.tiers }, ["resource"]],
		["an unknown resource", { ...good, resource: "ram" }, ["resource"]],
		["a resource that is not a string", { ...good, resource: 42 }, ["resource"]],
		["a licence without a name", { ...good, resource: "license:" }, ["resource"]],
		["a licence with capitals", { ...good, resource: "license:LiteSpeed" }, ["resource"]],
		["a licence starting with a dash", { ...good, resource: "license:-x" }, ["resource"]],
		["a licence name of 65 characters", { ...good, resource: `license:${"a".repeat(65)}` }, ["resource"]],
		["an unknown mode", { ...good, mode: "tiered" }, ["mode"]],
		["mode null", { ...good, mode: null }, ["mode"]],
		["tiers missing", { resource: "disk" }, ["tiers"]],
		["tiers empty", tiers(), ["tiers"]],
		["tiers not a list", { ...good, tiers: { from: 1, price: "1" } }, ["tiers"]],
		["21 tiers", { ...good, tiers: Array.from({ length: 21 }, (_, i) => ({ from: i + 1, price: "0.001" })) }, ["tiers"]],
		["a tier that is not an object", tiers(null), ["tiers[0]"]],
		["a tier that is a list", tiers({ from: 1, price: "1" }, [5, "1"]), ["tiers[1]"]],
		["from missing", tiers({ price: "1" }), ["tiers[0].from"]],
		["from negative", tiers({ from: -1, price: "1" }), ["tiers[0].from"]],
		["from fractional", tiers({ from: 1, price: "1" }, { from: 4.5, price: "1" }), ["tiers[1].from"]],
		["from a string", tiers({ from: "1", price: "1" }), ["tiers[0].from"]],
		["first from 2", tiers({ from: 2, price: "1" }), ["tiers[0].from"]],
		["from repeated", tiers({ from: 1, price: "1" }, { from: 5, price: "1" }, { from: 5, price: "1" }), ["tiers[2].from"]],
		["from descending", tiers({ from: 1, price: "1" }, { from: 9, price: "1" }, { from: 5, price: "1" }), ["tiers[2].from"]],
		["price missing", tiers({ from: 1 }), ["tiers[0].price"]],
		["price a number", tiers({ from: 1, price: 0.0043 }), ["tiers[0].price"]],
		["price negative", tiers({ from: 1, price: "-0.1" }), ["tiers[0].price"]],
		["price with a plus", tiers({ from: 1, price: "+0.1" }), ["tiers[0].price"]],
		["price with an exponent", tiers({ from: 1, price: "1e-3" }), ["tiers[0].price"]],
		["price '.5'", tiers({ from: 1, price: ".5" }), ["tiers[0].price"]],
		["price '1.'", tiers({ from: 1, price: "1." }), ["tiers[0].price"]],
		["price with spaces", tiers({ from: 1, price: " 1" }), ["tiers[0].price"]],
		["price with a comma", tiers({ from: 1, price: "0,5" }), ["tiers[0].price"]],
		["price empty", tiers({ from: 1, price: "" }), ["tiers[0].price"]],
		["price with 11 decimals", tiers({ from: 1, price: "0.00000000001" }), ["tiers[0].price"]],
		["price above 1000", tiers({ from: 1, price: "1000.0000000001" }), ["tiers[0].price"]],
		["price 1001", tiers({ from: 1, price: "1001" }), ["tiers[0].price"]],
		["price too long", tiers({ from: 1, price: "0".repeat(41) }), ["tiers[0].price"]],
		["an unknown field in a tier", tiers({ from: 1, price: "1", to: 4 }), ["tiers[0].to"]],
		["the third tier's price", tiers({ from: 1, price: "1" }, { from: 5, price: "1" }, { from: 9, price: "x" }), ["tiers[2].price"]],
		[
			"everything wrong at once",
			{
				resource: "x",
				mode: "y",
				tiers: [
					{ from: 3, price: "-1", extra: 1 },
					{ from: 2, price: "1" },
				],
			},
			["resource", "mode", "tiers[0].extra", "tiers[0].from", "tiers[0].price", "tiers[1].from"],
		],
	])("refuses %s", (_name, input, expected) => {
		expect(fields(input as Record<string, unknown>)).toEqual(expected);
		for (const e of tariffErrors(input as Record<string, unknown>)) expect(e.message).toMatch(/\w/);
	});

	test("the field prefix names the tariff inside a larger request", () => {
		expect(fields(tiers({ from: 1, price: "1" }, { from: 5, price: "1" }, { from: 9, price: "x" }), "tariffs[3].")).toEqual(["tariffs[3].tiers[2].price"]);
		expect(fields({}, "tariffs[0].")).toEqual(["tariffs[0].resource", "tariffs[0].tiers"]);
	});

	test("messages say what is expected", () => {
		expect(tariffErrors(tiers({ from: 1, price: "0.00000000001" }))).toEqual([{ field: "tiers[0].price", message: "has more than 10 decimals" }]);
		expect(tariffErrors(tiers({ from: 1, price: "1" }, { from: 1, price: "1" }))).toEqual([
			{ field: "tiers[1].from", message: "must be greater than the previous tier's from (1)" },
		]);
		expect(tariffErrors({ ...good, mode: "x" })).toEqual([{ field: "mode", message: 'must be "volume" or "graduated"' }]);
	});
});

describe("pricingView (PRC-3)", () => {
	test("the default prices: every resource in order, tiers with ranges, hourly (4 decimals) and monthly (× 730)", () => {
		const view = pricingView(DEFAULT_PRICES);
		expect(view.map(t => t.resource)).toEqual([...RESOURCES]);
		expect(view[0]).toEqual({
			resource: "cloudlet.reserved",
			mode: "volume",
			tiers: [
				{ from: 1, to: 4, price: "0.0043", monthly: "3.14" }, // 3.139
				{ from: 5, to: 8, price: "0.0040", monthly: "2.92" },
				{ from: 9, to: 16, price: "0.0035", monthly: "2.56" }, // 2.555 half-up
				{ from: 17, to: 32, price: "0.0033", monthly: "2.41" }, // 2.409
				{ from: 33, to: null, price: "0.0030", monthly: "2.19" },
			],
		});
		expect(view[1].tiers.map(t => [t.price, t.monthly])).toEqual([
			["0.0050", "3.65"],
			["0.0048", "3.50"], // 3.504
			["0.0045", "3.29"], // 3.285 half-up
			["0.0043", "3.14"],
			["0.0040", "2.92"],
		]);
		expect(view.slice(2)).toEqual([
			{ resource: "disk", mode: "volume", tiers: [{ from: 1, to: null, price: "0.00015", monthly: "0.11" }] }, // 0.1095; all 5 decimals shown
			{ resource: "traffic", mode: "volume", tiers: [{ from: 1, to: null, price: "0.0000", monthly: "0.00" }] },
			{ resource: "ip.v4", mode: "volume", tiers: [{ from: 1, to: null, price: "0.0050", monthly: "3.65" }] },
			{ resource: "ip.v6", mode: "volume", tiers: [{ from: 1, to: null, price: "0.0000", monthly: "0.00" }] },
			{ resource: "ssl", mode: "volume", tiers: [{ from: 1, to: null, price: "0.0000", monthly: "0.00" }] },
		]);
	});

	test.each([
		// [hourly price, shown, monthly]
		["0.0043", "0.0043", "3.14"],
		["0.005", "0.0050", "3.65"],
		["0.00015", "0.00015", "0.11"],
		["0", "0.0000", "0.00"],
		["0.0000125", "0.0000125", "0.01"], // 0.009125
		["0.0000000001", "0.0000000001", "0.00"],
		["0.00068493", "0.00068493", "0.50"], // 0.4999989
		["0.000684932", "0.000684932", "0.50"], // 0.50000036
		["0.00430", "0.0043", "3.14"], // trailing zeros are not decimals
		["12.5", "12.5000", "9125.00"],
		["1000", "1000.0000", "730000.00"],
	])("%s per hour → shown %s, %s a month", (price, shown, monthly) => {
		const prices: PriceList = { "ip.v4": { resource: "ip.v4", mode: "volume", tiers: [{ from: 1, price }] } };
		expect(pricingView(prices)[0].tiers[0]).toEqual({ from: 1, to: null, price: shown, monthly });
	});

	test("only the resources priced, licences last by name, graduated shown as such; another month length", () => {
		const t = (resource: string, mode: "volume" | "graduated" = "volume"): Tariff => ({
			resource,
			mode,
			tiers: [
				{ from: 0, price: "0.01" },
				{ from: 11, price: "0.02" },
			],
		});
		const prices: PriceList = {
			"license:zend": t("license:zend"),
			disk: t("disk", "graduated"),
			"license:litespeed": t("license:litespeed"),
			"cloudlet.dynamic": t("cloudlet.dynamic"),
		};
		const view = pricingView(prices, 720);
		expect(view.map(v => [v.resource, v.mode])).toEqual([
			["cloudlet.dynamic", "volume"],
			["disk", "graduated"],
			["license:litespeed", "volume"],
			["license:zend", "volume"],
		]);
		expect(view[1].tiers).toEqual([
			{ from: 0, to: 10, price: "0.0100", monthly: "7.20" },
			{ from: 11, to: null, price: "0.0200", monthly: "14.40" },
		]);
	});
});

describe("estimate (PRC-4)", () => {
	const n = (over: Partial<EstimateNode>): EstimateNode => ({
		layer: "cp",
		count: 1,
		reservedCloudlets: 0,
		scalingLimit: 0,
		diskLimitGB: 0,
		publicIPv4: 0,
		publicIPv6: 0,
		...over,
	});

	test("a small topology, by hand", () => {
		// cp: 2 nodes × (reserved 2, limit 6, 10 GB, 1 IPv4); sqldb: 1 node × (reserved 4, limit 8, 20 GB, 1 IPv6); SSL (free).
		// reserved 2×2 + 4 = 8 → tier 5–8: 8 × 0.004 = 0.032
		// dynamic (6−2)×2 + (8−4) = 12 → tier 9–16: 12 × 0.0045 = 0.054
		// disk 10×2 + 20 = 40 GB × 0.00015 = 0.006; IPv4 2 × 0.005 = 0.01; IPv6 and SSL free
		// min = 0.032 + 0.01 = 0.042; max = 0.042 + 0.054 + 0.006 = 0.102
		const topology = [
			n({ layer: "cp", count: 2, reservedCloudlets: 2, scalingLimit: 6, diskLimitGB: 10, publicIPv4: 1 }),
			n({ layer: "sqldb", count: 1, reservedCloudlets: 4, scalingLimit: 8, diskLimitGB: 20, publicIPv6: 1 }),
		];
		expect(estimate(topology, true, DEFAULT_PRICES)).toEqual({
			hourly: { min: "0.0420", max: "0.1020" },
			daily: { min: "1.01", max: "2.45" }, // 1.008, 2.448
			monthly: { min: "30.66", max: "74.46" }, // 0.042 × 730, 0.102 × 730
			layers: [
				{ layer: "cp", hourly: { min: "0.0260", max: "0.0650" } }, // 0.016 + 0.01 | + 0.036 + 0.003
				{ layer: "sqldb", hourly: { min: "0.0160", max: "0.0370" } }, // 0.016 | + 0.018 + 0.003
			],
			environment: { hourly: { min: "0.0000", max: "0.0000" } },
			discount: { reserved: "20%", dynamic: "10%" },
			// (8 + 12) × 0.005 = 0.1 undiscounted − (0.032 + 0.054) = 0.014; × 730 = 10.22
			saved: { hourly: "0.0140", monthly: "10.22" },
		});
	});

	test("max is what rateEnvHour charges for the same nodes at their scaling limits with full disks", () => {
		const topology = [
			n({ layer: "cp", count: 3, reservedCloudlets: 1, scalingLimit: 7, diskLimitGB: 2.5, publicIPv4: 1 }),
			n({ layer: "db", count: 2, reservedCloudlets: 6, scalingLimit: 9, diskLimitGB: 13 }),
		];
		const nodes = topology.flatMap((t, k) =>
			Array.from({ length: t.count }, (_, i) => ({
				nodeId: `${k}.${i}`,
				layer: t.layer,
				reservedCloudlets: t.reservedCloudlets,
				scalingLimit: t.scalingLimit,
				publicIPv4: t.publicIPv4,
				publicIPv6: t.publicIPv6,
				peakRamMiB: t.scalingLimit * 128,
				avgCpuMHz: 0,
				peakDiskMB: t.diskLimitGB * 1000,
				trafficMB: 0,
			})),
		);
		const rated = rateEnvHour({ running: true, subscription: false, ssl: true, nodes, previousMonthTrafficGB: "0" }, DEFAULT_PRICES);
		const e = estimate(topology, true, DEFAULT_PRICES);
		expect(e.hourly.max).toBe(formatMoney(rated.total, 4));
		expect(e.monthly.max).toBe(formatMoney(rated.total * 730, 2));
	});

	test.each([
		// [reserved per env, reserved discount] — the platform's table (DSC-3)
		[1, "14%"],
		[4, "14%"],
		[5, "20%"],
		[8, "20%"],
		[9, "30%"],
		[16, "30%"],
		[17, "34%"],
		[32, "34%"],
		[33, "40%"],
		[59, "40%"],
	])("reserved %i → discount %s", (reserved, discount) => {
		expect(estimate([n({ reservedCloudlets: reserved, scalingLimit: reserved })], false, DEFAULT_PRICES).discount).toEqual({
			reserved: discount,
			dynamic: "0%",
		});
	});

	test.each([
		// [dynamic per env, dynamic discount]
		[1, "0%"],
		[4, "0%"],
		[5, "4%"],
		[8, "4%"],
		[9, "10%"],
		[16, "10%"],
		[17, "14%"],
		[32, "14%"],
		[33, "20%"],
		[59, "20%"],
	])("dynamic %i → discount %s", (dynamic, discount) => {
		expect(estimate([n({ reservedCloudlets: 0, scalingLimit: dynamic })], false, DEFAULT_PRICES).discount).toEqual({ reserved: "0%", dynamic: discount });
	});

	test("nothing at all: zeros and 0% discounts", () => {
		expect(estimate([], false, DEFAULT_PRICES)).toEqual({
			hourly: { min: "0.0000", max: "0.0000" },
			daily: { min: "0.00", max: "0.00" },
			monthly: { min: "0.00", max: "0.00" },
			layers: [],
			environment: { hourly: { min: "0.0000", max: "0.0000" } },
			discount: { reserved: "0%", dynamic: "0%" },
			saved: { hourly: "0.0000", monthly: "0.00" },
		});
	});

	test("min is reserved + IPs + SSL; disk only in max; SSL is the environment's, not a layer's", () => {
		const prices: PriceList = { ...DEFAULT_PRICES, ssl: { resource: "ssl", mode: "volume", tiers: [{ from: 1, price: "0.002" }] } };
		const e = estimate([n({ count: 1, reservedCloudlets: 1, scalingLimit: 1, diskLimitGB: 10, publicIPv4: 1 })], true, prices);
		// min = 0.0043 + 0.005 + 0.002 = 0.0113; max = min + 10 × 0.00015 = 0.0128
		expect(e.hourly).toEqual({ min: "0.0113", max: "0.0128" });
		expect(e.layers).toEqual([{ layer: "cp", hourly: { min: "0.0093", max: "0.0108" } }]);
		expect(e.environment).toEqual({ hourly: { min: "0.0020", max: "0.0020" } });
		// 1 cloudlet at 0.005 base vs 0.0043 reserved
		expect(e.discount).toEqual({ reserved: "14%", dynamic: "0%" });
		expect(e.saved).toEqual({ hourly: "0.0007", monthly: "0.51" });
		expect(estimate([n({ reservedCloudlets: 1, scalingLimit: 1 })], false, prices).environment.hourly.min).toBe("0.0000");
	});

	test("layers add up to the displayed total even when each would round up alone", () => {
		// 2 layers × 0.00005 = 0.0001: alone each shows 0.0001, together they must show 0.0001
		const prices: PriceList = { "cloudlet.reserved": { resource: "cloudlet.reserved", mode: "volume", tiers: [{ from: 1, price: "0.00005" }] } };
		const e = estimate([n({ layer: "a", reservedCloudlets: 1, scalingLimit: 1 }), n({ layer: "b", reservedCloudlets: 1, scalingLimit: 1 })], false, prices);
		expect(e.hourly.min).toBe("0.0001");
		expect(e.layers.map(l => l.hourly.min)).toEqual(["0.0001", "0.0000"]);
	});

	test("nodes of the same layer are one layer; a scaling limit under the reserved count adds no dynamic", () => {
		const e = estimate(
			[n({ layer: "cp", reservedCloudlets: 2, scalingLimit: 1 }), n({ layer: "cp", reservedCloudlets: 2, scalingLimit: 4 })],
			false,
			DEFAULT_PRICES,
		);
		// reserved 4 × 0.0043 = 0.0172; dynamic 0 + 2 = 2 × 0.005 = 0.01
		expect(e.layers).toEqual([{ layer: "cp", hourly: { min: "0.0172", max: "0.0272" } }]);
		expect(e.hourly).toEqual({ min: "0.0172", max: "0.0272" });
	});

	test("graduated: the discount is the effective one (5 reserved: 0.0212 / 5 = 0.00424 → 15%)", () => {
		const prices: PriceList = { ...DEFAULT_PRICES, "cloudlet.reserved": { ...DEFAULT_PRICES["cloudlet.reserved"], mode: "graduated" } };
		const e = estimate([n({ reservedCloudlets: 5, scalingLimit: 5 })], false, prices);
		expect(e.hourly.min).toBe("0.0212");
		expect(e.discount.reserved).toBe("15%");
		expect(e.saved.hourly).toBe("0.0038"); // 5 × 0.005 − 0.0212
	});

	test("without a dynamic tariff there is no base to discount from: 0%", () => {
		const { "cloudlet.dynamic": _dropped, ...prices } = DEFAULT_PRICES;
		const e = estimate([n({ reservedCloudlets: 8, scalingLimit: 16 })], false, prices);
		expect(e.discount).toEqual({ reserved: "0%", dynamic: "0%" });
		expect(e.hourly).toEqual({ min: "0.0320", max: "0.0320" }); // dynamic free
	});

	test.each([
		["count", -1],
		["reservedCloudlets", 1.5],
		["scalingLimit", NaN],
		["publicIPv4", -1],
		["diskLimitGB", -1],
	] as const)("refuses %s = %p", (field, value) => {
		expect(() => estimate([n({ [field]: value })], false, DEFAULT_PRICES)).toThrow(RangeError);
	});

	test("property (seeded): layers + environment add up to the displayed totals, min ≤ max", () => {
		// mulberry32: the same "random" topologies on every run
		let seed = 7;
		const rnd = () => {
			seed = (seed + 0x6d2b79f5) | 0;
			let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
			t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
			return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
		};
		const int = (max: number) => Math.floor(rnd() * (max + 1));
		const units = (s: string) => Number(new Big(s).times(10000));
		for (let k = 0; k < 300; k++) {
			const topology = Array.from({ length: int(5) }, () =>
				n({
					layer: ["cp", "bl", "sqldb", "nosqldb"][int(3)],
					count: int(4),
					reservedCloudlets: int(16),
					scalingLimit: int(40),
					diskLimitGB: Number((rnd() * 100).toFixed(2)),
					publicIPv4: int(2),
					publicIPv6: int(1),
				}),
			);
			const prices: PriceList = { ...DEFAULT_PRICES, ssl: { resource: "ssl", mode: "volume", tiers: [{ from: 1, price: String(int(30) / 10000) }] } };
			const e = estimate(topology, rnd() < 0.5, prices);
			for (const side of ["min", "max"] as const) {
				const parts = e.layers.reduce((a, l) => a + units(l.hourly[side]), units(e.environment.hourly[side]));
				expect(parts).toBe(units(e.hourly[side]));
			}
			expect(new Big(e.hourly.min).lte(e.hourly.max)).toBe(true);
			expect(new Big(e.saved.hourly).gte(0)).toBe(true);
		}
	});
});
