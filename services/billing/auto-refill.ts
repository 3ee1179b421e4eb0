// PAY-4: auto-refill rules, pure. A rule tops the balance up by a fixed amount with a saved card
// that can be charged unattended: weekly (Mondays), monthly (the 1st) — in the account's time
// zone — or when a charge takes the balance below a threshold. What decides when a rule fires:
// - weekly/monthly: once per period, the period named in the rule's zone (`periodOf`), so two job
//   runs, two replicas or a daylight-saving change never fire a period twice or skip one;
// - balanceBelow: once per crossing. The rule is `armed` while the balance is at or above the
//   threshold; the first look that finds it below (a charge's settlement, or the job) disarms it
//   in one conditional update and fires; a refill under way keeps it disarmed (it counts toward the
//   balance), and a minimum gap spaces two firings.
import type { Micros } from "../../lib/money";
import { localDate } from "../../lib/time-zones";

export { knownTimeZone, localDate } from "../../lib/time-zones";

export const CONDITIONS = ["weekly", "monthly", "balanceBelow"] as const;
export type ConditionType = (typeof CONDITIONS)[number];

export interface AutoRefillRule {
	amount: Micros;
	paymentMethodId: string;
	condition: { type: ConditionType; threshold?: Micros };
	timeZone: string;
}

/** Three failed payments in a row turn a rule off. */
export const MAX_FAILURES = 3;

const pad = (n: number) => String(n).padStart(2, "0");

/**
 * The period a weekly or monthly rule fires once in, named by its first local day: the week's
 * Monday ("2026-11-30") or the month ("2026-12"). Computed on the local calendar date alone, so
 * an hour that a daylight-saving change adds or removes cannot move it.
 */
export function periodOf(type: "weekly" | "monthly", at: Date, zone: string): string {
	const { year, month, day } = localDate(at, zone);
	if (type === "monthly") return `${year}-${pad(month)}`;
	const date = new Date(Date.UTC(year, month - 1, day));
	const monday = new Date(date.getTime() - ((date.getUTCDay() + 6) % 7) * 86_400_000);
	return monday.toISOString().slice(0, 10);
}

/** What a rule's state says to do now. */
export interface RuleState {
	enabled: boolean;
	/** balanceBelow: may fire (the balance was at or above the threshold since the last firing) */
	armed: boolean;
	/** weekly/monthly: the last period fired in (or the one it was created in) */
	lastPeriod: string;
	/** a refill of this rule is under way */
	pendingPaymentId: string;
	lastFiredAt: Date;
}

/**
 * The key of the firing due now, or null: `<period>` for weekly/monthly rules, `below:<n>` for the
 * n-th crossing of a balanceBelow rule (n = firings so far + 1, named by the caller).
 */
export function dueFiring(rule: AutoRefillRule, state: RuleState, o: { now: Date; balance: Micros; minGapMs: number; crossing: number }): string | null {
	if (!state.enabled || state.pendingPaymentId) return null;
	const { type, threshold } = rule.condition;
	if (type !== "balanceBelow") {
		const period = periodOf(type, o.now, rule.timeZone);
		return period !== state.lastPeriod ? period : null;
	}
	if (!state.armed || o.balance >= (threshold ?? 0)) return null;
	if (o.now.getTime() - state.lastFiredAt.getTime() < o.minGapMs) return null;
	return `below:${o.crossing}`;
}
