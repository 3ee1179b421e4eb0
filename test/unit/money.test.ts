/**
 * BIL-1: money is exact — integer micro-units inside, decimal strings at the edges, big.js for
 * every multiplication and rounding (half-up, once), never a float in between.
 */
import Big from "big.js";
import { divideRound, formatExact, formatMoney, formatUnitPrice, MAX_MICROS, multiplyRound, parseMoney, sumMicros } from "../../lib/money";

describe("parseMoney", () => {
	test.each([
		["12.34", 12_340_000],
		["-5", -5_000_000],
		["0.000001", 1],
		["-0.000001", -1],
		["0", 0],
		["-0", 0], // never -0
		["+7.5", 7_500_000],
		["007.50", 7_500_000],
		["1.5000000", 1_500_000], // trailing zeros are exact: only significant decimals count
		["  3.25 ", 3_250_000],
		["0.1", 100_000],
		["0.2", 200_000],
		["0.3", 300_000],
		["1000000000", MAX_MICROS], // the largest accepted amount
		["-1000000000", -MAX_MICROS],
		["999999999.999999", MAX_MICROS - 1],
		[12.5, 12_500_000], // a JSON number is taken as the decimal it prints as
		[0.1, 100_000],
		[-3, -3_000_000],
	])("%j → %i micros", (input, micros) => {
		expect(parseMoney(input as string | number, "amount")).toBe(micros);
	});

	test("0.1 + 0.2 is exactly 0.3 in micros (the float sum is not)", () => {
		expect(0.1 + 0.2).not.toBe(0.3);
		expect(parseMoney("0.1", "a") + parseMoney("0.2", "a")).toBe(parseMoney("0.3", "a"));
		expect(formatMoney(parseMoney("0.1", "a") + parseMoney("0.2", "a"))).toBe("0.30");
	});

	test.each([
		["12.345678912", /more than 6 decimals/],
		["0.0000001", /more than 6 decimals/],
		["abc", /decimal amount/],
		["", /decimal amount/],
		["1e3", /no exponent/],
		["1E-6", /no exponent/],
		["1.", /decimal amount/],
		[".5", /decimal amount/],
		["1,000.00", /decimal amount/],
		["1 000", /decimal amount/],
		["0x10", /decimal amount/],
		["--1", /decimal amount/],
		["NaN", /decimal amount/],
		["Infinity", /decimal amount/],
		["1000000000.000001", /at most 1000000000/],
		["-99999999999999", /at most 1000000000/],
		["1".repeat(41), /too long/],
		[1e-7, /no exponent/], // prints as "1e-7"
		[Number.NaN, /decimal amount/],
		[Number.POSITIVE_INFINITY, /decimal amount/],
	])("refuses %j with a 422 naming the field", (input, reason) => {
		let err: { code?: number; type?: string; data?: { field: string; message: string }[]; message?: string } | undefined;
		try {
			parseMoney(input as string | number, "amount");
		} catch (e) {
			err = e as typeof err;
		}
		expect(err).toMatchObject({ code: 422, type: "VALIDATION_ERROR" });
		expect(err!.data).toEqual([{ field: "amount", message: expect.stringMatching(reason) }]);
		expect(err!.message).toMatch(/^amount: /);
	});

	test("refuses what is not a string or a number", () => {
		expect(() => parseMoney(null as unknown as string, "note")).toThrow(/note: must be a decimal amount/);
		expect(() => parseMoney({} as unknown as string, "x")).toThrow(/x: /);
	});
});

describe("formatExact", () => {
	test.each([
		[0, "0.00"],
		[12_300_000, "12.30"],
		[77_000, "0.077"],
		[-150, "-0.00015"],
		[1, "0.000001"],
		[-1, "-0.000001"],
		[1_234_567, "1.234567"],
		[-1_000_000, "-1.00"],
		[MAX_MICROS, "1000000000.00"],
	])("%i micros → %s (at least 2 decimals, every one the micros need)", (micros, text) => {
		expect(formatExact(micros)).toBe(text);
		expect(parseMoney(text, "x")).toBe(micros);
	});

	test("agrees with big.js on every magnitude and sign, and parses back to the same micros", () => {
		const byBig = (m: number) => {
			const s = new Big(m)
				.div(1_000_000)
				.toFixed(6)
				.replace(/(\.\d\d\d*?)0+$/, "$1");
			return s === "-0.00" ? "0.00" : s;
		};
		let seed = 12345;
		const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
		for (let i = 0; i < 20_000; i++) {
			const m = (next() % 2 ? -1 : 1) * Math.floor((next() / 2 ** 31) * 10 ** (i % 16)) + 0; // + 0: never -0
			const text = formatExact(m);
			expect(text).toBe(byBig(m));
			expect(parseMoney(text, "x")).toBe(m);
		}
	});
});

describe("formatMoney", () => {
	test.each([
		[12_340_000, 2, "12.34"],
		[0, 2, "0.00"],
		[1, 2, "0.00"],
		[-1, 2, "0.00"], // rounds to zero: never "-0.00"
		[5_000, 2, "0.01"], // 0.005 → half-up
		[4_999, 2, "0.00"],
		[-5_000, 2, "-0.01"], // half away from zero
		[-4_999, 2, "0.00"],
		[-5_000_000, 2, "-5.00"],
		[1_234_567_890, 2, "1234.57"],
		[MAX_MICROS, 2, "1000000000.00"],
		[12_345_678, 6, "12.345678"],
		[12_345_678, 0, "12"],
		[12_500_000, 0, "13"],
	])("%i micros to %i decimals → %s", (micros, decimals, text) => {
		expect(formatMoney(micros, decimals)).toBe(text);
	});

	test.each([
		[4_300, "0.0043"],
		[4_000, "0.0040"],
		[150, "0.0002"], // 0.00015 → half-up
		[149, "0.0001"],
		[0, "0.0000"],
	])("unit price %i micros → %s (4 decimals)", (micros, text) => {
		expect(formatUnitPrice(micros)).toBe(text);
	});

	test.each([[0.5], [Number.NaN], [2 ** 53]])("refuses %p, which is not a whole number of micros", micros => {
		expect(() => formatMoney(micros)).toThrow(RangeError);
	});
});

describe("multiplyRound / divideRound / sumMicros", () => {
	test.each([
		// DSC-3: 8 reserved cloudlets × 0.004 = 0.032; 10 dynamic × 0.0045 = 0.045
		[4_000, "8", 32_000],
		[4_500, "10", 45_000],
		[4_300, "730", 3_139_000], // PRC-2: monthly = hourly × 730
		[150, "0.5", 75],
		[150, "0.001", 0], // 0.15 micros → 0
		[150, "0.00333333", 0], // 0.4999995 → 0
		[150, "0.00334", 1], // 0.501 → 1
		[1, "0.5", 1], // exactly half → up
		[-1, "0.5", -1], // half away from zero
		[3, "0.1", 0], // 0.3 micros
		[1_000_000, "0.1", 100_000], // 0.1 is a decimal, not a float
		[100_000, "3", 300_000], // 0.1 × 3 = 0.3 exactly
		[7, 3, 21],
	])("%i × %s → %i", (micros, factor, expected) => {
		expect(multiplyRound(micros, factor)).toBe(expected);
	});

	test.each([
		[10_000_000, "3", 3_333_333],
		[20_000_000, "3", 6_666_667],
		[1, "2", 1],
		[-1, "2", -1],
		[3_139_000, "730", 4_300],
	])("%i ÷ %s → %i", (micros, divisor, expected) => {
		expect(divideRound(micros, divisor)).toBe(expected);
	});

	test("refuses to divide by zero and to leave the exact range", () => {
		expect(() => divideRound(1, "0")).toThrow(RangeError);
		expect(() => multiplyRound(MAX_MICROS, "10")).toThrow(RangeError);
		expect(() => sumMicros([Number.MAX_SAFE_INTEGER, 1])).toThrow(RangeError);
	});

	test("sums exactly where floats drift", () => {
		const tenths = Array.from({ length: 10 }, () => parseMoney("0.1", "a"));
		expect(sumMicros(tenths)).toBe(1_000_000);
		expect(Array.from({ length: 10 }, () => 0.1).reduce((a, b) => a + b)).not.toBe(1);
		expect(sumMicros([])).toBe(0);
	});
});
