// The ledger's arithmetic, kept pure (no Moleculer, no I/O): where a movement lands (main, bonus,
// or split by the charge order), whether it may land at all, and what the applied ledger sums
// to. services/billing/ledger-store.ts applies it with one conditional atomic update per entry.
import { assertMicros, type Micros } from "../../lib/money";

export const ENTRY_KINDS = ["charge", "refill", "bonus", "adjustment", "correction"] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

/** main / bonus: the movement goes to that balance; charge: a debit split by the charge order (BIL-3). */
export type Target = "main" | "bonus" | "charge";

export interface Balance {
	main: Micros;
	bonus: Micros;
}

/** What applying an entry does: signed micros on each balance, or a refusal (nothing moves). */
export type Outcome = { main: Micros; bonus: Micros; refused?: undefined } | { refused: string; main: 0; bonus: 0 };

/** BIL-3: debits of charges and corrections follow the charge order; everything else goes where it is sent. */
export function targetOf(kind: EntryKind, amount: Micros, toBonus?: boolean): Target {
	if (toBonus) return "bonus";
	if (amount < 0 && (kind === "charge" || kind === "correction")) return "charge";
	return "main";
}

/**
 * BIL-3: how much of a charge of `amount` (> 0 micros) each balance pays. Bonus first by default,
 * main first when `account.charge.balance.first` = 1. A charge is never refused for lack of
 * money: what neither balance covers is taken from main, which may go negative; bonus never does.
 */
export function splitCharge(amount: Micros, balance: Balance, mainFirst: boolean): { fromMain: Micros; fromBonus: Micros } {
	const bonusAvailable = Math.max(0, balance.bonus);
	if (!mainFirst) {
		const fromBonus = Math.min(bonusAvailable, amount);
		return { fromMain: amount - fromBonus, fromBonus };
	}
	const mainPart = Math.min(Math.max(0, balance.main), amount);
	const fromBonus = Math.min(bonusAvailable, amount - mainPart);
	return { fromMain: amount - fromBonus, fromBonus };
}

/** What an entry does to `balance`, decided once, against the balance it is applied to. */
export function planEntry(entry: { requested: Micros; target: Target; mainFirst?: boolean }, balance: Balance): Outcome {
	assertMicros(entry.requested);
	let outcome: Outcome;
	if (entry.target === "bonus") {
		// Unfunding the bonus may not take it below zero (main may go negative, bonus never).
		if (balance.bonus + entry.requested < 0) return { refused: "bonus", main: 0, bonus: 0 };
		outcome = { main: 0, bonus: entry.requested };
	} else if (entry.target === "charge" && entry.requested < 0) {
		const { fromMain, fromBonus } = splitCharge(-entry.requested, balance, !!entry.mainFirst);
		outcome = { main: -fromMain, bonus: -fromBonus };
	} else {
		outcome = { main: entry.requested, bonus: 0 };
	}
	// -0 would be stored and shown as such: moving nothing is 0.
	outcome = { main: outcome.main || 0, bonus: outcome.bonus || 0 };
	assertMicros(balance.main + outcome.main);
	assertMicros(balance.bonus + outcome.bonus);
	return outcome;
}

export interface AppliedAmounts {
	_id: string;
	amountMain: Micros;
	amountBonus: Micros;
}

/** The balance document's record of the entry it took last (possibly not yet marked applied). */
export interface LastApplied {
	entry: string;
	main: Micros;
	bonus: Micros;
	refused: string;
}

/**
 * Σ of the applied ledger. An entry the balance has taken but that is not yet marked applied (a
 * crash between the two writes, or the instant between them) can only be the balance's last
 * one, which records what it moved: it counts too, so that balance = Σ ledger holds at all times.
 */
export function ledgerTotals(applied: AppliedAmounts[], last?: LastApplied): Balance {
	let main = 0;
	let bonus = 0;
	let lastSeen = false;
	for (const e of applied) {
		main += e.amountMain;
		bonus += e.amountBonus;
		if (last && e._id === last.entry) lastSeen = true;
	}
	if (last && last.entry && !lastSeen && !last.refused) {
		main += last.main;
		bonus += last.bonus;
	}
	return { main, bonus };
}
