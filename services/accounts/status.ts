// The account status machine (STS-1…STS-4, ACC-3, PAY-5), pure in the Kill Bill manner: config
// (`statusConfig`: the rules' settings from quota values) → calculate (`nextStatus`: given the
// facts, which status should the account be in, and why?). apply-status.ts applies the answer
// (history, events, emails, environments). Admin decisions (suspend, activate, destroy) are not
// made here; this only moves between active, deactivated and destroyed on the platform's rules.
// Invariant: administrators are never moved; suspended changes by admin action only; a post-paid
// account is moved by its overdue invoices, never by its balance (BIL-3).
import { parseMoney } from "../../lib/money";

export type Status = "active" | "deactivated" | "suspended" | "destroyed";

export interface StatusFacts {
	status: Status;
	/** administrators are staff, not customers: the rules never move them */
	role?: "user" | "admin";
	/** the group type: trial, beta, billing, post */
	type: string;
	activatedAt: Date;
	/** when it was deactivated, for the destroy period */
	deactivatedAt: Date | null;
	now: Date;
	/** balances in micro-units, or null when billing has not answered (then money rules wait) */
	balance: { main: number; bonus: number } | null;
	/** this check follows a refill (PAY-5: a refill brings even a destroyed account back) */
	refilled?: boolean;
	/** post-paid: a monthly invoice is unpaid past its due date; null when billing has not answered (then the rule waits) */
	overdue?: boolean | null;
}

export interface StatusConfig {
	/** account.trialperiod: days; -1 = never ends */
	trialPeriodDays: number;
	/** account.minbalance in micro-units */
	minBalance: number;
	/** account.destroy.period: days */
	destroyPeriodDays: number;
	/** account.trial.bonus in micro-units: "bonus spent" only ends trials that were given one */
	trialBonus: number;
}

export interface StatusChange {
	to: Status;
	reason: string;
}

const DAY = 86_400_000;

/**
 * The rules' settings from an account's effective quota values (quotas.effective): days as
 * numbers, money as decimal strings in micro-units. A missing trial bonus is none (ACC-2).
 */
export function statusConfig(values: Record<string, number | string>): StatusConfig {
	return {
		trialPeriodDays: Number(values["account.trialperiod"]),
		minBalance: parseMoney(String(values["account.minbalance"]), "account.minbalance"),
		destroyPeriodDays: Number(values["account.destroy.period"]),
		trialBonus: parseMoney(String(values["account.trial.bonus"] ?? "0"), "account.trial.bonus"),
	};
}

export function trialEndsAt(facts: Pick<StatusFacts, "activatedAt" | "type">, config: Pick<StatusConfig, "trialPeriodDays">): Date | null {
	if (facts.type !== "trial" || config.trialPeriodDays < 0) return null;
	return new Date(facts.activatedAt.getTime() + config.trialPeriodDays * DAY);
}

export const OVERDUE = "post-paid invoice overdue";
export const INVOICE_PAID = "post-paid invoice paid";

/** The change the rules call for, or null when the account is where it should be. */
export function nextStatus(f: StatusFacts, c: StatusConfig): StatusChange | null {
	if (f.role === "admin") return null;
	const total = f.balance ? f.balance.main + f.balance.bonus : null;
	// BIL-3, STS-2/STS-3: a post-paid account owes its invoices, not a balance — a negative balance
	// alone never deactivates it; an invoice unpaid past its due date does, until it is paid.
	const post = f.type === "post";
	switch (f.status) {
		case "active": {
			const ends = trialEndsAt(f, c);
			if (ends && f.now >= ends) return { to: "deactivated", reason: "trial period ended" }; // ACC-3
			if (f.type === "trial" && c.trialBonus > 0 && f.balance && f.balance.bonus <= 0 && f.balance.main <= 0)
				return { to: "deactivated", reason: "trial bonus spent" }; // ACC-3
			if (post) return f.overdue ? { to: "deactivated", reason: OVERDUE } : null;
			if (f.type !== "trial" && total !== null && total < c.minBalance) return { to: "deactivated", reason: "balance below the minimum" }; // STS-2
			return null;
		}
		case "deactivated": {
			if (f.deactivatedAt && f.now.getTime() >= f.deactivatedAt.getTime() + c.destroyPeriodDays * DAY)
				return { to: "destroyed", reason: "deactivated longer than the destroy period" }; // STS-4
			if (post) return f.overdue === false ? { to: "active", reason: INVOICE_PAID } : null;
			if (f.type !== "trial" && total !== null && total >= c.minBalance) return { to: "active", reason: "balance restored" }; // STS-3
			return null;
		}
		case "destroyed":
			// PAY-5, STS-1: a refill to above the minimum (post-paid: with nothing overdue) makes it active again, with no environments.
			if (f.refilled && (post ? f.overdue === false : total !== null && total > Math.max(0, c.minBalance)))
				return { to: "active", reason: "refilled after destruction" };
			return null;
		default:
			return null; // suspended changes by admin action only
	}
}
