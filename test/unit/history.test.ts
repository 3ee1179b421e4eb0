// BIL-4: the billing history's grouping, pure — interval boundaries in UTC and in offsets (weeks
// start on Monday), exact sums of decimal quantities and of micros, the CSV's total.
import fc from "fast-check";
import { buildHistory, historyCsv, hourRow, intervalEnd, intervalStart, type ChargedHour } from "../../services/billing/history";
import { hourlyHistoryCsv, hourlyHistoryJson } from "../../services/billing/history-hourly";
import type { RatedEnvHour } from "../../services/billing/rating";

const H = 3_600_000;
const at = (iso: string) => Date.parse(iso);

function hour(envId: string, iso: string, nodes: [string, string, number, string, string][], options: [string, number, number][] = []): ChargedHour {
	const rated: RatedEnvHour = {
		nodes: nodes.map(([nodeId, layer, cost, storageGB, trafficGB]) => ({
			nodeId,
			layer,
			reservedCloudlets: 2,
			dynamicCloudlets: 1,
			usedCloudlets: 3,
			storageGB,
			trafficGB,
			cost,
		})),
		options: options.map(([name, quantity, cost]) => ({ name: name as "ip.v4", quantity, cost })),
		lines: [],
		total: nodes.reduce((a, n) => a + n[2], 0) + options.reduce((a, o) => a + o[2], 0),
		tiers: { reserved: null, dynamic: null },
	};
	return { envId, name: envId, hour: at(iso), rated };
}

describe("interval boundaries", () => {
	test.each([
		["2026-12-02T13:00:00Z", "HOUR", 0, "2026-12-02T13:00:00.000Z", "2026-12-02T14:00:00.000Z"],
		["2026-12-02T13:00:00Z", "DAY", 0, "2026-12-02T00:00:00.000Z", "2026-12-03T00:00:00.000Z"],
		// 02:00 UTC is 21:00 the day before at -05:00: that day starts at 05:00 UTC.
		["2026-12-02T02:00:00Z", "DAY", -300, "2026-12-01T05:00:00.000Z", "2026-12-02T05:00:00.000Z"],
		["2026-12-02T20:00:00Z", "DAY", 330, "2026-12-02T18:30:00.000Z", "2026-12-03T18:30:00.000Z"],
		// Wednesday 2 December 2026: the week began on Monday 30 November.
		["2026-12-02T13:00:00Z", "WEEK", 0, "2026-11-30T00:00:00.000Z", "2026-12-07T00:00:00.000Z"],
		["2026-11-30T00:30:00Z", "WEEK", 60, "2026-11-29T23:00:00.000Z", "2026-12-06T23:00:00.000Z"],
		["2026-12-31T23:00:00Z", "MONTH", 120, "2026-12-31T22:00:00.000Z", "2027-01-31T22:00:00.000Z"],
		["2026-02-14T00:00:00Z", "MONTH", 0, "2026-02-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z"],
		["2026-07-04T00:00:00Z", "YEAR", 0, "2026-01-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z"],
	] as const)("%s by %s at %i minutes → [%s, %s)", (ms, interval, tz, start, end) => {
		const s = intervalStart(at(ms), interval, tz, 0);
		expect(new Date(s).toISOString()).toBe(start);
		expect(new Date(intervalEnd(s, interval, tz, 0)).toISOString()).toBe(end);
	});

	it("ALL is the whole period", () => {
		expect(intervalStart(at("2026-12-02T13:00:00Z"), "ALL", 0, 5)).toBe(5);
		expect(intervalEnd(5, "ALL", 0, 99)).toBe(99);
	});
});

describe("buildHistory", () => {
	const hours = [
		hour("env-b", "2026-12-01T10:00:00Z", [
			["n2", "sqldb", 4_000, "0.1", "0.000001"],
			["n1", "cp", 8_000, "1.5", "0.25"],
		]),
		hour(
			"env-b",
			"2026-12-01T11:00:00Z",
			[
				["n1", "cp", 8_001, "1.500000001", "0.75"],
				["n2", "sqldb", 3_999, "0.2", "0"],
			],
			[["ip.v4", 1, 5_000]],
		),
		hour("env-a", "2026-12-02T09:00:00Z", [["m1", "cp", 7, "0.3", "0"]], [["ssl", 1, 0]]),
	];
	const opts = { from: at("2026-12-01T00:00:00Z"), to: at("2026-12-03T00:00:00Z"), tzOffsetMinutes: 0, groupByLayer: false };

	it("sums exactly: decimals to the last digit, micros to the micro-unit; totals per env, interval and period", () => {
		const h = buildHistory(hours, { ...opts, interval: "DAY" });
		expect(h.total).toBe("0.029007");
		expect(h.intervals.map(i => [i.start, i.cost])).toEqual([
			["2026-12-01T00:00:00.000Z", "0.029"],
			["2026-12-02T00:00:00.000Z", "0.000007"],
		]);
		const b = h.intervals[0].environments[0];
		expect(b.nodes).toEqual([
			{ nodeId: "n1", layer: "cp", reservedCloudletHours: 4, dynamicCloudletHours: 2, storageGBh: "3.000000001", trafficGB: "1", cost: "0.016001" },
			{ nodeId: "n2", layer: "sqldb", reservedCloudletHours: 4, dynamicCloudletHours: 2, storageGBh: "0.3", trafficGB: "0.000001", cost: "0.007999" },
		]);
		expect(b.options).toEqual([{ name: "ip.v4", quantity: 1, cost: "0.005" }]);
	});

	it("sums quantities beyond the exact integer range with big.js, still exactly", () => {
		const huge = [
			hour("env-h", "2026-12-01T10:00:00Z", [["h1", "cp", 1, "9007199.5", "0.000000001"]]),
			hour("env-h", "2026-12-01T11:00:00Z", [["h1", "cp", 1, "0.5", "0.000000002"]]),
			hour("env-h", "2026-12-01T12:00:00Z", [["h1", "cp", 1, "0.000000001", "0"]]),
		];
		const [node] = buildHistory(huge, { ...opts, interval: "ALL" }).intervals[0].environments[0].nodes;
		expect(node).toMatchObject({ storageGBh: "9007200.000000001", trafficGB: "0.000000003" });
	});

	it("groups nodes by layer and sorts environments by name", () => {
		const h = buildHistory(hours, { ...opts, interval: "ALL", groupByLayer: true });
		expect(h.intervals).toHaveLength(1);
		expect(h.intervals[0].environments.map(e => e.envId)).toEqual(["env-a", "env-b"]);
		expect(h.intervals[0].environments[1].nodes.map(n => [n.layer, n.cost])).toEqual([
			["cp", "0.016001"],
			["sqldb", "0.007999"],
		]);
		expect(h.intervals[0].environments[1].nodes[0]).not.toHaveProperty("nodeId");
	});

	it("writes CSV rows that add up to the total line", () => {
		const csv = historyCsv(buildHistory(hours, { ...opts, interval: "HOUR" }))
			.trim()
			.split("\n");
		const cost = csv[0].split(",").indexOf("cost");
		const rows = csv.slice(1, -1).map(l => Math.round(Number(l.split(",")[cost]) * 1e6));
		expect(rows.reduce((a, b) => a + b, 0)).toBe(29_007);
		expect(csv[csv.length - 1].split(",")[cost]).toBe("0.029007");
		expect(csv).toContainEqual(expect.stringContaining(",ip.v4,1,"));
	});
});

describe("hourly history from the rows stored at charge time", () => {
	// Names with the characters CSV quotes; ids that sort before and after their names.
	const text = fc.stringMatching(/^[a-z ,"\n]{1,6}$/);
	const env = fc.record({
		envId: fc.constantFrom("env-a", "env-b", "env-c", "Env-d"),
		name: text,
		hourIndex: fc.integer({ min: 0, max: 47 }),
		nodes: fc.array(
			fc.tuple(text, fc.constantFrom("cp", "bl", "sqldb"), fc.integer({ min: 0, max: 5_000_000 }), fc.constantFrom("0", "1.5", "0.000000001", "12.25")),
			{ maxLength: 3 },
		),
		options: fc.array(fc.tuple(fc.constantFrom("ip.v4", "ssl"), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 100_000 })), { maxLength: 2 }),
	});
	const T0 = at("2026-12-01T00:00:00Z");

	it("answers the bytes buildHistory answers, JSON and CSV, in any time zone and period", () => {
		fc.assert(
			fc.property(
				fc.uniqueArray(env, { selector: e => `${e.envId}:${e.hourIndex}`, maxLength: 30 }),
				fc.integer({ min: -48, max: 56 }).map(q => q * 15), // offsets in quarter hours, -12:00 … +14:00
				fc.integer({ min: 0, max: 3 * 60 }), // minutes into the first hour the period starts
				(envs, tz, fromMin) => {
					const hours = envs.map(e => {
						const h = hour(
							e.envId,
							new Date(T0 + e.hourIndex * H).toISOString(),
							e.nodes.map(([id, layer, cost, gb]) => [id, layer, cost, gb, gb]),
							e.options,
						);
						return { ...h, name: e.name };
					});
					const o = { from: T0 + fromMin * 60_000, to: T0 + 48 * H, interval: "HOUR" as const, tzOffsetMinutes: tz, groupByLayer: false };
					const inPeriod = hours.filter(h => h.hour >= o.from);
					const rows = inPeriod.map(h => ({ envId: h.envId, name: h.name, hour: h.hour, row: hourRow(h) }));
					const built = buildHistory(inPeriod, o);
					expect(hourlyHistoryJson(rows, o)).toBe(JSON.stringify(built));
					expect(hourlyHistoryCsv(rows, o)).toBe(historyCsv(built));
				},
			),
			{ numRuns: 300 },
		);
	});
});
