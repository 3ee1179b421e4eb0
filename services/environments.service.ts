// environments: the inventory of environments, their nodes and options, and environment groups
// (ENV-1, ENV-2). Every lifecycle command checks the account's status (STS-1) and its quotas
// (QTA-3) — the environment count atomically through a reservation in `quotas` (QTA-4) — and is
// published as an event for the orchestrator (`environments.created`, `.started`, `.stopped`,
// `.changed`, `.deleted`, `.transferred`). Transfers go to active, non-trial accounts (ENV-3).
// Every node has an id that lasts as long as the node, and every change leaves a revision, so
// billing can charge each environment-hour from the inventory and metering can check that a
// sample names a node the environment had (MTR-1, MTR-3): `inventory`, `nodesOf`, `ownerOf`.
import type { Context, Service } from "moleculer";
import { DAY, now } from "../lib/clock";
import { newId } from "../lib/crypto";
import { conflict, forbidden, insufficientBalance, invalidState, notFound, quotaExceeded, validationError, type FieldError } from "../lib/errors";
import { checkPeriod, timeParam } from "../lib/time-params";
import { CURRENCY, formatMoney, parseMoney } from "../lib/money";
import { pageOf, pageParams, skipOf } from "../lib/pagination";
import { defineService } from "../lib/service-schema";
import { createDbMixin, DuplicateKeyError, type Doc, type Store } from "../mixins/db.mixin";
import { createJobsMixin } from "../mixins/jobs.mixin";
import { envGroups, envRevisions, environments } from "../models/environments";
import { assignNodeIds, newNodeId } from "./environments/nodes";
import { appendRevision, backfillRevisions, inventoryPage, nodesSince, type EnvDoc, type RevisionDoc } from "./environments/store";
import { nodeGroupRule as nodeRule } from "../lib/topology-rules";
import { quotaViolation, shapeErrors, type NodeGroup, type Topology } from "./environments/topology";

interface GroupDoc extends Doc {
	ownerId: string;
	name: string;
	parentId: string | null;
	siblingName?: string;
	createdAt: Date;
}

interface User {
	id: string;
	email: string;
	status: "active" | "deactivated" | "suspended" | "destroyed";
	role?: "user" | "admin";
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
	db: { environments: Store<EnvDoc>; env_groups: Store<GroupDoc>; env_revisions: Store<RevisionDoc> };
	own(ctx: Context, id: string): Promise<EnvDoc>;
	mayChange(ctx: Context, what: "create" | "modify" | "start" | "stop" | "delete" | "transfer"): void;
	checkQuotas(ctx: Context, accountId: string, t: Topology, current?: Topology): Promise<void>;
	checkGroups(ctx: Context, ids: string[]): Promise<void>;
	checkMinBalance(ctx: Context, accountId: string): Promise<void>;
	view(e: EnvDoc, ownerEmail?: string): Record<string, unknown>;
	publish(ctx: Context, event: string, e: EnvDoc): void;
	record(e: EnvDoc, deletedAt?: Date): Promise<void>;
	removeCurrent(e: EnvDoc): Promise<EnvDoc | null>;
};

/** Metering accepts samples up to 35 days late (MTR-2): nodes are known that long after they go. */
const SAMPLE_HORIZON_MS = 35 * DAY;

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
	mixins: [createDbMixin([environments, envGroups, envRevisions]), createJobsMixin("environments")],

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
			params: { name: nameRule, ownerId: { type: "string", optional: true, max: 64 }, subscription: { type: "boolean", optional: true }, ...topologyRules },
			async handler(this: Self, ctx: Context<TopologyParams & { name: string; nodes: NodeGroup[]; subscription?: boolean }, Meta>) {
				const me = ctx.meta.user;
				// Creating for another owner comes with collaboration (COL-7); until then only for oneself.
				if (ctx.params.ownerId && ctx.params.ownerId !== me.id) throw notFound("Account");
				this.mayChange(ctx, "create");
				// MTR-5: a subscription environment pays no usage, so only the provider grants one.
				if (ctx.params.subscription && me.role !== "admin") throw validationError({ field: "subscription", message: "can only be set by an administrator" });
				const t = {
					nodes: assignNodeIds(ctx.params.nodes, [], newNodeId),
					ssl: !!ctx.params.ssl,
					highAvailability: !!ctx.params.highAvailability,
					customDomains: ctx.params.customDomains ?? [],
				} satisfies Topology;
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
					subscription: !!ctx.params.subscription,
					rev: 1,
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
				await this.record(env);
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
					// A node keeps its id across changes (MTR-1): metering and billing follow it.
					nodes: ctx.params.nodes ? assignNodeIds(ctx.params.nodes as NodeGroup[], env.nodes, newNodeId) : env.nodes,
					ssl: ctx.params.ssl ?? env.ssl,
					highAvailability: ctx.params.highAvailability ?? env.highAvailability,
					customDomains: ctx.params.customDomains ?? env.customDomains,
				};
				const errors = shapeErrors(next);
				if (errors.length) throw validationError(errors);
				if (ctx.params.groups) await this.checkGroups(ctx, ctx.params.groups);
				await this.checkQuotas(ctx, env.ownerId, next, env);
				const updated = await this.db.environments.updateOne(
					{ _id: env._id, ownerId: env.ownerId, rev: env.rev },
					{ $set: { ...next, groups: ctx.params.groups ?? env.groups, updatedAt: now() }, $inc: { rev: 1 } },
				);
				if (!updated) throw conflict("The environment changed at the same moment; read it again and retry");
				await this.record(updated);
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
					{ $set: { status: "running", rememberedRunning: false, updatedAt: now() }, $inc: { rev: 1 } },
				);
				if (updated) await this.record(updated);
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
				const updated = await this.db.environments.updateOne(
					{ _id: env._id },
					{ $set: { status: "stopped", rememberedRunning: false, updatedAt: now() }, $inc: { rev: 1 } },
				);
				if (updated) await this.record(updated);
				if (updated && env.status === "running") this.publish(ctx, "environments.stopped", updated);
				return this.view(updated ?? env, ctx.meta.user.email);
			},
		},

		/** DELETE /environments/{id} — never blocked by quotas (QTA-4). */
		remove: {
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				this.mayChange(ctx, "delete");
				const removed = await this.removeCurrent(await this.own(ctx, ctx.params.id));
				if (!removed) throw notFound("Environment");
				await ctx.call("quotas.free", { accountId: removed.ownerId, key: "environment.maxcount", amount: 1 });
				this.publish(ctx, "environments.deleted", removed);
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
					? await ctx.call<{ id: string; email: string; role: string; status: string; type: string } | null, { id: string }>("accounts.identity", {
							id: found.id,
						})
					: null;
				if (!target) throw validationError({ field: "email", message: "has no account on this platform" });
				if (target.id === env.ownerId) throw validationError({ field: "email", message: "is the owner already" });
				// Administrators are staff, not customers: an environment would make them billable, deactivatable, destroyable.
				if (target.role === "admin")
					throw validationError({ field: "email", message: "belongs to an administrator; administrators cannot own customers' environments" });
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
						{ $set: { ownerId: target.id, ownerName: `${target.id}|${env.name.toLowerCase()}`, groups: [], updatedAt: now() }, $inc: { rev: 1 } },
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
				// MTR-3: future hours are charged to the new owner.
				await this.record(moved);
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
						{ $set: { status: "stopped", rememberedRunning: true, updatedAt: now() }, $inc: { rev: 1 } },
					);
					if (stopped) await this.record(stopped);
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
						{ $set: { status: "running", rememberedRunning: false, updatedAt: now() }, $inc: { rev: 1 } },
					);
					if (started) await this.record(started);
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
				let deleted = 0;
				for (const env of all) {
					const removed = await this.removeCurrent(env);
					if (removed) this.publish(ctx, "environments.deleted", removed);
					if (removed) deleted++;
				}
				if (all.length) await ctx.call("quotas.recount", { accountId: ctx.params.accountId, key: "environment.maxcount", actual: 0 });
				return { deleted };
			},
		},

		/**
		 * MTR-3: billing's environment-hours. One row per environment that existed in any part of
		 * [from, to), by envId: `running` if it ran in any part; owner, name and options as they
		 * last were within it; every node that existed in any part of it.
		 */
		inventory: {
			visibility: "public",
			params: {
				from: { type: "string", min: 1, max: 40 },
				to: { type: "string", min: 1, max: 40 },
				afterEnvId: { type: "string", optional: true, max: 64 },
				limit: { type: "number", integer: true, min: 1, max: 5000, optional: true, default: 1000 },
			},
			async handler(this: Self, ctx: Context<{ from: string; to: string; afterEnvId?: string; limit: number }>) {
				const errors: FieldError[] = [];
				const from = timeParam(ctx.params.from, "from", errors);
				const to = timeParam(ctx.params.to, "to", errors);
				checkPeriod(from, to, errors, "to");
				if (errors.length) throw validationError(errors);
				return inventoryPage(this.db, { from: from!, to: to!, afterEnvId: ctx.params.afterEnvId, limit: ctx.params.limit });
			},
		},

		/** MTR-1: the nodes a sample may name — each environment's, now or at any time in the last 35 days. */
		nodesOf: {
			visibility: "public",
			params: { envIds: { type: "array", items: { type: "string", min: 1, max: 64 }, max: 1000 } },
			async handler(this: Self, ctx: Context<{ envIds: string[] }>) {
				return nodesSince(this.db, ctx.params.envIds, new Date(now().getTime() - SAMPLE_HORIZON_MS));
			},
		},

		/** Whose environment this is, for services that serve its data to its owner (GET /environments/{id}/usage). */
		ownerOf: {
			visibility: "public",
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(this: Self, ctx: Context<{ id: string }>) {
				const env = await this.db.environments.findById(ctx.params.id);
				return env ? { envId: env._id, ownerId: env.ownerId, name: env.name } : null;
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
			// parentId: absent for a top-level group; "" is no group's id, so it is refused (min: 1)
			params: { name: { type: "string", trim: true, min: 1, max: 64 }, parentId: { type: "string", optional: true, min: 1, max: 64 } },
			async handler(this: Self, ctx: Context<{ name: string; parentId?: string }, Meta>) {
				const ownerId = ctx.meta.user.id;
				const parentId = ctx.params.parentId ?? null;
				if (parentId !== null && !(await this.db.env_groups.findOne({ _id: parentId, ownerId }))) {
					throw validationError({ field: "parentId", message: "is not one of your environment groups" });
				}
				const siblingName = `${ownerId}|${parentId ?? ""}|${ctx.params.name.toLowerCase()}`;
				const taken = () =>
					conflict(`There is a group named ${ctx.params.name} ${parentId ? "in this group" : "at the top level"} already`, [
						{ field: "name", message: "is taken by another group under the same parent" },
					]);
				// Groups made before siblingName existed have none: compared by name as well.
				const siblings = await this.db.env_groups.find({ ownerId, parentId });
				if (siblings.some(s => s.name.toLowerCase() === ctx.params.name.toLowerCase())) throw taken();
				const g: GroupDoc = { _id: newId(), ownerId, name: ctx.params.name, parentId, siblingName, createdAt: now() };
				try {
					await this.db.env_groups.insert(g);
				} catch (err) {
					if (err instanceof DuplicateKeyError) throw taken();
					throw err;
				}
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
				subscription: !!e.subscription,
				ssl: e.ssl,
				highAvailability: e.highAvailability,
				customDomains: e.customDomains,
				groups: e.groups,
				createdAt: e.createdAt,
			};
		},

		/** MTR-3: the state after a change, appended once the document holds it. */
		async record(this: Self, e: EnvDoc, deletedAt?: Date) {
			await appendRevision(this.db.env_revisions, e, deletedAt);
		},

		/**
		 * Deletes the environment as it is now — only from the revision that was read, so the
		 * "deleted" revision follows the last state exactly — and returns what was deleted, or
		 * null when it is gone or no longer this owner's.
		 */
		async removeCurrent(this: Self, e: EnvDoc) {
			let current: EnvDoc | null = e;
			for (let attempt = 0; current && attempt < 5; attempt++) {
				if (await this.db.environments.remove({ _id: current._id, ownerId: current.ownerId, rev: current.rev })) {
					await this.record(current, now());
					return current;
				}
				current = await this.db.environments.findOne({ _id: e._id, ownerId: e.ownerId });
			}
			if (current) throw conflict("The environment changed at the same moment; read it again and retry");
			return null;
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

	async started(this: Self) {
		// Environments stored before node ids and revisions get them once (MTR-3).
		const n = await backfillRevisions(this.db);
		if (n) this.logger.info(`Gave node ids and a first revision to ${n} environments`);
	},
});

export default EnvironmentsService;
