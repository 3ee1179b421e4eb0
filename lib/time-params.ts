// One reading of time parameters for the whole API: an ISO-8601 time (a real calendar date —
// never 30 February rolled over into March), the from-before-to check and the time-zone offset.
// Pure: no Moleculer, no I/O.
import { validationError, type FieldError } from "./errors";

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const digit = (s: string, i: number) => {
	const c = s.charCodeAt(i) - 48;
	return c >= 0 && c <= 9 ? c : NaN;
};
const two = (s: string, i: number) => digit(s, i) * 10 + digit(s, i + 1);

// The last date and hour read ("2026-11-26T10") and its milliseconds: a batch's samples share a few.
let lastHourText = "";
let lastHourMs = 0;

/** "YYYY-MM-DDTHH" at the start of s, in milliseconds, or NaN: a real date and hour. */
function dateHour(s: string): number {
	if (s[4] !== "-" || s[7] !== "-" || s[10] !== "T") return NaN;
	const year = two(s, 0) * 100 + two(s, 2);
	const month = two(s, 5);
	const day = two(s, 8);
	const hour = two(s, 11);
	// NaN (a non-digit) fails every comparison.
	if (!(year >= 0 && month >= 1 && month <= 12 && day >= 1 && hour <= 23)) return NaN;
	const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
	if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1])) return NaN;
	if (year >= 100) return Date.UTC(year, month - 1, day, hour);
	const d = new Date(0); // Date.UTC reads years 0-99 as 1900-1999
	d.setUTCFullYear(year, month - 1, day);
	return d.getTime() + hour * 3_600_000;
}

/**
 * An ISO-8601 time with a zone — "2026-11-26T10:00:20Z", "…20.5+02:00", seconds and fractions
 * optional — in milliseconds, or NaN. Stricter than Date.parse, which rolls 30 February over into
 * March and takes 24:00: a real date and time only.
 */
export function parseIsoTime(s: string): number {
	const n = s.length;
	if (n < 17 || s[13] !== ":") return NaN;
	let base: number;
	if (lastHourText && s.startsWith(lastHourText)) base = lastHourMs;
	else {
		base = dateHour(s);
		if (Number.isNaN(base)) return NaN;
		lastHourText = s.slice(0, 13);
		lastHourMs = base;
	}
	const minute = two(s, 14);
	let i = 16;
	let second = 0;
	let ms = 0;
	if (s[i] === ":") {
		second = two(s, i + 1);
		i += 3;
		if (s[i] === ".") {
			const start = ++i;
			let scale = 100;
			while (i < n && i - start < 9 && digit(s, i) >= 0) {
				ms += digit(s, i) * scale;
				scale /= 10;
				i++;
			}
			if (i === start) return NaN;
			ms = Math.floor(ms);
		}
	}
	let offset = 0;
	if (s[i] === "Z" && i + 1 === n) offset = 0;
	else if ((s[i] === "+" || s[i] === "-") && i + 6 === n && s[i + 3] === ":") {
		const oh = two(s, i + 1);
		const om = two(s, i + 4);
		if (!(oh <= 23 && om <= 59)) return NaN;
		offset = (s[i] === "+" ? 1 : -1) * (oh * 60 + om) * 60_000;
	} else return NaN;
	if (!(minute <= 59 && second <= 59)) return NaN;
	return base + minute * 60_000 + second * 1000 + ms - offset;
}

const DATE_ONLY = /^\d{4}-\d\d-\d\d$/;
export const TIME_MESSAGE = 'must be an ISO-8601 time with a zone, such as "2026-02-01T00:00:00Z", or a date "2026-02-01" (UTC); a real calendar date';

/**
 * A time parameter ("from", "to", "now"…) → its Date, or undefined when absent. A bad one adds
 * `{field, message}` to errors (and answers undefined). A bare date is midnight UTC.
 */
export function timeParam(value: string | undefined, field: string, errors: FieldError[]): Date | undefined {
	if (value === undefined) return undefined;
	const ms = parseTime(value);
	if (Number.isNaN(ms)) {
		errors.push({ field, message: TIME_MESSAGE });
		return undefined;
	}
	return new Date(ms);
}

/** An ISO-8601 time with a zone, or a bare date (midnight UTC), in milliseconds; NaN otherwise. */
export function parseTime(value: string): number {
	return DATE_ONLY.test(value) ? parseIsoTime(`${value}T00:00:00Z`) : parseIsoTime(value);
}

/** A period must not be empty nor run backwards: `from` strictly before `to`. */
export function checkPeriod(from: Date | undefined, to: Date | undefined, errors: FieldError[], field: "from" | "to" = "from"): void {
	if (!from || !to || from < to) return;
	errors.push(field === "from" ? { field: "from", message: "must be before to" } : { field: "to", message: "must be after from" });
}

/** `from` and `to` parameters (either may be absent) → their Dates; 422 naming each bad one, or a period that runs backwards. */
export function periodParams(p: { from?: string; to?: string }, field: "from" | "to" = "from"): { from?: Date; to?: Date } {
	const errors: FieldError[] = [];
	const from = timeParam(p.from, "from", errors);
	const to = timeParam(p.to, "to", errors);
	checkPeriod(from, to, errors, field);
	if (errors.length) throw validationError(errors);
	return { from, to };
}

/** "+02:00", "-05:30", "0" or minutes east of UTC ("120") → minutes; null when malformed. */
export function tzOffsetMinutes(raw: string | undefined): number | null {
	if (raw === undefined || raw === "" || /^z$/i.test(raw)) return 0;
	const hm = /^([+-])(\d\d):?(\d\d)$/.exec(raw);
	const minutes = hm ? (hm[1] === "-" ? -1 : 1) * (Number(hm[2]) * 60 + Number(hm[3])) : /^[+-]?\d{1,4}$/.test(raw) ? Number(raw) : NaN;
	return Number.isInteger(minutes) && minutes >= -720 && minutes <= 840 ? minutes : null;
}

export const TZ_OFFSET_MESSAGE = 'must be an offset such as "+02:00", "-05:30" or minutes east of UTC (-720 to 840)';
