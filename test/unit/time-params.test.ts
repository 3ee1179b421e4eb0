// lib/time-params.ts: the API's one reading of time parameters (issue 14 item 6).
import type { FieldError } from "../../lib/errors";
import { checkPeriod, parseTime, timeParam, TIME_MESSAGE, tzOffsetMinutes } from "../../lib/time-params";

describe("parseTime", () => {
	test.each([
		["2026-02-28T10:00:00Z", Date.UTC(2026, 1, 28, 10)],
		["2026-02-28T10:00Z", Date.UTC(2026, 1, 28, 10)],
		["2026-02-28T10:00:00.250Z", Date.UTC(2026, 1, 28, 10, 0, 0, 250)],
		["2026-02-28T10:00:00+02:00", Date.UTC(2026, 1, 28, 8)],
		["2024-02-29T00:00:00Z", Date.UTC(2024, 1, 29)],
		["2026-02-28", Date.UTC(2026, 1, 28)], // a bare date: midnight UTC
		["2026-02-30", NaN],
		["2026-02-30T00:00:00Z", NaN],
		["2025-02-29", NaN],
		["2026-04-31T00:00:00Z", NaN],
		["2026-13-01", NaN],
		["2026-01-01T24:00:00Z", NaN],
		["2026-01-01T10:60:00Z", NaN],
		["2026-01-01T10:00:00", NaN], // no zone: whose local time?
		["2026-01-01T10:00:00+25:00", NaN],
		["yesterday", NaN],
		["", NaN],
		["1767225600000", NaN],
	])("%p → %p", (text, expected) => {
		expect(parseTime(text)).toBe(expected);
	});
});

describe("timeParam", () => {
	test.each([
		["absent", undefined, undefined, []],
		["a time", "2026-03-01T00:00:00Z", new Date("2026-03-01T00:00:00Z"), []],
		["30 February", "2026-02-30", undefined, [{ field: "from", message: TIME_MESSAGE }]],
	])("%s", (_name, value, date, errors) => {
		const found: FieldError[] = [];
		expect(timeParam(value, "from", found)).toEqual(date);
		expect(found).toEqual(errors);
	});
});

describe("checkPeriod", () => {
	const d = (s: string) => new Date(s);
	test.each([
		["from before to", d("2026-01-01"), d("2026-01-02"), "from" as const, []],
		["from = to: an empty period", d("2026-01-01"), d("2026-01-01"), "from" as const, [{ field: "from", message: "must be before to" }]],
		["backwards", d("2026-01-02"), d("2026-01-01"), "from" as const, [{ field: "from", message: "must be before to" }]],
		["backwards, blamed on to", d("2026-01-02"), d("2026-01-01"), "to" as const, [{ field: "to", message: "must be after from" }]],
		["one end missing (it was invalid)", undefined, d("2026-01-01"), "from" as const, []],
	])("%s", (_name, from, to, field, errors) => {
		const found: FieldError[] = [];
		checkPeriod(from, to, found, field);
		expect(found).toEqual(errors);
	});
});

describe("tzOffsetMinutes", () => {
	test.each([
		[undefined, 0],
		["", 0],
		["Z", 0],
		["+02:00", 120],
		["-05:30", -330],
		["+0530", 330],
		["120", 120],
		["-720", -720],
		["840", 840],
		["841", null],
		["+15:00", null],
		["02:00", null],
		["abc", null],
	])("%p → %p", (raw, minutes) => {
		expect(tzOffsetMinutes(raw)).toBe(minutes);
	});
});
