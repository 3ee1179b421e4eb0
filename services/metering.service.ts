// metering: usage samples from the orchestrator (MTR-1), hourly node buckets (MTR-2), and the
// durable stream of closed environment-hours to billing. Every step is idempotent, so a crash,
// a resent batch or a second replica never counts a sample twice:
//
//   ingest   — the batch is stored open, with its samples, in `ingest_batches`; then it claims
//              their ids in `samples` with one insert (one transaction on SQLite, an unordered
//              insert on MongoDB) in which a unique index decides: a sample whose id another
//              batch claimed is a duplicate. Both before the request is answered; the samples
//              claimed then wait in memory, folded into their environment-hours. The same on
//              every store (metering/batches.ts).
//   flush    — within seconds, each environment-hour with waiting samples takes them in one
//              atomic update that also records their batches, so an hour never takes a batch
//              twice; then the batches are closed. A batch a crash left open is folded again
//              from what it stored: at start, and by the close-hours job (batches.ts says when
//              a batch is stale). Every environment-hour touched is marked dirty. The key of a
//              closed batch leaves the hour at its next write here, so a busy hour does not
//              carry thousands of them.
//   close    — after an hour's grace period, the hour's inventory (environments.inventory) is
//              joined to its buckets: one record per environment-hour, built for the latest
//              touch with one conditional update (a sample arriving meanwhile makes it dirty
//              again). Late samples re-open the hour: a new revision of the record (MTR-2).
//   deliver  — records wait in this store until delivered: published to JetStream (distributed)
//              or pulled by billing (`metering.nextRecords` / `ackRecords`, embedded).
import type { Context, Service } from "moleculer";
import { now } from "../lib/clock";
import { envInt } from "../lib/config";
import { newId } from "../lib/crypto";
import { notFound, validationError, type FieldError } from "../lib/errors";
import type { JetStreamQueue } from "../lib/jetstream-queue";
import { defineService } from "../lib/service-schema";
import { timeParam } from "../lib/time-params";
import { TtlCache } from "../lib/ttl-cache";
import { usageQueue, usageStreamMode } from "../lib/usage-stream";
import { HOUR_MS, hourOf, recordId, type UsageRecord } from "../lib/usage-record";
import { createDbMixin, DuplicateKeyError, type Doc, type Store } from "../mixins/db.mixin";
import { createJobsMixin } from "../mixins/jobs.mixin";
import { envHours, ingestBatches, meteringState, samples } from "../models/metering";
import { buildRecord, usageHours, type Inventory } from "./metering/env-hours";
import { claims, firstOfEachId, openBatch, staleBefore, storedSamples, type BatchDoc, type SampleDoc } from "./metering/batches";
import { foldBatch, PendingHours, RetiredBatchKeys, type NodeBucket, type PendingHour } from "./metering/pending";
import { checkSample, isRejection, MAX_BATCH, type Rejection, type Sample } from "./metering/samples";

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
	/** when this process started (ms): a batch open since before then is stale (batches.ts) */
	startedAt: number;
	pending: PendingHours;
	/** batches taken here whose samples are not all in their hours yet (recovery leaves them alone) */
	inFlight: Set<string>;
	/** the batch keys written into hours here that their next write may drop */
	retiredKeys: RetiredBatchKeys;
	flushTimer: NodeJS.Timeout | null;
	flushRunning: Promise<void> | null;
	knownNodes(ctx: Context, samples: Sample[]): Promise<Uint8Array>;
	take(samples: Sample[], time: Date): Promise<{ batch: string; taken: Sample[] } | null>;
	closeBatches(batches: string[]): Promise<void>;
	scheduleFlush(): void;
	flush(): Promise<void>;
	writeHours(hours: PendingHour[]): Promise<void>;
	fold(batch: string, samples: Sample[]): Promise<void>;
	addToHour(batches: string[], envId: string, hour: number, nodes: Map<string, NodeBucket>, drop?: string[]): Promise<void>;
	refoldHour(batches: string[], envId: string, hour: number): Promise<void>;
	claimedSamples(b: BatchDoc): Promise<Sample[]>;
	closeHours(ctx: Context): Promise<number>;
	othersFlushed(): Promise<void>;
	buildDirty(): Promise<number>;
	deliver(): Promise<number>;
	recoverBatches(): Promise<number>;
};

/** MTR-2: an hour closes this long after its end (default 5 minutes). */
const GRACE_MS = envInt("METERING_GRACE_MINUTES", 5) * 60_000;
/** How long node ids of an environment are trusted before asking again (new nodes ask at once). */
const ENV_CACHE_MS = 60_000;
/** Open batches read at a time by a recovery. */
const RECOVERY_PAGE = 100;
/** How many hours one run of close-hours closes at most (a platform down for days catches up over runs). */
const MAX_HOURS_PER_RUN = 24 * 40;
/**
 * Samples wait up to this long in memory before their hours take them: one write per hour for many
 * batches. (Reading an environment's usage, and closing hours, write them first.)
 */
const FLUSH_MS = 5000;
/** How much longer than FLUSH_MS an hour's close waits for the other replicas to write what they hold. */
const OTHERS_FLUSH_SLACK_MS = 3000;

/** knownNodes' verdicts */
const KNOWN = 1;
const UNKNOWN_NODE = 2;
const UNKNOWN_ENVIRONMENT = 3;

/** An environment-hour took some of the batches offered, not all: they are given one by one. */
class PartlyTaken extends Error {}

const envHourId = (envId: string, hour: number) => `${envId}:${hour}`;

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
				this.retiredKeys.expire(now().getTime(), 2 * HOUR_MS);
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
				const took = fresh.length ? await this.take(fresh, time) : null;
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
				const to = timeParam(ctx.params.to, "to", errors)?.getTime() ?? now().getTime();
				const from = timeParam(ctx.params.from, "from", errors)?.getTime() ?? to - 24 * HOUR_MS;
				if (!errors.length && from >= to) errors.push({ field: "from", message: "must be before to" });
				if (!errors.length && to - from > 31 * 24 * HOUR_MS) errors.push({ field: "from", message: "the range may span at most 31 days" });
				if (errors.length) throw validationError(errors);
				await this.flush(); // what this replica accepted is shown
				const rows = await this.db.env_hours.find({ envId: env.envId, hour: { $gte: hourOf(from), $lt: to } }, { sort: { hour: 1 } });
				return {
					envId: env.envId,
					from: new Date(from).toISOString(),
					to: new Date(to).toISOString(),
					hours: usageHours(rows),
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

		/**
		 * MTR-1: the batch is stored open with its new samples, then claims their ids with one insert
		 * (a unique index decides between batches and replicas): it took the samples it claimed. A
		 * crash at any point leaves it open, to be folded again from what it stored.
		 */
		async take(this: Self, list: Sample[], time: Date) {
			const candidates = firstOfEachId(list);
			const batch = newId();
			this.inFlight.add(batch);
			try {
				// One fsync a batch: the batch is durable with its claims, which follow it in the same
				// database (a crash keeps the batch whenever it keeps a claim). No read first: the
				// unique index answers which ids were claimed before (a resend closes its batch at once).
				await this.db.ingest_batches.insert(openBatch(batch, candidates, time), { syncWithNext: true });
				const refused = new Set(await this.db.samples.insertMany(claims(batch, candidates, time)));
				const taken = refused.size ? candidates.filter((_, i) => !refused.has(i)) : candidates;
				if (taken.length) return { batch, taken };
				await this.closeBatches([batch]);
			} catch (err) {
				this.inFlight.delete(batch); // left open: a recovery folds what it claimed
				throw err;
			}
			this.inFlight.delete(batch);
			return null;
		},

		/** Their samples are in their hours: nothing folds them again, and their samples need not be kept. */
		async closeBatches(this: Self, batches: string[]) {
			await this.db.ingest_batches.updateMany({ _id: { $in: batches }, open: true }, { $unset: { open: true, rows: true } });
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
			if (!this.pending.size) return;
			const run = this.writeHours(this.pending.take());
			// Waiters only need it over; the error goes to this caller.
			this.flushRunning = run.then(
				() => void (this.flushRunning = null),
				() => void (this.flushRunning = null),
			);
			await run;
		},

		/**
		 * Each hour takes its waiting samples in one update (dropping the keys of batches closed
		 * since it was last written here); then their batches are closed. An hour a recovery partly
		 * took meanwhile takes the batches one by one. A write that fails leaves its batches open,
		 * for a recovery to fold.
		 */
		async writeHours(this: Self, hours: PendingHour[]) {
			const batches = [...new Set(hours.flatMap(h => h.batches))];
			const write = async (h: PendingHour) => {
				const id = envHourId(h.envId, h.hour);
				const drop = this.retiredKeys.droppable(id);
				try {
					await this.addToHour(h.batches, h.envId, h.hour, h.nodes, drop);
				} catch (err) {
					if (!(err instanceof PartlyTaken)) throw err;
					return this.refoldHour(h.batches, h.envId, h.hour);
				}
				this.retiredKeys.wrote(id, h.hour, h.batches, drop);
			};
			try {
				await Promise.all(hours.map(write));
				await this.closeBatches(batches);
				// Closed: no recovery folds them again.
				this.retiredKeys.retire(batches, now().getTime());
			} finally {
				// Done, or left open for a recovery to fold again.
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

		/** The samples a stored batch took: those whose ids it claimed. */
		async claimedSamples(this: Self, b: BatchDoc) {
			const list = storedSamples(b);
			const claimed = new Set((await this.db.samples.find({ _id: { $in: list.map(s => s.id) }, batch: b._id })).map(d => d._id));
			return list.filter(s => claimed.has(s.id));
		},

		/**
		 * The stale batches a crash left open (batches.ts) are folded again — an hour that took one
		 * skips it — and closed, a page at a time until none is left. Not the batches taken here
		 * that are still on their way into their hours.
		 */
		async recoverBatches(this: Self) {
			let folded = 0;
			for (;;) {
				const query = { open: true, createdAt: { $lt: staleBefore(now().getTime(), this.db.samples.atomicBatches ? this.startedAt : 0) } };
				const stale = (await this.db.ingest_batches.find(query, { limit: RECOVERY_PAGE })).filter(b => !this.inFlight.has(b._id));
				for (const b of stale) {
					await this.fold(b._id, await this.claimedSamples(b));
					await this.closeBatches([b._id]);
				}
				folded += stale.length;
				if (stale.length < RECOVERY_PAGE) return folded;
			}
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
			if (state.closedUpTo <= limit) await this.othersFlushed();
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

		/**
		 * Before hours close: the samples the other replicas took are in their hours too (this run
		 * wrote this replica's). A replica keeps them in memory for up to FLUSH_MS, their batches open
		 * meanwhile: waits, a bounded time, until no batch open now is — but a stale one's (a dead
		 * replica's: a recovery folds it, into a new revision if its hour closed meanwhile).
		 */
		async othersFlushed(this: Self) {
			await this.flush();
			const since = now();
			const deadline = Date.now() + FLUSH_MS + OTHERS_FLUSH_SLACK_MS;
			for (;;) {
				const query = { open: true, createdAt: { $lt: since, $gte: staleBefore(now().getTime(), 0) } };
				const open = (await this.db.ingest_batches.find(query, { limit: RECOVERY_PAGE })).filter(b => !this.inFlight.has(b._id));
				if (!open.length || Date.now() >= deadline) return;
				await new Promise(resolve => setTimeout(resolve, 200));
			}
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
		this.startedAt = now().getTime();
		this.pending = new PendingHours();
		this.inFlight = new Set();
		this.retiredKeys = new RetiredBatchKeys();
		this.flushTimer = null;
		this.flushRunning = null;
	},

	async started(this: Self) {
		// What a previous run left open is folded now, not at the first close-hours run (jobs may be off).
		await this.recoverBatches().catch(err => this.logger.error("Folding the batches left open failed; the close-hours job tries again", err));
		if (usageStreamMode() === "jetstream") {
			this.queue = usageQueue(this.logger);
			await this.queue.connect();
		}
	},

	async stopped(this: Self) {
		if (this.flushTimer) clearTimeout(this.flushTimer);
		this.flushTimer = null;
		await this.flush();
		await this.queue?.close();
	},
});

export default MeteringService;
