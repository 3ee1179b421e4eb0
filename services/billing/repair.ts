// BIL-2: balances never drift silently. At start and in `billing.reconcile`, a balance that differs
// from Σ its applied ledger is set from the ledger (Ledger.repair, one conditional update), and
// each repair is logged, announced as `billing.balance.changed` (cached balances and the account's
// status follow) and sent to every administrator as the `balance-repaired` notice (in-app and email).
import { newId } from "../../lib/crypto";
import type { Balance } from "./ledger";
import { repairNotice } from "./reconcile";
import type { Ledger, Repair } from "./ledger-store";

export interface Admin {
	id: string;
	email: string;
}

/** One notification of the platform (`notifications.send`). */
export interface Notice {
	template: string;
	to: string;
	accountId: string;
	dedupKey: string;
	data: Record<string, string>;
}

export interface RepairParams {
	ledger: Ledger;
	/** one account, or all of them */
	accountId?: string;
	/** the administrators to tell (accounts.admins) */
	admins(): Promise<Admin[]>;
	send(notice: Notice): Promise<void>;
	/** `billing.balance.changed` */
	announce(accountId: string, balance: Balance): void;
	logger: { warn(...args: unknown[]): void; error(...args: unknown[]): void };
}

export async function repairBalances(p: RepairParams): Promise<Repair[]> {
	const rows = await p.ledger.repair(p.accountId);
	let admins: Admin[] | undefined;
	for (const r of rows) {
		if (r.ok) continue;
		if (!r.repaired) {
			p.logger.error(`Ledger mismatch for account ${r.accountId}: its balance moved while it was checked, or is missing; checked again next run`, r);
			continue;
		}
		const data = repairNotice(r.accountId, r.balance, r.ledger);
		p.logger.warn(
			`Balance of account ${r.accountId} differed from its ledger and was set from it: main ${data.oldMain} → ${data.newMain}, bonus ${data.oldBonus} → ${data.newBonus}`,
			{ accountId: r.accountId, old: r.balance, new: r.ledger },
		);
		p.announce(r.accountId, r.ledger);
		// The repair is done and logged whatever happens here; a notice that fails is logged too.
		try {
			admins ??= await p.admins();
			// One repair, one notice per admin: a fresh id, so that a later drift of the same figures is told again.
			const repairId = newId();
			for (const a of admins)
				await p.send({ template: "balance-repaired", to: a.email, accountId: a.id, dedupKey: `balance-repaired:${repairId}:${a.id}`, data });
		} catch (err) {
			p.logger.error(`Administrators could not be told of the repaired balance of account ${r.accountId}`, err);
		}
	}
	return rows;
}
