// COL-8, ADM-2: the gateway's side of the audit trail. Before an audited request (an admin action, or
// a member's action for another account) runs, the state of what it acts on is read; after it
// succeeded, read again and recorded with the actor, the owner acted for, the API method, the
// request id and the client IP. Accounts are read as `accounts.identity` describes them, environments
// as `environments.ownerOf` does; anything else has no "before" and its answer as "after".
import type { Context } from "moleculer";
import type { ApiEntry } from "../../lib/api-catalogue";
import { now } from "../../lib/clock";
import { isAudited, targetOf, type AuditEntry, type AuditTarget } from "../audit/entry";
import type { OnBehalfOf } from "./member-access";

/** What is kept on the request between its check and its answer. */
export interface PendingAudit {
	entry: ApiEntry;
	target: AuditTarget;
	before: unknown;
	reason: string | null;
}

async function stateOf(ctx: Context, t: AuditTarget): Promise<unknown> {
	if (!t.id) return null;
	if (t.type === "account") return ctx.call("accounts.identity", { id: t.id }).catch(() => null);
	if (t.type === "environment") return ctx.call("environments.ownerOf", { id: t.id }).catch(() => null);
	return null;
}

/** Called once the request is authorized: null when it is not audited. */
export async function beginAudit(ctx: Context, entry: ApiEntry, params: Record<string, unknown>, onBehalfOf: OnBehalfOf | null): Promise<PendingAudit | null> {
	if (!isAudited(entry, onBehalfOf)) return null;
	const target = targetOf(entry, params);
	const reason = [params.reason, params.note, params.description].find(x => typeof x === "string") as string | undefined;
	return { entry, target, before: await stateOf(ctx, target), reason: reason ?? null };
}

/** Called with the answer of a request that succeeded; a failure to record is logged, the answer stands. */
export async function finishAudit(ctx: Context, pending: PendingAudit, answer: unknown, logError: (msg: string, err: unknown) => void): Promise<void> {
	try {
		await record(ctx, pending, answer);
	} catch (err) {
		logError(`Audit entry for request ${(ctx.meta as { requestId?: string }).requestId} not recorded`, err);
	}
}

async function record(ctx: Context, pending: PendingAudit, answer: unknown): Promise<void> {
	const meta = ctx.meta as { user: { id: string; email?: string }; onBehalfOf?: OnBehalfOf; requestId: string; ip: string };
	const { target, entry } = pending;
	// A created environment is known by its answer only.
	const created = !target.id && answer && typeof answer === "object" && typeof (answer as { id?: unknown }).id === "string";
	const t: AuditTarget = created ? { ...target, id: (answer as { id: string }).id } : target;
	const state = t.type === "route" || created ? answer : await stateOf(ctx, t);
	const row: Omit<AuditEntry, "time"> & { time: string } = {
		time: now().toISOString(),
		actorId: meta.user.id,
		actorEmail: (meta.user.email ?? "").toLowerCase(),
		onBehalfOf: meta.onBehalfOf ? { accountId: meta.onBehalfOf.accountId, email: meta.onBehalfOf.email } : null,
		account: meta.onBehalfOf?.accountId ?? (t.type === "account" ? t.id : null),
		action: entry.method as string,
		route: entry.rest,
		target: t,
		before: pending.before,
		after: state ?? null,
		reason: pending.reason,
		requestId: meta.requestId,
		ip: meta.ip,
	};
	await ctx.call("audit.record", { entry: row });
}
