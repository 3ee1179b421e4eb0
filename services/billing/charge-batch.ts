// BIL-2: charging many environment-hours at once — a batch from the usage stream (JetStream) or
// from metering's store (embedded mode). Each hour goes through `Charger.chargeEnvironmentHour`;
// only committed charges are acknowledged, so a failed one is delivered again and retried.
import { groupBy } from "../../lib/group-by";
import type { Outcome } from "../../lib/jetstream-queue";
import { recordId, type UsageRecord } from "../../lib/usage-record";
import type { Charger } from "./charging";

// 256 accounts at once: each waits for the fsync of its writes, and the more write side by side,
// the more share one (group commit; 16 → 64 took charging from ~940 to ~1,380/s). 256 covers the
// accounts of a usual batch at once, so its last few accounts do not run alone (64 → 256: ~0.9×
// the time of the charge benchmark, paired runs).
const ACCOUNTS_AT_ONCE = 256;
/** Records taken from metering's store at once (embedded mode). */
const STORE_BATCH = 500;

export interface BatchParams {
	charger: Pick<Charger, "chargeEnvironmentHour">;
	logger: { error(...args: unknown[]): void };
}

/**
 * Charges a batch of records: accounts side by side, one account's hours one after the other
 * (its balance takes one entry at a time anyway). A record that fails is retried later.
 */
export async function chargeBatch({ charger, logger }: BatchParams, records: UsageRecord[]): Promise<Map<string, Outcome>> {
	const outcomes = new Map<string, Outcome>();
	const queues = [...groupBy(records, r => r.ownerId).values()];
	const worker = async () => {
		for (let list = queues.pop(); list; list = queues.pop()) {
			for (const r of list) {
				try {
					await charger.chargeEnvironmentHour(r);
					outcomes.set(recordId(r), "ack");
				} catch (err) {
					logger.error(`Charging environment-hour ${recordId(r)} failed; it will be retried`, err);
					outcomes.set(recordId(r), "retry");
				}
			}
		}
	};
	await Promise.all(Array.from({ length: Math.min(ACCOUNTS_AT_ONCE, queues.length) }, worker));
	return outcomes;
}

/** Metering's store of records waiting to be charged (metering.nextRecords / metering.ackRecords). */
export interface RecordSource {
	next(limit: number): Promise<UsageRecord[]>;
	ack(records: Pick<UsageRecord, "envId" | "hour" | "rev">[]): Promise<void>;
}

/** Embedded mode: pulls records from metering's store, charges them, acknowledges the committed ones. Answers how many. */
export async function chargeFromStore(source: RecordSource, charge: (records: UsageRecord[]) => Promise<Map<string, Outcome>>): Promise<number> {
	let acked = 0;
	for (;;) {
		const records = await source.next(STORE_BATCH);
		if (!records.length) return acked;
		const outcomes = await charge(records);
		const done = records.filter(r => outcomes.get(recordId(r)) === "ack").map(r => ({ envId: r.envId, hour: r.hour, rev: r.rev }));
		if (done.length) await source.ack(done);
		acked += done.length;
		if (done.length < records.length) return acked; // failures wait for the next run
	}
}
