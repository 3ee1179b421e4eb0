import { collection } from "./collection";

/**
 * MTR-1: every accepted sample, kept 36 days after it arrived so a resent sample is recognised
 * (≥ 35 days) — and so a batch cut short by a crash can be folded again from what it stored.
 * `batch` names the ingestion that stored it.
 */
export const samples = collection({
	name: "samples",
	indexes: [{ field: "batch" }, { field: "expiresAt", expireAfterSeconds: 0 }],
	fields: { batch: String, envId: String, nodeId: String, time: Number, expiresAt: Date },
});

/**
 * Ingestion batches: `open` until every sample of the batch is in its bucket, then `done`. An open
 * batch older than a minute was cut short (a crash): the close-hours job folds it again. Buckets
 * remember the batches they took, so folding again never counts a sample twice.
 */
export const ingestBatches = collection({
	name: "ingest_batches",
	indexes: [{ field: "state" }, { field: "expiresAt", expireAfterSeconds: 0 }],
	fields: { state: String, createdAt: Date, expiresAt: Date },
});

/** MTR-2: one bucket per node and UTC hour (`_id` = `<nodeId>:<hour ms>`). */
export const nodeHours = collection({
	name: "node_hours",
	indexes: [{ field: "envId" }, { field: "nodeId" }, { field: "hour" }],
	fields: {
		envId: String,
		nodeId: String,
		hour: Number,
		peakRamMiB: Number,
		cpuSum: Number,
		cpuCount: Number,
		peakDiskMB: Number,
		trafficInMB: Number,
		trafficOutMB: Number,
		samples: Number,
		batches: [String],
	},
});

/**
 * MTR-2: one document per environment-hour (`_id` = `<envId>:<hour ms>`): the hour's inventory once
 * the hour is closed, `touches` counting every change (samples or close), `dirty` until the record
 * for the latest touch is built, and the record itself — the outbox of the usage stream while
 * `undelivered`.
 */
export const envHours = collection({
	name: "env_hours",
	indexes: [{ field: "envId" }, { field: "hour" }, { field: "dirty" }, { field: "undelivered" }],
	fields: { envId: String, hour: Number, closed: Boolean, dirty: Boolean, undelivered: Boolean, touches: Number, rev: Number, inventory: {}, record: {} },
});

/** Where closing has got to (`_id` = "close"): every hour before `closedUpTo` (ms) is closed. */
export const meteringState = collection({ name: "metering_state", fields: { closedUpTo: Number } });
