// What clients see of the ledger (API.md, Billing): exact decimal strings with the currency
// beside them — an hourly charge of 0.077 shows as such, not rounded to cents — formatted here,
// at the edge, and nowhere else (BIL-1).
import { CURRENCY, formatExact, type Micros } from "../../lib/money";
import type { Balance, EntryKind } from "./ledger";
import type { EntryDoc } from "./ledger-store";

export interface EntryLike {
	_id: string;
	kind: EntryKind;
	amountMain: Micros;
	amountBonus: Micros;
	appliedAt: Date;
	balanceAfter: Balance;
	description: string;
	envId?: string;
	initiator?: { id: string; email: string };
}

/** A row of GET /billing/transactions: the amount that moved (main + bonus) and the balances after it. */
export function transactionRow(e: EntryLike) {
	return {
		id: e._id,
		time: new Date(e.appliedAt).toISOString(),
		kind: e.kind,
		amount: formatExact(e.amountMain + e.amountBonus),
		balanceAfter: { main: formatExact(e.balanceAfter.main), bonus: formatExact(e.balanceAfter.bonus) },
		description: e.description,
		...(e.envId ? { envId: e.envId } : {}),
		...(e.initiator ? { initiator: e.initiator } : {}),
	};
}

export type TransactionRow = ReturnType<typeof transactionRow>;

/** GET /billing/balance: with the auto-refill rule (PAY-4) or null, and the days the balance lasts at the recent spend (BIL-5) or null. */
export function balanceView<R>(b: Balance, minBalance: Micros, more: { autoRefill: R | null; daysLeft: number | null } = { autoRefill: null, daysLeft: null }) {
	return {
		main: formatExact(b.main),
		bonus: formatExact(b.bonus),
		total: formatExact(b.main + b.bonus),
		currency: CURRENCY,
		minBalance: formatExact(minBalance),
		autoRefill: more.autoRefill,
		daysLeft: more.daysLeft,
	};
}

export type BalanceView = ReturnType<typeof balanceView>;

/** What an administrator's funding or charge answers: the entry and the balances right after it. */
export interface MoneyAnswer {
	entry: TransactionRow;
	balance: BalanceView;
}

/** What internal callers get of an entry (billing.post): micros, not strings. */
export function entryView(e: EntryDoc) {
	return {
		id: e._id,
		accountId: e.accountId,
		key: e.key,
		kind: e.kind,
		state: e.state,
		requested: e.requested,
		amountMain: e.amountMain,
		amountBonus: e.amountBonus,
		balanceAfter: e.balanceAfter,
		seq: e.seq,
		createdAt: e.createdAt,
		appliedAt: e.appliedAt,
		description: e.description,
		...(e.envId ? { envId: e.envId } : {}),
	};
}
