// Scheduled jobs (node-cron, UTC) with a lease in the service's own database, so that each tick
// runs on one replica only and two runs of one job never overlap. Every job is idempotent and
// can be run on demand: POST /api/v1/admin/jobs/<service>.<job>/run → `<service>.runJob`.
//
//   jobs: { "password-expiry": { cron: "0 * * * *", async handler() { ...; return processed } } }
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
	/** the longest a run may take before another replica may assume it died (ms) */
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

export function createJobsMixin(serviceName: string): Partial<ServiceSchema> {
	const leaseSpec = jobLeases(serviceName);
	const holder = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;

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

				if (tick) {
					// One replica takes each scheduled tick; the others see the record and skip it.
					try {
						await leases.insert({ _id: `${name}@${tick.toISOString()}`, holder, expiresAt: new Date(wallNow() + DAY_MS) });
					} catch (err) {
						if (err instanceof DuplicateKeyError) return { job: fullName, processed: 0, skipped: true };
						throw err;
					}
				}

				const until = new Date(wallNow() + (job.leaseMs ?? 10 * 60_000));
				const lease = { holder, until, expiresAt: new Date(until.getTime() + DAY_MS) };
				let taken = await leases.updateOne({ _id: name, until: { $lt: new Date(wallNow()) } }, { $set: lease });
				if (!taken) {
					try {
						taken = await leases.insert({ _id: name, ...lease });
					} catch (err) {
						if (!(err instanceof DuplicateKeyError)) throw err;
					}
				}
				if (!taken) {
					if (tick) return { job: fullName, processed: 0, skipped: true };
					throw conflict(`Job ${fullName} is running already`, { job: fullName });
				}
				try {
					// A scheduled tick has no caller: its calls start a context of their own.
					const ctx = callerCtx ?? this.broker.ContextFactory.create(this.broker, null as never, {}, {});
					const processed = await job.handler.call(this, ctx);
					return { job: fullName, processed };
				} finally {
					await leases.updateOne({ _id: name, holder }, { $set: { until: new Date(0) } });
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
