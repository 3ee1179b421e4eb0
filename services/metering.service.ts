// metering: usage samples from the orchestrator (MTR-1), hourly node buckets (MTR-2), and the
// durable stream of closed environment-hours to billing. Every step is idempotent, so a crash,
// a resent batch or a second replica never counts a sample twice:
//
//   ingest   — the batch is stored open, with its samples, in `ingest_batches`; then it claims
//              their ids in `samples` with one insert (one transaction on SQLite, an unordered
//              insert on MongoDB) in which a unique index decides: a sample whose id another
//              batch claimed is a duplicate. Both before the request is answered; the samples
//              claimed then wait in memory, folded into their environment-hours. The same on
//              every store (metering/intake.ts, batches.ts).
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
//              or pulled by billing (`metering.nextRecords` / `ackRecords`, embedded): one
//              `Delivery`, chosen when the service starts (metering/delivery.ts).
// The rules live in metering/ (see its README.md); this file validates, loads, calls and stores.
import type { Context, Service } from "moleculer";
import { now } from "../lib/clock";
import { notFound } from "../lib/errors";
import { defineService } from "../lib/service-schema";
import { HOUR_MS } from "../lib/usage-record";
import { createDbMixin } from "../mixins/db.mixin";
import { createJobsMixin } from "../mixins/jobs.mixin";
import { envHours, ingestBatches, meteringState, samples } from "../models/metering";
import { staleBefore } from "./metering/batches";
import { buildDirty, closeHours, type InventoryPage } from "./metering/close-hours";
import { markDelivered, openDelivery, outbox, undeliveredRecords, type Delivery } from "./metering/delivery";
import { checkBatch, claimBatch, NodeDirectory, type NodesOf } from "./metering/intake";
import { PendingHours, RetiredBatchKeys, type PendingHour } from "./metering/pending";
import { MAX_BATCH } from "./metering/samples";
import { addToHour, claimedSamples, closeBatches, envHourId, fold, PartlyTaken, refoldHour, type MeteringStores } from "./metering/store";
import { usageOf, usageRange } from "./metering/usage";

type Self = Service & {
	db: MeteringStores;
	nodes: NodeDirectory;
	delivery: Delivery;
	/** when this process started (ms): a batch open since before then is stale (batches.ts) */
	startedAt: number;
	pending: PendingHours;
	/** batches taken here whose samples are not all in their hours yet (recovery leaves them alone) */
	inFlight: Set<string>;
	/** the batch keys written into hours here that their next write may drop */
	retiredKeys: RetiredBatchKeys;
	flushTimer: NodeJS.Timeout | null;
	flushRunning: Promise<void> | null;
	scheduleFlush(): void;
	flush(): Promise<void>;
	writeHours(hours: PendingHour[]): Promise<void>;
	othersFlushed(): Promise<void>;
	recoverBatches(): Promise<number>;
};

/** Open batches read at a time by a recovery. */
const RECOVERY_PAGE = 100;
/**
 * Samples wait up to this long in memory before their hours take them: one write per hour for many
 * batches. (Reading an environment's usage, and closing hours, write them first.)
 */
const FLUSH_MS = 5000;
/** How much longer than FLUSH_MS an hour's close waits for the other replicas to write what they hold. */
const OTHERS_FLUSH_SLACK_MS = 3000;

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
				const closed = await closeHours({
					db: this.db,
					nowMs: now().getTime(),
					inventory: q => ctx.call<InventoryPage, typeof q>("environments.inventory", q),
					beforeClosing: () => this.othersFlushed(),
					firstEnvironmentAt: async () => {
						const { at } = await ctx.call<{ at: string | null }>("environments.firstCreated");
						return at === null ? null : Date.parse(at);
					},
				});
				const built = await buildDirty(this.db);
				await this.delivery.deliver(this.db.env_hours);
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
				const nodesOf = (envIds: string[]) => ctx.call<NodesOf[], { envIds: string[] }>("environments.nodesOf", { envIds });
				const { fresh, rejected } = await checkBatch(ctx.params.samples, time.getTime(), this.nodes, nodesOf);
				const took = fresh.length ? await claimBatch(this.db, this.inFlight, fresh, time) : null;
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
			async handler(this: Self, ctx: Context<{ id: string; from?: string; to?: string }, { user: { id: string }; onBehalfOf?: { accountId: string } }>) {
				const env = await ctx.call<{ envId: string; ownerId: string; name: string } | null, { id: string }>("environments.ownerOf", { id: ctx.params.id });
				// COL-6: a member's request comes with the owner the gateway checked its roles for.
				if (!env || env.ownerId !== (ctx.meta.onBehalfOf?.accountId ?? ctx.meta.user.id)) throw notFound("Environment");
				const { from, to } = usageRange(ctx.params, now().getTime());
				await this.flush(); // what this replica accepted is shown
				return usageOf(this.db.env_hours, env.envId, from, to);
			},
		},

		/* ---- the usage stream in embedded mode: billing pulls records and acknowledges them ---- */

		/** Internal: the oldest undelivered records. */
		nextRecords: {
			visibility: "public",
			params: { limit: { type: "number", integer: true, min: 1, max: 5000, optional: true, default: 500 } },
			async handler(this: Self, ctx: Context<{ limit: number }>) {
				return undeliveredRecords(this.db.env_hours, ctx.params.limit);
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
				return { acked: await markDelivered(this.db.env_hours, ctx.params.records) };
			},
		},
	},

	methods: {
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
					await addToHour(this.db.env_hours, h.batches, h.envId, h.hour, h.nodes, drop);
				} catch (err) {
					if (!(err instanceof PartlyTaken)) throw err;
					return refoldHour(this.db, h.batches, h.envId, h.hour);
				}
				this.retiredKeys.wrote(id, h.hour, h.batches, drop);
			};
			try {
				await Promise.all(hours.map(write));
				await closeBatches(this.db, batches);
				// Closed: no recovery folds them again.
				this.retiredKeys.retire(batches, now().getTime());
			} finally {
				// Done, or left open for a recovery to fold again.
				for (const b of batches) this.inFlight.delete(b);
			}
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
					await fold(this.db, b._id, await claimedSamples(this.db, b));
					await closeBatches(this.db, [b._id]);
				}
				folded += stale.length;
				if (stale.length < RECOVERY_PAGE) return folded;
			}
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
	},

	created(this: Self) {
		this.nodes = new NodeDirectory();
		this.delivery = outbox;
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
		this.delivery = await openDelivery(this.logger);
	},

	async stopped(this: Self) {
		if (this.flushTimer) clearTimeout(this.flushTimer);
		this.flushTimer = null;
		await this.flush();
		await this.delivery.close();
	},
});

export default MeteringService;
