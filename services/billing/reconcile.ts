// BIL-2 reconciliation, kept pure (no Moleculer, no I/O): does a balance document still equal the
// sum of its applied ledger, and if not, what must it be? The ledger is the truth: a balance that
// drifted (a torn or lost write, a hand edit) is set from the ledger, never the other way round.
// services/billing/ledger-store.ts reads the facts and applies the answer with one conditional update.
import { formatExact } from "../../lib/money";
import { ledgerTotals, type AppliedAmounts, type Balance } from "./ledger";

/** What reconciliation needs of a balance document: its balances and its record of the entry it took last. */
export interface BalanceFacts {
	main: number;
	bonus: number;
	lastEntry: string;
	lastMain: number;
	lastBonus: number;
	lastRefused: string;
}

export interface Drift {
	/** what the balance document holds */
	balance: Balance;
	/** Σ applied ledger: what it must hold */
	ledger: Balance;
	differs: boolean;
}

/**
 * Compares a balance with its applied ledger. Entries still `pending` are not in the balance and
 * not in the ledger's sum — except the balance's last entry, which the balance may have taken
 * before it was marked applied (the protocol's step 2 done, step 3 not yet): the balance's own
 * record of it counts, once (ledgerTotals). A missing document holds zero.
 */
export function balanceDrift(applied: AppliedAmounts[], doc: BalanceFacts | null): Drift {
	const balance = { main: doc?.main ?? 0, bonus: doc?.bonus ?? 0 };
	const last = doc ? { entry: doc.lastEntry, main: doc.lastMain, bonus: doc.lastBonus, refused: doc.lastRefused } : undefined;
	const ledger = ledgerTotals(applied, last);
	return { balance, ledger, differs: balance.main !== ledger.main || balance.bonus !== ledger.bonus };
}

/** The `balance-repaired` notice's data: exact decimal strings, never floats (BIL-1). */
export function repairNotice(accountId: string, from: Balance, to: Balance): Record<string, string> {
	return {
		accountId,
		oldMain: formatExact(from.main),
		oldBonus: formatExact(from.bonus),
		newMain: formatExact(to.main),
		newBonus: formatExact(to.bonus),
	};
}
