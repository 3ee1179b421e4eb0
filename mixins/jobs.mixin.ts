// Scheduled jobs (node-cron, UTC) with a lease in the service's own database, so that each tick
// runs on one replica only and two runs of one job never overlap. Every job is idempotent and
// can be run on demand: POST /api/v1/admin/jobs/<service>.<job>/run → `<service>.runJob`.
//
//   jobs: { "password-expiry": { cron: "0 * * * *", async handler() { ...; return processed } } }
//
// A lease is held while its run's heartbeat is fresh: the run renews `heartbeatAt` every
// LEASE_HEARTBEAT_MS, and a lease whose heartbeat is older than LEASE_STALE_MS (30 s) belongs to a
// process that died (kill -9, power cut, lost host), so any replica takes it over — the next
// minute's tick runs the job, not one ten minutes on (`leaseMs`). A holder on this host whose pid is gone is taken over at once (a
// restart after kill -9 runs its jobs straight away). Every takeover is one conditional update
// naming what it replaces, so two takers never both win.
import { readlinkSync } from "fs";
import { hostname } from "os";
import cron, { type ScheduledTask } from "node-cron";
import type { Context, Service, ServiceSchema } from "moleculer";
import { defineMixin } from "../lib/service-schema";
import { envString } from "../lib/config";
import { conflict, notFound } from "../lib/errors";
import { jobLeases } from "../models/jobs";
import { createDbMixin, DuplicateKeyError, type Store } from "./db.mixin";

export interface JobDefinition {
	/** cron expression, evaluated in UTC */
	cron: string;
	/**
	 * The longest a run may take (ms) before another replica may assume it hung and run the job
	 * again. The heartbeat tells a dead holder; this cap is for a live one whose run never ends
	 * (a call that is never answered), which the heartbeat — a timer of its own — cannot tell.
	 */
	leaseMs?: number;
	/** does the work with `ctx` for its calls; returns how many items it processed */
	handler(this: Service, ctx: Context): Promise<number>;
}

type JobsService = Service & {
	db: Record<string, Store>;
	_cronTasks: ScheduledTask[];
	runJob(name: string, tick?: Date, ctx?: Context): Promise<{ job: string; processed: number; skipped?: boolean }>;
};

// Leases are about real concurrency between replicas, so they use wall time, not the platform
// clock (which tests move by days).
const wallNow = () => Date.now();
const DAY_MS = 86_400_000;
const DEFAULT_LEASE_MS = 10 * 60_000;
/** How often a run renews its lease. */
export const LEASE_HEARTBEAT_MS = 10_000;
/**
 * A lease whose heartbeat is older than this is a dead holder's: three heartbeats missed, with
 * room for clock skew between hosts; short enough that the next minute's tick after a kill -9
 * takes the job over (issue 14 item 8: within 60 s).
 */
export const LEASE_STALE_MS = 30_000;

export interface LeaseTiming {
	heartbeatMs: number;
	staleMs: number;
}

/**
 * This host as holders name it: the hostname, and on Linux the pid namespace, because two
 * containers on one host (host network: one hostname) each have a pid 1 — only a pid of our own
 * namespace can be asked whether it lives.
 */
export const LEASE_HOST = (() => {
	try {
		return `${hostname()}/${/\[(\d+)\]/.exec(readlinkSync("/proc/self/ns/pid"))?.[1] ?? ""}`;
	} catch {
		return hostname();
	}
})();

/** Holders of the runs going on in this process (holder = `<host>:<pid>:<run>`, one per run). */
const liveHolders = new Set<string>();

/** A holder's form: `<host>:<pid>:<run>`. */
export const HOLDER_FORMAT = /^(.*):(\d+):([^:]+)$/;

/**
 * Is `holder` a process on this host that no longer exists? Anything else may be alive. `live`:
 * the holders running in this process (the job runs, by default).
 */
export function holderIsDead(holder: string, live: ReadonlySet<string> = liveHolders): boolean {
	const m = HOLDER_FORMAT.exec(holder);
	if (!m || m[1] !== LEASE_HOST) return false;
	const pid = Number(m[2]);
	// A pid is not reused while its process lives: ours, in a holder we do not run, is a previous one's.
	if (pid === process.pid) return !live.has(holder);
	try {
		process.kill(pid, 0);
		return false;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === "ESRCH"; // EPERM: it lives, as someone else
	}
}

/** `timing` is for tests; a deployment keeps the defaults. */
export function createJobsMixin(serviceName: string, timing: Partial<LeaseTiming> = {}): Partial<ServiceSchema> {
	const leaseSpec = jobLeases(serviceName);
	const { heartbeatMs, staleMs } = { heartbeatMs: LEASE_HEARTBEAT_MS, staleMs: LEASE_STALE_MS, ...timing };

	return defineMixin<JobsService>({
		mixins: [createDbMixin([leaseSpec])],
		actions: {
			runJob: {
				visibility: "public",
				params: { job: { type: "string", min: 1 } },
				async handler(this: JobsService, ctx: Context<{ job: string }>) {
					return this.runJob(ctx.params.job, undefined, ctx);
				},
			},
			listJobs: {
				visibility: "public",
				handler(this: JobsService) {
					const jobs = (this.schema as unknown as { jobs?: Record<string, JobDefinition> }).jobs ?? {};
					return Object.entries(jobs).map(([name, j]) => ({ name: `${serviceName}.${name}`, cron: j.cron }));
				},
			},
		},
		methods: {
			async runJob(this: JobsService, name: string, tick?: Date, callerCtx?: Context) {
				const jobs = (this.schema as unknown as { jobs?: Record<string, JobDefinition> }).jobs ?? {};
				const job = jobs[name];
				if (!job) throw notFound(`Job ${serviceName}.${name}`);
				const leases = this.db[leaseSpec.name];
				const fullName = `${serviceName}.${name}`;

				// One holder per run: a run's heartbeat and release touch its own lease only.
				const holder = `${LEASE_HOST}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`;

				if (tick) {
					// One replica takes each scheduled tick; the others see the record and skip it.
					try {
						await leases.insert({ _id: `${name}@${tick.toISOString()}`, holder, expiresAt: new Date(wallNow() + DAY_MS) });
					} catch (err) {
						if (err instanceof DuplicateKeyError) return { job: fullName, processed: 0, skipped: true };
						throw err;
					}
				}

				const now = wallNow();
				const until = new Date(now + (job.leaseMs ?? DEFAULT_LEASE_MS));
				const lease = { holder, heartbeatAt: new Date(now), until, expiresAt: new Date(until.getTime() + DAY_MS) };
				// Live before it is written: a run of this process that reads the lease while the write is
				// still on its way back (a networked store) must see a running holder, not a dead one.
				liveHolders.add(holder);
				let taken: unknown = null;
				try {
					// Free: released or past its cap, or its holder stopped beating. (A lease written before
					// heartbeats has no heartbeatAt, matches no $lt, and lasts until `until` as it did.)
					taken = await leases.updateOne(
						{ _id: name, $or: [{ until: { $lt: new Date(now) } }, { heartbeatAt: { $lt: new Date(now - staleMs) } }] },
						{ $set: lease },
					);
					if (!taken) {
						try {
							taken = await leases.insert({ _id: name, ...lease });
						} catch (err) {
							if (!(err instanceof DuplicateKeyError)) throw err;
						}
					}
					if (!taken) {
						// Held by a process of this host that is gone: ours now, if no other taker replaced it first.
						const current = await leases.findById(name);
						if (current && holderIsDead(String(current.holder))) taken = await leases.updateOne({ _id: name, holder: current.holder }, { $set: lease });
					}
				} catch (err) {
					liveHolders.delete(holder);
					throw err;
				}
				if (!taken) {
					liveHolders.delete(holder);
					if (tick) return { job: fullName, processed: 0, skipped: true };
					throw conflict(`Job ${fullName} is running already`, { job: fullName });
				}

				const heartbeat = setInterval(() => {
					leases.updateOne({ _id: name, holder }, { $set: { heartbeatAt: new Date(wallNow()) } }).then(
						renewed => {
							if (renewed || !liveHolders.has(holder)) return; // renewed, or the run ended meanwhile
							clearInterval(heartbeat);
							this.logger.warn(`Job ${fullName} lost its lease while running (past leaseMs, or its heartbeat came too late)`);
						},
						err => this.logger.warn(`Job ${fullName}: renewing its lease failed`, err),
					);
				}, heartbeatMs);
				heartbeat.unref();
				try {
					// A scheduled tick has no caller: its calls start a context of their own.
					const ctx = callerCtx ?? this.broker.ContextFactory.create(this.broker, null as never, {}, {});
					const processed = await job.handler.call(this, ctx);
					return { job: fullName, processed };
				} finally {
					clearInterval(heartbeat);
					liveHolders.delete(holder);
					await leases.updateOne({ _id: name, holder }, { $set: { until: new Date(0), heartbeatAt: new Date(0) } });
				}
			},
		},
		started(this: JobsService) {
			this._cronTasks = [];
			if (envString("QM_JOBS", "on") === "off") return;
			const jobs = (this.schema as unknown as { jobs?: Record<string, JobDefinition> }).jobs ?? {};
			for (const [name, job] of Object.entries(jobs)) {
				const task = cron.schedule(
					job.cron,
					async () => {
						const tick = new Date(Math.floor(wallNow() / 60_000) * 60_000);
						try {
							const res = await this.runJob(name, tick);
							if (!res.skipped) this.logger.info(`Job ${res.job} processed ${res.processed}`);
						} catch (err) {
							this.logger.error(`Job ${serviceName}.${name} failed`, err);
						}
					},
					{ timezone: "UTC", name: `${serviceName}.${name}` },
				);
				this._cronTasks.push(task);
			}
		},
		async stopped(this: JobsService) {
			for (const t of this._cronTasks ?? []) await t.destroy();
		},
	});
}
