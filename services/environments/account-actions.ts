// What happens to an account's environments when its status changes (STS-2…STS-5), mixed into the
// environments service: stopped and remembered, started again, deleted — and who is told (COL-8,
// NTF-2: a stop or deletion of an environment a member created for the owner is emailed to that
// member and to the owner, naming the administrator or the platform and the reason). `notify` also
// serves the service's own stop and delete (a member's action for the owner). A thin shell over
// notices.ts, which decides who is told what.
import type { Context, Service } from "moleculer";
import { now } from "../../lib/clock";
import { defineService } from "../../lib/service-schema";
import type { Store } from "../../mixins/db.mixin";
import { accountChangeActor, actionNotices, concernsMember, type Actor, type EnvActionName } from "./notices";
import { removeCurrent, type EnvDoc, type RevisionDoc } from "./store";

type Self = Service & {
	db: { environments: Store<EnvDoc>; env_revisions: Store<RevisionDoc> };
	publish(ctx: Context, event: string, e: EnvDoc): void;
	record(e: EnvDoc, deletedAt?: Date): Promise<void>;
	switchAll(ctx: Context, accountId: string, from: Partial<EnvDoc>, to: Partial<EnvDoc>, event: string, actor?: Actor): Promise<number>;
	notify(ctx: Context, e: EnvDoc, action: EnvActionName, actor: Actor): Promise<void>;
};

/** accounts names who changed the status (`system`, `admin:<email>`) and why: the emails say it. */
const accountParams = {
	accountId: { type: "string", min: 1 },
	actor: { type: "string", optional: true, max: 400 },
	reason: { type: "string", optional: true, max: 500 },
} as const;

type AccountParams = { accountId: string; actor?: string; reason?: string };

const AccountActions = defineService<Self>({
	name: "environments",

	actions: {
		/** Internal (STS-2, STS-5): stop an account's running environments and remember them. */
		stopForAccount: {
			visibility: "public",
			params: accountParams,
			async handler(this: Self, ctx: Context<AccountParams>) {
				const { accountId, actor, reason } = ctx.params;
				const to = { status: "stopped", rememberedRunning: true } as const;
				const stopped = await this.switchAll(ctx, accountId, { status: "running" }, to, "environments.stopped", accountChangeActor(actor, reason));
				return { stopped };
			},
		},

		/** Internal (STS-3): start again exactly the environments stopped by deactivation. */
		resumeForAccount: {
			visibility: "public",
			params: accountParams,
			async handler(this: Self, ctx: Context<AccountParams>) {
				const to = { status: "running", rememberedRunning: false } as const;
				const started = await this.switchAll(ctx, ctx.params.accountId, { rememberedRunning: true }, to, "environments.started");
				return { started };
			},
		},

		/** Internal (STS-4): a destroyed account's environments are deleted. */
		deleteForAccount: {
			visibility: "public",
			params: accountParams,
			async handler(this: Self, ctx: Context<AccountParams>) {
				const { accountId, actor, reason } = ctx.params;
				const all = await this.db.environments.find({ ownerId: accountId });
				let deleted = 0;
				for (const env of all) {
					const removed = await removeCurrent(this.db, env);
					if (!removed) continue;
					this.publish(ctx, "environments.deleted", removed);
					await this.notify(ctx, removed, "deleted", accountChangeActor(actor, reason));
					deleted++;
				}
				if (all.length) await ctx.call("quotas.recount", { accountId, key: "environment.maxcount", actual: 0 });
				return { deleted };
			},
		},
	},

	methods: {
		/**
		 * STS-2, STS-3: every environment of the account matching `from` is switched to `to`, each
		 * only if it still matches, and announced with `event` (and, with an `actor`, emailed: COL-8);
		 * answers how many matched.
		 */
		async switchAll(this: Self, ctx: Context, accountId: string, from: Partial<EnvDoc>, to: Partial<EnvDoc>, event: string, actor?: Actor) {
			const matching = await this.db.environments.find({ ownerId: accountId, ...from });
			for (const env of matching) {
				const switched = await this.db.environments.updateOne({ _id: env._id, ...from }, { $set: { ...to, updatedAt: now() }, $inc: { rev: 1 } });
				if (!switched) continue;
				await this.record(switched);
				this.publish(ctx, event, switched);
				if (actor) await this.notify(ctx, switched, "stopped", actor);
			}
			return matching.length;
		},

		/** COL-8, NTF-2: the emails of a stop or deletion that concerns a member; a failure to send is logged, the action stands. */
		async notify(this: Self, ctx: Context, e: EnvDoc, action: EnvActionName, actor: Actor) {
			if (!concernsMember(e, actor)) return;
			try {
				// The owner's email: the owner's own request, the owner a member acts for (the gateway's), else asked of accounts.
				const owner = actor.kind === "owner" ? { accountId: actor.id, email: actor.email } : (ctx.meta as { onBehalfOf?: { accountId: string; email: string } }).onBehalfOf;
				const ownerEmail =
					owner?.accountId === e.ownerId ? owner.email : (await ctx.call<{ email: string } | null, { id: string }>("accounts.identity", { id: e.ownerId }))?.email;
				if (!ownerEmail) return;
				for (const n of actionNotices({ env: e, ownerEmail, action, actor })) await ctx.call("notifications.send", { template: "environment-action", ...n });
			} catch (err) {
				this.logger.warn(`Could not email the ${action} of environment ${e._id}`, err);
			}
		},
	},
});

export default AccountActions;
