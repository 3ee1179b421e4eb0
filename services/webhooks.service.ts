// webhooks: outgoing signed webhooks for the provider's own systems — its CRM, accounting, an
// external billing (BIL-7). Administrators register endpoints (a URL, the event types, a secret
// shown once); account and billing events become signed deliveries, tried at once and then by the
// job `webhooks.deliver` with backoff for 24 h, each try kept in the endpoint's delivery log.
// The modules in services/webhooks/ hold the logic; what lives where: services/webhooks/README.md.
import type { Context, Service } from "moleculer";
import { now } from "../lib/clock";
import { envFlag } from "../lib/config";
import { newId, randomToken } from "../lib/crypto";
import { notFound, validationError } from "../lib/errors";
import { pageOf, pageParams, skipOf } from "../lib/pagination";
import { open, seal } from "../lib/secretbox";
import { defineService } from "../lib/service-schema";
import { createDbMixin, type Store } from "../mixins/db.mixin";
import { createJobsMixin } from "../mixins/jobs.mixin";
import { webhookDeliveries, webhookEndpoints } from "../models/webhooks";
import { dueDeliveries, recordEvent, redeliver, tryScheduled, type DeliveryDoc, type DeliveryParams, type EndpointDoc } from "./webhooks/deliveries";
import { WEBHOOK_EVENTS, webhookEvent, type EventSource } from "./webhooks/payload";
import { checkTarget } from "./webhooks/target";
import { deliveryView, endpointView } from "./webhooks/views";

type Meta = { user?: { id: string } };

type Self = Service & {
	db: { webhook_endpoints: Store<EndpointDoc>; webhook_deliveries: Store<DeliveryDoc> };
	deps: DeliveryParams;
	/** tries started by events, awaited at stop (graceful shutdown) */
	inFlight: Set<Promise<unknown>>;
	endpoint(id: string): Promise<EndpointDoc>;
	hear(source: string, ctx: Context<Record<string, unknown>>): Promise<void>;
	background(work: Promise<unknown>): void;
};

/** Deliveries one job run takes, and how many of them are sent at the same time. */
const JOB_BATCH = 200;
const JOB_CONCURRENCY = 10;

const allowPrivate = () => envFlag("QM_WEBHOOKS_ALLOW_PRIVATE");

const idRule = { type: "string", min: 1, max: 64 } as const;

/** The events followed (every one payload.ts maps, the type says), and what each must carry (other fields pass, lib/validator.ts). */
const accountEvent = { id: idRule };
const billingEvent = { accountId: idRule };
const invoiceEvent = { accountId: idRule, invoiceId: idRule };
const EVENT_PARAMS: Record<EventSource, Record<string, typeof idRule>> = {
	"accounts.created": accountEvent,
	"accounts.status.changed": accountEvent,
	"accounts.upgraded": accountEvent,
	"billing.invoice.created": invoiceEvent,
	"billing.invoice.paid": invoiceEvent,
	"billing.payment.failed": invoiceEvent,
	"billing.balance.low": billingEvent,
	"billing.autorefill.failed": billingEvent,
};

const WebhooksService = defineService<Self>({
	name: "webhooks",
	mixins: [createDbMixin([webhookEndpoints, webhookDeliveries]), createJobsMixin("webhooks")],

	jobs: {
		/** BIL-7: the scheduled tries that are due (a failed try waits 1 min, 5 min, … up to 24 h after the event). */
		deliver: {
			cron: "* * * * *",
			async handler(this: Self) {
				const due = await dueDeliveries(this.deps, JOB_BATCH);
				let tried = 0;
				const worker = async () => {
					for (let d = due.shift(); d; d = due.shift()) if (await tryScheduled(this.deps, d)) tried++;
				};
				await Promise.all(Array.from({ length: JOB_CONCURRENCY }, worker));
				return tried;
			},
		},
	},

	actions: {
		/** GET /admin/webhooks */
		list: {
			params: { ...pageParams },
			async handler(this: Self, ctx: Context<{ page: number; pageSize: number }>) {
				const { page, pageSize } = ctx.params;
				const [rows, total] = await Promise.all([
					this.db.webhook_endpoints.find({}, { sort: { createdAt: -1 }, skip: skipOf(page, pageSize), limit: pageSize }),
					this.db.webhook_endpoints.count({}),
				]);
				return pageOf(rows.map(endpointView), total, page, pageSize);
			},
		},

		/** GET /admin/webhooks/{id} */
		get: {
			params: { id: idRule },
			async handler(this: Self, ctx: Context<{ id: string }>) {
				return endpointView(await this.endpoint(ctx.params.id));
			},
		},

		/** POST /admin/webhooks {url, events, secret?, description?} → 201 with the secret, this once. */
		create: {
			params: {
				url: { type: "string", min: 1, max: 2048 },
				events: { type: "array", min: 1, max: 20, items: { type: "enum", values: [...WEBHOOK_EVENTS] } },
				secret: { type: "string", min: 16, max: 256, optional: true },
				description: { type: "string", trim: true, max: 200, optional: true },
			},
			async handler(this: Self, ctx: Context<{ url: string; events: string[]; secret?: string; description?: string }, Meta>) {
				const target = await checkTarget(ctx.params.url, { allowPrivate: allowPrivate() });
				if (!target.ok) throw validationError({ field: "url", message: target.reason });
				const secret = ctx.params.secret ?? `whsec_${randomToken(32)}`;
				const doc: EndpointDoc = {
					_id: newId(),
					url: target.url.href,
					events: [...new Set(ctx.params.events)],
					description: ctx.params.description ?? "",
					secretSealed: seal(secret),
					createdBy: ctx.meta.user!.id,
					createdAt: now(),
				};
				await this.db.webhook_endpoints.insert(doc);
				return { ...endpointView(doc), secret };
			},
		},

		/** DELETE /admin/webhooks/{id} — its deliveries go with it (none is tried again). */
		remove: {
			params: { id: idRule },
			async handler(this: Self, ctx: Context<{ id: string }>) {
				if (!(await this.db.webhook_endpoints.remove({ _id: ctx.params.id }))) throw notFound("Webhook");
				await this.db.webhook_deliveries.remove({ endpointId: ctx.params.id });
			},
		},

		/** GET /admin/webhooks/{id}/deliveries?status= — newest first, each with its tries. */
		deliveries: {
			params: { id: idRule, status: { type: "enum", values: ["pending", "delivered", "failed"], optional: true }, ...pageParams },
			async handler(this: Self, ctx: Context<{ id: string; status?: string; page: number; pageSize: number }>) {
				const { id, status, page, pageSize } = ctx.params;
				await this.endpoint(id);
				const query = { endpointId: id, ...(status ? { status } : {}) };
				const [rows, total] = await Promise.all([
					this.db.webhook_deliveries.find(query, { sort: { createdAt: -1 }, skip: skipOf(page, pageSize), limit: pageSize }),
					this.db.webhook_deliveries.count(query),
				]);
				return pageOf(rows.map(deliveryView), total, page, pageSize);
			},
		},

		/** POST /admin/webhooks/{id}/deliveries/{deliveryId}/redeliver — one try now, the same event id; answers the delivery after it. */
		redeliver: {
			params: { id: idRule, deliveryId: idRule },
			async handler(this: Self, ctx: Context<{ id: string; deliveryId: string }>) {
				const d = await this.db.webhook_deliveries.findOne({ _id: ctx.params.deliveryId, endpointId: ctx.params.id });
				if (!d) throw notFound("Delivery");
				const after = await redeliver(this.deps, d);
				if (!after) throw notFound("Webhook");
				return deliveryView(after);
			},
		},
	},

	events: Object.fromEntries(
		Object.entries(EVENT_PARAMS).map(([source, params]) => [
			source,
			{
				params,
				handler(this: Self, ctx: Context<Record<string, unknown>>) {
					return this.hear(source, ctx);
				},
			},
		]),
	),

	methods: {
		async endpoint(this: Self, id: string) {
			const e = await this.db.webhook_endpoints.findById(id);
			if (!e) throw notFound("Webhook");
			return e;
		},

		/** Records the event for the endpoints that want it and tries each delivery at once, without holding up the event. */
		async hear(this: Self, source: string, ctx: Context<Record<string, unknown>>) {
			const event = webhookEvent(source, ctx.params, ctx.requestID ?? ctx.id, now());
			if (!event) return;
			try {
				for (const d of await recordEvent(this.deps, event)) this.background(tryScheduled(this.deps, d));
			} catch (err) {
				this.logger.error(`Webhook event ${event.type} ${event.id} could not be recorded`, err);
			}
		},

		background(this: Self, work: Promise<unknown>) {
			const tracked = work
				.catch(err => this.logger.warn("A webhook try failed unexpectedly; the job tries again", err))
				.finally(() => this.inFlight.delete(tracked));
			this.inFlight.add(tracked);
		},
	},

	created(this: Self) {
		this.inFlight = new Set();
		this.deps = {
			endpoints: this.db.webhook_endpoints,
			deliveries: this.db.webhook_deliveries,
			allowPrivate,
			secretOf: e => open(e.secretSealed),
			warn: message => this.logger.warn(message),
		};
	},

	async stopped(this: Self) {
		// Graceful: tries under way end (5 s at most) before the stores close.
		await Promise.all(this.inFlight);
	},
});

export default WebhooksService;
