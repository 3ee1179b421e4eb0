// What billing asks of other services: the account's quotas (charge order, money quotas, group),
// whether an account exists, its role, the known groups, and metering's records waiting to be
// charged (embedded mode). One place per question, so the shell and the charger ask alike.
import type { Context } from "moleculer";
import { notFound } from "../../lib/errors";
import type { UsageRecord } from "../../lib/usage-record";
import type { RecordSource } from "./charge-batch";
import type { TermsSources, QuotaValues } from "./terms";

/** A context or the broker: anything that calls actions. */
export type Caller = Pick<Context, "call">;

/** quotas.effective: the account's group and quota values. */
export function effectiveQuotas(caller: Caller, accountId: string) {
	return caller.call<{ group: string; values: QuotaValues }, { accountId: string }>("quotas.effective", { accountId });
}

export async function quotaValues(caller: Caller, accountId: string): Promise<QuotaValues> {
	return (await effectiveQuotas(caller, accountId)).values;
}

/** 404 unless the account exists. */
export async function accountExists(caller: Caller, id: string): Promise<void> {
	const found = await caller.call<{ id: string }[], { ids: string[] }>("accounts.identities", { ids: [id] });
	if (!found.length) throw notFound("Account");
}

/** The account groups there are (a pricing model may name only these). */
export async function knownGroups(caller: Caller): Promise<string[]> {
	return (await caller.call<{ name: string }[], Record<string, never>>("accounts.listGroups", {})).map(g => g.name);
}

/** Where the charger's terms come from: quotas, the account's role, and the given price book. */
export function termsSources(caller: Caller, prices: TermsSources["prices"]): TermsSources {
	return {
		effective: accountId => effectiveQuotas(caller, accountId),
		identity: id => caller.call<{ role: string } | null, { id: string }>("accounts.identity", { id }),
		prices,
	};
}

/** Embedded mode: metering's store of records waiting to be charged. */
export function meteringRecords(caller: Caller): RecordSource {
	return {
		next: limit => caller.call<UsageRecord[], { limit: number }>("metering.nextRecords", { limit }),
		ack: async records => void (await caller.call("metering.ackRecords", { records })),
	};
}
