// What moving an account into another group writes (ACC-1, ACC-4, ACC-5, BIL-6), pure.
// Invariants:
// - `typeSince` is when the account came to its group's type: set when a move changes the type
//   (a move between two groups of one type keeps it); absent = of its type since activation. A
//   post-paid month is invoiced from then (postpaid.ts): charges before it were pre-paid.
// - `left.<type>` is the account's last period in a type it left by a move: the group it left,
//   `since` its `typeSince` then (absent = since activation), `until` the move. A post-paid month
//   is invoiced up to the move out of `post` by the monthly job, which also lists the accounts
//   that left `post` lately: a month's post-paid part is invoiced even when the month ends
//   pre-paid, under the terms of the post group it left. Only the last period per type is kept:
//   a second move out of `post` before the first period's month is invoiced replaces it.
// - an administrator's move is the provider's decision on the account's group: it drops an upgrade
//   still pending its first refill, so that refill cannot move the account again (the billing
//   information stays; a trial the admin left a trial can ask again).
import type { AccountDoc } from "./store";

interface GroupRef {
	_id: string;
	type: string;
}

/** The period in a type the account left, as `left.<type>` keeps it. */
export interface LeftPeriod {
	group: string;
	since?: Date;
	until: Date;
}

/**
 * The fields a move of `a` from `from` into `to` at `at` sets besides the group: `typeSince` when
 * the type changes, and `left.<type>` for the type it leaves (BIL-6 invoices a post-paid period
 * until the move).
 */
export function typeChange(
	a: Pick<AccountDoc, "typeSince">,
	from: GroupRef | null,
	to: Pick<GroupRef, "type">,
	at: Date,
): { typeSince?: Date } & { [left: `left.${string}`]: LeftPeriod } {
	if (from && from.type === to.type) return {};
	if (!from) return { typeSince: at }; // the type it had is unknown
	const left: { [path: `left.${string}`]: LeftPeriod } = {
		[`left.${from.type}`]: { group: from._id, ...(a.typeSince ? { since: a.typeSince } : {}), until: at },
	};
	return { typeSince: at, ...left };
}

/** ACC-5: the update an administrator's move of `a` (now in `from`) into `to` makes. */
export function adminMoveUpdate(a: Pick<AccountDoc, "upgrade" | "typeSince">, from: GroupRef | null, to: GroupRef, at: Date) {
	return {
		$set: { group: to._id, updatedAt: at, ...typeChange(a, from, to, at) },
		...(a.upgrade?.state === "pending" ? { $unset: { upgrade: "" as const } } : {}),
	};
}
