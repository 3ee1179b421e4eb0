// audit: one trail of who did what to whose account (COL-8, ADM-2). The gateway records every admin
// action and every member action on another account's resources — actor, the owner acted for, the
// API method, the target with its state before and after, the request id, the client IP and the
// time — and this service keeps them: `GET /admin/audit` for administrators, `GET /account/audit`
// for an account (what its members and administrators did in it). Append-only.
import type { Context, Service } from "moleculer";
import { newId } from "../lib/crypto";
import { pageOf, pageParams, skipOf } from "../lib/pagination";
import { defineService } from "../lib/service-schema";
import { periodParams } from "../lib/time-params";
import { createDbMixin, type Store } from "../mixins/db.mixin";
import { auditEntries } from "../models/audit";
import { auditView, redacted, type AuditEntry } from "./audit/entry";

type Doc = AuditEntry & { _id: string };
type Self = Service & {
	db: { audit_entries: Store<Doc> };
	page(ctx: Context<Filters>, fixed: Record<string, unknown>): Promise<ReturnType<typeof pageOf>>;
};

interface Filters {
	actor?: string;
	account?: string;
	action?: string;
	target?: string;
	from?: string;
	to?: string;
	page: number;
	pageSize: number;
}

const text = { type: "string", optional: true, min: 1, max: 254 } as const;
const period = { from: { ...text, max: 40 }, to: { ...text, max: 40 } };

const AuditService = defineService<Self>({
	name: "audit",
	mixins: [createDbMixin([auditEntries])],

	actions: {
		/** Internal: the gateway's record of one audited request. */
		record: {
			visibility: "public",
			params: { entry: { type: "object" } },
			async handler(this: Self, ctx: Context<{ entry: Omit<AuditEntry, "time"> & { time: string } }>) {
				const e = ctx.params.entry;
				const doc: Doc = { ...e, _id: newId(), time: new Date(e.time), before: redacted(e.before), after: redacted(e.after) };
				await this.db.audit_entries.insert(doc);
				return { id: doc._id };
			},
		},

		/** GET /admin/audit?actor&account&action&target&from&to (ADM-2) */
		adminList: {
			params: { actor: text, account: text, action: text, target: text, ...period, ...pageParams },
			handler(this: Self, ctx: Context<Filters>) {
				return this.page(ctx, ctx.params.account ? { account: ctx.params.account } : {});
			},
		},

		/** GET /account/audit?actor&action&from&to — what happened in my account: my members' and administrators' actions (COL-8). */
		accountList: {
			params: { actor: text, action: text, ...period, ...pageParams },
			handler(this: Self, ctx: Context<Filters, { user: { id: string } }>) {
				return this.page(ctx, { account: ctx.meta.user.id });
			},
		},
	},

	methods: {
		async page(this: Self, ctx: Context<Filters>, fixed: Record<string, unknown>) {
			const { actor, action, target, page, pageSize } = ctx.params;
			const { from, to } = periodParams(ctx.params);
			const and: Record<string, unknown>[] = [fixed];
			if (actor) and.push({ $or: [{ actorId: actor }, { actorEmail: actor.toLowerCase() }] });
			if (action) and.push({ action });
			if (target) and.push({ "target.id": target });
			if (from || to) and.push({ time: { ...(from ? { $gte: from } : {}), ...(to ? { $lt: to } : {}) } });
			const q = { $and: and };
			const [rows, total] = await Promise.all([
				this.db.audit_entries.find(q, { sort: { time: -1 }, skip: skipOf(page, pageSize), limit: pageSize }),
				this.db.audit_entries.count(q),
			]);
			return pageOf(rows.map(auditView), total, page, pageSize);
		},
	},
});

export default AuditService;
