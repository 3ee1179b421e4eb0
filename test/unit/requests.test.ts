// BIL-4: reading billing's report requests, pure (services/billing/requests.ts) — the default
// period, the 422s each bad parameter answers (all at once), and the history's options.
import { historyRequest, summaryPeriod, transactionsQuery } from "../../services/billing/requests";

const NOW = "2026-11-15T12:30:00.000Z";

// "now" held still: the defaults are read from it.
beforeAll(() => jest.useFakeTimers({ now: new Date(NOW) }));
afterAll(() => jest.useRealTimers());

const fields = (fn: () => unknown) => {
	try {
		fn();
	} catch (err) {
		return ((err as { data: { field: string }[] }).data ?? []).map(e => e.field);
	}
	throw new Error("no 422");
};

describe("summaryPeriod", () => {
	test.each([
		["nothing given: from the 1st of this month (UTC) to now", {}, ["2026-11-01T00:00:00.000Z", NOW]],
		["to only: from the 1st of to's month", { to: "2026-03-10" }, ["2026-03-01T00:00:00.000Z", "2026-03-10T00:00:00.000Z"]],
		["both", { from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00+02:00" }, ["2026-01-01T00:00:00.000Z", "2026-01-31T22:00:00.000Z"]],
	])("%s", (_name, params, [from, to]) => {
		const p = summaryPeriod(params);
		expect([p.from.toISOString(), p.to.toISOString()]).toEqual([from, to]);
	});

	test.each([
		["a time that is not one", { from: "2026-02-30" }, ["from"]],
		["from after to", { from: "2026-05-02", to: "2026-05-01" }, ["from"]],
		["from equal to to", { from: "2026-05-01", to: "2026-05-01" }, ["from"]],
		["both malformed, both named", { from: "yesterday", to: "soon" }, ["to", "from"]],
	])("422: %s", (_name, params, expected) => {
		expect(fields(() => summaryPeriod(params))).toEqual(expected);
	});
});

describe("historyRequest", () => {
	test("defaults: by day, in UTC, per node, JSON, the whole account", () => {
		expect(historyRequest("acc", {})).toEqual({
			query: { accountId: "acc" },
			options: { from: Date.parse("2026-11-01T00:00:00Z"), to: Date.parse(NOW), interval: "DAY", tzOffsetMinutes: 0, groupByLayer: false },
			csv: false,
		});
	});

	test.each([
		["format=csv", { format: "csv" }, "", true],
		["Accept: text/csv", {}, "text/csv", true],
		["format=json wins over Accept", { format: "json" }, "text/csv", false],
	])("CSV: %s", (_name, params, accept, csv) => {
		expect(historyRequest("acc", params, accept).csv).toBe(csv);
	});

	test("one environment, by week, grouped by layer, at +02:00", () => {
		const r = historyRequest("acc", { envId: "env-1", interval: "week", groupByLayer: true, tzOffset: "+02:00" });
		expect(r.query).toEqual({ accountId: "acc", envId: "env-1" });
		expect(r.options).toMatchObject({ interval: "WEEK", tzOffsetMinutes: 120, groupByLayer: true });
	});

	test.each([
		["more than 400 days", { from: "2025-01-01", to: "2026-03-01" }, ["from"]],
		["an unknown interval", { interval: "FORTNIGHT" }, ["interval"]],
		["a malformed offset", { tzOffset: "+25:00" }, ["tzOffset"]],
		["all of them at once", { from: "nope", interval: "x", tzOffset: "y" }, ["from", "interval", "tzOffset"]],
	])("422: %s", (_name, params, expected) => {
		expect(fields(() => historyRequest("acc", params))).toEqual(expected);
	});
});

describe("transactionsQuery", () => {
	test.each([
		["no filter: the applied ledger", {}, { accountId: "acc", state: "applied" }],
		["kind and environment", { kind: "charge" as const, envId: "e1" }, { accountId: "acc", state: "applied", kind: "charge", envId: "e1" }],
		["from only", { from: "2026-11-01" }, { accountId: "acc", state: "applied", appliedAt: { $gte: new Date("2026-11-01T00:00:00Z") } }],
		[
			"from and to",
			{ from: "2026-11-01", to: "2026-11-02" },
			{ accountId: "acc", state: "applied", appliedAt: { $gte: new Date("2026-11-01T00:00:00Z"), $lt: new Date("2026-11-02T00:00:00Z") } },
		],
	])("%s", (_name, params, query) => {
		expect(transactionsQuery("acc", params)).toEqual(query);
	});

	test("to before from: 422 on from", () => {
		expect(fields(() => transactionsQuery("acc", { from: "2026-11-02", to: "2026-11-01" }))).toEqual(["from"]);
	});
});
