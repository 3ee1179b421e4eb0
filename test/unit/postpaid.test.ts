// BIL-6: post-paid monthly invoices, pure (services/billing/postpaid.ts, lib/time-zones.ts): the
// month a run bills in the account's zone — its first and last instants across daylight-saving
// months, zones far east and west, a day that begins at 01:00, the year's turn — and the lines of
// an invoice: per environment, rounded half-up to cents once, summing exactly to the net.
import fc from "fast-check";
import { localMonthStart } from "../../lib/time-zones";
import { amountDue } from "../../services/billing/payment-docs";
import {
	billedFrom,
	billedMonth,
	billedSpans,
	dueAt,
	invoiceLines,
	leftPostAfter,
	monthName,
	postpaidKey,
	type BilledEntry,
	type PostPaidPeriods,
} from "../../services/billing/postpaid";

describe("the first instant of a month in a zone", () => {
	it.each<[number, number, string, string]>([
		[2027, 2, "UTC", "2027-02-01T00:00:00.000Z"],
		[2027, 2, "America/New_York", "2027-02-01T05:00:00.000Z"], // EST
		[2027, 4, "America/New_York", "2027-04-01T04:00:00.000Z"], // EDT since 14 March
		[2027, 10, "Europe/Berlin", "2027-09-30T22:00:00.000Z"], // CEST
		[2027, 11, "Europe/Berlin", "2027-10-31T23:00:00.000Z"], // CET since 31 October
		[2027, 1, "Pacific/Kiritimati", "2026-12-31T10:00:00.000Z"], // UTC+14
		[2027, 1, "Pacific/Pago_Pago", "2027-01-01T11:00:00.000Z"], // UTC-11
		[2027, 1, "Asia/Kolkata", "2026-12-31T18:30:00.000Z"], // half an hour off
		// Paraguay's clocks went from 00:00 to 01:00 on Sunday 1 October 2023: the 1st began at 01:00.
		[2023, 10, "America/Asuncion", "2023-10-01T04:00:00.000Z"],
	])("%i-%i in %s begins at %s", (year, month, zone, iso) => {
		expect(localMonthStart(year, month, zone).toISOString()).toBe(iso);
	});
});

describe("the month a run bills: the one before, in the account's zone", () => {
	it.each<[string, string, string, string, string]>([
		// New York: February begins at 05:00 UTC; until then it is still January there.
		["2027-02-01T04:59:59.999Z", "America/New_York", "2026-12", "2026-12-01T05:00:00.000Z", "2027-01-01T05:00:00.000Z"],
		["2027-02-01T05:00:00.000Z", "America/New_York", "2027-01", "2027-01-01T05:00:00.000Z", "2027-02-01T05:00:00.000Z"],
		// March in New York has 30 days and 23 hours (daylight saving from the 14th).
		["2027-04-01T04:00:00.000Z", "America/New_York", "2027-03", "2027-03-01T05:00:00.000Z", "2027-04-01T04:00:00.000Z"],
		// October in Berlin has 31 days and 1 hour (back to CET on the 31st).
		["2027-11-01T00:00:00.000Z", "Europe/Berlin", "2027-10", "2027-09-30T22:00:00.000Z", "2027-10-31T23:00:00.000Z"],
		// January bills December of the year before.
		["2027-01-01T00:00:00.000Z", "UTC", "2026-12", "2026-12-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z"],
		["2026-12-31T10:00:00.000Z", "Pacific/Kiritimati", "2026-12", "2026-11-30T10:00:00.000Z", "2026-12-31T10:00:00.000Z"],
	])("at %s in %s: %s, from %s to %s", (at, zone, period, from, to) => {
		const m = billedMonth(new Date(at), zone);
		expect({ period: m.period, from: m.from.toISOString(), to: m.to.toISOString() }).toEqual({ period, from, to });
	});

	it("names the month and keys it per account", () => {
		expect(monthName("2027-01")).toBe("January 2027");
		expect(monthName("2026-12")).toBe("December 2026");
		expect(postpaidKey("acc1", "2027-01")).toBe("postpaid:acc1:2027-01");
	});

	it("is due the given days after it was issued", () => {
		expect(dueAt(new Date("2027-02-01T05:00:00Z"), 14).toISOString()).toBe("2027-02-15T05:00:00.000Z");
		expect(dueAt(new Date("2027-02-01T05:00:00Z"), 0).toISOString()).toBe("2027-02-01T05:00:00.000Z");
	});
});

describe("where a month's invoice starts: the month's first instant, or when the account became post-paid within it", () => {
	const january = billedMonth(new Date("2027-02-01T00:00:00Z"), "UTC");
	it.each<[string, Date | string | undefined, string]>([
		["post-paid since activation", undefined, "2027-01-01T00:00:00.000Z"],
		["moved before the month", new Date("2026-11-20T09:00:00Z"), "2027-01-01T00:00:00.000Z"],
		["moved at its first instant", new Date("2027-01-01T00:00:00Z"), "2027-01-01T00:00:00.000Z"],
		["moved on the 15th", new Date("2027-01-15T12:30:00Z"), "2027-01-15T12:30:00.000Z"],
		["moved on the 15th (the ISO string accounts sends)", "2027-01-15T12:30:00.000Z", "2027-01-15T12:30:00.000Z"],
		["moved after the month (nothing of it billed)", new Date("2027-02-03T00:00:00Z"), "2027-02-03T00:00:00.000Z"],
	])("%s", (_, since, from) => {
		expect(billedFrom(january, since).toISOString()).toBe(from);
	});
});

describe("the parts of a month an account was post-paid in: from when it became so, until it left", () => {
	const january = billedMonth(new Date("2027-02-01T00:00:00Z"), "UTC");
	const iso = (spans: { from: Date; to: Date }[]) => spans.map(s => [s.from.toISOString(), s.to.toISOString()]);
	const MONTH = ["2027-01-01T00:00:00.000Z", "2027-02-01T00:00:00.000Z"];
	it.each<[string, PostPaidPeriods, string[][]]>([
		["post-paid all month", {}, [MONTH]],
		["post-paid all month (inType said)", { inType: true }, [MONTH]],
		["moved in on the 15th", { typeSince: "2027-01-15T12:30:00.000Z" }, [["2027-01-15T12:30:00.000Z", MONTH[1]]]],
		[
			"post-paid since activation, moved out on the 20th",
			{ inType: false, left: { until: "2027-01-20T12:00:00.000Z" } },
			[[MONTH[0], "2027-01-20T12:00:00.000Z"]],
		],
		[
			"moved in on the 5th, out on the 20th (Dates)",
			{ inType: false, left: { since: new Date("2027-01-05T00:00:00Z"), until: new Date("2027-01-20T12:00:00Z") } },
			[["2027-01-05T00:00:00.000Z", "2027-01-20T12:00:00.000Z"]],
		],
		[
			"out on the 20th, back on the 25th: both parts, not the pre-paid days between",
			{ inType: true, typeSince: "2027-01-25T00:00:00.000Z", left: { until: "2027-01-20T12:00:00.000Z" } },
			[
				[MONTH[0], "2027-01-20T12:00:00.000Z"],
				["2027-01-25T00:00:00.000Z", MONTH[1]],
			],
		],
		["left post before the month: nothing of it billed", { inType: false, left: { until: "2026-12-31T23:00:00.000Z" } }, []],
		["left post at its first instant: nothing", { inType: false, left: { until: MONTH[0] } }, []],
		["left post after the month: all of it", { inType: false, left: { until: "2027-02-03T00:00:00.000Z" } }, [MONTH]],
		["moved in after the month (nothing of it billed)", { typeSince: "2027-02-03T00:00:00.000Z" }, []],
		["no longer post-paid and no period recorded", { inType: false }, []],
	])("%s", (_, a, spans) => {
		expect(iso(billedSpans(january, a))).toEqual(spans);
	});

	it("lists those that left post early enough for any month still billed (63 days back covers the longest wait)", () => {
		// The last instant July is still the month billed in Los Angeles: 31 August 23:59 there.
		const at = new Date("2027-09-01T06:59:00Z");
		const july = billedMonth(at, "America/Los_Angeles");
		expect(july.period).toBe("2027-07");
		expect(leftPostAfter(at).getTime()).toBeLessThan(july.from.getTime());
		expect(leftPostAfter(at).toISOString()).toBe("2027-06-30T06:59:00.000Z");
	});
});

describe("an invoice's lines", () => {
	const names = new Map([
		["e1", "shop"],
		["e2", "blog"],
	]);

	it("one per environment (by name; then charges of none), the positive cost to the micro-unit, summing to the net", () => {
		const entries: BilledEntry[] = [
			{ envId: "e1", amountMain: -1_234_567 },
			{ envId: "e1", amountMain: -4_300 },
			{ envId: "e2", amountMain: -77_000 },
			{ envId: "e2", amountMain: -3_000 }, // a correction of 0.003 more
			{ amountMain: -5_000_000 }, // an administrator's charge, of no environment
			{ envId: "e3", amountMain: -10_000 }, // an environment charged under a name no longer known
		];
		expect(invoiceLines(entries, names)).toEqual({
			lines: [
				{ envId: "e2", description: "Environment blog", amount: 80_000 },
				{ envId: "e3", description: "Environment e3", amount: 10_000 },
				{ envId: "e1", description: "Environment shop", amount: 1_238_867 },
				{ description: "Other charges (no environment)", amount: 5_000_000 },
			],
			net: 6_328_867,
		});
	});

	it.each<[string, BilledEntry[], number[], number]>([
		["nothing charged: no lines", [], [], 0],
		["a micro-unit is billed as it is", [{ envId: "e1", amountMain: -1 }], [1], 1],
		["what the bonus paid is not billed (the main part only is given)", [{ envId: "e1", amountMain: 0 }], [], 0],
		[
			"a correction that takes back all of a charge leaves no line",
			[
				{ envId: "e1", amountMain: -7_000 },
				{ envId: "e1", amountMain: 7_000 },
			],
			[],
			0,
		],
		[
			"a correction that gives back more than was charged is a credit line",
			[
				{ envId: "e1", amountMain: -1_000_000 },
				{ envId: "e2", amountMain: 2_500_000 },
			],
			[-2_500_000, 1_000_000],
			-1_500_000,
		],
	])("%s", (_what, entries, lines, net) => {
		const out = invoiceLines(entries, names);
		expect(out.lines.map(l => l.amount)).toEqual(lines);
		expect(out.net).toBe(net);
	});

	it("always: Σ lines = net = Σ the entries' charges, to the micro-unit", () => {
		const entry = fc.record({
			envId: fc.option(fc.constantFrom("e1", "e2", "e3", "e4"), { nil: undefined }),
			amountMain: fc.integer({ min: -50_000_000, max: 1_000_000 }),
		});
		fc.assert(
			fc.property(fc.array(entry, { maxLength: 200 }), entries => {
				const { lines, net } = invoiceLines(entries, names);
				expect(lines.reduce((a, l) => a + l.amount, 0)).toBe(net);
				expect(net).toBe(0 - entries.reduce((a, e) => a + e.amountMain, 0));
				expect(lines.every(l => l.amount !== 0)).toBe(true);
			}),
		);
	});

	it.each([
		["whole cents stay", 12_340_000, 12_340_000],
		["half a cent rounds up", 12_345_000, 12_350_000],
		["just under half a cent rounds down", 12_344_999, 12_340_000],
	])("the amount due by card: %s", (_what, total, due) => {
		expect(amountDue({ total })).toBe(due);
	});
});
