// environments: the inventory of environments, their nodes and options, and environment groups
// (ENV-1, ENV-2). Every lifecycle command checks the account's status (STS-1) and its quotas
// (QTA-3) — the environment count atomically through a reservation in `quotas` (QTA-4) — and is
// published as an event for the orchestrator (`environments.created`, `.started`, `.stopped`,
// `.changed`, `.deleted`, `.transferred`). Transfers go to active, non-trial accounts (ENV-3).
// Every node has an id that lasts as long as the node, and every change leaves a revision, so
// billing can charge each environment-hour from the inventory and metering can check that a
// sample names a node the environment had (MTR-1, MTR-3): `inventory`, `nodesOf`, `ownerOf`.
// The rules live in environments/ (see its README.md); this file checks, calls, stores and publishes.
import type { Context, Service } from "moleculer";
import { DAY, now } from "../lib/clock";
import { newId } from "../lib/crypto";
import { conflict, notFound, validationError } from "../lib/errors";
import { periodParams } from "../lib/time-params";
import { pageOf, pageParams, skipOf } from "../lib/pagination";
import { defineService } from "../lib/service-schema";
import { createDbMixin, DuplicateKeyError, type Store } from "../mixins/db.mixin";
import { createJobsMixin } from "../mixins/jobs.mixin";
import { envGroups, envRevisions, environments } from "../models/environments";
import { actingAccountId, actingFor, checkReceiver, initiatorOf, mayChange, type AccountStatus, type EnvAction, type Receiver } from "./environments/access";
import { envEvent, envView, idRule, nameRule, ownerIdParam, topologyRules } from "./environments/api";
import { announceRegrouped, createGroup, foreignGroups, groupsDiffer, listGroups, ownedItems, removeGroup, type GroupDoc } from "./environments/groups";
import { checkLimits, ownersRefusal } from "./environments/limits";
import { newNodeId } from "./environments/nodes";
import AccountActions from "./environments/account-actions";
import { requestActor, type Actor, type EnvActionName } from "./environments/notices";
import {
	appendRevision,
	backfillRevisions,
	countByOwner,
	firstRevisionAt,
	inventoryPage,
	newEnvironment,
	visiblePage,
	nodesSince,
	removeCurrent,
	type EnvDoc,
	type RevisionDoc,
} from "./environments/store";
import { shapeErrors, topologyOf, type NodeGroup, type Topology, type TopologyRequest } from "./environments/topology";

interface User {
	id: string;
	email: string;
	status: AccountStatus;
	role?: "user" | "admin";
}

type Meta = { user: User; onBehalfOf?: { accountId: string; email: string; status?: AccountStatus } };
type SharedEnvs = { ownerId: string; ownerEmail: string; envIds: string[] }[];

interface TopologyParams extends TopologyRequest {
	groups?: string[];
}

type Self = Service & {
	db: { environments: Store<EnvDoc>; env_groups: Store<GroupDoc>; env_revisions: Store<RevisionDoc> };
	own(ctx: Context, id: string): Promise<EnvDoc>;
	mayChange(ctx: Context, what: EnvAction): void;
	view(ctx: Context, e: EnvDoc): ReturnType<typeof envView>;
	checkLimits(ctx: Context, accountId: string, t: Topology, o?: { current?: Topology; creating?: boolean }): Promise<void>;
	checkGroups(ctx: Context, ids: string[]): Promise<void>;
	publish(ctx: Context, event: string, e: EnvDoc): void;
	record(e: EnvDoc, deletedAt?: Date): Promise<void>;
	notify(ctx: Context, e: EnvDoc, action: EnvActionName, actor: Actor): Promise<void>;
};

/** Metering accepts samples up to 35 days late (MTR-2): nodes are known that long after they go. */
const SAMPLE_HORIZON_MS = 35 * DAY;

const EnvironmentsService = defineService<Self>({
	name: "environments",
	mixins: [createDbMixin([environments, envGroups, envRevisions]), createJobsMixin("environments"), AccountActions],

	jobs: {
		/** QTA-4: the environment count in `quotas` is set again from the inventory, repairing any drift. */
		"recount-quotas": {
			cron: "40 * * * *",
			async handler(this: Self, ctx: Context) {
				let repaired = 0;
				for (const [accountId, actual] of await countByOwner(this.db.environments)) {
					const r = await ctx.call<{ drift: number }, Record<string, unknown>>("quotas.recount", { accountId, key: "environment.maxcount", actual });
					if (r.drift) repaired++;
				}
				return repaired;
			},
		},
	},

	actions: {
		/** GET /environments — mine, and those shared with me tagged with their owner (COL-7). */
		list: {
			params: { ...pageParams },
			async handler(this: Self, ctx: Context<{ page: number; pageSize: number }, Meta>) {
				const me = ctx.meta.user;
				const { page, pageSize } = ctx.params;
				const collab = this.broker.registry.hasService("collaboration", undefined as never);
				const shared = collab ? await ctx.call<SharedEnvs, object>("collaboration.sharedEnvironments", { memberAccountId: me.id }) : [];
				const { rows, total } = await visiblePage(this.db.environments, me, shared, { skip: skipOf(page, pageSize), limit: pageSize });
				const views = rows.map(r => envView(r.doc, r.ownerEmail, r.shared));
				return pageOf(views, total, page, pageSize);
			},
		},

		/** GET /environments/{id} */
		get: {
			params: { id: idRule },
			async handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				return this.view(ctx, await this.own(ctx, ctx.params.id));
			},
		},

		/** POST /environments — created running (ENV-1, QTA-3); by a member for the owner, who pays (COL-7). */
		create: {
			params: { name: nameRule, ownerId: { type: "string", optional: true, max: 64 }, subscription: { type: "boolean", optional: true }, ...topologyRules },
			async handler(this: Self, ctx: Context<TopologyParams & { name: string; ownerId?: string; nodes: NodeGroup[]; subscription?: boolean }, Meta>) {
				// COL-7: another owner only as its member with the create permission (the gateway checked it and set onBehalfOf).
				const owner = actingFor(ctx.meta);
				if (ctx.params.ownerId && ctx.params.ownerId !== owner.id) throw notFound("Account");
				this.mayChange(ctx, "create");
				// MTR-5: a subscription environment pays no usage, so only the provider grants one.
				if (ctx.params.subscription && ctx.meta.user.role !== "admin")
					throw validationError({ field: "subscription", message: "can only be set by an administrator" });
				const t = topologyOf(ctx.params, null, newNodeId);
				const errors = shapeErrors(t);
				if (errors.length) throw validationError(errors);
				await this.checkGroups(ctx, ctx.params.groups ?? []);
				await this.checkLimits(ctx, owner.id, t, { creating: true });
				const { reservationId } = await ctx
					.call<{ reservationId: string }, Record<string, unknown>>("quotas.reserve", { accountId: owner.id, key: "environment.maxcount", amount: 1 })
					.catch(err => Promise.reject(ownersRefusal(err, ctx.meta.onBehalfOf?.email)));
				const { name, subscription, groups = [] } = ctx.params;
				const env = newEnvironment({ id: newId(), ownerId: owner.id, initiator: initiatorOf(ctx.meta), name, subscription: !!subscription, groups }, t, now());
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
				return this.view(ctx, env);
			},
		},

		/** PATCH /environments/{id} — topology and options; only raises are checked against quotas. */
		change: {
			params: { id: idRule, ...topologyRules, nodes: { ...topologyRules.nodes, optional: true } },
			async handler(this: Self, ctx: Context<TopologyParams & { id: string }, Meta>) {
				this.mayChange(ctx, "modify");
				const env = await this.own(ctx, ctx.params.id);
				const next = topologyOf(ctx.params, env, newNodeId);
				const errors = shapeErrors(next);
				if (errors.length) throw validationError(errors);
				if (ctx.params.groups) await this.checkGroups(ctx, ctx.params.groups);
				await this.checkLimits(ctx, env.ownerId, next, { current: env });
				const updated = await this.db.environments.updateOne(
					{ _id: env._id, ownerId: env.ownerId, rev: env.rev },
					{ $set: { ...next, groups: ctx.params.groups ?? env.groups, updatedAt: now() }, $inc: { rev: 1 } },
				);
				if (!updated) throw conflict("The environment changed at the same moment; read it again and retry");
				await this.record(updated);
				this.publish(ctx, "environments.changed", updated);
				if (groupsDiffer(env.groups, updated.groups)) announceRegrouped(ctx, env.ownerId, [env._id]); // COL-9
				return this.view(ctx, updated);
			},
		},

		/** POST /environments/{id}/start */
		start: {
			params: { id: idRule },
			async handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				this.mayChange(ctx, "start");
				const env = await this.own(ctx, ctx.params.id);
				if (env.status === "running") return this.view(ctx, env);
				await this.checkLimits(ctx, env.ownerId, env);
				const updated = await this.db.environments.updateOne(
					{ _id: env._id, status: "stopped" },
					{ $set: { status: "running", rememberedRunning: false, updatedAt: now() }, $inc: { rev: 1 } },
				);
				if (updated) await this.record(updated);
				if (updated) this.publish(ctx, "environments.started", updated);
				return this.view(ctx, updated ?? (await this.own(ctx, env._id)));
			},
		},

		/** POST /environments/{id}/stop — never blocked by quotas (QTA-4). */
		stop: {
			params: { id: idRule },
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
				if (updated && env.status === "running") await this.notify(ctx, updated, "stopped", requestActor(ctx.meta)); // COL-8
				return this.view(ctx, updated ?? env);
			},
		},

		/** DELETE /environments/{id} — never blocked by quotas (QTA-4). */
		remove: {
			params: { id: idRule },
			async handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				this.mayChange(ctx, "delete");
				const removed = await removeCurrent(this.db, await this.own(ctx, ctx.params.id));
				if (!removed) throw notFound("Environment");
				await ctx.call("quotas.free", { accountId: removed.ownerId, key: "environment.maxcount", amount: 1 });
				this.publish(ctx, "environments.deleted", removed);
				await this.notify(ctx, removed, "deleted", requestActor(ctx.meta)); // COL-8
				return null;
			},
		},

		/** POST /environments/{id}/transfer {email} — to an active, non-trial account within its quotas (ENV-3). */
		transfer: {
			params: { id: idRule, email: { type: "email", normalize: true, max: 254 } },
			async handler(this: Self, ctx: Context<{ id: string; email: string }, Meta>) {
				this.mayChange(ctx, "transfer");
				const env = await this.own(ctx, ctx.params.id);
				const found = await ctx.call<{ id: string } | null, { email: string }>("accounts.findByEmail", { email: ctx.params.email });
				const target = found ? await ctx.call<Receiver | null, { id: string }>("accounts.identity", { id: found.id }) : null;
				checkReceiver(target, env.ownerId);
				await this.checkLimits(ctx, target.id, env);
				const { reservationId } = await ctx.call<{ reservationId: string }, Record<string, unknown>>("quotas.reserve", {
					accountId: target.id,
					key: "environment.maxcount",
					amount: 1,
				});
				let moved: EnvDoc | null;
				try {
					moved = await this.db.environments.updateOne(
						{ _id: env._id, ownerId: env.ownerId },
						{ $set: { ownerId: target.id, ownerName: `${target.id}|${env.name.toLowerCase()}`, groups: [], initiator: null, updatedAt: now() }, $inc: { rev: 1 } },
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
				return envView(moved, target.email);
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
				const { from, to } = periodParams(ctx.params, "to");
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

		/** MTR-2: when the first environment appeared (ISO, null before any): metering closes hours from there on. */
		// prettier-ignore
		firstCreated: { visibility: "public", handler: async function (this: Self) { return { at: (await firstRevisionAt(this.db.env_revisions))?.toISOString() ?? null }; } },

		/** Whose environment this is, for services that serve its data to its owner (GET /environments/{id}/usage). */
		ownerOf: {
			visibility: "public",
			params: { id: idRule },
			async handler(this: Self, ctx: Context<{ id: string }>) {
				const env = await this.db.environments.findById(ctx.params.id);
				return env ? { envId: env._id, ownerId: env.ownerId, name: env.name, status: env.status, nodes: env.nodes } : null;
			},
		},

		/** COL-4, COL-6: which of these environments the account owns (with their groups), and its group tree. */
		ownedItems: {
			visibility: "public",
			params: { accountId: idRule, envIds: { type: "array", items: idRule, max: 1000 }, all: { type: "boolean", optional: true } },
			handler(this: Self, ctx: Context<{ accountId: string; envIds: string[]; all?: boolean }>) {
				return ownedItems(this.db, ctx.params.accountId, ctx.params.all ? null : ctx.params.envIds);
			},
		},

		/** GET /env-groups */
		listGroups: {
			params: { ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ ownerId?: string }, Meta>) {
				return listGroups(this.db.env_groups, actingAccountId(ctx.meta, ctx.params.ownerId)); // COL-7: a member, the owner's
			},
		},

		/** POST /env-groups {name, parentId?} (ENV-2) */
		createGroup: {
			// parentId: absent for a top-level group; "" is no group's id, so it is refused (min: 1)
			params: { name: { type: "string", trim: true, min: 1, max: 64 }, parentId: { type: "string", optional: true, min: 1, max: 64 }, ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ name: string; parentId?: string; ownerId?: string }, Meta>) {
				return createGroup(this.db.env_groups, actingAccountId(ctx.meta, ctx.params.ownerId), ctx.params.name, ctx.params.parentId ?? null); // COL-7
			},
		},

		/** DELETE /env-groups/{id} — a group with subgroups stays; its environments leave it. */
		removeGroup: {
			params: { id: idRule, ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ id: string; ownerId?: string }, Meta>) {
				const owner = actingAccountId(ctx.meta, ctx.params.ownerId); // COL-7: a member, the owner's
				announceRegrouped(ctx, owner, await removeGroup(this.db, owner, ctx.params.id)); // COL-9
				return null;
			},
		},
	},

	methods: {
		async own(this: Self, ctx: Context, id: string) {
			// COL-6: a member's request comes with the owner the gateway checked its roles for.
			const env = await this.db.environments.findOne({ _id: id, ownerId: actingFor(ctx.meta as Meta).id });
			if (!env) throw notFound("Environment");
			return env;
		},

		/** STS-1: the owner's status, also when a member acts for it (COL-7). */
		mayChange(ctx: Context, what) {
			const meta = ctx.meta as Meta;
			mayChange(meta.onBehalfOf?.status ?? meta.user.status, what);
		},

		view(ctx: Context, e: EnvDoc) {
			const meta = ctx.meta as Meta;
			return envView(e, actingFor(meta).email, !!meta.onBehalfOf);
		},

		/** QTA-3, against the owner's limits; named as the owner's to a member acting for it (COL-7). */
		checkLimits(ctx: Context, accountId: string, topology: Topology, o: { current?: Topology; creating?: boolean } = {}) {
			const ownerEmail = (ctx.meta as Meta).onBehalfOf?.email;
			return checkLimits({ call: (action, params) => ctx.call(action, params), accountId, ownerEmail, topology, ...o });
		},

		async checkGroups(this: Self, ctx: Context, ids: string[]) {
			const errors = await foreignGroups(this.db.env_groups, actingFor(ctx.meta as Meta).id, ids);
			if (errors.length) throw validationError(errors);
		},

		/** MTR-3: the state after a change, appended once the document holds it. */
		async record(this: Self, e: EnvDoc, deletedAt?: Date) {
			await appendRevision(this.db.env_revisions, e, deletedAt);
		},

		/** ENV-1: the orchestrator acts on these. */
		publish(ctx: Context, event: string, e: EnvDoc) {
			ctx.emit(event, envEvent(e));
		},
	},

	async started(this: Self) {
		// Environments stored before node ids and revisions get them once (MTR-3).
		const n = await backfillRevisions(this.db);
		if (n) this.logger.info(`Gave node ids and a first revision to ${n} environments`);
	},
});

export default EnvironmentsService;
