// environments: the inventory of environments, their nodes and options, and environment groups
// (ENV-1, ENV-2). Every lifecycle command checks the account's status (STS-1) and its quotas
// (QTA-3) — the environment count atomically through a reservation in `quotas` (QTA-4) — and is
// published as an event for the orchestrator (`environments.created`, `.started`, `.stopped`,
// `.changed`, `.deleted`, `.transferred`). Transfers go to active, non-trial accounts (ENV-3).
import type { Context, Service } from "moleculer";
import { now } from "../lib/clock";
import { newId } from "../lib/crypto";
import { conflict, forbidden, insufficientBalance, invalidState, notFound, quotaExceeded, validationError } from "../lib/errors";
import { CURRENCY, formatMoney, parseMoney } from "../lib/money";
import { pageOf, pageParams, skipOf } from "../lib/pagination";
import { defineService } from "../lib/service-schema";
import { createDbMixin, DuplicateKeyError, type Doc, type Store } from "../mixins/db.mixin";
import { createJobsMixin } from "../mixins/jobs.mixin";
import { envGroups, environments } from "../models/environments";
import { quotaViolation, shapeErrors, type NodeGroup, type Topology } from "./environments/topology";

interface EnvDoc extends Doc, Topology {
	ownerId: string;
	ownerName: string;
	name: string;
	status: "running" | "stopped";
	groups: string[];
	/** stopped by a deactivation or suspension: started again on reactivation (STS-2/3) */
	rememberedRunning?: boolean;
	createdAt: Date;
	updatedAt: Date;
}

interface GroupDoc extends Doc {
	ownerId: string;
	name: string;
	parentId: string | null;
	createdAt: Date;
}

interface User {
	id: string;
	email: string;
	status: "active" | "deactivated" | "suspended" | "destroyed";
}

type Meta = { user: User };

interface TopologyParams {
	name?: string;
	ownerId?: string;
	nodes?: Partial<NodeGroup>[];
	ssl?: boolean;
	highAvailability?: boolean;
	customDomains?: string[];
	groups?: string[];
}

type Self = Service & {
	db: { environments: Store<EnvDoc>; env_groups: Store<GroupDoc> };
	own(ctx: Context, id: string): Promise<EnvDoc>;
	mayChange(ctx: Context, what: "create" | "modify" | "start" | "stop" | "delete" | "transfer"): void;
	checkQuotas(ctx: Context, accountId: string, t: Topology, current?: Topology): Promise<void>;
	checkGroups(ctx: Context, ids: string[]): Promise<void>;
	checkMinBalance(ctx: Context, accountId: string): Promise<void>;
	view(e: EnvDoc, ownerEmail?: string): Record<string, unknown>;
	publish(ctx: Context, event: string, e: EnvDoc): void;
};

const nodeRule = {
	type: "object",
	props: {
		layer: { type: "string", pattern: /^[a-z][a-z0-9-]{0,31}$/, messages: { stringPattern: "must be a short lower-case name such as cp or sqldb" } },
		type: { type: "string", min: 1, max: 64 },
		count: { type: "number", integer: true, min: 1, max: 100, optional: true, default: 1 },
		reservedCloudlets: { type: "number", integer: true, min: 0, max: 10_000 },
		scalingLimit: { type: "number", integer: true, min: 1, max: 10_000 },
		diskLimitGB: { type: "number", integer: true, min: 1, max: 100_000, optional: true, default: 10 },
		publicIPv4: { type: "number", integer: true, min: 0, max: 64, optional: true, default: 0 },
		publicIPv6: { type: "number", integer: true, min: 0, max: 64, optional: true, default: 0 },
	},
} as const;

const topologyRules = {
	nodes: { type: "array", items: nodeRule, min: 1, max: 50 },
	ssl: { type: "boolean", optional: true },
	highAvailability: { type: "boolean", optional: true },
	customDomains: {
		type: "array",
		items: { type: "string", pattern: /^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$/i, messages: { stringPattern: "must be a domain name" } },
		max: 50,
		optional: true,
	},
	groups: { type: "array", items: { type: "string", min: 1, max: 64 }, max: 20, optional: true },
} as const;

const nameRule = {
	type: "string",
	pattern: /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/,
	messages: { stringPattern: "must be 1-63 letters, digits and dashes" },
} as const;

// STS-1: what each account status may do with environments.
const ALLOWED: Record<User["status"], string[]> = {
	active: ["create", "modify", "start", "stop", "delete", "transfer"],
	deactivated: ["stop", "delete", "transfer"],
	suspended: [],
	destroyed: [],
};

const EnvironmentsService = defineService<Self>({
	name: "environments",
	mixins: [createDbMixin([environments, envGroups]), createJobsMixin("environments")],

	jobs: {
		/** QTA-4: the environment count in `quotas` is set again from the inventory, repairing any drift. */
		"recount-quotas": {
			cron: "40 * * * *",
			async handler(this: Self, ctx: Context) {
				const all = await this.db.environments.find({});
				const counts = new Map<string, number>();
				for (const e of all) counts.set(e.ownerId, (counts.get(e.ownerId) ?? 0) + 1);
				let repaired = 0;
				for (const [accountId, actual] of counts) {
					const r = await ctx.call<{ drift: number }, Record<string, unknown>>("quotas.recount", { accountId, key: "environment.maxcount", actual });
					if (r.drift) repaired++;
				}
				return repaired;
			},
		},
	},

	actions: {
		/** GET /environments */
		list: {
			params: { ...pageParams },
			async handler(this: Self, ctx: Context<{ page: number; pageSize: number }, Meta>) {
				const q = { ownerId: ctx.meta.user.id };
				const { page, pageSize } = ctx.params;
				const [rows, total] = await Promise.all([
					this.db.environments.find(q, { sort: { createdAt: 1 }, skip: skipOf(page, pageSize), limit: pageSize }),
					this.db.environments.count(q),
				]);
				return pageOf(
					rows.map(e => this.view(e, ctx.meta.user.email)),
					total,
					page,
					pageSize,
				);
			},
		},

		/** GET /environments/{id} */
		get: {
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				return this.view(await this.own(ctx, ctx.params.id), ctx.meta.user.email);
			},
		},

		/** POST /environments — created running (ENV-1, QTA-3). */
		create: {
			params: { name: nameRule, ownerId: { type: "string", optional: true, max: 64 }, ...topologyRules },
			async handler(this: Self, ctx: Context<TopologyParams & { name: string; nodes: NodeGroup[] }, Meta>) {
				const me = ctx.meta.user;
				// Creating for another owner comes with collaboration (COL-7); until then only for oneself.
				if (ctx.params.ownerId && ctx.params.ownerId !== me.id) throw notFound("Account");
				this.mayChange(ctx, "create");
				const t: Topology = {
					nodes: ctx.params.nodes,
					ssl: !!ctx.params.ssl,
					highAvailability: !!ctx.params.highAvailability,
					customDomains: ctx.params.customDomains ?? [],
				};
				const errors = shapeErrors(t);
				if (errors.length) throw validationError(errors);
				await this.checkGroups(ctx, ctx.params.groups ?? []);
				await this.checkQuotas(ctx, me.id, t);
				await this.checkMinBalance(ctx, me.id);
				const { reservationId } = await ctx.call<{ reservationId: string }, Record<string, unknown>>("quotas.reserve", {
					accountId: me.id,
					key: "environment.maxcount",
					amount: 1,
				});
				const time = now();
				const env: EnvDoc = {
					_id: newId(),
					ownerId: me.id,
					ownerName: `${me.id}|${ctx.params.name.toLowerCase()}`,
					name: ctx.params.name,
					status: "running",
					groups: ctx.params.groups ?? [],
					createdAt: time,
					updatedAt: time,
					...t,
				};
				try {
					await this.db.environments.insert(env);
				} catch (err) {
					await ctx.call("quotas.release", { reservationId });
					if (err instanceof DuplicateKeyError)
						throw conflict(`You have an environment named ${ctx.params.name} already`, [
							{ field: "name", message: "is taken by another of your environments" },
						]);
					throw err;
				}
				await ctx.call("quotas.commit", { reservationId });
				this.publish(ctx, "environments.created", env);
				this.publish(ctx, "environments.started", env);
				return this.view(env, me.email);
			},
		},

		/** PATCH /environments/{id} — topology and options; only raises are checked against quotas. */
		change: {
			params: { id: { type: "string", min: 1, max: 64 }, ...topologyRules, nodes: { ...topologyRules.nodes, optional: true } },
			async handler(this: Self, ctx: Context<TopologyParams & { id: string }, Meta>) {
				this.mayChange(ctx, "modify");
				const env = await this.own(ctx, ctx.params.id);
				const next: Topology = {
					nodes: (ctx.params.nodes as NodeGroup[] | undefined) ?? env.nodes,
					ssl: ctx.params.ssl ?? env.ssl,
					highAvailability: ctx.params.highAvailability ?? env.highAvailability,
					customDomains: ctx.params.customDomains ?? env.customDomains,
				};
				const errors = shapeErrors(next);
				if (errors.length) throw validationError(errors);
				if (ctx.params.groups) await this.checkGroups(ctx, ctx.params.groups);
				await this.checkQuotas(ctx, env.ownerId, next, env);
				const updated = await this.db.environments.updateOne(
					{ _id: env._id, ownerId: env.ownerId, updatedAt: env.updatedAt },
					{ $set: { ...next, groups: ctx.params.groups ?? env.groups, updatedAt: now() } },
				);
				if (!updated) throw conflict("The environment changed at the same moment; read it again and retry");
				this.publish(ctx, "environments.changed", updated);
				return this.view(updated, ctx.meta.user.email);
			},
		},

		/** POST /environments/{id}/start */
		start: {
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				this.mayChange(ctx, "start");
				const env = await this.own(ctx, ctx.params.id);
				if (env.status === "running") return this.view(env, ctx.meta.user.email);
				await this.checkQuotas(ctx, env.ownerId, env);
				const updated = await this.db.environments.updateOne(
					{ _id: env._id, status: "stopped" },
					{ $set: { status: "running", rememberedRunning: false, updatedAt: now() } },
				);
				if (updated) this.publish(ctx, "environments.started", updated);
				return this.view(updated ?? (await this.own(ctx, env._id)), ctx.meta.user.email);
			},
		},

		/** POST /environments/{id}/stop — never blocked by quotas (QTA-4). */
		stop: {
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				this.mayChange(ctx, "stop");
				const env = await this.own(ctx, ctx.params.id);
				// Stopped by hand: not started again on reactivation either.
				const updated = await this.db.environments.updateOne({ _id: env._id }, { $set: { status: "stopped", rememberedRunning: false, updatedAt: now() } });
				if (updated && env.status === "running") this.publish(ctx, "environments.stopped", updated);
				return this.view(updated ?? env, ctx.meta.user.email);
			},
		},

		/** DELETE /environments/{id} — never blocked by quotas (QTA-4). */
		remove: {
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				this.mayChange(ctx, "delete");
				const env = await this.own(ctx, ctx.params.id);
				if (!(await this.db.environments.remove({ _id: env._id, ownerId: env.ownerId }))) throw notFound("Environment");
				await ctx.call("quotas.free", { accountId: env.ownerId, key: "environment.maxcount", amount: 1 });
				this.publish(ctx, "environments.deleted", env);
				return null;
			},
		},

		/** POST /environments/{id}/transfer {email} — to an active, non-trial account within its quotas (ENV-3). */
		transfer: {
			params: { id: { type: "string", min: 1, max: 64 }, email: { type: "email", normalize: true, max: 254 } },
			async handler(this: Self, ctx: Context<{ id: string; email: string }, Meta>) {
				this.mayChange(ctx, "transfer");
				const env = await this.own(ctx, ctx.params.id);
				const found = await ctx.call<{ id: string } | null, { email: string }>("accounts.findByEmail", { email: ctx.params.email });
				const target = found
					? await ctx.call<{ id: string; email: string; status: string; type: string } | null, { id: string }>("accounts.identity", { id: found.id })
					: null;
				if (!target) throw validationError({ field: "email", message: "has no account on this platform" });
				if (target.id === env.ownerId) throw validationError({ field: "email", message: "is the owner already" });
				if (target.status !== "active") throw invalidState("The receiving account is not active", { field: "email" });
				if (target.type === "trial") throw invalidState("Trial accounts cannot receive environments; the receiver has to upgrade first", { field: "email" });
				await this.checkQuotas(ctx, target.id, env);
				const { reservationId } = await ctx.call<{ reservationId: string }, Record<string, unknown>>("quotas.reserve", {
					accountId: target.id,
					key: "environment.maxcount",
					amount: 1,
				});
				let moved: EnvDoc | null;
				try {
					moved = await this.db.environments.updateOne(
						{ _id: env._id, ownerId: env.ownerId },
						{ $set: { ownerId: target.id, ownerName: `${target.id}|${env.name.toLowerCase()}`, groups: [], updatedAt: now() } },
					);
				} catch (err) {
					await ctx.call("quotas.release", { reservationId });
					if (err instanceof DuplicateKeyError)
						throw conflict(`${target.email} has an environment named ${env.name} already`, [{ field: "email", message: "owns an environment of that name" }]);
					throw err;
				}
				if (!moved) {
					await ctx.call("quotas.release", { reservationId });
					throw notFound("Environment");
				}
				await ctx.call("quotas.commit", { reservationId });
				await ctx.call("quotas.free", { accountId: env.ownerId, key: "environment.maxcount", amount: 1 });
				this.publish(ctx, "environments.transferred", { ...moved, previousOwnerId: env.ownerId } as EnvDoc);
				return this.view(moved, target.email);
			},
		},

		/** Internal (STS-2, STS-5): stop an account's running environments and remember them. */
		stopForAccount: {
			visibility: "public",
			params: { accountId: { type: "string", min: 1 } },
			async handler(this: Self, ctx: Context<{ accountId: string }>) {
				const running = await this.db.environments.find({ ownerId: ctx.params.accountId, status: "running" });
				for (const env of running) {
					const stopped = await this.db.environments.updateOne(
						{ _id: env._id, status: "running" },
						{ $set: { status: "stopped", rememberedRunning: true, updatedAt: now() } },
					);
					if (stopped) this.publish(ctx, "environments.stopped", stopped);
				}
				return { stopped: running.length };
			},
		},

		/** Internal (STS-3): start again exactly the environments stopped by deactivation. */
		resumeForAccount: {
			visibility: "public",
			params: { accountId: { type: "string", min: 1 } },
			async handler(this: Self, ctx: Context<{ accountId: string }>) {
				const remembered = await this.db.environments.find({ ownerId: ctx.params.accountId, rememberedRunning: true });
				for (const env of remembered) {
					const started = await this.db.environments.updateOne(
						{ _id: env._id, rememberedRunning: true },
						{ $set: { status: "running", rememberedRunning: false, updatedAt: now() } },
					);
					if (started) this.publish(ctx, "environments.started", started);
				}
				return { started: remembered.length };
			},
		},

		/** Internal (STS-4): a destroyed account's environments are deleted. */
		deleteForAccount: {
			visibility: "public",
			params: { accountId: { type: "string", min: 1 } },
			async handler(this: Self, ctx: Context<{ accountId: string }>) {
				const all = await this.db.environments.find({ ownerId: ctx.params.accountId });
				await this.db.environments.remove({ ownerId: ctx.params.accountId });
				for (const env of all) this.publish(ctx, "environments.deleted", env);
				if (all.length) await ctx.call("quotas.recount", { accountId: ctx.params.accountId, key: "environment.maxcount", actual: 0 });
				return { deleted: all.length };
			},
		},

		/** GET /env-groups */
		listGroups: {
			params: {},
			async handler(this: Self, ctx: Context<Record<string, never>, Meta>) {
				const rows = await this.db.env_groups.find({ ownerId: ctx.meta.user.id }, { sort: { name: 1 } });
				return rows.map(g => ({ id: g._id, name: g.name, parentId: g.parentId, createdAt: g.createdAt }));
			},
		},

		/** POST /env-groups {name, parentId?} (ENV-2) */
		createGroup: {
			params: { name: { type: "string", trim: true, min: 1, max: 64 }, parentId: { type: "string", optional: true, max: 64 } },
			async handler(this: Self, ctx: Context<{ name: string; parentId?: string }, Meta>) {
				if (ctx.params.parentId && !(await this.db.env_groups.findOne({ _id: ctx.params.parentId, ownerId: ctx.meta.user.id }))) {
					throw validationError({ field: "parentId", message: "is not one of your environment groups" });
				}
				const g: GroupDoc = { _id: newId(), ownerId: ctx.meta.user.id, name: ctx.params.name, parentId: ctx.params.parentId ?? null, createdAt: now() };
				await this.db.env_groups.insert(g);
				return { id: g._id, name: g.name, parentId: g.parentId, createdAt: g.createdAt };
			},
		},

		/** DELETE /env-groups/{id} — a group with subgroups stays; its environments leave it. */
		removeGroup: {
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				const g = await this.db.env_groups.findOne({ _id: ctx.params.id, ownerId: ctx.meta.user.id });
				if (!g) throw notFound("Environment group");
				if (await this.db.env_groups.count({ parentId: g._id }))
					throw conflict("Delete or move its subgroups first", [{ field: "id", message: "has subgroups" }]);
				await this.db.env_groups.remove({ _id: g._id });
				await this.db.environments.updateMany({ ownerId: ctx.meta.user.id, groups: g._id }, { $pull: { groups: g._id } });
				return null;
			},
		},
	},

	methods: {
		async own(this: Self, ctx: Context, id: string) {
			const env = await this.db.environments.findOne({ _id: id, ownerId: (ctx.meta as Meta).user.id });
			if (!env) throw notFound("Environment");
			return env;
		},

		/** STS-1 */
		mayChange(ctx: Context, what) {
			const status = (ctx.meta as Meta).user.status;
			if (ALLOWED[status]?.includes(what)) return;
			const type = status === "deactivated" ? "ACCOUNT_DEACTIVATED" : status === "destroyed" ? "ACCOUNT_DESTROYED" : "ACCOUNT_SUSPENDED";
			throw forbidden(`A ${status} account cannot ${what} environments`, { status }, type);
		},

		/** QTA-3, against the owner's effective quotas. */
		async checkQuotas(ctx: Context, accountId: string, t: Topology, current?: Topology) {
			const { values } = await ctx.call<{ values: Record<string, number | string> }, { accountId: string }>("quotas.effective", { accountId });
			const v = quotaViolation(t, values, current);
			if (v) throw quotaExceeded(v.quota, v.limit, v.requested);
		},

		/** QTA-3: creating needs a balance of at least account.minbalance. */
		async checkMinBalance(ctx: Context, accountId: string) {
			const [{ values }, balance] = await Promise.all([
				ctx.call<{ values: Record<string, number | string> }, { accountId: string }>("quotas.effective", { accountId }),
				ctx.call<{ main: number; bonus: number }, { accountId: string }>("billing.balanceOf", { accountId }),
			]);
			const min = parseMoney(String(values["account.minbalance"]), "account.minbalance");
			const total = balance.main + balance.bonus;
			if (total < min) {
				throw insufficientBalance(`Creating an environment needs a balance of at least ${formatMoney(min)} ${CURRENCY}`, {
					balance: formatMoney(total),
					minBalance: formatMoney(min),
				});
			}
		},

		async checkGroups(this: Self, ctx: Context, ids: string[]) {
			const mine = new Set((await this.db.env_groups.find({ ownerId: (ctx.meta as Meta).user.id, _id: { $in: ids } })).map(g => g._id));
			const errors = ids.map((id, i) => (mine.has(id) ? null : { field: `groups[${i}]`, message: "is not one of your environment groups" })).filter(Boolean);
			if (errors.length) throw validationError(errors as { field: string; message: string }[]);
		},

		view(e: EnvDoc, ownerEmail?: string) {
			return {
				id: e._id,
				name: e.name,
				ownerId: e.ownerId,
				ownerEmail: ownerEmail ?? null,
				shared: false,
				status: e.status,
				nodes: e.nodes,
				ssl: e.ssl,
				highAvailability: e.highAvailability,
				customDomains: e.customDomains,
				groups: e.groups,
				createdAt: e.createdAt,
			};
		},

		/** ENV-1: the orchestrator acts on these. */
		publish(ctx: Context, event: string, e: EnvDoc) {
			ctx.emit(event, {
				id: e._id,
				ownerId: e.ownerId,
				name: e.name,
				status: e.status,
				nodes: e.nodes,
				previousOwnerId: (e as { previousOwnerId?: string }).previousOwnerId,
			});
		},
	},
});

export default EnvironmentsService;
