// QTA-2: the quota keys, what they mean, their unit, and each built-in group's value.
// -1 = unlimited; flags are 0/1; money values are decimal strings in the platform currency.
// (password.expiry.days and token.max.lifetime.days are still kept with the group settings in
// accounts, see lib/group-settings.ts; they move here when the two are unified.)

export type QuotaUnit = "count" | "cloudlets" | "GB" | "Mbps" | "flag" | "days" | "money";
export type QuotaValue = number | string;

export interface QuotaKey {
	key: string;
	description: string;
	unit: QuotaUnit;
	/** value per built-in group; groups not listed take `billing`'s */
	values: { trial: QuotaValue; billing: QuotaValue; post?: QuotaValue; beta?: QuotaValue; collaboration?: QuotaValue };
}

const U = -1;

// prettier-ignore
export const QUOTA_KEYS: QuotaKey[] = [
	{ key: "environment.maxcount", description: "Maximum number of environments", unit: "count", values: { trial: 5, billing: U, beta: 10, collaboration: 0 } },
	{ key: "environment.maxnodescount", description: "Maximum number of nodes per environment", unit: "count", values: { trial: 6, billing: 48, collaboration: 6 } },
	{ key: "environment.maxsamenodescount", description: "Maximum number of nodes per layer (node group)", unit: "count", values: { trial: 2, billing: 16, collaboration: 2 } },
	{ key: "environment.maxcloudletsperrec", description: "Maximum size of a node in cloudlets (128 MiB RAM + 400 MHz CPU)", unit: "cloudlets", values: { trial: 8, billing: 32, collaboration: 8 } },
	{ key: "disk.limitation", description: "Maximum disk space per node", unit: "GB", values: { trial: 10, billing: 100, collaboration: 10 } },
	{ key: "disk.limitation.storage", description: "Maximum disk space per storage node", unit: "GB", values: { trial: 50, billing: 1000, collaboration: 50 } },
	{ key: "network.bandwidth", description: "External network bandwidth", unit: "Mbps", values: { trial: 10, billing: 1000, collaboration: 10 } },
	{ key: "environment.highavailability.enabled", description: "High-availability clusters allowed", unit: "flag", values: { trial: 0, billing: 1, collaboration: 0 } },
	{ key: "environment.externalip.enabled", description: "Public IPv4 addresses allowed", unit: "flag", values: { trial: 0, billing: 1, collaboration: 0 } },
	{ key: "environment.externalip.maxcount", description: "Maximum public IPv4 addresses per environment", unit: "count", values: { trial: 0, billing: 10, collaboration: 0 } },
	{ key: "environment.externalip.maxcount.per.node", description: "Maximum public IPv4 addresses per node", unit: "count", values: { trial: 0, billing: 2, collaboration: 0 } },
	{ key: "environment.externalipv6.enabled", description: "Public IPv6 addresses allowed", unit: "flag", values: { trial: 0, billing: 1, collaboration: 0 } },
	{ key: "environment.externalipv6.maxcount", description: "Maximum public IPv6 addresses per environment", unit: "count", values: { trial: 0, billing: 10, collaboration: 0 } },
	{ key: "environment.externalipv6.maxcount.per.node", description: "Maximum public IPv6 addresses per node", unit: "count", values: { trial: 0, billing: 2, collaboration: 0 } },
	{ key: "environment.jelasticssl.enabled", description: "Built-in SSL allowed", unit: "flag", values: { trial: 0, billing: 1, collaboration: 0 } },
	{ key: "environment.customdomains.enabled", description: "Custom domains allowed", unit: "flag", values: { trial: 0, billing: 1, collaboration: 0 } },
	{ key: "account.trialperiod", description: "Days a trial account runs before it is deactivated (-1: never)", unit: "days", values: { trial: 14, billing: U, collaboration: U } },
	{ key: "account.trial.bonus", description: "Bonus credited when a trial account is activated", unit: "money", values: { trial: "10.00", billing: "0", collaboration: "0" } },
	{ key: "account.minbalance", description: "Balance below which the account is deactivated, and needed to create environments (may be negative)", unit: "money", values: { trial: "0", billing: "0" } },
	{ key: "account.destroy.period", description: "Days a deactivated account is kept before it is destroyed", unit: "days", values: { trial: 30, billing: 60, collaboration: 30 } },
	{ key: "account.personal.min.threshold", description: "Low-balance warning threshold (0: no warnings)", unit: "money", values: { trial: "0", billing: "5.00", post: "0", collaboration: "0" } },
	{ key: "account.avg.usage.period", description: "Days of spending the balance forecast averages (BIL-5)", unit: "days", values: { trial: 7, billing: 7 } },
	{ key: "account.charge.balance.first", description: "1: charge the main balance before the bonus; 0: bonus first", unit: "flag", values: { trial: 0, billing: 0 } },
	{ key: "billing.refill.min", description: "Smallest refill a customer may pay", unit: "money", values: { trial: "1.00", billing: "1.00" } },
	{ key: "billing.autorefill.min.gap.minutes", description: "Minutes between two automatic refills a low balance starts", unit: "count", values: { trial: 60, billing: 60 } },
	{ key: "billing.refill.max", description: "Largest refill a customer may pay", unit: "money", values: { trial: "10000.00", billing: "10000.00" } },
	{ key: "account.convert.after.first.fund.enabled", description: "An upgrade takes effect at the first successful refill", unit: "flag", values: { trial: 1, billing: 1 } },
	{ key: "account.convert.after.login.enabled", description: "Convert to the billing group right after registration", unit: "flag", values: { trial: 0, billing: 0 } },
	{ key: "account.post.invoice.generation.enabled", description: "Post-paid: a monthly invoice of the previous month's charges on the 1st, in the account's time zone (BIL-6)", unit: "flag", values: { trial: 0, billing: 0, post: 1, collaboration: 0 } },
	{ key: "account.post.invoice.due.days", description: "Post-paid: days from a monthly invoice to its due date; unpaid after it, the account is deactivated (STS-2)", unit: "days", values: { trial: 14, billing: 14, post: 14 } },
	{ key: "collaboration.enabled", description: "May share environments with collaborators", unit: "flag", values: { trial: 0, billing: 1, post: 1, collaboration: 0 } },
];

export const QUOTA_BY_KEY = new Map(QUOTA_KEYS.map(q => [q.key, q]));

/** The built-in value of `key` for `group` (unknown groups follow billing). */
export function defaultValue(q: QuotaKey, group: string): QuotaValue {
	return (q.values as Record<string, QuotaValue | undefined>)[group] ?? q.values.billing;
}

/** The largest limit a count, size or period may have. */
export const MAX_LIMIT = 1_000_000_000;

/** Checks a value against the key's unit; returns the normalised value or a reason. */
export function checkValue(q: QuotaKey, value: unknown): { value: QuotaValue } | { error: string } {
	if (q.unit === "money") {
		if (typeof value !== "string" && typeof value !== "number") return { error: 'must be a decimal amount such as "5.00"' };
		const s = String(value).trim();
		// The ledger's range (lib/money: up to 1e9 units, 6 decimals).
		if (!/^-?\d{1,9}(\.\d{1,6})?$/.test(s)) return { error: 'must be a decimal amount such as "5.00" (at most 9 digits and 6 decimals)' };
		return { value: s };
	}
	if (typeof value !== "number" || !Number.isInteger(value)) return { error: "must be a whole number" };
	if (q.unit === "flag") return value === 0 || value === 1 ? { value } : { error: "must be 0 or 1" };
	if (value < -1) return { error: "must be -1 (unlimited) or more" };
	// Beyond any real limit, and where a count stops being exact (1e308 is an "integer" too).
	if (value > MAX_LIMIT) return { error: `must be at most ${MAX_LIMIT.toLocaleString("en")} (or -1: unlimited)` };
	return { value };
}
