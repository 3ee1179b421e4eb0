// What moving an account into another group writes (ACC-1, ACC-4, ACC-5, BIL-6), pure.
// Invariants:
// - `typeSince` is when the account came to its group's type: set when a move changes the type
//   (a move between two groups of one type keeps it); absent = of its type since activation. A
//   post-paid month is invoiced from then (postpaid.ts): charges before it were pre-paid.
// - an administrator's move is the provider's decision on the account's group: it drops an upgrade
//   still pending its first refill, so that refill cannot move the account again (the billing
//   information stays; a trial the admin left a trial can ask again).
import type { AccountDoc } from "./store";

interface GroupRef {
	_id: string;
	type: string;
}

/** The fields a move from `from` into `to` at `at` sets besides the group: `typeSince` when the type changes. */
export function typeChange(from: Pick<GroupRef, "type"> | null, to: Pick<GroupRef, "type">, at: Date): { typeSince?: Date } {
	return from && from.type === to.type ? {} : { typeSince: at };
}

/** ACC-5: the update an administrator's move of `a` (now in `from`) into `to` makes. */
export function adminMoveUpdate(a: Pick<AccountDoc, "upgrade">, from: GroupRef | null, to: GroupRef, at: Date) {
	return {
		$set: { group: to._id, updatedAt: at, ...typeChange(from, to, at) },
		...(a.upgrade?.state === "pending" ? { $unset: { upgrade: "" as const } } : {}),
	};
}
