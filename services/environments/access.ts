// Who may do what with environments, pure: what each account status allows (STS-1), the balance
// creating needs (QTA-3), and which accounts may receive a transferred environment (ENV-3:
// active, non-trial customers).
import { forbidden, insufficientBalance, invalidState, validationError } from "../../lib/errors";
import { CURRENCY, formatMoney, parseMoney } from "../../lib/money";
import type { Initiator } from "../../lib/usage-record";

export type AccountStatus = "active" | "deactivated" | "suspended" | "destroyed";
export type EnvAction = "create" | "modify" | "start" | "stop" | "delete" | "transfer";

// STS-1: what each account status may do with environments.
const ALLOWED: Record<AccountStatus, EnvAction[]> = {
	active: ["create", "modify", "start", "stop", "delete", "transfer"],
	deactivated: ["stop", "delete", "transfer"],
	suspended: [],
	destroyed: [],
};

/** STS-1: throws unless an account of `status` may `what`. */
export function mayChange(status: AccountStatus, what: EnvAction): void {
	if (ALLOWED[status]?.includes(what)) return;
	const type = status === "deactivated" ? "ACCOUNT_DEACTIVATED" : status === "destroyed" ? "ACCOUNT_DESTROYED" : "ACCOUNT_SUSPENDED";
	throw forbidden(`A ${status} account cannot ${what} environments`, { status }, type);
}

/**
 * QTA-3: throws unless the balance (main and bonus) reaches the quota `account.minbalance`. A
 * post-paid account (`type` post) is not held to it: it pays its monthly invoice, so a negative
 * balance is normal for it, and only its status (an overdue invoice deactivates it, STS-2) stops it.
 */
export function checkMinBalance(quotas: Record<string, number | string>, balance: { main: number; bonus: number }, type?: string): void {
	if (type === "post") return;
	const min = parseMoney(String(quotas["account.minbalance"]), "account.minbalance");
	const total = balance.main + balance.bonus;
	if (total >= min) return;
	throw insufficientBalance(`Creating an environment needs a balance of at least ${formatMoney(min)} ${CURRENCY}`, {
		balance: formatMoney(total),
		minBalance: formatMoney(min),
	});
}

/** The receiving account of a transfer, as `accounts.identity` describes it. */
export interface Receiver {
	id: string;
	email: string;
	role: string;
	status: string;
	type: string;
}

/** ENV-3: throws unless `target` may receive an environment owned by `ownerId`. */
export function checkReceiver(target: Receiver | null, ownerId: string): asserts target is Receiver {
	if (!target) throw validationError({ field: "email", message: "has no account on this platform" });
	if (target.id === ownerId) throw validationError({ field: "email", message: "is the owner already" });
	// Administrators are staff, not customers: an environment would make them billable, deactivatable, destroyable.
	if (target.role === "admin")
		throw validationError({ field: "email", message: "belongs to an administrator; administrators cannot own customers' environments" });
	if (target.status !== "active") throw invalidState("The receiving account is not active", { field: "email" });
	if (target.type === "trial") throw invalidState("Trial accounts cannot receive environments; the receiver has to upgrade first", { field: "email" });
}

/**
 * COL-6: whose environments a request acts on — the owner the gateway checked a member's roles for
 * (`onBehalfOf`, set by the gateway only), else the caller.
 */
export function actingFor(meta: { user: { id: string; email: string }; onBehalfOf?: { accountId: string; email: string } }): { id: string; email: string } {
	return meta.onBehalfOf ? { id: meta.onBehalfOf.accountId, email: meta.onBehalfOf.email } : { id: meta.user.id, email: meta.user.email };
}

/** COL-8: a member's request for the owner has the member as its initiator; the owner's own has none. */
export function initiatorOf(meta: { user: { id: string; email: string }; onBehalfOf?: { accountId: string } }): Initiator | undefined {
	return meta.onBehalfOf ? { id: meta.user.id, email: meta.user.email } : undefined;
}

// COL-7: whose account a route with `ownerId` acts on (groups, like creating, for the owner).
export { actingAccountId } from "../../lib/acting-for";
