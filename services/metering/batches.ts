// An ingestion batch as the store keeps it (MTR-1, NFR-3), on every store. Pure: no Moleculer, no I/O.
//
// A batch is stored open, with its samples, before it claims their ids; the ids it claimed (a
// unique index on `samples._id` decides between concurrent batches and replicas) are the samples
// it took. It stays open until they are in their hours, so a crash at any point leaves it to be
// folded again from what it stored.
import type { Doc } from "../../mixins/db.mixin";
import { HOUR_MS } from "../../lib/usage-record";
import { decodeRows, encodeRows } from "./pending";
import { MAX_AGE_MS, type Sample } from "./samples";

/** A sample's id, claimed by the batch that stored it first. */
export interface SampleDoc extends Doc {
	batch: string;
	expiresAt: Date;
}

export interface BatchDoc extends Doc {
	/** true until every sample it claimed is in its environment-hour */
	open?: true;
	/** the ids of the batch's samples, comma-separated */
	ids: string;
	/** the rest of its samples (encodeRows, base64) while it is open, to fold them again after a crash */
	rows?: string;
	createdAt: Date;
	expiresAt: Date;
}

/** MTR-1: an id is claimed 36 days (samples are accepted up to 35 days late), then the TTL index drops it. */
export const SAMPLE_ID_KEEP_MS = MAX_AGE_MS + 24 * HOUR_MS;
/** A closed batch is kept a week (its id may still be a key of an hour), then the TTL index drops it. */
const BATCH_KEEP_MS = 7 * 24 * HOUR_MS;
/** A batch still open after this long was cut short by a crash. */
export const STALE_BATCH_MS = 60_000;

/** The first sample of each id: a second one in the same batch is a duplicate. */
export function firstOfEachId(list: Sample[]): Sample[] {
	const seen = new Set<string>();
	return list.filter(s => !seen.has(s.id) && !!seen.add(s.id));
}

/** The batch, open, holding its samples. */
export function openBatch(batch: string, list: Sample[], time: Date): BatchDoc {
	return {
		_id: batch,
		open: true,
		ids: list.map(s => s.id).join(","),
		rows: encodeRows(list).toString("base64"),
		createdAt: time,
		expiresAt: new Date(time.getTime() + BATCH_KEEP_MS),
	};
}

/** The claims of a batch's samples' ids. */
export function claims(batch: string, list: Sample[], time: Date): SampleDoc[] {
	const expiresAt = new Date(time.getTime() + SAMPLE_ID_KEEP_MS);
	return list.map(s => ({ _id: s.id, batch, expiresAt }));
}

/** The samples an open batch stored (those it claimed are among them); none once it is closed. */
export function storedSamples(b: BatchDoc): Sample[] {
	return b.rows ? decodeRows(b.ids, Buffer.from(b.rows, "base64")) : [];
}

/**
 * Open batches created before this are stale: folded again by a recovery. A batch is stale when
 * it is older than STALE_BATCH_MS (its process died, or lost its store, mid-batch), or when it
 * was created before this process started: then a previous run of this process, which died, may
 * have left it, and waiting a minute would leave its usage out until a job runs (none when jobs
 * are off). It may as well be another replica's batch in flight: folding it twice is harmless,
 * because each environment-hour records the batches it took and skips one it took already
 * (addToHour), and a replica whose hour a recovery partly took folds batch by batch — provided
 * the recovery saw all of the batch's claims. So the start rule needs a store whose insertMany
 * no reader sees half done (`Store.atomicBatches`, SQLite); on MongoDB's unordered insert only
 * the minute counts (pass `startedAtMs` 0).
 */
export function staleBefore(nowMs: number, startedAtMs: number): Date {
	return new Date(Math.max(nowMs - STALE_BATCH_MS, startedAtMs));
}
