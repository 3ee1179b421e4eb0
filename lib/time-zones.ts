// IANA time zones, the one place that reads them (Intl, no offset arithmetic of our own): whether a
// zone is known, the calendar date an instant falls on there, and the instant a local calendar
// month begins. Pure: no Moleculer, no I/O. Used by auto-refill periods (PAY-4), an account's
// own zone (its profile) and the months of post-paid invoices (BIL-6).

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
	let f = formatters.get(zone);
	if (!f) {
		f = new Intl.DateTimeFormat("en-US", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hourCycle: "h23" });
		formatters.set(zone, f);
	}
	return f;
}

/** Whether `zone` is an IANA time zone this runtime knows. */
export function knownTimeZone(zone: string): boolean {
	return canonicalTimeZone(zone) !== null;
}

/** The zone's canonical spelling ("america/new_york" → "America/New_York"), or null when unknown. */
export function canonicalTimeZone(zone: string): string | null {
	if (!zone) return null;
	try {
		return formatter(zone).resolvedOptions().timeZone;
	} catch {
		return null;
	}
}

/** The calendar date at `at` in `zone`. */
export function localDate(at: Date, zone: string): { year: number; month: number; day: number } {
	const parts = Object.fromEntries(
		formatter(zone)
			.formatToParts(at)
			.map(p => [p.type, p.value]),
	);
	return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day) };
}

const dayNumber = (d: { year: number; month: number; day: number }) => d.year * 10_000 + d.month * 100 + d.day;

/** Zones are within UTC-12 and UTC+14: local midnight lies in this window around UTC midnight. */
const ZONE_WINDOW_MS = 16 * 3_600_000;

/**
 * The first instant of the 1st of `month` (1-12) of `year` in `zone`: where the local date turns
 * to that day, found on the local calendar alone (a daylight-saving change that skips midnight
 * begins the day at the first instant that exists).
 */
export function localMonthStart(year: number, month: number, zone: string): Date {
	const first = dayNumber({ year, month, day: 1 });
	const utcMidnight = Date.UTC(year, month - 1, 1);
	let lo = utcMidnight - ZONE_WINDOW_MS; // still the month before, in every zone
	let hi = utcMidnight + ZONE_WINDOW_MS; // the 1st already, in every zone
	while (hi - lo > 1) {
		const mid = Math.floor((lo + hi) / 2);
		if (dayNumber(localDate(new Date(mid), zone)) >= first) hi = mid;
		else lo = mid;
	}
	return new Date(hi);
}
