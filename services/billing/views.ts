// What clients see of the ledger (API.md, Billing): decimal strings with the currency beside
// them — micros are formatted here, at the edge, and nowhere else (BIL-1).
import { CURRENCY, formatMoney, type Micros } from "../../lib/money";
import type { Balance, EntryKind } from "./ledger";

export interface EntryLike {
	_id: string;
	kind: EntryKind;
	amountMain: Micros;
	amountBonus: Micros;
	appliedAt: Date;
	balanceAfter: Balance;
	description: string;
	envId?: string;
}

/** A row of GET /billing/transactions: the amount that moved (main + bonus) and the balances after it. */
export function transactionRow(e: EntryLike) {
	return {
		id: e._id,
		time: new Date(e.appliedAt).toISOString(),
		kind: e.kind,
		amount: formatMoney(e.amountMain + e.amountBonus),
		balanceAfter: { main: formatMoney(e.balanceAfter.main), bonus: formatMoney(e.balanceAfter.bonus) },
		description: e.description,
		...(e.envId ? { envId: e.envId } : {}),
	};
}

export type TransactionRow = ReturnType<typeof transactionRow>;

/** GET /billing/balance. Auto-refill (PAY-4) is not offered yet: null. */
export function balanceView(b: Balance, minBalance: Micros) {
	return {
		main: formatMoney(b.main),
		bonus: formatMoney(b.bonus),
		total: formatMoney(b.main + b.bonus),
		currency: CURRENCY,
		minBalance: formatMoney(minBalance),
		autoRefill: null,
	};
}

export type BalanceView = ReturnType<typeof balanceView>;
