// quotas: the quota catalogue (QTA-2), each group's values and per-account overrides (QTA-1),
// effective values (override ?? group), the "Account Limits" view beside the billing group's
// (QTA-5), and atomic reservations of countable quotas (QTA-4): a reservation is one conditional
// `$inc` that cannot take `used` past the limit, so parallel creates never overshoot.
import type { Context, Service } from "moleculer";
import { actingAccountId, ownerIdParam } from "../lib/acting-for";
import { addMs, now } from "../lib/clock";
import { newId } from "../lib/crypto";
import { conflict, notFound, quotaExceeded, validationError } from "../lib/errors";
import { defineService } from "../lib/service-schema";
import { createDbMixin, DuplicateKeyError, type Doc, type Store } from "../mixins/db.mixin";
import { createJobsMixin } from "../mixins/jobs.mixin";
import { groupQuotas, quotaOverrides, quotaReservations, quotaUsage } from "../models/quotas";
import { checkValue, defaultValue, QUOTA_BY_KEY, QUOTA_KEYS, type QuotaValue } from "./quotas/catalogue";

interface GroupQuotaDoc extends Doc {
	group: string;
	key: string;
	value: QuotaValue;
}
interface OverrideDoc extends Doc {
	accountId: string;
	key: string;
	value: QuotaValue;
}
interface UsageDoc extends Doc {
	accountId: string;
	key: string;
	used: number;
}
interface ReservationDoc extends Doc {
	accountId: string;
	key: string;
	amount: number;
	state: "reserved" | "committed" | "released";
	createdAt: Date;
	expiresAt: Date;
}
interface GroupRef {
	name: string;
	type: string;
	conversionGroup: string | null;
}
interface AccountRef {
	id: string;
	group: string;
}

type Self = Service & {
	db: { group_quotas: Store<GroupQuotaDoc>; quota_overrides: Store<OverrideDoc>; quota_usage: Store<UsageDoc>; quota_reservations: Store<ReservationDoc> };
	groupCache: Map<string, { values: Record<string, QuotaValue>; until: number }>;
	groups(ctx: Context): Promise<GroupRef[]>;
	groupValues(group: string): Promise<Record<string, QuotaValue>>;
	effective(ctx: Context, accountId: string, knownGroup?: string): Promise<{ group: string; values: Record<string, QuotaValue> }>;
	accountOf(ctx: Context, id: string): Promise<AccountRef>;
	knownKey(key: string): void;
	release(reservation: ReservationDoc): Promise<boolean>;
};

const GROUP_CACHE_MS = 5_000;
const DEFAULT_RESERVATION_SECONDS = 300;

const QuotasService = defineService<Self>({
	name: "quotas",
	mixins: [createDbMixin([groupQuotas, quotaOverrides, quotaUsage, quotaReservations]), createJobsMixin("quotas")],

	jobs: {
		/** QTA-4: reservations whose holder never committed or released them give their amount back. */
		"release-expired": {
			cron: "* * * * *",
			async handler(this: Self) {
				const expired = await this.db.quota_reservations.find({ state: "reserved", expiresAt: { $lte: now() } }, { limit: 1000 });
				let released = 0;
				for (const r of expired) if (await this.release(r)) released++;
				return released;
			},
		},
	},

	actions: {
		/** GET /account/quotas — mine, and the billing group's beside them (QTA-5). */
		mine: {
			params: { ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ ownerId?: string }, { user: { id: string }; onBehalfOf?: { accountId: string } }>) {
				const mine = await this.effective(ctx, actingAccountId(ctx.meta, ctx.params.ownerId)); // COL-7: a member, the owner's limits
				const group = (await this.groups(ctx)).find(g => g.name === mine.group);
				const billingGroup = group?.conversionGroup ?? "billing";
				return { group: mine.group, quotas: mine.values, billingGroup, billingGroupQuotas: await this.groupValues(billingGroup) };
			},
		},

		/** Internal: an account's effective values (override ?? group value). */
		effective: {
			visibility: "public",
			// `group`, when the caller knows it (accounts does), saves asking accounts for it.
			params: { accountId: { type: "string", min: 1 }, group: { type: "string", min: 1, optional: true } },
			handler(this: Self, ctx: Context<{ accountId: string; group?: string }>) {
				return this.effective(ctx, ctx.params.accountId, ctx.params.group);
			},
		},

		/**
		 * Internal (QTA-4): reserve `amount` of a countable quota for an account. Refused with
		 * 422 QUOTA_EXCEEDED {quota, limit, requested} when it would pass the limit. Commit or
		 * release the answer's reservation id; an abandoned one is released when it expires.
		 */
		reserve: {
			visibility: "public",
			params: {
				accountId: { type: "string", min: 1 },
				key: { type: "string", min: 1 },
				amount: { type: "number", integer: true, positive: true },
				ttlSeconds: { type: "number", integer: true, positive: true, max: 86_400, optional: true },
			},
			async handler(this: Self, ctx: Context<{ accountId: string; key: string; amount: number; ttlSeconds?: number }>) {
				const { accountId, key, amount } = ctx.params;
				this.knownKey(key);
				const limit = Number((await this.effective(ctx, accountId)).values[key]);
				const id = `${accountId}|${key}`;
				const take = () => this.db.quota_usage.updateOne(limit < 0 ? { _id: id } : { _id: id, used: { $lte: limit - amount } }, { $inc: { used: amount } });
				let usage = await take();
				if (!usage) {
					// Over the limit, or the account's first use of this quota: the counter is created
					// if missing and taken again. (Looking first would race: a concurrent first use may
					// create it between the take and the look, and this request be refused under its limit.)
					await this.db.quota_usage.insert({ _id: id, accountId, key, used: 0 }).catch(err => {
						if (!(err instanceof DuplicateKeyError)) throw err;
					});
					usage = await take();
				}
				if (!usage) {
					const current = (await this.db.quota_usage.findById(id))?.used ?? 0;
					throw quotaExceeded(key, limit, current + amount);
				}
				const t = now();
				const reservation: ReservationDoc = {
					_id: newId(),
					accountId,
					key,
					amount,
					state: "reserved",
					createdAt: t,
					expiresAt: addMs(t, (ctx.params.ttlSeconds ?? DEFAULT_RESERVATION_SECONDS) * 1000),
				};
				await this.db.quota_reservations.insert(reservation);
				return { reservationId: reservation._id, used: usage.used, limit };
			},
		},

		/** Internal: the reserved amount stays used (the thing was created). */
		commit: {
			visibility: "public",
			params: { reservationId: { type: "string", min: 1 } },
			async handler(this: Self, ctx: Context<{ reservationId: string }>) {
				const r = await this.db.quota_reservations.updateOne({ _id: ctx.params.reservationId, state: "reserved" }, { $set: { state: "committed" } });
				if (!r) throw conflict("The reservation is no longer open (released or expired)");
				return { committed: true };
			},
		},

		/** Internal: give a reservation back (the create failed); also `free` for deletions. */
		release: {
			visibility: "public",
			params: { reservationId: { type: "string", min: 1 } },
			async handler(this: Self, ctx: Context<{ reservationId: string }>) {
				const r = await this.db.quota_reservations.findById(ctx.params.reservationId);
				if (!r) throw notFound("Reservation");
				return { released: await this.release(r) };
			},
		},

		/** Internal: something counted was deleted; lowering limits never blocks this (QTA-4). */
		free: {
			visibility: "public",
			params: { accountId: { type: "string", min: 1 }, key: { type: "string", min: 1 }, amount: { type: "number", integer: true, positive: true } },
			async handler(this: Self, ctx: Context<{ accountId: string; key: string; amount: number }>) {
				this.knownKey(ctx.params.key);
				const u = await this.db.quota_usage.updateOne(
					{ _id: `${ctx.params.accountId}|${ctx.params.key}`, used: { $gte: ctx.params.amount } },
					{ $inc: { used: -ctx.params.amount } },
				);
				return { used: u?.used ?? 0 };
			},
		},

		/** Internal: the owning service counted what really exists; open reservations come on top. */
		recount: {
			visibility: "public",
			params: { accountId: { type: "string", min: 1 }, key: { type: "string", min: 1 }, actual: { type: "number", integer: true, min: 0 } },
			async handler(this: Self, ctx: Context<{ accountId: string; key: string; actual: number }>) {
				this.knownKey(ctx.params.key);
				const open = await this.db.quota_reservations.find({ accountId: ctx.params.accountId, key: ctx.params.key, state: "reserved" });
				const used = ctx.params.actual + open.reduce((a, r) => a + r.amount, 0);
				const before = (await this.db.quota_usage.findById(`${ctx.params.accountId}|${ctx.params.key}`))?.used ?? 0;
				await this.db.quota_usage.updateOne(
					{ _id: `${ctx.params.accountId}|${ctx.params.key}` },
					{ $set: { accountId: ctx.params.accountId, key: ctx.params.key, used } },
					{ upsert: true },
				);
				return { used, drift: used - before };
			},
		},

		/** Internal: what is used now (tests, recount). */
		usage: {
			visibility: "public",
			params: { accountId: { type: "string", min: 1 }, key: { type: "string", min: 1 } },
			async handler(this: Self, ctx: Context<{ accountId: string; key: string }>) {
				return { used: (await this.db.quota_usage.findById(`${ctx.params.accountId}|${ctx.params.key}`))?.used ?? 0 };
			},
		},

		/** GET /admin/quotas — every key with its unit and each group's value. */
		adminCatalogue: {
			params: {},
			async handler(this: Self, ctx: Context) {
				const groups = await this.groups(ctx);
				const values = Object.fromEntries(await Promise.all(groups.map(async g => [g.name, await this.groupValues(g.name)] as const)));
				return QUOTA_KEYS.map(q => ({
					key: q.key,
					description: q.description,
					unit: q.unit,
					groups: Object.fromEntries(groups.map(g => [g.name, values[g.name][q.key]])),
				}));
			},
		},

		/** PUT /admin/groups/{name}/quotas/{key} {value} */
		adminSetGroupQuota: {
			params: { name: { type: "string", min: 1, max: 100 }, key: { type: "string", min: 1, max: 100 }, value: { type: "any" } },
			async handler(this: Self, ctx: Context<{ name: string; key: string; value: unknown }>) {
				this.knownKey(ctx.params.key);
				const checked = checkValue(QUOTA_BY_KEY.get(ctx.params.key)!, ctx.params.value);
				if ("error" in checked) throw validationError({ field: "value", message: checked.error });
				if (!(await this.groups(ctx)).some(g => g.name === ctx.params.name)) throw notFound(`Group ${ctx.params.name}`);
				await this.db.group_quotas.updateOne(
					{ _id: `${ctx.params.name}|${ctx.params.key}` },
					{ $set: { group: ctx.params.name, key: ctx.params.key, value: checked.value } },
					{ upsert: true },
				);
				this.groupCache.delete(ctx.params.name);
				ctx.broadcast("quotas.changed", { group: ctx.params.name, key: ctx.params.key });
				return { group: ctx.params.name, key: ctx.params.key, value: checked.value };
			},
		},

		/** PUT /admin/accounts/{id}/quotas/{key} {value} */
		adminSetOverride: {
			params: { id: { type: "string", min: 1, max: 64 }, key: { type: "string", min: 1, max: 100 }, value: { type: "any" } },
			async handler(this: Self, ctx: Context<{ id: string; key: string; value: unknown }>) {
				this.knownKey(ctx.params.key);
				const checked = checkValue(QUOTA_BY_KEY.get(ctx.params.key)!, ctx.params.value);
				if ("error" in checked) throw validationError({ field: "value", message: checked.error });
				await this.accountOf(ctx, ctx.params.id);
				await this.db.quota_overrides.updateOne(
					{ _id: `${ctx.params.id}|${ctx.params.key}` },
					{ $set: { accountId: ctx.params.id, key: ctx.params.key, value: checked.value } },
					{ upsert: true },
				);
				ctx.broadcast("quotas.changed", { accountId: ctx.params.id, key: ctx.params.key });
				return (await this.effective(ctx, ctx.params.id)).values;
			},
		},

		/** DELETE /admin/accounts/{id}/quotas/{key} */
		adminDeleteOverride: {
			params: { id: { type: "string", min: 1, max: 64 }, key: { type: "string", min: 1, max: 100 } },
			async handler(this: Self, ctx: Context<{ id: string; key: string }>) {
				this.knownKey(ctx.params.key);
				await this.accountOf(ctx, ctx.params.id);
				const removed = await this.db.quota_overrides.remove({ _id: `${ctx.params.id}|${ctx.params.key}` });
				if (!removed) throw notFound(`Override of ${ctx.params.key}`);
				ctx.broadcast("quotas.changed", { accountId: ctx.params.id, key: ctx.params.key });
				return null;
			},
		},
	},

	events: {
		/** Another replica changed a group's value: forget the cached one. */
		"quotas.changed": {
			params: { group: { type: "string", optional: true } },
			handler(this: Self, ctx: Context<{ group?: string }>) {
				if (ctx.params.group) this.groupCache.delete(ctx.params.group);
			},
		},
	},

	methods: {
		groups(ctx: Context) {
			return ctx.call<GroupRef[]>("accounts.listGroups");
		},

		/** A group's value of every key: stored values over the built-in defaults. */
		async groupValues(this: Self, group: string) {
			const hit = this.groupCache.get(group);
			if (hit && hit.until > Date.now()) return hit.values;
			const stored = await this.db.group_quotas.find({ group });
			// A group added by an admin starts from the built-in values of its type.
			const builtIn = ["trial", "billing", "post", "beta", "collaboration"].includes(group);
			const type = builtIn ? group : ((await this.broker.call<GroupRef[]>("accounts.listGroups")).find(g => g.name === group)?.type ?? "billing");
			const values: Record<string, QuotaValue> = Object.fromEntries(QUOTA_KEYS.map(q => [q.key, defaultValue(q, builtIn ? group : type)]));
			for (const s of stored) if (QUOTA_BY_KEY.has(s.key)) values[s.key] = s.value;
			this.groupCache.set(group, { values, until: Date.now() + GROUP_CACHE_MS });
			return values;
		},

		/** QTA-1: effective = override ?? group value. */
		async effective(this: Self, ctx: Context, accountId: string, knownGroup?: string) {
			const group = knownGroup ?? (await this.accountOf(ctx, accountId)).group;
			const [values, overrides] = await Promise.all([this.groupValues(group), this.db.quota_overrides.find({ accountId })]);
			const out = { ...values };
			for (const o of overrides) if (QUOTA_BY_KEY.has(o.key)) out[o.key] = o.value;
			return { group, values: out };
		},

		async accountOf(ctx: Context, id: string) {
			const [a] = await ctx.call<AccountRef[], { ids: string[] }>("accounts.identities", { ids: [id] });
			if (!a) throw notFound("Account");
			return a;
		},

		knownKey(key: string) {
			if (!QUOTA_BY_KEY.has(key)) throw validationError({ field: "key", message: `"${key}" is not a quota key (see GET /api/v1/admin/quotas)` });
		},

		/** Gives a still-open reservation's amount back, once. */
		async release(this: Self, r: ReservationDoc) {
			const released = await this.db.quota_reservations.updateOne({ _id: r._id, state: "reserved" }, { $set: { state: "released" } });
			if (!released) return false;
			await this.db.quota_usage.updateOne({ _id: `${r.accountId}|${r.key}`, used: { $gte: r.amount } }, { $inc: { used: -r.amount } });
			return true;
		},
	},

	created(this: Self) {
		this.groupCache = new Map();
	},
});

export default QuotasService;
