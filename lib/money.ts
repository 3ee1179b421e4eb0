// BIL-1: money is exact. Amounts are integers in micro-units (10⁻⁶ of the currency) everywhere
// inside the platform — ledger, balances, tariffs — and every multiplication, division and
// rounding goes through big.js, rounded half-up once. Decimal strings exist only at the edges:
// `parseMoney` on the way in, `formatMoney` on the way out. Never a float in between.
import Big from "big.js";
import { envString } from "./config";
import { validationError } from "./errors";

/** An integer number of micro-units (10⁻⁶ of the currency). */
export type Micros = number;

export const MICROS_PER_UNIT = 1_000_000;
export const MONEY_DECIMALS = 6;

/**
 * The largest amount accepted anywhere, in units. Micros are JS numbers (they must `$inc` on
 * NeDB and MongoDB alike), exact only up to 2^53 ≈ 9.007e15 micros ≈ 9.0e9 units; 1e9 units per
 * amount keeps every amount and any realistic balance well inside that.
 */
export const MAX_UNITS = 1_000_000_000;
export const MAX_MICROS: Micros = MAX_UNITS * MICROS_PER_UNIT;

/** The platform currency (PRC-1: one per platform, default USD), shown beside every amount. */
export const CURRENCY = envString("CURRENCY", "USD").toUpperCase();
if (!/^[A-Z]{3}$/.test(CURRENCY)) throw new Error(`Environment variable CURRENCY must be a 3-letter ISO 4217 code, got "${CURRENCY}"`);

// Plain decimals only: an optional sign, digits, optionally a point and digits. No exponent, no
// separators, no "1." or ".5": what a person types as an amount and nothing a parser guesses at.
const DECIMAL = /^([+-]?)(\d+)(?:\.(\d+))?$/;

/**
 * A decimal amount ("12.34", "-5", "0.000001") → micros. Refuses, with a 422 naming `field`:
 * anything that is not a plain decimal, more than 6 decimals, more than MAX_UNITS.
 * Numbers are accepted as the decimal they print as (12.5 → "12.5"); 1e-7 prints with an
 * exponent and is refused like the string.
 */
export function parseMoney(input: string | number, field: string): Micros {
	const refuse = (message: string) => validationError({ field, message });
	if (typeof input === "number" && !Number.isFinite(input)) throw refuse('must be a decimal amount such as "12.34"');
	if (typeof input !== "string" && typeof input !== "number") throw refuse('must be a decimal amount such as "12.34"');
	const text = String(input).trim();
	if (text.length > 40) throw refuse("is too long to be an amount");
	const m = DECIMAL.exec(text);
	if (!m) throw refuse('must be a decimal amount such as "12.34" (digits, one optional point, no exponent)');
	// Trailing zeros are exact ("1.5000000" is 1.5), so only significant decimals count.
	const decimals = (m[3] ?? "").replace(/0+$/, "");
	if (decimals.length > MONEY_DECIMALS) throw refuse(`has more than ${MONEY_DECIMALS} decimals (the smallest amount is 0.000001)`);
	const value = new Big(`${m[1] === "-" ? "-" : ""}${m[2]}.${decimals || "0"}`);
	if (value.abs().gt(MAX_UNITS)) throw refuse(`must be at most ${MAX_UNITS} in absolute value`);
	return toMicros(value.times(MICROS_PER_UNIT));
}

/** A Big that is already a whole number of micros → Micros (never -0). */
function toMicros(b: Big): Micros {
	const n = Number(b.toFixed(0));
	if (!Number.isSafeInteger(n)) throw new RangeError(`Amount ${b.toFixed()} micros is outside the exact range`);
	return n === 0 ? 0 : n;
}

/** Micros → a decimal string with `decimals` places, rounded half-up (away from zero) for display only (BIL-1). */
export function formatMoney(micros: Micros, decimals = 2): string {
	assertMicros(micros);
	const out = new Big(micros).div(MICROS_PER_UNIT).round(decimals, Big.roundHalfUp).toFixed(decimals);
	// A tiny negative amount rounds to zero: show "0.00", not "-0.00".
	return /^-0(\.0*)?$/.test(out) ? out.slice(1) : out;
}

/**
 * Exact amounts for clients (API.md: money is exact): at least 2 decimals, more only when the
 * micros need them ("12.30", "0.077", "-0.000150"→"-0.00015"). Used wherever a sum must be
 * checkable to the micro-unit (balances, the ledger, billing history).
 */
export function formatExact(micros: Micros): string {
	assertMicros(micros);
	// String work on the integer's digits, no division: exact, and the billing history formats
	// hundreds of thousands of these (big.js was most of its time).
	const digits = String(Math.abs(micros)).padStart(MONEY_DECIMALS + 1, "0");
	let end = digits.length;
	while (end > digits.length - MONEY_DECIMALS + 2 && digits.charCodeAt(end - 1) === 48) end--;
	const out = `${digits.slice(0, -MONEY_DECIMALS)}.${digits.slice(-MONEY_DECIMALS, end)}`;
	return micros < 0 ? `-${out}` : out;
}

/** Unit prices are shown to 4 decimals (BIL-1: "0.0043"). */
export function formatUnitPrice(micros: Micros): string {
	return formatMoney(micros, 4);
}

/** micros × factor (a decimal string or an integer), rounded half-up once to whole micros. */
export function multiplyRound(micros: Micros, factor: string | number): Micros {
	assertMicros(micros);
	return toMicros(new Big(micros).times(new Big(factor)).round(0, Big.roundHalfUp));
}

/** micros ÷ divisor, rounded half-up once to whole micros. */
export function divideRound(micros: Micros, divisor: string | number): Micros {
	assertMicros(micros);
	const d = new Big(divisor);
	if (d.eq(0)) throw new RangeError("Division of an amount by zero");
	return toMicros(new Big(micros).div(d).round(0, Big.roundHalfUp));
}

/** Σ micros, refusing to leave the exact integer range. */
export function sumMicros(amounts: Micros[]): Micros {
	let total = 0;
	for (const a of amounts) {
		assertMicros(a);
		total += a;
		if (!Number.isSafeInteger(total)) throw new RangeError("Sum of amounts is outside the exact range");
	}
	return total;
}

/** Throws unless `micros` is a whole, exactly representable number of micro-units. */
export function assertMicros(micros: unknown): asserts micros is Micros {
	if (typeof micros !== "number" || !Number.isSafeInteger(micros)) throw new RangeError(`Not a whole number of micro-units: ${String(micros)}`);
}
