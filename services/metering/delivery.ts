// How closed environment-hours reach billing (ARCHITECTURE "Usage stream"). A built record waits
// in `env_hours` (`undelivered`) until delivered; the way it leaves is one `Delivery`, chosen once
// when the service starts: published to JetStream (distributed), or left in the store for billing
// to pull and acknowledge (embedded: `outbox`). Both are at-least-once; a record rebuilt since
// (a newer revision) stays undelivered. Store-taking: no Moleculer.
import type { JetStreamQueue } from "../../lib/jetstream-queue";
import { usageQueue, usageStreamMode } from "../../lib/usage-stream";
import { recordId, type UsageRecord } from "../../lib/usage-record";
import type { Store } from "../../mixins/db.mixin";
import { envHourId, type EnvHourDoc } from "./store";

export interface Delivery {
	/** Hands the undelivered records over; answers how many were marked delivered here. */
	deliver(hours: Store<EnvHourDoc>): Promise<number>;
	close(): Promise<void>;
}

type Logger = Parameters<typeof usageQueue>[0];

/** The oldest undelivered records. */
export async function undeliveredRecords(hours: Store<EnvHourDoc>, limit: number): Promise<UsageRecord[]> {
	const docs = await hours.find({ undelivered: true }, { sort: { hour: 1 }, limit });
	return docs.filter(d => d.record).map(d => d.record as UsageRecord);
}

/** Marks the records delivered, each only at the revision given. */
export async function markDelivered(hours: Store<EnvHourDoc>, records: { envId: string; hour: number; rev: number }[]): Promise<number> {
	let acked = 0;
	for (const r of records) {
		if (await hours.updateOne({ _id: envHourId(r.envId, r.hour), rev: r.rev, undelivered: true }, { $unset: { undelivered: true } })) acked++;
	}
	return acked;
}

/** Embedded: the store is the outbox; billing pulls (`metering.nextRecords`) and acknowledges (`ackRecords`). */
export const outbox: Delivery = {
	deliver: async () => 0,
	close: async () => undefined,
};

/** Distributed: publishes undelivered records (message id = record id), then marks them delivered. */
export function jetStreamDelivery(queue: JetStreamQueue<UsageRecord>): Delivery {
	return {
		async deliver(hours) {
			let delivered = 0;
			for (;;) {
				const records = await undeliveredRecords(hours, 500);
				if (!records.length) return delivered;
				await queue.publishMany(records.map(r => ({ msgId: recordId(r), data: r })));
				delivered += await markDelivered(hours, records);
			}
		},
		close: () => queue.close(),
	};
}

/** The delivery this deployment uses (USAGE_STREAM, or the transporter), connected. */
export async function openDelivery(logger: Logger): Promise<Delivery> {
	if (usageStreamMode() !== "jetstream") return outbox;
	const queue = usageQueue(logger);
	await queue.connect();
	return jetStreamDelivery(queue);
}
