// Payment-card checks for saved payment methods (PAY-3), kept pure (no Moleculer, no I/O): the
// shell hands over the card as requested and stores only the view this returns — brand, last 4
// digits, expiry and holder. The full number and the CVC never leave this function, and no
// error message quotes a value (NFR-1): messages name the rule that failed.
import { validationError, type FieldError } from "../../lib/errors";

export type CardBrand = "visa" | "mastercard" | "amex" | "discover" | "unknown";

export interface CardInput {
	type: "card";
	number: string;
	expMonth: number;
	expYear: number;
	cvc: string;
	holder?: string;
}

export interface CardView {
	brand: CardBrand;
	last4: string;
	expMonth: number;
	expYear: number;
	holder?: string;
}

/** A card valid for longer than this is a typo, not a card. */
export const MAX_YEARS_AHEAD = 20;
export const HOLDER_MAX = 100;

const DIGITS = /^[0-9]+$/;
// C0, DEL and C1: a holder name is printed on receipts and shown in lists.
const CONTROL = /\p{Cc}/u;

/** Luhn (mod 10) check over a string of digits; anything else is not valid. */
export function luhnValid(digits: string): boolean {
	if (!DIGITS.test(digits)) return false;
	let sum = 0;
	for (let i = 0; i < digits.length; i++) {
		let d = digits.charCodeAt(digits.length - 1 - i) - 48;
		if (i % 2 === 1) {
			d *= 2;
			if (d > 9) d -= 9;
		}
		sum += d;
	}
	return sum % 10 === 0;
}

/** The brand from the number's leading digits (IIN ranges). */
export function brandOf(digits: string): CardBrand {
	const p = (n: number) => Number(digits.slice(0, n));
	if (!DIGITS.test(digits)) return "unknown";
	if (digits.startsWith("4")) return "visa";
	if ((p(2) >= 51 && p(2) <= 55) || (digits.length >= 4 && p(4) >= 2221 && p(4) <= 2720)) return "mastercard";
	if (p(2) === 34 || p(2) === 37) return "amex";
	if (digits.startsWith("6011") || p(2) === 65 || (digits.length >= 3 && p(3) >= 644 && p(3) <= 649)) return "discover";
	return "unknown";
}

/**
 * PAY-3: checks a card and returns what may be stored. Every problem is collected first, then
 * thrown as one 422 VALIDATION_ERROR listing them all (fields named as in the request).
 */
export function checkCard(input: CardInput, now: Date): CardView {
	const errors: FieldError[] = [];
	const fail = (field: string, message: string) => errors.push({ field, message });

	const digits = typeof input.number === "string" ? input.number.replace(/[ -]/g, "") : "";
	if (typeof input.number !== "string") fail("number", "must be a string");
	else if (!DIGITS.test(digits)) fail("number", "must contain only digits, spaces and dashes");
	else if (digits.length < 12 || digits.length > 19) fail("number", "must have 12 to 19 digits");
	else if (!luhnValid(digits)) fail("number", "fails the card number check (Luhn)");
	// The prefix says the brand even when the number has a typo further on.
	const brand = brandOf(digits);

	const { expMonth, expYear } = input;
	const monthOk = Number.isInteger(expMonth) && expMonth >= 1 && expMonth <= 12;
	const yearOk = Number.isInteger(expYear) && expYear >= 1000 && expYear <= 9999;
	if (!monthOk) fail("expMonth", "must be an integer from 1 to 12");
	if (!yearOk) fail("expYear", "must be a 4-digit year");
	if (monthOk && yearOk) {
		// A card is good through the last instant of its expiry month, in UTC.
		const lastInstant = Date.UTC(expYear, expMonth, 1) - 1;
		const monthsAhead = (expYear - now.getUTCFullYear()) * 12 + (expMonth - 1 - now.getUTCMonth());
		if (lastInstant < now.getTime()) fail("expYear", "the card has expired");
		else if (monthsAhead > MAX_YEARS_AHEAD * 12) fail("expYear", `must be at most ${MAX_YEARS_AHEAD} years ahead`);
	}

	const cvc = input.cvc;
	// With an unreadable number the brand is unknown: then either length is let through.
	const cvcLengths = brand === "amex" ? [4] : DIGITS.test(digits) ? [3] : [3, 4];
	if (typeof cvc !== "string" || !DIGITS.test(cvc)) fail("cvc", "must contain only digits");
	else if (!cvcLengths.includes(cvc.length)) {
		fail("cvc", brand === "amex" ? "must be 4 digits for American Express" : cvcLengths.length === 1 ? "must be 3 digits" : "must be 3 or 4 digits");
	}

	let holder: string | undefined;
	if (input.holder !== undefined && input.holder !== null) {
		if (typeof input.holder !== "string") fail("holder", "must be a string");
		else {
			holder = input.holder.trim();
			const length = [...holder].length;
			if (length < 1 || length > HOLDER_MAX) fail("holder", `must be 1 to ${HOLDER_MAX} characters`);
			else if (CONTROL.test(holder)) fail("holder", "must not contain control characters");
		}
	}

	if (errors.length > 0) throw validationError(errors);
	const view: CardView = { brand, last4: digits.slice(-4), expMonth, expYear };
	if (holder !== undefined) view.holder = holder;
	return view;
}
