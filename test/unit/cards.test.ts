/**
 * Payment-card checks (services/billing/cards.ts, PAY-3), table-driven from the spec's test
 * cards (PAY-2): brand by prefix at every range boundary, the Luhn check, the expiry at the last
 * instant of its month (UTC), the CVC length per brand, the holder, every problem reported at
 * once — and neither the full number nor the CVC in the view or in any error.
 */
import { brandOf, checkCard, luhnValid, type CardBrand, type CardInput } from "../../services/billing/cards";

const NOW = new Date("2025-06-15T12:00:00.000Z");
const CVC = "737";

const card = (over: Partial<CardInput> = {}): CardInput => ({
	type: "card",
	number: "4242424242424242",
	expMonth: 12,
	expYear: 2030,
	cvc: CVC,
	...over,
});

interface Thrown {
	code: number;
	type: string;
	message: string;
	data: { field: string; message: string }[];
}
/** The error checkCard throws; fails the test when it does not throw. */
function thrown(input: CardInput, now = NOW): Thrown {
	try {
		checkCard(input, now);
	} catch (err) {
		return err as Thrown;
	}
	throw new Error("checkCard did not throw");
}

const SPEC_CARDS: [string, CardBrand, string][] = [
	["4242424242424242", "visa", CVC],
	["4000000000000002", "visa", CVC],
	["4000002500003155", "visa", CVC],
	["4000000000000077", "visa", CVC],
	["4000000000000119", "visa", CVC],
	["5555555555554444", "mastercard", CVC],
	["2223003122003222", "mastercard", CVC],
	["378282246310005", "amex", "7373"],
	["6011111111111117", "discover", CVC],
];

describe("luhnValid", () => {
	it.each(SPEC_CARDS.map(([n]) => n))("%s passes", n => {
		expect(luhnValid(n)).toBe(true);
	});
	it.each([
		["4242424242424241", "last digit changed"],
		["4242424242424224", "two digits swapped"],
		["378282246310006", "amex, last digit changed"],
		["", "empty"],
		["4242 4242 4242 4242", "not normalised"],
		["424242424242424x", "a letter"],
	])("%s fails (%s)", n => {
		expect(luhnValid(n)).toBe(false);
	});
});

describe("brandOf", () => {
	it.each(SPEC_CARDS.map(([n, brand]) => [n, brand]))("%s is %s", (n, brand) => {
		expect(brandOf(n)).toBe(brand);
	});
	it.each([
		["4000", "visa"],
		["5000", "unknown"],
		["5100", "mastercard"],
		["5500", "mastercard"],
		["5600", "unknown"],
		["2220", "unknown"],
		["2221", "mastercard"],
		["2720", "mastercard"],
		["2721", "unknown"],
		["3400", "amex"],
		["3500", "unknown"],
		["3700", "amex"],
		["6011", "discover"],
		["6012", "unknown"],
		["6430", "unknown"],
		["6440", "discover"],
		["6490", "discover"],
		["6500", "discover"],
		["6600", "unknown"],
		["", "unknown"],
	])("prefix %s is %s", (prefix, brand) => {
		expect(brandOf(prefix.padEnd(16, "0"))).toBe(brand);
	});
});

describe("checkCard: accepted", () => {
	it.each(SPEC_CARDS)("%s → %s, last 4 only", (number, brand, cvc) => {
		expect(checkCard(card({ number, cvc }), NOW)).toEqual({ brand, last4: number.slice(-4), expMonth: 12, expYear: 2030 });
	});
	it.each([
		["4242 4242 4242 4242", "spaces"],
		["4242-4242-4242-4242", "dashes"],
		[" 4242 - 4242 4242-4242 ", "both"],
	])("%s is normalised (%s)", number => {
		expect(checkCard(card({ number }), NOW)).toMatchObject({ brand: "visa", last4: "4242" });
	});
	it.each([
		["this month", 6, 2025, NOW],
		["the last millisecond of its month", 6, 2025, new Date("2025-06-30T23:59:59.999Z")],
		["exactly 20 years ahead", 6, 2045, NOW],
	])("expiry %s is accepted", (_, expMonth, expYear, now) => {
		expect(checkCard(card({ expMonth, expYear }), now)).toMatchObject({ expMonth, expYear });
	});
	it.each([
		["  Ada Lovelace  ", "Ada Lovelace"],
		["Zoë Ørsted-Ñúñez", "Zoë Ørsted-Ñúñez"],
		["x".repeat(100), "x".repeat(100)],
		["  " + "é".repeat(100) + "  ", "é".repeat(100)],
	])("holder %j is kept as %j", (holder, kept) => {
		expect(checkCard(card({ holder }), NOW).holder).toBe(kept);
	});
	it("no holder, no holder key", () => {
		expect(checkCard(card(), NOW)).not.toHaveProperty("holder");
	});
});

describe("checkCard: refused", () => {
	it.each<[string, Partial<CardInput>, string, string, Date]>([
		["letters in the number", { number: "4242x24242424242" }, "number", "must contain only digits, spaces and dashes", NOW],
		["an empty number", { number: "" }, "number", "must contain only digits, spaces and dashes", NOW],
		["11 digits", { number: "42424242424" }, "number", "must have 12 to 19 digits", NOW],
		["20 digits", { number: "42424242424242424242" }, "number", "must have 12 to 19 digits", NOW],
		["a Luhn failure", { number: "4242424242424241" }, "number", "fails the card number check (Luhn)", NOW],
		["month 0", { expMonth: 0 }, "expMonth", "must be an integer from 1 to 12", NOW],
		["month 13", { expMonth: 13 }, "expMonth", "must be an integer from 1 to 12", NOW],
		["a fractional month", { expMonth: 6.5 }, "expMonth", "must be an integer from 1 to 12", NOW],
		["a 2-digit year", { expYear: 30 }, "expYear", "must be a 4-digit year", NOW],
		["a 5-digit year", { expYear: 20300 }, "expYear", "must be a 4-digit year", NOW],
		["a fractional year", { expYear: 2030.5 }, "expYear", "must be a 4-digit year", NOW],
		["last month", { expMonth: 5, expYear: 2025 }, "expYear", "the card has expired", NOW],
		["a past year", { expMonth: 12, expYear: 2024 }, "expYear", "the card has expired", NOW],
		["the first instant after its month", { expMonth: 6, expYear: 2025 }, "expYear", "the card has expired", new Date("2025-07-01T00:00:00.000Z")],
		["20 years and a month ahead", { expMonth: 7, expYear: 2045 }, "expYear", "must be at most 20 years ahead", NOW],
		["a 4-digit visa cvc", { cvc: "7373" }, "cvc", "must be 3 digits", NOW],
		["a 3-digit amex cvc", { number: "378282246310005", cvc: "737" }, "cvc", "must be 4 digits for American Express", NOW],
		["a 2-digit cvc", { cvc: "73" }, "cvc", "must be 3 digits", NOW],
		["letters in the cvc", { cvc: "7a7" }, "cvc", "must contain only digits", NOW],
		["an empty cvc", { cvc: "" }, "cvc", "must contain only digits", NOW],
		["an empty holder", { holder: "" }, "holder", "must be 1 to 100 characters", NOW],
		["a blank holder", { holder: "   " }, "holder", "must be 1 to 100 characters", NOW],
		["a 101-character holder", { holder: "x".repeat(101) }, "holder", "must be 1 to 100 characters", NOW],
		["a newline in the holder", { holder: "Ada\nLovelace" }, "holder", "must not contain control characters", NOW],
		["a NUL in the holder", { holder: "Ada\u0000" }, "holder", "must not contain control characters", NOW],
		["a C1 control in the holder", { holder: "Ada\u0085Lovelace" }, "holder", "must not contain control characters", NOW],
	])("%s is refused", (_, over, field, message, now) => {
		const err = thrown(card(over), now);
		expect(err).toMatchObject({ code: 422, type: "VALIDATION_ERROR" });
		expect(err.data).toEqual([{ field, message }]);
	});

	it("collects every problem into one error", () => {
		const err = thrown(card({ number: "4242424242424241", expMonth: 13, expYear: 99, cvc: "1", holder: "\t" }));
		expect(err.data.map(e => e.field)).toEqual(["number", "expMonth", "expYear", "cvc", "holder"]);
	});
	it("reports an expiry only when month and year are otherwise valid", () => {
		expect(thrown(card({ expMonth: 13, expYear: 2000 })).data).toEqual([{ field: "expMonth", message: "must be an integer from 1 to 12" }]);
		expect(thrown(card({ expMonth: 1, expYear: 99 })).data).toEqual([{ field: "expYear", message: "must be a 4-digit year" }]);
	});
	it("an unreadable number does not also fail a 4-digit cvc (the brand is unknown)", () => {
		expect(thrown(card({ number: "3782x8224631000", cvc: "7373" })).data).toEqual([
			{ field: "number", message: "must contain only digits, spaces and dashes" },
		]);
	});
});

describe("checkCard: the full number and the CVC never leave (PAY-3)", () => {
	const NUMBER = "4000002500003155";
	/** Every form of the input's number and cvc that must not appear in `text`. */
	const leaks = (text: string, input: CardInput) => {
		const digits = input.number.replace(/[ -]/g, "");
		return [input.number, digits, digits.slice(0, -4), input.cvc].filter(s => s.length > 0 && text.includes(s));
	};

	it.each(SPEC_CARDS)("the view of %s holds neither", (number, _, cvc) => {
		const input = card({ number, cvc });
		expect(leaks(JSON.stringify(checkCard(input, NOW)), input)).toEqual([]);
	});
	it.each<[string, Partial<CardInput>]>([
		["a Luhn failure", { number: "4000002500003156" }],
		["a wrong-length cvc", { cvc: "7370" }],
		["an expired card", { expYear: 2020 }],
		["a bad holder", { holder: "Ada\u0007" }],
		["every problem at once", { number: "4000 0025 0000 3156", cvc: "73a", expMonth: 0, holder: "\u0007" }],
		["a wrong cvc on a good number", { number: "6011111111111117", cvc: "73" }],
	])("the error for %s holds neither", (_, over) => {
		const input = card({ number: NUMBER, ...over });
		const err = thrown(input);
		expect(leaks(err.message, input)).toEqual([]);
		expect(leaks(JSON.stringify(err.data), input)).toEqual([]);
		expect(leaks(JSON.stringify(err), input)).toEqual([]);
	});
});
