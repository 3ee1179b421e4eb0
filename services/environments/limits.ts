// QTA-3, COL-7: the owner's limits for what a request asks of an environment — its quotas (only what
// the request raises, QTA-4) and, to create one, the balance `account.minbalance` asks (of a pre-paid
// account: a post-paid one is stopped by its status only, BIL-6/STS-2). When a member
// acts for the owner, a refusal names whose limit it is: the owner's, never the member's.
import { quotaExceeded } from "../../lib/errors";
import { checkMinBalance } from "./access";
import { quotaViolation, type Topology } from "./topology";

export type Call = <T>(action: string, params: object) => Promise<T>;

export interface LimitsCheck {
	call: Call;
	accountId: string;
	/** the owner's email when a member acts for it: a refusal names it */
	ownerEmail?: string;
	topology: Topology;
	/** what the environment is now (a change): only raises are checked */
	current?: Topology;
	/** creating: the balance has to reach account.minbalance too */
	creating?: boolean;
}

export async function checkLimits(p: LimitsCheck): Promise<void> {
	const { values } = await p.call<{ values: Record<string, number | string> }>("quotas.effective", { accountId: p.accountId });
	const v = quotaViolation(p.topology, values, p.current);
	if (v) throw ownersRefusal(quotaExceeded(v.quota, v.limit, v.requested), p.ownerEmail);
	if (!p.creating) return;
	const [balance, owner] = await Promise.all([
		p.call<{ main: number; bonus: number }>("billing.balanceOf", { accountId: p.accountId }),
		p.call<{ type: string } | null>("accounts.identity", { id: p.accountId }), // its group's type: post-paid is not held to a balance
	]);
	checkMinBalance(values, balance, owner?.type);
}

/** COL-7: a refusal by the owner's limits says so, to a member acting for it (an error of another kind passes as it is). */
export function ownersRefusal<E>(err: E, ownerEmail?: string): E {
	const e = err as { type?: string; message?: string; data?: Record<string, unknown> };
	if (!ownerEmail || (e.type !== "QUOTA_EXCEEDED" && e.type !== "INSUFFICIENT_BALANCE") || !e.message) return err;
	e.message = `${ownerEmail}'s limit: ${e.message}`;
	if (e.data && typeof e.data === "object") e.data.owner = ownerEmail;
	return err;
}
