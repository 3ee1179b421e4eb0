// PAY-4: when an auto-refill rule fires (services/billing/auto-refill.ts) — the period of a weekly
// or monthly rule in the account's time zone, across daylight-saving changes and year ends, and
// the once-per-crossing rule of balanceBelow with its pending refill and minimum gap.
import { dueFiring, knownTimeZone, periodOf, type AutoRefillRule, type RuleState } from "../../services/billing/auto-refill";

describe("the period a weekly or monthly rule fires once in", () => {
	it.each<[string, "weekly" | "monthly", string, string]>([
		// Berlin's clocks go forward on Sunday 28 March 2027 (02:00 → 03:00): the week still ends at local midnight.
		["2027-03-28T21:59:00Z", "weekly", "Europe/Berlin", "2027-03-22"], // Sunday 23:59 CEST
		["2027-03-28T22:00:00Z", "weekly", "Europe/Berlin", "2027-03-29"], // Monday 00:00 CEST
		["2027-03-28T22:00:00Z", "weekly", "UTC", "2027-03-22"], // still Sunday in UTC
		["2027-03-29T00:00:00Z", "weekly", "UTC", "2027-03-29"],
		// and back on Sunday 31 October 2027 (03:00 → 02:00): the repeated hour stays in its day.
		["2027-10-31T00:30:00Z", "weekly", "Europe/Berlin", "2027-10-25"], // Sunday 02:30 CEST
		["2027-10-31T01:30:00Z", "weekly", "Europe/Berlin", "2027-10-25"], // Sunday 02:30 CET, the hour again
		["2027-10-31T23:00:00Z", "weekly", "Europe/Berlin", "2027-11-01"], // Monday 00:00 CET
		// A week across the year's end belongs to its Monday's year.
		["2027-01-01T12:00:00Z", "weekly", "UTC", "2026-12-28"],
		// Months in the zone: Los Angeles is still in March when UTC is in April.
		["2027-04-01T06:59:00Z", "monthly", "America/Los_Angeles", "2027-03"],
		["2027-04-01T07:00:00Z", "monthly", "America/Los_Angeles", "2027-04"],
		["2027-03-31T22:00:00Z", "monthly", "Europe/Berlin", "2027-04"],
		["2026-12-31T10:00:00Z", "monthly", "Pacific/Kiritimati", "2027-01"], // UTC+14
	])("at %s a %s rule in %s is in %s", (at, type, zone, period) => {
		expect(periodOf(type, new Date(at), zone)).toBe(period);
	});

	it("knows IANA zones and refuses others", () => {
		expect(knownTimeZone("Europe/Berlin")).toBe(true);
		expect(knownTimeZone("UTC")).toBe(true);
		expect(knownTimeZone("Mars/Olympus_Mons")).toBe(false);
		expect(knownTimeZone("")).toBe(false);
	});
});

describe("a firing due now", () => {
	const below: AutoRefillRule = { amount: 25_000_000, paymentMethodId: "m", condition: { type: "balanceBelow", threshold: 10_000_000 }, timeZone: "UTC" };
	const weekly: AutoRefillRule = { ...below, condition: { type: "weekly" } };
	const state: RuleState = { enabled: true, armed: true, lastPeriod: "", pendingPaymentId: "", lastFiredAt: new Date(0) };
	const at = new Date("2027-03-29T10:00:00Z");
	const o = { now: at, balance: 9_999_999, minGapMs: 3_600_000, crossing: 3 };

	it.each<[string, AutoRefillRule, Partial<RuleState>, Partial<typeof o>, string | null]>([
		["below the threshold, armed", below, {}, {}, "below:3"],
		["at the threshold", below, {}, { balance: 10_000_000 }, null],
		["not armed (fired since it was last at or above)", below, { armed: false }, {}, null],
		["a refill under way", below, { pendingPaymentId: "p" }, {}, null],
		["turned off", below, { enabled: false }, {}, null],
		["within the gap", below, { lastFiredAt: new Date(at.getTime() - 3_599_000) }, {}, null],
		["just past the gap", below, { lastFiredAt: new Date(at.getTime() - 3_600_000) }, {}, "below:3"],
		["a new week", weekly, { lastPeriod: "2027-03-22" }, {}, "2027-03-29"],
		["the same week", weekly, { lastPeriod: "2027-03-29" }, {}, null],
		["a new week, a refill under way", weekly, { lastPeriod: "2027-03-22", pendingPaymentId: "p" }, {}, null],
	])("%s → %s", (_name, rule, s, more, want) => {
		expect(dueFiring(rule, { ...state, ...s }, { ...o, ...more })).toBe(want);
	});
});
