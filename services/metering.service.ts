// metering: usage samples from the orchestrator (MTR-1), hourly node buckets (MTR-2), and the
// durable stream of closed environment-hours to billing. Every step is idempotent, so a crash,
// a resent batch or a second replica never counts a sample twice:
//
//   ingest   — each sample id is stored once (a resent sample is a duplicate); the batch's
//              samples are folded into node-hour buckets with one atomic update per bucket that
//              also records the batch, so folding a batch again changes nothing; then the batch
//              is `done`. A batch left `open` by a crash is folded again by the close-hours job.
//              Every environment-hour touched is marked dirty.
//   close    — after an hour's grace period, the hour's inventory (environments.inventory) is
//              joined to its buckets: one record per environment-hour, built for the latest
//              touch with one conditional update (a sample arriving meanwhile makes it dirty
//              again). Late samples re-open the hour: a new revision of the record (MTR-2).
//   deliver  — records wait in this store until delivered: published to JetStream (distributed)
//              or pulled by billing (`metering.nextRecords` / `ackRecords`, embedded).
import type { Context, Service } from "moleculer";
import { HOUR, now } from "../lib/clock";
import { envInt } from "../lib/config";
import { newId } from "../lib/crypto";
import { notFound, validationError, type FieldError } from "../lib/errors";
import { groupBy } from "../lib/group-by";
import type { JetStreamQueue } from "../lib/jetstream-queue";
import { defineService } from "../lib/service-schema";
import { TtlCache } from "../lib/ttl-cache";
import { usageQueue, usageStreamMode } from "../lib/usage-stream";
import { HOUR_MS, hourOf, recordId, type UsageRecord } from "../lib/usage-record";
import { createDbMixin, DuplicateKeyError, type Doc, type Store } from "../mixins/db.mixin";
import { createJobsMixin } from "../mixins/jobs.mixin";
import { envHours, ingestBatches, meteringState, samples } from "../models/metering";
import { buildRecord, type Bucket, type Inventory } from "./metering/env-hours";
import { checkSample, foldSamples, isRejection, MAX_AGE_MS, MAX_BATCH, type BucketDelta, type Rejection, type Sample } from "./metering/samples";

/** A sample's id, claimed by the batch that stored it first. */
interface SampleDoc extends Doc {
	batch: string;
	expiresAt: Date;
}
interface BatchDoc extends Doc {
	state: "open" | "done";
	/** the batch's samples until it is done (to fold it again after a crash) */
	samples?: Sample[];
	createdAt: Date;
	expiresAt: Date;
}
type NodeBucket = Omit<Bucket, "nodeId">;
interface EnvHourDoc extends Doc {
	envId: string;
	hour: number;
	nodes?: Record<string, NodeBucket>;
	/** the ingestion batches the hour took, as keys (a map, not a list: see addToHour) */
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
	knownNodes(ctx: Context, samples: Sample[]): Promise<Map<string, Set<string>>>;
	fold(batch: string, samples: Sample[]): Promise<void>;
	addToHour(batch: string, envId: string, hour: number, deltas: BucketDelta[]): Promise<void>;
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
		 * environment-hours (late samples included), and delivers them; also folds batches a
		 * crash left open. Safe to run twice and on two replicas at once.
		 */
		"close-hours": {
			cron: "* * * * *",
			async handler(this: Self, ctx: Context) {
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
				const nowMs = now().getTime();
				const rejected: Rejection[] = [];
				const valid: Sample[] = [];
				const seen = new Set<string>();
				let duplicates = 0;
				ctx.params.samples.forEach((raw, i) => {
					const s = checkSample(raw, i, nowMs);
					if (isRejection(s)) rejected.push(s);
					else if (seen.has(s.id)) duplicates++;
					else {
						seen.add(s.id);
						valid.push(s);
					}
				});
				const known = await this.knownNodes(ctx, valid);
				const indexOf = new Map(ctx.params.samples.map((raw, i) => [(raw as { id?: unknown })?.id, i]));
				const fresh: Sample[] = [];
				for (const s of valid) {
					const nodes = known.get(s.envId);
					const index = indexOf.get(s.id) as number;
					if (!nodes) rejected.push({ index, type: "UNKNOWN_ENVIRONMENT", field: "envId", message: `no environment ${s.envId}` });
					else if (!nodes.has(s.nodeId))
						rejected.push({ index, type: "UNKNOWN_NODE", field: "nodeId", message: `environment ${s.envId} has no node ${s.nodeId}` });
					else fresh.push(s);
				}
				rejected.sort((a, b) => a.index - b.index);
				if (!fresh.length) return { accepted: 0, duplicates, rejected };

				// Samples already stored (an earlier send) are duplicates. The batch keeps its samples until
				// they are folded, so a crash at any point leaves it to fold again; then it claims their ids.
				const time = now();
				const stored = new Set((await this.db.samples.find({ _id: { $in: fresh.map(s => s.id) } })).map(d => d._id));
				const candidates = fresh.filter(s => !stored.has(s.id));
				if (!candidates.length) return { accepted: 0, duplicates: duplicates + fresh.length, rejected };
				const batch = newId();
				await this.db.ingest_batches.insert({
					_id: batch,
					state: "open",
					samples: candidates,
					createdAt: time,
					expiresAt: new Date(time.getTime() + 7 * 24 * HOUR),
				});
				const expiresAt = new Date(time.getTime() + SAMPLE_MEMORY_MS);
				const refused = new Set(await this.db.samples.insertMany(candidates.map(s => ({ _id: s.id, batch, expiresAt }))));
				const mine = candidates.filter((_, i) => !refused.has(i));
				duplicates += fresh.length - mine.length;
				await this.fold(batch, mine);
				await this.db.ingest_batches.updateOne({ _id: batch }, { $set: { state: "done" }, $unset: { samples: true } });
				return { accepted: mine.length, duplicates, rejected };
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
		/** Node ids per environment, cached; environments asked only for the unknown. */
		async knownNodes(this: Self, ctx: Context, list: Sample[]) {
			const t = Date.now();
			const out = new Map<string, Set<string>>();
			const ask = new Set<string>();
			for (const s of list) {
				const nodes = this.envCache.get(s.envId, t);
				if (nodes?.has(s.nodeId)) out.set(s.envId, nodes);
				else ask.add(s.envId);
			}
			if (ask.size) {
				const envIds = [...ask];
				for (let i = 0; i < envIds.length; i += 1000) {
					const rows = await ctx.call<NodesOf[], { envIds: string[] }>("environments.nodesOf", { envIds: envIds.slice(i, i + 1000) });
					for (const r of rows) {
						const nodes = new Set(r.nodeIds);
						this.envCache.set(r.envId, nodes, t);
						out.set(r.envId, nodes);
					}
				}
				for (const id of envIds) if (!out.has(id)) this.envCache.delete(id);
			}
			return out;
		},

		/** MTR-2: the batch's samples into their hours' node buckets, each hour once per batch (a refold changes nothing). */
		async fold(this: Self, batch: string, list: Sample[]) {
			const byHour = groupBy(foldSamples(list), d => envHourId(d.envId, d.hour));
			await Promise.all([...byHour.values()].map(deltas => this.addToHour(batch, deltas[0].envId, deltas[0].hour, deltas)));
		},

		/**
		 * One environment-hour takes one batch's deltas once, with one atomic update conditioned on
		 * the hour not having taken the batch; it also marks the hour dirty. An hour not stored yet
		 * is inserted with them (a concurrent insert makes us update instead). Portability: the
		 * batches taken are keys of a map, because `$ne`/`$nin` on an array mean "no element" on
		 * MongoDB but "some element" on NeDB; and no upsert, which NeDB would build from the condition.
		 */
		async addToHour(this: Self, batch: string, envId: string, hour: number, deltas: BucketDelta[]) {
			const _id = envHourId(envId, hour);
			const $max: Record<string, number> = {};
			const $inc: Record<string, number> = { touches: 1 };
			for (const d of deltas) {
				const at = `nodes.${d.nodeId}`;
				Object.assign($max, { [`${at}.peakRamMiB`]: d.peakRamMiB, [`${at}.peakDiskMB`]: d.peakDiskMB });
				Object.assign($inc, {
					[`${at}.cpuSum`]: d.cpuSum,
					[`${at}.cpuCount`]: d.cpuCount,
					[`${at}.trafficInMB`]: d.trafficInMB,
					[`${at}.trafficOutMB`]: d.trafficOutMB,
					[`${at}.samples`]: d.samples,
				});
			}
			for (let attempt = 1; attempt <= 10; attempt++) {
				const updated = await this.db.env_hours.updateOne(
					{ _id, [`batches.${batch}`]: { $exists: false } },
					{ $max, $inc, $set: { [`batches.${batch}`]: 1, dirty: true, updatedAt: now() } },
				);
				if (updated) return;
				const existing = await this.db.env_hours.findById(_id);
				if (existing?.batches?.[batch]) return; // taken already: a refold
				if (existing) continue; // stored just now (a close, or another batch): update it
				const nodes: Record<string, NodeBucket> = {};
				for (const { envId: _e, nodeId, hour: _h, ...bucket } of deltas) nodes[nodeId] = bucket;
				try {
					await this.db.env_hours.insert({ _id, envId, hour, nodes, batches: { [batch]: 1 }, dirty: true, touches: 1, updatedAt: now() });
					return;
				} catch (err) {
					if (!(err instanceof DuplicateKeyError)) throw err;
				}
			}
			throw new Error(`Environment-hour ${_id} kept changing while batch ${batch} was folded into it`);
		},

		/** Batches a crash left open: their samples that they claimed are folded again (the hours skip what they took). */
		async recoverBatches(this: Self) {
			const stale = await this.db.ingest_batches.find({ state: "open", createdAt: { $lt: new Date(now().getTime() - STALE_BATCH_MS) } }, { limit: 100 });
			for (const b of stale) {
				const list = b.samples ?? [];
				const claimed = new Set((await this.db.samples.find({ _id: { $in: list.map(s => s.id) }, batch: b._id })).map(d => d._id));
				await this.fold(
					b._id,
					list.filter(s => claimed.has(s.id)),
				);
				await this.db.ingest_batches.updateOne({ _id: b._id }, { $set: { state: "done" }, $unset: { samples: true } });
			}
			return stale.length;
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
	},

	async started(this: Self) {
		if (usageStreamMode() === "jetstream") {
			this.queue = usageQueue(this.logger);
			await this.queue.connect();
		}
	},

	async stopped(this: Self) {
		await this.queue?.close();
	},
});

export default MeteringService;
