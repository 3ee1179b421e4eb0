// BIL-5: the job `billing.low-balance` (hourly) and GET /billing/balance's `daysLeft`: an account's
// average hourly spend from its applied charges of the last `account.avg.usage.period` days, and
// the notices of low-balance.ts sent — email and in-app, once per episode and day, recorded in one
// conditional update of the account's notice state so two replicas never send one twice.
import { now } from "../../lib/clock";
import { CURRENCY, formatMoney, type Micros } from "../../lib/money";
import { TtlCache } from "../../lib/ttl-cache";
import type { Doc, Store } from "../../mixins/db.mixin";
import type { BalanceDoc, EntryDoc } from "./ledger-store";
import { ARMED, daysLeft, notices, type NoticeState } from "./low-balance";
import { moneyQuota } from "./terms";

export interface NoticeDoc extends Doc, NoticeState {
	updatedAt: Date;
}

export interface BalanceWatchDeps {
	balances: Store<BalanceDoc>;
	entries: Store<EntryDoc>;
	notices: Store<NoticeDoc>;
	autoRefillOn(accountId: string): Promise<boolean>;
	quotas(accountId: string): Promise<Record<string, number | string>>;
	tell(accountId: string, template: "low-balance" | "balance-forecast", data: Record<string, string>, dedupKey: string): Promise<void>;
	announce(event: "billing.balance.low", payload: Record<string, unknown>): void;
	log(message: string): void;
}

const DAY_MS = 86_400_000;
/** GET /billing/balance recomputes an account's spend at most this often. */
const SPEND_CACHE_MS = 10 * 60_000;
const DEFAULT_PERIOD_DAYS = 7;

export class BalanceWatch {
	private spend = new TtlCache<string, { spent: Micros; hours: number }>(SPEND_CACHE_MS, 50_000);

	constructor(private d: BalanceWatchDeps) {}

	/** What the account's applied charges of the last `days` days took, in micros (positive); `fresh`: not from the cache. */
	private async spentOver(accountId: string, days: number, fresh: boolean): Promise<{ spent: Micros; hours: number }> {
		const hit = fresh ? undefined : this.spend.get(accountId, now().getTime());
		if (hit && hit.hours === days * 24) return hit;
		const since = new Date(now().getTime() - days * DAY_MS);
		const charges = await this.d.entries.find({ accountId, state: "applied", kind: { $in: ["charge", "correction"] }, appliedAt: { $gte: since } });
		const spent = -charges.reduce((a, e) => a + e.amountMain + e.amountBonus, 0);
		const answer = { spent, hours: days * 24 };
		this.spend.set(accountId, answer, now().getTime());
		return answer;
	}

	/** The account's ledger moved: its spend is read again when next asked (this process's cache). */
	forget(accountId: string): void {
		this.spend.delete(accountId);
	}

	/** Days the balance lasts at the recent average spend (null: nothing spent). */
	async daysLeft(accountId: string, balance: Micros, quotas?: Record<string, number | string>, fresh = false): Promise<number | null> {
		const days = Number((quotas ?? (await this.d.quotas(accountId)))["account.avg.usage.period"] ?? DEFAULT_PERIOD_DAYS);
		const { spent, hours } = await this.spentOver(accountId, days > 0 ? days : DEFAULT_PERIOD_DAYS, fresh);
		return daysLeft(balance, spent, hours);
	}

	/** The job: every account with a balance looked at once; answers how many notices went out. */
	async run(): Promise<number> {
		let sent = 0;
		for (const b of await this.d.balances.find({})) {
			try {
				sent += await this.check(b);
			} catch (err) {
				this.d.log(`Low-balance check of ${b._id}: ${(err as Error).message}`);
			}
		}
		return sent;
	}

	private async check(b: BalanceDoc): Promise<number> {
		const accountId = b._id;
		const balance = b.main + b.bonus;
		const quotas = await this.d.quotas(accountId);
		const threshold = moneyQuota(quotas, "account.personal.min.threshold");
		const left = await this.daysLeft(accountId, balance, quotas, true);
		const state = await this.d.notices.findById(accountId);
		const today = now().toISOString().slice(0, 10);
		const { send, next } = notices(state ?? ARMED, { balance, threshold, daysLeft: left, today, autoRefill: await this.d.autoRefillOn(accountId) });
		if (!(await this.save(accountId, state, next))) return 0; // another replica got there first
		const data = { balance: formatMoney(balance), threshold: formatMoney(threshold), currency: CURRENCY };
		for (const kind of send) {
			if (kind === "low") {
				this.d.announce("billing.balance.low", { accountId, balance, threshold });
				await this.d.tell(accountId, "low-balance", data, `low-balance:${accountId}:${today}`);
			} else {
				const period = String(quotas["account.avg.usage.period"] ?? DEFAULT_PERIOD_DAYS);
				await this.d.tell(
					accountId,
					"balance-forecast",
					{ ...data, days: String(Math.max(1, Math.round(left ?? 0))), period },
					`balance-forecast:${accountId}:${today}`,
				);
			}
		}
		return send.length;
	}

	/** The state after the notices, written over exactly the one read (false: it changed meanwhile). */
	private async save(accountId: string, before: NoticeDoc | null, next: NoticeState): Promise<boolean> {
		const same = (a: NoticeState) =>
			a.lowArmed === next.lowArmed && a.lowDay === next.lowDay && a.forecastArmed === next.forecastArmed && a.forecastDay === next.forecastDay;
		if (before && same(before)) return true;
		const set = { ...next, updatedAt: now() };
		if (!before) {
			try {
				await this.d.notices.insert({ _id: accountId, ...set });
				return true;
			} catch {
				return false;
			}
		}
		const { lowArmed, lowDay, forecastArmed, forecastDay } = before;
		return !!(await this.d.notices.updateOne({ _id: accountId, lowArmed, lowDay, forecastArmed, forecastDay }, { $set: set }));
	}
}
