import { collection } from "./collection";

/**
 * MTR-1: the id of every accepted sample, claimed by the batch that took it (`batch`; the unique
 * `_id` decides between batches and replicas), kept 36 days after it arrived so a resent sample is
 * recognised (≥ 35 days): the TTL index drops it then, on every store.
 */
export const samples = collection({
	name: "samples",
	smallDocuments: true,
	indexes: [{ field: "expiresAt", expireAfterSeconds: 0 }],
	fields: { expiresAt: Date },
});

/**
 * Ingestion batches, on every store: `open` (true, or absent) while their samples wait in a
 * process's memory for their hours, holding their ids and samples (`ids`, `rows`) until then: a
 * batch left open by a crash is folded again from them (services/metering/batches.ts says when).
 * Hours remember the batches they took, so folding again never counts a sample twice. Kept a
 * week, then dropped by the TTL index.
 */
export const ingestBatches = collection({
	name: "ingest_batches",
	indexes: [
		{ field: "open", sparse: true },
		{ field: "expiresAt", expireAfterSeconds: 0 },
	],
	fields: { open: Boolean, rows: String, ids: String, createdAt: Date, expiresAt: Date },
});

/**
 * MTR-2: one document per environment and UTC hour (`_id` = `<envId>:<hour ms>`):
 * - `nodes`: the hour's bucket of each node (peak RAM, CPU sum and count, peak disk, traffic),
 *   keyed by node id, and `batches`, the ingestion batches it took that may still be folded again (as keys);
 * - once the hour is closed, its `inventory` (environments.inventory);
 * - `touches`, counting every change, and `dirty` (true, or absent) until the record for the
 *   latest touch is built;
 * - the `record` itself: the usage stream's outbox while `undelivered` (true, or absent).
 * One document per environment-hour means one write per environment a batch touches, not one
 * per node.
 */
export const envHours = collection({
	name: "env_hours",
	// `dirty` and `undelivered` exist only while true, under sparse indexes: the jobs find the few
	// hours with work without a scan, and no index key holds every hour (a store re-indexes every
	// document of a key on each update of one of them).
	indexes: [{ field: "envId" }, { field: "dirty", sparse: true }, { field: "undelivered", sparse: true }],
	fields: {
		envId: String,
		hour: Number,
		nodes: {},
		batches: {},
		closed: Boolean,
		dirty: Boolean,
		undelivered: Boolean,
		touches: Number,
		rev: Number,
		inventory: {},
		record: {},
		updatedAt: Date,
	},
});

/** Where closing has got to (`_id` = "close"): every hour before `closedUpTo` (ms) is closed. */
export const meteringState = collection({ name: "metering_state", fields: { closedUpTo: Number } });
