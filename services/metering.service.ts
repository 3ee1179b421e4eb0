// metering: usage samples from the orchestrator (MTR-1), hourly node buckets (MTR-2), and the
// durable stream of closed environment-hours to billing. Every step is idempotent, so a crash,
// a resent batch or a second replica never counts a sample twice:
//
//   ingest   — a sample id is taken once (a resent sample is a duplicate), and the batch is
//              stored with its new samples in one write before the request is answered; the
//              samples then wait in memory, folded into their environment-hours. When this
//              process alone owns the store (NeDB files), the ids are kept in memory and the
//              batch is one record appended to its log (metering/batch-log.ts); replicas sharing
//              MongoDB claim each id in `samples` and store the batch as an `ingest_batches`
//              document instead.
//   flush    — within seconds, each environment-hour with waiting samples takes them in one
//              atomic update that also records their batches, so an hour never takes a batch
//              twice; then the batches are done. A batch a crash left undone is folded again
//              from what it stored: from the log at start, or by the close-hours job (replicas).
//              Every environment-hour touched is marked dirty. The key of a batch that can never
//              be folded again (log file compacted, document closed) leaves the hour at its next
//              write, so a busy hour does not carry thousands of them.
//   close    — after an hour's grace period, the hour's inventory (environments.inventory) is
//              joined to its buckets: one record per environment-hour, built for the latest
//              touch with one conditional update (a sample arriving meanwhile makes it dirty
//              again). Late samples re-open the hour: a new revision of the record (MTR-2).
//   deliver  — records wait in this store until delivered: published to JetStream (distributed)
//              or pulled by billing (`metering.nextRecords` / `ackRecords`, embedded).
import { join } from "path";
import type { Context, Service } from "moleculer";
import { HOUR, now } from "../lib/clock";
import { envInt } from "../lib/config";
import { newId } from "../lib/crypto";
import { notFound, validationError, type FieldError } from "../lib/errors";
import type { JetStreamQueue } from "../lib/jetstream-queue";
import { defineService } from "../lib/service-schema";
import { TtlCache } from "../lib/ttl-cache";
import { usageQueue, usageStreamMode } from "../lib/usage-stream";
import { HOUR_MS, hourOf, recordId, type UsageRecord } from "../lib/usage-record";
import { createDbMixin, dataDir, DuplicateKeyError, storageMode, type Doc, type Store } from "../mixins/db.mixin";
import { createJobsMixin } from "../mixins/jobs.mixin";
import { envHours, ingestBatches, meteringState, samples } from "../models/metering";
import { buildRecord, type Inventory } from "./metering/env-hours";
import { BatchLog } from "./metering/batch-log";
import { decodeRows, encodeRows, foldBatch, PendingHours, RetiredBatchKeys, SampleIdMemory, type NodeBucket, type PendingHour } from "./metering/pending";
import { checkSample, isRejection, MAX_AGE_MS, MAX_BATCH, type Rejection, type Sample } from "./metering/samples";

/** A sample's id, claimed by the batch that stored it first (replicas sharing the store). */
interface SampleDoc extends Doc {
	batch: string;
	expiresAt: Date;
}
/** A batch as replicas sharing the store keep it. */
interface BatchDoc extends Doc {
	/** true until every sample is in its environment-hour */
	open?: true;
	/** the ids of the batch's samples, comma-separated */
	ids: string;
	/** the rest of its samples (encodeRows, base64) while it is open, to fold them again after a crash */
	rows?: string;
	createdAt: Date;
	expiresAt: Date;
}
interface EnvHourDoc extends Doc {
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
interface StateDoc extends Doc {
	closedUpTo: number;
}

interface NodesOf {
	envId: string;
	ownerId: string;
	nodeIds: string[];
}

type Self = Service & {
	db: {
		samples: Store<SampleDoc>;
		ingest_batches: Store<BatchDoc>;
		env_hours: Store<EnvHourDoc>;
		metering_state: Store<StateDoc>;
	};
	envCache: TtlCache<string, Set<string>>;
	queue: JetStreamQueue<UsageRecord> | null;
	/** this process alone owns metering's store (NeDB), so its memory of ids is the whole truth */
	ownsStore: boolean;
	/** when this process owns the store: the accepted batches (ingest_batches serve replicas) */
	log: BatchLog | null;
	idMemory: SampleIdMemory;
	pending: PendingHours;
	/** replicas: batches taken here whose samples are not all in their hours yet (recovery leaves them alone) */
	inFlight: Set<string>;
	/** hours whose write failed (this process owns the store), written again as they were */
	retry: PendingHour[];
	/** the batch keys written into hours here that their next write may drop */
	retiredKeys: RetiredBatchKeys;
	flushTimer: NodeJS.Timeout | null;
	flushRunning: Promise<void> | null;
	knownNodes(ctx: Context, samples: Sample[]): Promise<Uint8Array>;
	takeOwned(samples: Sample[], time: Date): Promise<{ batch: string; taken: Sample[] } | null>;
	takeShared(samples: Sample[], time: Date): Promise<{ batch: string; taken: Sample[] } | null>;
	scheduleFlush(): void;
	flush(): Promise<void>;
	writeHours(hours: PendingHour[]): Promise<void>;
	fold(batch: string, samples: Sample[]): Promise<void>;
	addToHour(batches: string[], envId: string, hour: number, nodes: Map<string, NodeBucket>, drop?: string[]): Promise<void>;
	refoldHour(batches: string[], envId: string, hour: number): Promise<void>;
	claimedSamples(b: BatchDoc): Promise<Sample[]>;
	replayLog(): Promise<void>;
	closeHours(ctx: Context): Promise<number>;
	buildDirty(): Promise<number>;
	deliver(): Promise<number>;
	recoverBatches(): Promise<number>;
};

/** MTR-2: an hour closes this long after its end (default 5 minutes). */
const GRACE_MS = envInt("METERING_GRACE_MINUTES", 5) * 60_000;
/** A batch still open after this long was cut short by a crash. */
const STALE_BATCH_MS = 60_000;
/** How long node ids of an environment are trusted before asking again (new nodes ask at once). */
const ENV_CACHE_MS = 60_000;
/** How many hours one run of close-hours closes at most (a platform down for days catches up over runs). */
const MAX_HOURS_PER_RUN = 24 * 40;
const SAMPLE_MEMORY_MS = MAX_AGE_MS + 24 * HOUR;
/**
 * Samples wait up to this long in memory before their hours take them: one write per hour for many
 * batches. (Reading an environment's usage, and closing hours, write them first.)
 */
const FLUSH_MS = 5000;

/** knownNodes' verdicts */
const KNOWN = 1;
const UNKNOWN_NODE = 2;
const UNKNOWN_ENVIRONMENT = 3;

/** An environment-hour took some of the batches offered, not all: they are given one by one. */
class PartlyTaken extends Error {}

const envHourId = (envId: string, hour: number) => `${envId}:${hour}`;

function timeParam(value: string | undefined, field: string, errors: FieldError[]): number | undefined {
	if (value === undefined) return undefined;
	const t = Date.parse(value);
	if (Number.isNaN(t)) errors.push({ field, message: "must be an ISO-8601 time" });
	return t;
}

const MeteringService = defineService<Self>({
	name: "metering",
	mixins: [createDbMixin([samples, ingestBatches, envHours, meteringState]), createJobsMixin("metering")],

	jobs: {
		/**
		 * MTR-2: closes every hour whose grace period is over, builds the records of dirty
		 * environment-hours (late samples included), and delivers them; first writes the samples
		 * waiting in memory and folds batches a crash left open. Safe to run twice and on two
		 * replicas at once.
		 */
		"close-hours": {
			cron: "* * * * *",
			async handler(this: Self, ctx: Context) {
				await this.flush();
				this.idMemory.expire(now().getTime());
				this.retiredKeys.expire(now().getTime(), 2 * HOUR_MS);
				await this.log?.expire(now().getTime(), SAMPLE_MEMORY_MS);
				await this.recoverBatches();
				const closed = await this.closeHours(ctx);
				const built = await this.buildDirty();
				await this.deliver();
				return closed + built;
			},
		},
	},

	actions: {
		/** POST /metering/usage — MTR-1: bad samples are rejected one by one; the rest are kept. */
		ingest: {
			params: { samples: { type: "array", max: MAX_BATCH, items: { type: "any" } } },
			async handler(this: Self, ctx: Context<{ samples: unknown[] }>) {
				const time = now();
				const list = ctx.params.samples;
				const rejected: Rejection[] = [];
				const valid: Sample[] = [];
				const indexes: number[] = [];
				for (let i = 0; i < list.length; i++) {
					const s = checkSample(list[i], i, time.getTime());
					if (isRejection(s)) rejected.push(s);
					else {
						valid.push(s);
						indexes.push(i);
					}
				}
				const verdict = await this.knownNodes(ctx, valid);
				const fresh: Sample[] = [];
				let unknown = false;
				for (let k = 0; k < valid.length; k++) {
					const s = valid[k];
					if (verdict[k] === KNOWN) fresh.push(s);
					else {
						unknown = true;
						rejected.push(
							verdict[k] === UNKNOWN_NODE
								? { index: indexes[k], type: "UNKNOWN_NODE", field: "nodeId", message: `environment ${s.envId} has no node ${s.nodeId}` }
								: { index: indexes[k], type: "UNKNOWN_ENVIRONMENT", field: "envId", message: `no environment ${s.envId}` },
						);
					}
				}
				if (unknown) rejected.sort((a, b) => a.index - b.index);
				const took = fresh.length ? await (this.ownsStore ? this.takeOwned(fresh, time) : this.takeShared(fresh, time)) : null;
				const accepted = took?.taken.length ?? 0;
				if (took) {
					this.pending.add(took.batch, took.taken);
					this.scheduleFlush();
				}
				return { accepted, duplicates: fresh.length - accepted, rejected };
			},
		},

		/** POST /meta/echo (QM_TEST_CLOCK only): the same request as ingest, to the same service, doing nothing with it. */
		echo: {
			params: { samples: { type: "array", max: MAX_BATCH, items: { type: "any" } } },
			handler(this: Self, ctx: Context<{ samples: unknown[] }>) {
				return { accepted: 0, duplicates: 0, rejected: [], received: ctx.params.samples.length };
			},
		},

		/** GET /environments/{id}/usage — the environment's hourly buckets, `?from&to` (default: the last 24 hours). */
		usage: {
			params: { id: { type: "string", min: 1, max: 64 }, from: { type: "string", max: 40, optional: true }, to: { type: "string", max: 40, optional: true } },
			async handler(this: Self, ctx: Context<{ id: string; from?: string; to?: string }, { user: { id: string } }>) {
				const env = await ctx.call<{ envId: string; ownerId: string; name: string } | null, { id: string }>("environments.ownerOf", { id: ctx.params.id });
				if (!env || env.ownerId !== ctx.meta.user.id) throw notFound("Environment");
				const errors: FieldError[] = [];
				const to = timeParam(ctx.params.to, "to", errors) ?? now().getTime();
				const from = timeParam(ctx.params.from, "from", errors) ?? to - 24 * HOUR_MS;
				if (!errors.length && from >= to) errors.push({ field: "from", message: "must be before to" });
				if (!errors.length && to - from > 31 * 24 * HOUR_MS) errors.push({ field: "from", message: "the range may span at most 31 days" });
				if (errors.length) throw validationError(errors);
				await this.flush(); // what this replica accepted is shown
				const rows = await this.db.env_hours.find({ envId: env.envId, hour: { $gte: hourOf(from), $lt: to } }, { sort: { hour: 1 } });
				const hours = new Map<number, Record<string, unknown>[]>();
				for (const h of rows) {
					if (!h.nodes) continue;
					const list = Object.entries(h.nodes)
						.sort(([a], [b]) => a.localeCompare(b))
						.map(([nodeId, b]) => ({
							nodeId,
							peakRamMiB: b.peakRamMiB,
							avgCpuMHz: b.cpuCount ? Math.round((b.cpuSum / b.cpuCount) * 1000) / 1000 : 0,
							peakDiskMB: b.peakDiskMB,
							trafficInMB: Math.round(b.trafficInMB * 1e6) / 1e6,
							trafficOutMB: Math.round(b.trafficOutMB * 1e6) / 1e6,
							samples: b.samples,
						}));
					hours.set(h.hour, list);
				}
				return {
					envId: env.envId,
					from: new Date(from).toISOString(),
					to: new Date(to).toISOString(),
					hours: [...hours].map(([hour, nodes]) => ({ hour: new Date(hour).toISOString(), nodes })),
				};
			},
		},

		/* ---- the usage stream in embedded mode: billing pulls records and acknowledges them ---- */

		/** Internal: the oldest undelivered records. */
		nextRecords: {
			visibility: "public",
			params: { limit: { type: "number", integer: true, min: 1, max: 5000, optional: true, default: 500 } },
			async handler(this: Self, ctx: Context<{ limit: number }>) {
				const docs = await this.db.env_hours.find({ undelivered: true }, { sort: { hour: 1 }, limit: ctx.params.limit });
				return docs.filter(d => d.record).map(d => d.record as UsageRecord);
			},
		},

		/** Internal: records billing has committed; a record rebuilt since (a newer revision) stays undelivered. */
		ackRecords: {
			visibility: "public",
			params: {
				records: {
					type: "array",
					max: 5000,
					items: { type: "object", props: { envId: "string", hour: "number", rev: "number" } },
				},
			},
			async handler(this: Self, ctx: Context<{ records: { envId: string; hour: number; rev: number }[] }>) {
				let acked = 0;
				for (const r of ctx.params.records) {
					if (await this.db.env_hours.updateOne({ _id: envHourId(r.envId, r.hour), rev: r.rev, undelivered: true }, { $unset: { undelivered: true } })) acked++;
				}
				return { acked };
			},
		},
	},

	methods: {
		/**
		 * Whether each sample's node is known (KNOWN), or its environment (UNKNOWN_NODE) or neither.
		 * Node ids per environment are cached; environments is asked only about an environment not
		 * cached or with a node not known yet (added since).
		 */
		async knownNodes(this: Self, ctx: Context, list: Sample[]) {
			const t = Date.now();
			const verdict = new Uint8Array(list.length);
			let ask: Set<string> | null = null;
			let lastEnv = "";
			let nodes: Set<string> | undefined;
			for (let i = 0; i < list.length; i++) {
				const s = list[i];
				if (s.envId !== lastEnv) {
					lastEnv = s.envId; // a batch lists an environment's nodes together, mostly
					nodes = this.envCache.get(s.envId, t);
				}
				if (nodes?.has(s.nodeId)) verdict[i] = KNOWN;
				else (ask ??= new Set()).add(s.envId);
			}
			if (!ask) return verdict;
			const envIds = [...ask];
			const asked = new Map<string, Set<string>>();
			for (let i = 0; i < envIds.length; i += 1000) {
				const rows = await ctx.call<NodesOf[], { envIds: string[] }>("environments.nodesOf", { envIds: envIds.slice(i, i + 1000) });
				for (const r of rows) asked.set(r.envId, new Set(r.nodeIds));
			}
			for (const id of envIds) {
				const found = asked.get(id);
				if (found) this.envCache.set(id, found, t);
				else this.envCache.delete(id);
			}
			for (let i = 0; i < list.length; i++) {
				if (verdict[i]) continue;
				const found = asked.get(list[i].envId);
				verdict[i] = !found ? UNKNOWN_ENVIRONMENT : found.has(list[i].nodeId) ? KNOWN : UNKNOWN_NODE;
			}
			return verdict;
		},

		/** This process owns the store: ids are checked and taken in memory, and the batch is one write. */
		async takeOwned(this: Self, list: Sample[], time: Date) {
			// Checked and taken before any await: a concurrent request sees them.
			const took = this.idMemory.take(
				list.map(s => s.id),
				time.getTime(),
			);
			if (!took.positions.length) return null;
			const taken = took.positions.length === list.length ? list : took.positions.map(i => list[i]);
			const batch = newId();
			try {
				await this.log!.append({ batch, createdAt: time.getTime(), ids: took.text, rows: encodeRows(taken) });
			} catch (err) {
				took.forget();
				throw err;
			}
			return { batch, taken };
		},

		/**
		 * Replicas share the store: the batch is stored with its new samples first, then claims their
		 * ids (a unique index decides between replicas), so a crash at any point leaves it to fold again.
		 */
		async takeShared(this: Self, list: Sample[], time: Date) {
			const seen = new Set<string>();
			const once = list.filter(s => !seen.has(s.id) && !!seen.add(s.id));
			const stored = new Set((await this.db.samples.find({ _id: { $in: once.map(s => s.id) } })).map(d => d._id));
			const candidates = once.filter(s => !stored.has(s.id));
			if (!candidates.length) return null;
			const batch = newId();
			this.inFlight.add(batch);
			try {
				await this.db.ingest_batches.insert({
					_id: batch,
					open: true,
					ids: candidates.map(s => s.id).join(","),
					rows: encodeRows(candidates).toString("base64"),
					createdAt: time,
					expiresAt: new Date(time.getTime() + 7 * 24 * HOUR),
				});
				const expiresAt = new Date(time.getTime() + SAMPLE_MEMORY_MS);
				const refused = new Set(await this.db.samples.insertMany(candidates.map(s => ({ _id: s.id, batch, expiresAt }))));
				const taken = candidates.filter((_, i) => !refused.has(i));
				if (taken.length) return { batch, taken };
				await this.db.ingest_batches.updateOne({ _id: batch }, { $unset: { open: true, rows: true } });
			} catch (err) {
				this.inFlight.delete(batch); // stored open: the close-hours job folds what it claimed
				throw err;
			}
			this.inFlight.delete(batch);
			return null;
		},

		scheduleFlush(this: Self) {
			if (this.flushTimer) return;
			this.flushTimer = setTimeout(() => {
				this.flushTimer = null;
				this.flush().catch(err => this.logger.error("Writing usage into its hours failed; it is tried again", err));
			}, FLUSH_MS);
		},

		/** Writes every sample waiting in memory into its hour; one flush at a time, each waits for the one before. */
		async flush(this: Self) {
			while (this.flushRunning) await this.flushRunning;
			if (!this.pending.size && !this.retry.length) return;
			const run = this.writeHours([...this.retry.splice(0), ...this.pending.take()]);
			// Waiters only need it over; the error goes to this caller.
			this.flushRunning = run.then(
				() => void (this.flushRunning = null),
				() => void (this.flushRunning = null),
			);
			await run;
		},

		/**
		 * Each hour takes its waiting samples in one update (dropping the keys of batches retired
		 * since it was last written here); then their batches are no longer open.
		 */
		async writeHours(this: Self, hours: PendingHour[]) {
			const batches = [...new Set(hours.flatMap(h => h.batches))];
			const write = async (h: PendingHour) => {
				const id = envHourId(h.envId, h.hour);
				const drop = this.retiredKeys.droppable(id);
				await this.addToHour(h.batches, h.envId, h.hour, h.nodes, drop);
				this.retiredKeys.wrote(id, h.hour, h.batches, drop);
			};
			if (this.log) {
				// Only this process writes these hours, so an hour that failed is tried again with the same batches.
				const failed: PendingHour[] = [];
				let error: unknown;
				await Promise.all(
					hours.map(h =>
						write(h).catch(err => {
							failed.push(h);
							error = err;
						}),
					),
				);
				const waiting = new Set(failed.flatMap(h => h.batches));
				this.log.done(batches.filter(b => !waiting.has(b)));
				if (!failed.length) return;
				this.retry.push(...failed);
				this.scheduleFlush();
				throw error;
			}
			try {
				await Promise.all(
					hours.map(h =>
						write(h).catch(err => {
							if (!(err instanceof PartlyTaken)) throw err;
							return this.refoldHour(h.batches, h.envId, h.hour);
						}),
					),
				);
				await this.db.ingest_batches.updateMany({ _id: { $in: batches }, open: true }, { $unset: { open: true, rows: true } });
				// Closed: no recovery folds them again.
				this.retiredKeys.retire(batches, now().getTime());
			} finally {
				// Done, or left open for the close-hours job to fold again.
				for (const b of batches) this.inFlight.delete(b);
			}
		},

		/** MTR-2: one batch's samples into their hours (recovery: an hour that took the batch already skips it). */
		async fold(this: Self, batch: string, list: Sample[]) {
			await Promise.all(foldBatch(batch, list).map(h => this.addToHour(h.batches, h.envId, h.hour, h.nodes)));
		},

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
		async addToHour(this: Self, batches: string[], envId: string, hour: number, nodes: Map<string, NodeBucket>, drop: string[] = []) {
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
				if (await this.db.env_hours.updateOne(notTaken, drop.length ? { $max, $inc, $set, $unset } : { $max, $inc, $set })) return;
				const existing = await this.db.env_hours.findById(_id);
				if (existing) {
					const taken = batches.filter(b => existing.batches?.[b]).length;
					if (taken === batches.length) return; // a refold
					if (taken) throw new PartlyTaken(`${_id} took ${taken} of ${batches.length} batches`);
					continue; // stored just now (a close, or another batch): update it
				}
				try {
					await this.db.env_hours.insert({
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
		},

		/** The hour takes the batches one by one, each from what it stored (one already done was folded by a recovery). */
		async refoldHour(this: Self, batches: string[], envId: string, hour: number) {
			for (const id of batches) {
				const b = await this.db.ingest_batches.findById(id);
				if (!b?.open) continue;
				const mine = (await this.claimedSamples(b)).filter(s => s.envId === envId && hourOf(s.time) === hour);
				for (const h of foldBatch(id, mine)) await this.addToHour(h.batches, h.envId, h.hour, h.nodes);
			}
		},

		/** The samples a stored batch took (replicas): those whose ids it claimed. */
		async claimedSamples(this: Self, b: BatchDoc) {
			const list = b.rows ? decodeRows(b.ids, Buffer.from(b.rows, "base64")) : [];
			const claimed = new Set((await this.db.samples.find({ _id: { $in: list.map(s => s.id) }, batch: b._id })).map(d => d._id));
			return list.filter(s => claimed.has(s.id));
		},

		/**
		 * Replicas: batches a crash left open a minute ago are folded again (the hours skip what they
		 * took). A process that owns the store replays its log at start instead.
		 */
		async recoverBatches(this: Self) {
			if (this.log) return 0;
			const query = { open: true, createdAt: { $lt: new Date(now().getTime() - STALE_BATCH_MS) } };
			const stale = (await this.db.ingest_batches.find(query, { limit: 100 })).filter(b => !this.inFlight.has(b._id));
			for (const b of stale) {
				await this.fold(b._id, await this.claimedSamples(b));
				await this.db.ingest_batches.updateOne({ _id: b._id }, { $unset: { open: true, rows: true } });
			}
			return stale.length;
		},

		/**
		 * At start, when this process owns the store: the ids its log holds are its memory of ids, and
		 * the batches still open in it are folded again (an hour that took one skips it).
		 */
		async replayLog(this: Self) {
			const { ids, open } = this.log!.load();
			for (const r of [...ids, ...open]) this.idMemory.take(r.ids ? r.ids.split(",") : [], r.createdAt);
			for (const r of open) await this.fold(r.batch, r.rows ? decodeRows(r.ids, r.rows) : []);
			await this.log!.loaded();
		},

		/** Each hour past its grace period gets its inventory: one closed environment-hour per environment that existed. */
		async closeHours(this: Self, ctx: Context) {
			const limit = hourOf(now().getTime() - GRACE_MS) - HOUR_MS; // the last hour whose grace is over
			let state = await this.db.metering_state.findById("close");
			if (!state) {
				// A new platform starts metering with the hour it starts in.
				try {
					state = await this.db.metering_state.insert({ _id: "close", closedUpTo: hourOf(now().getTime()) });
				} catch (err) {
					if (!(err instanceof DuplicateKeyError)) throw err;
					state = (await this.db.metering_state.findById("close"))!;
				}
			}
			let closed = 0;
			for (let hour = state.closedUpTo, n = 0; hour <= limit && n < MAX_HOURS_PER_RUN; hour += HOUR_MS, n++) {
				let after: string | null = null;
				do {
					const page: { rows: Inventory[]; next: string | null } = await ctx.call("environments.inventory", {
						from: new Date(hour).toISOString(),
						to: new Date(hour + HOUR_MS).toISOString(),
						...(after ? { afterEnvId: after } : {}),
						limit: 1000,
					});
					await Promise.all(
						page.rows.map(async inv => {
							try {
								// Closed once: a second run (or replica) finds it closed, and the upsert's insert fails.
								await this.db.env_hours.updateOne(
									{ _id: envHourId(inv.envId, hour), closed: { $ne: true } },
									{ $set: { envId: inv.envId, hour, closed: true, inventory: inv, dirty: true }, $inc: { touches: 1 } },
									{ upsert: true },
								);
								closed++;
							} catch (err) {
								if (!(err instanceof DuplicateKeyError)) throw err;
							}
						}),
					);
					after = page.next;
				} while (after);
				await this.db.metering_state.updateOne({ _id: "close", closedUpTo: hour }, { $set: { closedUpTo: hour + HOUR_MS } });
			}
			return closed;
		},

		/** The record of every dirty closed environment-hour, for its latest touch (a touch meanwhile leaves it dirty). */
		async buildDirty(this: Self) {
			let built = 0;
			for (;;) {
				const dirty = await this.db.env_hours.find({ dirty: true, closed: true }, { sort: { hour: 1 }, limit: 500 });
				if (!dirty.length) return built;
				let progress = 0;
				for (const d of dirty) {
					const inv = d.inventory as Inventory;
					const buckets = Object.entries(d.nodes ?? {}).map(([nodeId, b]) => ({ nodeId, ...b }));
					// MTR-3: an hour without samples has the last known disk, which the hour before carries.
					const lastDisk = new Map<string, number>();
					if (inv.nodes.some(n => !d.nodes?.[n.nodeId])) {
						const before = await this.db.env_hours.findById(envHourId(d.envId, d.hour - HOUR_MS));
						for (const n of before?.record?.nodes ?? []) lastDisk.set(n.nodeId, n.peakDiskMB);
					}
					const rev = (d.rev ?? 0) + 1;
					const record = buildRecord(inv, d.hour, rev, buckets, lastDisk);
					const saved = await this.db.env_hours.updateOne(
						{ _id: d._id, touches: d.touches, rev: d.rev ?? { $exists: false } },
						{ $set: { rev, record, undelivered: true }, $unset: { dirty: true } },
					);
					if (saved) {
						built++;
						progress++;
					}
				}
				if (!progress) return built; // all raced with new samples: the next run takes them
			}
		},

		/** JetStream mode: publishes undelivered records (message id = record id), then marks them delivered. */
		async deliver(this: Self) {
			if (!this.queue) return 0;
			let delivered = 0;
			for (;;) {
				const docs = await this.db.env_hours.find({ undelivered: true }, { sort: { hour: 1 }, limit: 500 });
				const records = docs.filter(d => d.record).map(d => d.record as UsageRecord);
				if (!records.length) return delivered;
				await this.queue.publishMany(records.map(r => ({ msgId: recordId(r), data: r })));
				for (const r of records) {
					if (await this.db.env_hours.updateOne({ _id: envHourId(r.envId, r.hour), rev: r.rev }, { $unset: { undelivered: true } })) delivered++;
				}
			}
		},
	},

	created(this: Self) {
		this.envCache = new TtlCache(ENV_CACHE_MS, 100_000);
		this.queue = null;
		const mode = storageMode();
		this.ownsStore = mode === "files" || mode === "memory";
		// Ids are remembered 36 to 48 days: forgotten twelve days at a time.
		this.idMemory = new SampleIdMemory(SAMPLE_MEMORY_MS, 12 * 24 * HOUR);
		this.pending = new PendingHours();
		this.inFlight = new Set();
		this.retry = [];
		this.retiredKeys = new RetiredBatchKeys();
		this.log = null;
		this.flushTimer = null;
		this.flushRunning = null;
	},

	async started(this: Self) {
		if (this.ownsStore) {
			this.log = new BatchLog(storageMode() === "files" ? join(dataDir(), "metering-log") : null);
			this.log.onRetired(batches => this.retiredKeys.retire(batches, now().getTime()));
			await this.replayLog();
		}
		if (usageStreamMode() === "jetstream") {
			this.queue = usageQueue(this.logger);
			await this.queue.connect();
		}
	},

	async stopped(this: Self) {
		if (this.flushTimer) clearTimeout(this.flushTimer);
		this.flushTimer = null;
		await this.flush();
		await this.log?.close();
		await this.queue?.close();
	},
});

export default MeteringService;
