// What an account pays and in which order (the charger's `Terms`): its group's prices from the
// price book, its charge order (BIL-3) and whether it is staff. Its group and charge order are
// kept a few seconds (a batch of hours asks once per account); prices come from the price book,
// whose cache an edit of a tariff or model clears at once.
import { parseMoney, type Micros } from "../../lib/money";
import { TtlCache } from "../../lib/ttl-cache";
import type { AccountTerms, Terms } from "./charging";
import type { PriceList } from "./rating";

export type QuotaValues = Record<string, number | string>;

/** BIL-3: `account.charge.balance.first` = 1 takes charges from main first. */
export function chargesMainFirst(values: QuotaValues): boolean {
	return Number(values["account.charge.balance.first"]) === 1;
}

/** A money quota (a decimal string) → micros; absent = 0. */
export function moneyQuota(values: QuotaValues, key: string): Micros {
	const v = values[key];
	return v === undefined || v === null ? 0 : parseMoney(v, key);
}

/** Where the terms come from: the account's quotas and role, and the price book. */
export interface TermsSources {
	/** quotas.effective */
	effective(accountId: string): Promise<{ group: string; values: QuotaValues }>;
	/** accounts.identity */
	identity(accountId: string): Promise<{ role: string } | null>;
	prices: {
		forGroup(group: string): Promise<{ prices: PriceList; pricesId: string }>;
		pricesById(id: string): Promise<PriceList>;
	};
}

const KEEP_MS = 5_000;

export class AccountTermsCache implements Terms {
	private kept = new TtlCache<string, { group: string; mainFirst: boolean; staff: boolean }>(KEEP_MS, 50_000);

	constructor(private sources: TermsSources) {}

	async of(accountId: string): Promise<AccountTerms> {
		let hit = this.kept.get(accountId, Date.now());
		if (!hit) {
			const [{ group, values }, who] = await Promise.all([this.sources.effective(accountId), this.sources.identity(accountId)]);
			hit = { group, mainFirst: chargesMainFirst(values), staff: who?.role === "admin" };
			this.kept.set(accountId, hit, Date.now());
		}
		const { prices, pricesId } = await this.sources.prices.forGroup(hit.group);
		return { prices, pricesId, mainFirst: hit.mainFirst, staff: hit.staff };
	}

	pricesById(id: string): Promise<PriceList> {
		return this.sources.prices.pricesById(id);
	}
}
