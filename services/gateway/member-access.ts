// COL-6, COL-9: the gateway's check of a member's request on another account's environment. A
// request on `/environments/{id}…` by an active member of the environment's owner is allowed only if
// the member's resolved roles there allow the route's API method (a token's scope was checked before);
// otherwise 403 naming the method. Non-members are not stopped here: the service answers 404, as to
// anyone. Answers are cached per gateway and dropped by `collaboration.changed`, which the
// collaboration service broadcasts on every membership, share, role and policy change.
import type { Context } from "moleculer";
import type { ApiEntry } from "../../lib/api-catalogue";
import { forbidden } from "../../lib/errors";
import { TtlCache } from "../../lib/ttl-cache";

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

/** Routes about one environment: the owner is the environment's. */
const ENV_ROUTE = /^[A-Z]+ \/environments\/:id(\/|$)/;
/** COL-7: creating an environment for the owner named by `ownerId`, with the create permission on its account root. */
const CREATE_FOR_OWNER = "POST /environments";

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
		if (!hasCollaboration || entry.access !== "user" || !entry.method) return null;
		const forOwner = entry.rest === CREATE_FOR_OWNER;
		if (!forOwner && !ENV_ROUTE.test(entry.rest)) return null;
		const id = forOwner ? params.ownerId : params.id;
		if (typeof id !== "string" || !id || id === userId) return null;
		if (!(await this.isMember(ctx, userId))) return null;
		// Creating: the account root's (base) roles answer; otherwise the environment's owner and roles there.
		const ownerId = forOwner ? id : (await ctx.call<{ ownerId: string } | null, object>("environments.ownerOf", { id }))?.ownerId;
		if (!ownerId || ownerId === userId) return null;
		const envId = forOwner ? undefined : id;
		const key = `${userId}|${ownerId}|${envId ?? ""}|${entry.method}`;
		const generation = this.generation;
		let answer = this.answers.get(key, Date.now());
		if (!answer) {
			answer = await ctx.call<CanAnswer, object>("collaboration.can", { memberAccountId: userId, ownerAccountId: ownerId, method: entry.method, envId });
			if (generation === this.generation) this.answers.set(key, answer, Date.now());
		}
		if (!answer.member) return null;
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
