// notifications: every email and in-app notice of the platform (NTF-1). Callers name a template
// and a dedup key; the message is rendered, kept in the outbox (always), delivered over SMTP when
// SMTP_URL is set, and retried with backoff by the `deliver` job. A second request with the same
// dedup key is a no-op, so jobs that run twice or on two replicas never send twice.
import nodemailer, { type Transporter } from "nodemailer";
import type { Context, Service } from "moleculer";
import { defineService } from "../lib/service-schema";
import { now, MINUTE } from "../lib/clock";
import { envString } from "../lib/config";
import { newId } from "../lib/crypto";
import { notFound } from "../lib/errors";
import { pageOf, pageParams, skipOf } from "../lib/pagination";
import { createDbMixin, DuplicateKeyError, type Doc, type Store } from "../mixins/db.mixin";
import { createJobsMixin } from "../mixins/jobs.mixin";
import { inbox, outbox } from "../models/notifications";
import { render, templateNames } from "./notifications/templates";

interface OutboxDoc extends Doc {
	dedupKey: string;
	to: string;
	accountId?: string;
	template: string;
	subject: string;
	text: string;
	html: string;
	links: string[];
	status: "queued" | "sending" | "sent" | "stored" | "retrying" | "failed";
	attempts: number;
	lastError?: string;
	createdAt: Date;
	sentAt?: Date;
	nextAttemptAt?: Date;
}

interface InboxDoc extends Doc {
	dedupKey: string;
	accountId: string;
	template: string;
	title: string;
	body: string;
	createdAt: Date;
	readAt?: Date | null;
}

type Self = Service & {
	db: { outbox: Store<OutboxDoc>; inapp_notifications: Store<InboxDoc> };
	mailer: Transporter | null;
	deliver(id: string): Promise<boolean>;
};

type User = { id: string };
const MAX_ATTEMPTS = 8;
const SENDING_LEASE_MS = 2 * MINUTE;

/** 1, 2, 4 … 64 minutes between attempts. */
function backoffMs(attempts: number): number {
	return Math.min(64, 2 ** Math.max(0, attempts - 1)) * MINUTE;
}

const NotificationsService = defineService<Self>({
	name: "notifications",
	mixins: [createDbMixin([outbox, inbox]), createJobsMixin("notifications")],

	jobs: {
		deliver: {
			cron: "* * * * *",
			async handler(this: Self) {
				const t = now();
				const due = await this.db.outbox.find(
					{
						$or: [
							{ status: { $in: ["queued", "retrying"] }, nextAttemptAt: { $lte: t } },
							{ status: "sending", nextAttemptAt: { $lte: t } },
						],
					},
					{ sort: { createdAt: 1 }, limit: 500 },
				);
				let sent = 0;
				for (const d of due) if (await this.deliver(d._id)) sent++;
				return sent;
			},
		},
	},

	actions: {
		/** Internal: render a template and queue it (NTF-1). */
		send: {
			visibility: "public",
			params: {
				template: { type: "enum", values: templateNames() },
				to: { type: "email" },
				accountId: { type: "string", optional: true },
				dedupKey: { type: "string", min: 1, max: 300 },
				data: { type: "object", optional: true, default: {} }, // template data: any fields
			},
			async handler(this: Self, ctx: Context<{ template: string; to: string; accountId?: string; dedupKey: string; data: Record<string, string> }>) {
				const { template, to, accountId, dedupKey, data } = ctx.params;
				const r = render(template, data);
				const createdAt = now();
				const doc: OutboxDoc = {
					_id: newId(),
					dedupKey,
					to: to.toLowerCase(),
					accountId,
					template,
					subject: r.subject,
					text: r.text,
					html: r.html,
					links: r.links,
					status: "queued",
					attempts: 0,
					createdAt,
					nextAttemptAt: createdAt,
				};
				try {
					await this.db.outbox.insert(doc);
				} catch (err) {
					if (err instanceof DuplicateKeyError) return { duplicate: true };
					throw err;
				}
				if (r.inApp && accountId) {
					await this.db.inapp_notifications
						.insert({ _id: newId(), dedupKey, accountId, template, title: r.inApp.title, body: r.inApp.body, createdAt, readAt: null })
						.catch(err => {
							if (!(err instanceof DuplicateKeyError)) throw err;
						});
				}
				// Delivery does not hold up the caller; the `deliver` job retries what fails.
				this.deliver(doc._id).catch(err => this.logger.warn("Email delivery failed; it will be retried", err));
				return { duplicate: false };
			},
		},

		list: {
			params: { ...pageParams, unread: { type: "boolean", convert: true, optional: true } },
			async handler(this: Self, ctx: Context<{ page: number; pageSize: number; unread?: boolean }, { user: User }>) {
				const query: Record<string, unknown> = { accountId: ctx.meta.user.id };
				if (ctx.params.unread) query.readAt = null;
				const { page, pageSize } = ctx.params;
				const [rows, total] = await Promise.all([
					this.db.inapp_notifications.find(query, { sort: { createdAt: -1 }, skip: skipOf(page, pageSize), limit: pageSize }),
					this.db.inapp_notifications.count(query),
				]);
				return pageOf(
					rows.map(n => ({ id: n._id, title: n.title, body: n.body, createdAt: n.createdAt, read: !!n.readAt, readAt: n.readAt ?? null })),
					total,
					page,
					pageSize,
				);
			},
		},

		markRead: {
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(this: Self, ctx: Context<{ id: string }, { user: User }>) {
				const q = { _id: ctx.params.id, accountId: ctx.meta.user.id };
				const n =
					(await this.db.inapp_notifications.updateOne({ ...q, readAt: null }, { $set: { readAt: now() } })) ?? (await this.db.inapp_notifications.findOne(q));
				if (!n) throw notFound("Notification");
				return { id: n._id, read: true, readAt: n.readAt };
			},
		},

		adminOutbox: {
			params: { to: { type: "string", optional: true, max: 320 }, ...pageParams },
			async handler(this: Self, ctx: Context<{ to?: string; page: number; pageSize: number }>) {
				const query: Record<string, unknown> = ctx.params.to ? { to: ctx.params.to.trim().toLowerCase() } : {};
				const { page, pageSize } = ctx.params;
				const [rows, total] = await Promise.all([
					this.db.outbox.find(query, { sort: { createdAt: -1 }, skip: skipOf(page, pageSize), limit: pageSize }),
					this.db.outbox.count(query),
				]);
				return pageOf(
					rows.map(m => ({
						id: m._id,
						to: m.to,
						template: m.template,
						subject: m.subject,
						text: m.text,
						links: m.links,
						status: m.status,
						attempts: m.attempts,
						createdAt: m.createdAt,
						sentAt: m.sentAt ?? null,
					})),
					total,
					page,
					pageSize,
				);
			},
		},
	},

	methods: {
		/** Claims one message and sends it; true when it went out (or was stored, without SMTP). */
		async deliver(this: Self, id: string) {
			const t = now();
			const claimed = await this.db.outbox.updateOne(
				{ _id: id, status: { $in: ["queued", "retrying", "sending"] }, nextAttemptAt: { $lte: t } },
				{ $set: { status: "sending", nextAttemptAt: new Date(t.getTime() + SENDING_LEASE_MS) } },
			);
			if (!claimed) return false;
			if (!this.mailer) {
				await this.db.outbox.updateOne({ _id: id }, { $set: { status: "stored" }, $unset: { nextAttemptAt: true } });
				return true;
			}
			try {
				await this.mailer.sendMail({
					from: envString("MAIL_FROM", "Quartermaster <no-reply@localhost>"),
					to: claimed.to,
					subject: claimed.subject,
					text: claimed.text,
					html: claimed.html,
				});
				await this.db.outbox.updateOne(
					{ _id: id },
					{ $set: { status: "sent", sentAt: now() }, $inc: { attempts: 1 }, $unset: { nextAttemptAt: true, lastError: true } },
				);
				return true;
			} catch (err) {
				const attempts = claimed.attempts + 1;
				const failed = attempts >= MAX_ATTEMPTS;
				await this.db.outbox.updateOne(
					{ _id: id },
					{
						$set: {
							status: failed ? "failed" : "retrying",
							attempts,
							lastError: String((err as Error).message).slice(0, 500),
							nextAttemptAt: new Date(now().getTime() + backoffMs(attempts)),
						},
					},
				);
				this.logger.warn(`Email ${id} (${claimed.template}) not delivered, attempt ${attempts}${failed ? ", giving up" : ""}`);
				return false;
			}
		},
	},

	created(this: Self) {
		const url = envString("SMTP_URL");
		this.mailer = url ? nodemailer.createTransport(url) : null;
	},

	stopped(this: Self) {
		this.mailer?.close();
	},
});

export default NotificationsService;
