// Applying the status machine (status.ts decides, this applies), in the Kill Bill manner: gather
// the facts, ask `nextStatus`, and apply the answer once — history row, environments, event,
// email — plus the heads-up notices before a status changes by time (trial end, destruction).
// Store-taking: everything arrives in one `StatusParams`; no Moleculer, no other service imported.
// Invariants:
// - a change is conditional on the status it came from: of two concurrent changes one wins, the
//   other answers null and applies nothing (STS-6: one history row, one email per change);
// - deactivated/suspended: running environments are remembered and stopped; active again: only
//   the remembered ones start; destroyed: all are deleted (STS-2…STS-5, environments owns the
//   memory). Sessions of a suspended or destroyed account end in auth, on accounts.status.changed;
// - administrators are never moved, warned nor reminded by the rules (status.ts, and here);
// - each notice is sent once: its dedup key names the notice day (lib/reminders.ts decides which).
// Requirements: STS-2, STS-3, STS-4, STS-5, STS-6, ACC-2, ACC-3, PAY-5, BIL-6 (post-paid: overdue invoices).
import { addMs, DAY, now } from "../../lib/clock";
import { publicUrl } from "../../lib/config";
import { newId } from "../../lib/crypto";
import { conflict, invalidState, notFound } from "../../lib/errors";
import { parseMoney } from "../../lib/money";
import { dueNotice } from "../../lib/reminders";
import { nextStatus, OVERDUE, statusConfig, trialEndsAt, type StatusChange } from "./status";
import type { AccountDoc, AccountsDb, Bus, GroupDoc, HistoryDoc } from "./store";

const TRIAL_REMINDER_DAYS = [1, 3, 6]; // ACC-2 account.notification.periods, smallest first
const DESTROY_WARNING_DAYS = [1, 7]; // STS-4

export type Balance = { main: number; bonus: number };
type QuotaValues = Record<string, number | string>;

/** BIL-6: a post-paid invoice unpaid past its due date, as billing tells it (money as decimal strings). */
export interface OverdueInvoice {
	id: string;
	number: string;
	total: string;
	currency: string;
	dueAt: string;
	payLink: string;
}

/** The email a status change sends instead of the plain `account-status` one. */
interface StatusEmail {
	template: string;
	data: Record<string, string>;
}

export interface StatusParams {
	db: Pick<AccountsDb, "accounts" | "status_history">;
	bus: Bus;
	/** the service's group cache */
	groupOf(name: string): Promise<GroupDoc>;
	/** the service's short cache of quotas.effective */
	quotaValues(accountId: string): Promise<QuotaValues>;
	warn(message: string, err: unknown): void;
}

async function effectiveQuotas(bus: Bus, accountId: string): Promise<QuotaValues> {
	return (await bus.call<{ values: QuotaValues }>("quotas.effective", { accountId })).values;
}

/**
 * One status change, once: conditional on the status it came from; then its history row, the
 * environments (stopped and remembered / started again / deleted), the event and the email.
 */
export async function applyStatusChange(p: StatusParams, a: AccountDoc, change: StatusChange, actor: string, email?: StatusEmail): Promise<AccountDoc | null> {
	const t = now();
	const set: Record<string, unknown> = { status: change.to, updatedAt: t };
	if (change.to === "deactivated") set.deactivatedAt = t;
	const updated = await p.db.accounts.updateOne({ _id: a._id, status: a.status }, { $set: set });
	if (!updated) return null;
	const history: HistoryDoc = { _id: newId(), accountId: a._id, from: a.status, to: change.to, reason: change.reason, actor, at: t };
	await p.db.status_history.insert(history);
	const effect =
		change.to === "deactivated" || change.to === "suspended"
			? "environments.stopForAccount"
			: change.to === "destroyed"
				? "environments.deleteForAccount"
				: "environments.resumeForAccount";
	// COL-8, NTF-2: who changed the status and why, for the emails about the environments it stops or deletes.
	await p.bus.call(effect, { accountId: a._id, actor, reason: change.reason }).catch(err => p.warn(`${effect} for ${a._id} failed; environments need a look`, err));
	p.bus.broadcast("accounts.status.changed", { id: a._id, from: a.status, to: change.to, reason: change.reason });
	const { template, data } = email ?? { template: "account-status", data: { to: change.to, reason: change.reason } };
	await p.bus.call("notifications.send", {
		template,
		to: a.email,
		accountId: a._id,
		dedupKey: `account-status:${history._id}`,
		data: { ...data, billingLink: `${publicUrl()}/account/billing` },
	});
	return updated;
}

/** STS-5, ADM-1: an admin's change; refused when the account is there already or changed meanwhile. */
export async function setStatusByAdmin(p: StatusParams, id: string, change: StatusChange, actor: string): Promise<AccountDoc> {
	const a = await p.db.accounts.findById(id);
	if (!a) throw notFound("Account");
	if (a.status === change.to) throw invalidState(`The account is ${a.status} already`, { field: "status" });
	const changed = await applyStatusChange(p, a, change, actor);
	if (!changed) throw conflict("The account's status changed at the same moment; read it again");
	return changed;
}

/**
 * Applies the status machine's answer for one account. `balance` undefined: ask billing;
 * null: leave the money rules out (time-based jobs). `refilled`: this check follows a refill (PAY-5).
 */
export async function evaluateStatus(p: StatusParams, a: AccountDoc, balance?: Balance | null, refilled = false): Promise<AccountDoc | null> {
	if (a.status === "suspended" || (a.status === "destroyed" && !refilled)) return null;
	const group = await p.groupOf(a.group);
	const values = await p.quotaValues(a._id);
	let money = balance;
	if (money === undefined) {
		const b = await p.bus.call<{ main: string; bonus: string }>("billing.balance", {}, { meta: { user: { id: a._id } } }).catch(() => null); // billing away: decide on time rules only
		money = b ? { main: parseMoney(b.main, "main"), bonus: parseMoney(b.bonus, "bonus") } : null;
	}
	// BIL-6, STS-2: a post-paid account's money rule is its overdue invoices (left out with the other money rules).
	const overdue = group.type === "post" && balance !== null ? await overdueInvoices(p.bus, a._id) : null;
	const change = nextStatus(
		{
			status: a.status,
			role: a.role,
			type: group.type,
			activatedAt: new Date(a.activatedAt),
			deactivatedAt: a.deactivatedAt ? new Date(a.deactivatedAt) : null,
			now: now(),
			balance: money,
			refilled,
			overdue: overdue && overdue.length > 0,
		},
		statusConfig(values),
	);
	if (!change) return null;
	const [invoice] = overdue ?? [];
	const email = change.reason === OVERDUE && invoice ? { template: "postpaid-overdue", data: { ...invoice } } : undefined;
	return applyStatusChange(p, a, change, "system", email);
}

/** BIL-6: the account's post-paid invoices unpaid past their due date, oldest first; null when billing does not answer. */
function overdueInvoices(bus: Bus, accountId: string): Promise<OverdueInvoice[] | null> {
	return bus.call<{ invoices: OverdueInvoice[] }>("billing.overdueInvoices", { accountId }).then(
		r => r.invoices,
		() => null,
	);
}

/** STS-2/STS-3, one account of the deactivation job: the rules, balance included. Counts 1 when its status changed. */
export async function checkBalance(p: StatusParams, a: AccountDoc): Promise<number> {
	return (await evaluateStatus(p, a)) ? 1 : 0;
}

/**
 * ACC-2/ACC-3, one active account of the trial job: the bonus made good, the reminder due (if
 * any), then the rules on time. Counts what it did: a reminder sent, a status changed.
 */
export async function checkTrial(p: StatusParams, a: AccountDoc): Promise<number> {
	if (a.role === "admin" || (await p.groupOf(a.group)).type !== "trial") return 0; // staff have no trial
	// Makes good a trial bonus lost on the way (keyed in the ledger: granted once).
	await p.bus.call("billing.grantTrialBonus", { accountId: a._id }).catch(() => undefined);
	const values = await effectiveQuotas(p.bus, a._id);
	const ends = trialEndsAt({ activatedAt: new Date(a.activatedAt), type: "trial" }, { trialPeriodDays: Number(values["account.trialperiod"]) });
	if (!ends) return 0;
	let processed = 0;
	const due = dueNotice(ends, now(), TRIAL_REMINDER_DAYS);
	if (due) {
		const r = await p.bus.call<{ duplicate: boolean }>("notifications.send", {
			template: "trial-reminder",
			to: a.email,
			accountId: a._id,
			dedupKey: `trial-reminder:${a._id}:${due.notice}`,
			data: { days: due.daysLeft, endsAt: ends.toISOString(), upgradeLink: `${publicUrl()}/account/upgrade` },
		});
		if (!r.duplicate) processed++;
	}
	if (await evaluateStatus(p, a, null)) processed++;
	return processed;
}

/**
 * STS-4, one deactivated account of the destroy job: destroyed once its period is over, else
 * warned 7 days and 1 day before, once each. Counts 1 when it was destroyed.
 */
export async function checkDeactivated(p: StatusParams, a: AccountDoc): Promise<number> {
	if (a.role === "admin") return 0; // staff: never destroyed nor warned
	const after = await evaluateStatus(p, a, null);
	if (after?.status === "destroyed") return 1;
	const values = await effectiveQuotas(p.bus, a._id);
	if (!a.deactivatedAt) return 0;
	const destroyAt = addMs(new Date(a.deactivatedAt), Number(values["account.destroy.period"]) * DAY);
	const due = dueNotice(destroyAt, now(), DESTROY_WARNING_DAYS);
	if (!due) return 0;
	await p.bus.call("notifications.send", {
		template: "destroy-warning",
		to: a.email,
		accountId: a._id,
		dedupKey: `destroy-warning:${a._id}:${new Date(a.deactivatedAt).toISOString()}:${due.notice}`,
		data: { days: due.daysLeft, destroyAt: destroyAt.toISOString(), billingLink: `${publicUrl()}/account/billing` },
	});
	return 0;
}
