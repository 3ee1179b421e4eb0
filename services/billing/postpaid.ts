// BIL-6: post-paid monthly invoices, pure (no Moleculer, no I/O; postpaid-invoices.ts does the
// work). A `post` account is billed on the 1st of each month, in its own time zone, for the
// month before: which month that is and the instants it spans (`billedMonth`), and the invoice's
// lines (`invoiceLines`) — one per environment, plus one for charges of no environment.
// - An account that became post-paid within the month is billed from that instant (`billedFrom`);
//   one that left `post` within it, until that instant (`billedSpans`): the charges of its
//   post-paid part are invoiced on the 1st like any other's, the rest of the month it pre-paid.
// - A month holds the ledger entries APPLIED within it (their `appliedAt`): every charge and
//   correction falls in exactly one month, so none is billed twice or never — a late usage
//   correction of January applied in February is on February's invoice.
// - Only what the main balance paid is billed: a charge the bonus covered was the provider's gift.
// - Each line is its charges exactly, to the micro-unit; the net is the sum of the lines, which is
//   the sum of the month's charges. A card is charged the total to whole cents (`amountDue`,
//   payment-docs.ts), and paying credits the balance the exact net: nothing is left over.
import { addMs, DAY } from "../../lib/clock";
import { sumMicros, type Micros } from "../../lib/money";
import { localMonthStart } from "../../lib/time-zones";
import { periodOf } from "./auto-refill";
import type { InvoiceLine } from "./payment-docs";

export interface BilledMonth {
	/** "2027-01" */
	period: string;
	/** the first instant of the month in the zone */
	from: Date;
	/** the first instant of the next month in the zone (the month is [from, to)) */
	to: Date;
}

/** A charge or correction entry as an invoice line needs it: signed micros the main balance took. */
export interface BilledEntry {
	envId?: string;
	amountMain: Micros;
}

/** The ledger entry kinds a post-paid invoice bills. */
export const BILLED_KINDS = ["charge", "correction"] as const;

const pad = (n: number) => String(n).padStart(2, "0");

/** The month before the one `at` falls in, in `zone`: the month a job running at `at` bills. */
export function billedMonth(at: Date, zone: string): BilledMonth {
	const [year, month] = periodOf("monthly", at, zone).split("-").map(Number);
	const [y, m] = month === 1 ? [year - 1, 12] : [year, month - 1];
	return { period: `${y}-${pad(m)}`, from: localMonthStart(y, m, zone), to: localMonthStart(year, month, zone) };
}

/**
 * Where a month's invoice starts: the month's first instant, or, for an account that became
 * post-paid within it (`typeSince`, as accounts answers it), that instant — the charges before it
 * were pre-paid from its balance, never invoiced.
 */
export function billedFrom(month: BilledMonth, typeSince?: Date | string): Date {
	const since = typeSince === undefined ? NaN : new Date(typeSince).getTime();
	return since > month.from.getTime() ? new Date(since) : month.from;
}

/** An account's post-paid periods as accounts lists them (a Date, or its ISO string over the wire). */
export interface PostPaidPeriods {
	/** false when it is no longer post-paid (absent = true) */
	inType?: boolean;
	/** when it became post-paid, if by a move (while `inType`) */
	typeSince?: Date | string;
	/** its last post-paid period, ended by a move out of the `post` group `group` (`since` absent = since activation) */
	left?: { group?: string; since?: Date | string; until: Date | string };
}

/**
 * The parts [from, to) of `month` an account was post-paid in, in time order: from `typeSince`
 * to the month's end while it is post-paid, and its last period until a move out of `post`
 * (`left`) — an account moved out on the 20th and back on the 25th has both. None: nothing to bill.
 */
export function billedSpans(month: BilledMonth, a: PostPaidPeriods): { from: Date; to: Date }[] {
	const spans: { from: Date; to: Date }[] = [];
	if (a.left) {
		const until = new Date(a.left.until);
		spans.push({ from: billedFrom(month, a.left.since), to: until < month.to ? until : month.to });
	}
	if (a.inType !== false) spans.push({ from: billedFrom(month, a.typeSince), to: month.to });
	return spans.filter(s => s.from < s.to);
}

/**
 * Accounts that left `post` after this instant may still have a post-paid part in a month not
 * invoiced yet at `at` (the month before `at`'s, in any zone, starts less than 63 days before).
 */
export const leftPostAfter = (at: Date): Date => addMs(at, -63 * DAY);

/** "2027-01" → "January 2027" (the calendar month's name; no time zone involved). */
export function monthName(period: string): string {
	const [y, m] = period.split("-").map(Number);
	return new Date(Date.UTC(y, m - 1, 15)).toLocaleString("en-US", { month: "long", year: "numeric", timeZone: "UTC" });
}

/**
 * One line per environment (named by `names`, else its id), ordered by description, then one for
 * entries of no environment; a line of nothing is left out. Σ amount = the net = Σ the entries.
 */
export function invoiceLines(entries: BilledEntry[], names: Map<string, string>): { lines: InvoiceLine[]; net: Micros } {
	const byEnv = new Map<string, Micros[]>();
	for (const e of entries) {
		const k = e.envId ?? "";
		const list = byEnv.get(k);
		if (list) list.push(e.amountMain);
		else byEnv.set(k, [e.amountMain]);
	}
	const lines: InvoiceLine[] = [];
	for (const [envId, amounts] of byEnv) {
		const amount = 0 - sumMicros(amounts); // charges are negative: the line is the cost (never -0)
		if (amount === 0) continue;
		lines.push(envId ? { envId, description: `Environment ${names.get(envId) ?? envId}`, amount } : { description: "Other charges (no environment)", amount });
	}
	lines.sort((a, b) => Number(!a.envId) - Number(!b.envId) || a.description.localeCompare(b.description) || (a.envId ?? "").localeCompare(b.envId ?? ""));
	return { lines, net: sumMicros(lines.map(l => l.amount)) };
}

/** When an invoice issued at `issuedAt` is due: `account.post.invoice.due.days` later. */
export const dueAt = (issuedAt: Date, dueDays: number): Date => addMs(issuedAt, Math.max(0, dueDays) * DAY);

/** The key a month's invoice is made once under: its invoice and its unattended payment are named by it. */
export const postpaidKey = (accountId: string, period: string) => `postpaid:${accountId}:${period}`;
