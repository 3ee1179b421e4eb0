// COL-6, COL-7, COL-9: the gateway's check of a member's request on another account's resources. A
// request about another account (an environment by `/environments/{id}…` or `envId`, the account
// root by `ownerId`: member-target.ts) by an active member of that owner is allowed only if the
// member's resolved roles there allow the route's API method (a token's scope was checked before);
// otherwise 403 naming the method. Non-members are not stopped on environments: the service answers
// 404, as to anyone; an `ownerId` of an account the caller is no member of is 404 here, so no
// service ever answers it with the caller's own data. Answers are cached per gateway and dropped by
// `collaboration.changed`, which the collaboration service broadcasts on every membership, share,
// role and policy change, and by `environments.regrouped` (environments entered or left a group).
import type { Context } from "moleculer";
import type { ApiEntry } from "../../lib/api-catalogue";
import { forbidden, notFound } from "../../lib/errors";
import { TtlCache } from "../../lib/ttl-cache";
import { memberTarget } from "./member-target";

/** The owner a member's request acts for: set in ctx.meta by the gateway alone, after this check (with the owner's status, COL-7). */
export interface OnBehalfOf {
	accountId: string;
	email: string;
	status?: string;
}

interface CanAnswer {
	member: boolean;
	allowed: boolean;
	ownerEmail?: string;
}

// A safety net for a lost broadcast; the events drop entries at once.
const CACHE_MS = 5_000;

export class MemberAccess {
	private members = new TtlCache<string, boolean>(CACHE_MS);
	private answers = new TtlCache<string, CanAnswer>(CACHE_MS);
	/** bumped by clear(): an answer asked for before a change is not kept after it */
	private generation = 0;

	/** Forget everything (a membership, share, role or policy changed somewhere). */
	clear(): void {
		this.generation++;
		this.members.clear();
		this.answers.clear();
	}

	/** null: the request acts on the caller's own account; an owner: a member's request, allowed. Throws 403 when not allowed. */
	async check(ctx: Context, userId: string, entry: ApiEntry, params: Record<string, unknown>, hasCollaboration: boolean): Promise<OnBehalfOf | null> {
		const target = hasCollaboration ? memberTarget(entry, params, userId) : null;
		if (!target) return null;
		const forOwner = target.kind === "owner";
		const unknownOwner = () => (forOwner ? notFound(`Account ${target.ownerId}`) : null);
		if (!(await this.isMember(ctx, userId))) return throwOr(unknownOwner());
		// The account root's (base) roles answer for the owner's account; otherwise the environment's owner and roles there.
		const ownerId = forOwner ? target.ownerId : (await ctx.call<{ ownerId: string } | null, object>("environments.ownerOf", { id: target.envId }))?.ownerId;
		if (!ownerId || ownerId === userId) return null;
		const envId = forOwner ? undefined : target.envId;
		const key = `${userId}|${ownerId}|${envId ?? ""}|${entry.method}`;
		const generation = this.generation;
		let answer = this.answers.get(key, Date.now());
		if (!answer) {
			answer = await ctx.call<CanAnswer, object>("collaboration.can", { memberAccountId: userId, ownerAccountId: ownerId, method: entry.method, envId });
			if (generation === this.generation) this.answers.set(key, answer, Date.now());
		}
		if (!answer.member) return throwOr(unknownOwner());
		if (!answer.allowed) throw forbidden(`Your roles on this ${forOwner ? "account" : "environment"} do not allow ${entry.method}`, { method: entry.method });
		return { accountId: ownerId, email: answer.ownerEmail ?? "" };
	}

	private async isMember(ctx: Context, userId: string): Promise<boolean> {
		const generation = this.generation;
		let member = this.members.get(userId, Date.now());
		if (member === undefined) {
			member = (await ctx.call<{ member: boolean }, object>("collaboration.isMember", { memberAccountId: userId })).member;
			if (generation === this.generation) this.members.set(userId, member, Date.now());
		}
		return member;
	}
}

/** COL-9: the gateway's events after which no cached answer holds; each broadcast, so every gateway hears it. */
export function accessEvents<T extends { members: MemberAccess }>() {
	const drop = function (this: T) {
		this.members.clear();
	};
	return { "collaboration.changed": drop, "environments.regrouped": drop };
}

/** Not a member: an environment goes on to the service's own 404; an owner named by `ownerId` is 404 here. */
function throwOr(err: Error | null): null {
	if (err) throw err;
	return null;
}
