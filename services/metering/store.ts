// Metering's collections and the writes that put samples into environment-hours (MTR-1, MTR-2).
// An environment-hour records the batches it took (as keys of a map), so folding a batch again
// after a crash never counts a sample twice. Store-taking: no Moleculer.
import { now } from "../../lib/clock";
import { hourOf, type UsageRecord } from "../../lib/usage-record";
import { DuplicateKeyError, type Doc, type Store } from "../../mixins/db.mixin";
import { storedSamples, type BatchDoc, type SampleDoc } from "./batches";
import type { Inventory } from "./env-hours";
import { foldBatch, type NodeBucket } from "./pending";
import type { Sample } from "./samples";

export interface EnvHourDoc extends Doc {
	envId: string;
	hour: number;
	nodes?: Record<string, NodeBucket>;
	/** the ingestion batches the hour took that may still be folded again, as keys (a map, not a list: see addToHour) */
	batches?: Record<string, 1>;
	closed?: boolean;
	dirty?: true;
	touches: number;
	rev?: number;
	inventory?: Inventory;
	record?: UsageRecord;
	undelivered?: true;
}

export interface StateDoc extends Doc {
	closedUpTo: number;
}

export interface MeteringStores {
	samples: Store<SampleDoc>;
	ingest_batches: Store<BatchDoc>;
	env_hours: Store<EnvHourDoc>;
	metering_state: Store<StateDoc>;
}

export const envHourId = (envId: string, hour: number) => `${envId}:${hour}`;

/** An environment-hour took some of the batches offered, not all: they are given one by one. */
export class PartlyTaken extends Error {}

/** Their samples are in their hours: nothing folds them again, and their samples need not be kept. */
export async function closeBatches(db: MeteringStores, batches: string[]): Promise<void> {
	await db.ingest_batches.updateMany({ _id: { $in: batches }, open: true }, { $unset: { open: true, rows: true } });
}

/** The samples a stored batch took: those whose ids it claimed. */
export async function claimedSamples(db: MeteringStores, b: BatchDoc): Promise<Sample[]> {
	const list = storedSamples(b);
	const claimed = new Set((await db.samples.find({ _id: { $in: list.map(s => s.id) }, batch: b._id })).map(d => d._id));
	return list.filter(s => claimed.has(s.id));
}

/**
 * One environment-hour takes the buckets of some batches with one atomic update, conditioned
 * on the hour having taken none of them; it also marks the hour dirty. An hour not stored yet
 * is inserted with them (a concurrent insert makes us update instead). An hour that took all
 * of them already (a refold) is left alone; one that took some (a replica's recovery raced
 * us) throws PartlyTaken. Portability: the batches taken are keys of a map, because
 * `$ne`/`$nin` on an array mean "no element" on MongoDB but "some element" on NeDB; and no
 * upsert, which NeDB would build from the condition. `drop`: keys of retired batches to remove
 * (RetiredBatchKeys), in the same update.
 */
export async function addToHour(
	hours: Store<EnvHourDoc>,
	batches: string[],
	envId: string,
	hour: number,
	nodes: Map<string, NodeBucket>,
	drop: string[] = [],
): Promise<void> {
	const _id = envHourId(envId, hour);
	const notTaken: Record<string, unknown> = { _id };
	const $max: Record<string, number> = {};
	const $inc: Record<string, number> = { touches: 1 };
	const $set: Record<string, unknown> = { dirty: true, updatedAt: now() };
	for (const b of batches) {
		notTaken[`batches.${b}`] = { $exists: false };
		$set[`batches.${b}`] = 1;
	}
	const $unset: Record<string, true> = {};
	for (const b of drop) $unset[`batches.${b}`] = true;
	for (const [nodeId, d] of nodes) {
		const at = `nodes.${nodeId}.`;
		$max[at + "peakRamMiB"] = d.peakRamMiB;
		$max[at + "peakDiskMB"] = d.peakDiskMB;
		$inc[at + "cpuSum"] = d.cpuSum;
		$inc[at + "cpuCount"] = d.cpuCount;
		$inc[at + "trafficInMB"] = d.trafficInMB;
		$inc[at + "trafficOutMB"] = d.trafficOutMB;
		$inc[at + "samples"] = d.samples;
	}
	for (let attempt = 1; attempt <= 10; attempt++) {
		if (await hours.updateOne(notTaken, drop.length ? { $max, $inc, $set, $unset } : { $max, $inc, $set })) return;
		const existing = await hours.findById(_id);
		if (existing) {
			const taken = batches.filter(b => existing.batches?.[b]).length;
			if (taken === batches.length) return; // a refold
			if (taken) throw new PartlyTaken(`${_id} took ${taken} of ${batches.length} batches`);
			continue; // stored just now (a close, or another batch): update it
		}
		try {
			await hours.insert({
				_id,
				envId,
				hour,
				nodes: Object.fromEntries(nodes),
				batches: Object.fromEntries(batches.map(b => [b, 1 as const])),
				dirty: true,
				touches: 1,
				updatedAt: now(),
			});
			return;
		} catch (err) {
			if (!(err instanceof DuplicateKeyError)) throw err;
		}
	}
	throw new Error(`Environment-hour ${_id} kept changing while batches ${batches.join(", ")} were folded into it`);
}

/** MTR-2: one batch's samples into their hours (recovery: an hour that took the batch already skips it). */
export async function fold(db: MeteringStores, batch: string, list: Sample[]): Promise<void> {
	await Promise.all(foldBatch(batch, list).map(h => addToHour(db.env_hours, h.batches, h.envId, h.hour, h.nodes)));
}

/** The hour takes the batches one by one, each from what it stored (one already done was folded by a recovery). */
export async function refoldHour(db: MeteringStores, batches: string[], envId: string, hour: number): Promise<void> {
	for (const id of batches) {
		const b = await db.ingest_batches.findById(id);
		if (!b?.open) continue;
		const mine = (await claimedSamples(db, b)).filter(s => s.envId === envId && hourOf(s.time) === hour);
		for (const h of foldBatch(id, mine)) await addToHour(db.env_hours, h.batches, h.envId, h.hour, h.nodes);
	}
}
