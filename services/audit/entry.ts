// COL-8, ADM-2: what an audit entry says, pure. Which requests are audited (every admin action, every
// member action for another account; reads are not actions), what they acted on, and the snapshots
// of it kept as before/after — with anything secret-looking blanked, since the trail is shown again.
import type { ApiEntry } from "../../lib/api-catalogue";

export interface AuditTarget {
	type: "account" | "environment" | "route";
	id: string | null;
}

export type AuditEntry = {
	time: Date;
	actorId: string;
	actorEmail: string;
	/** the owner a member acted for (COL-8) */
	onBehalfOf: { accountId: string; email: string } | null;
	/** the account acted on; null for an admin action on no one account */
	account: string | null;
	/** the API method */
	action: string;
	/** the route, e.g. "POST /admin/accounts/:id/status" */
	route: string;
	target: AuditTarget;
	before: unknown;
	after: unknown;
	reason: string | null;
	requestId: string;
	ip: string;
};

/** Audited: a change (not a GET) by an administrator on an admin route, or by a member for another account. */
export function isAudited(entry: ApiEntry, onBehalfOf: unknown): boolean {
	if (entry.rest.startsWith("GET ") || !entry.method) return false;
	return entry.access === "admin" || !!onBehalfOf;
}

/** What the request acts on: an account an admin route names, an environment, else the route itself. */
export function targetOf(entry: ApiEntry, params: Record<string, unknown>): AuditTarget {
	const id = typeof params.id === "string" ? params.id : null;
	if (/ \/admin\/accounts\/:id(\/|$)/.test(entry.rest)) return { type: "account", id };
	if (/ \/environments(\/:id)?(\/|$)/.test(entry.rest)) return { type: "environment", id };
	return { type: "route", id: id ?? (typeof params.name === "string" ? params.name : null) };
}

const SECRET = /secret|password|token|digest|recovery|cvc|number$/i;

/** A copy without secret-looking fields (a webhook's secret, a card number), at most 32 levels deep. */
export function redacted(value: unknown, depth = 0): unknown {
	if (value === null || typeof value !== "object" || depth > 32) return value ?? null;
	if (value instanceof Date) return value.toISOString();
	if (Array.isArray(value)) return value.map(v => redacted(v, depth + 1));
	return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET.test(k) ? "[redacted]" : redacted(v, depth + 1)]));
}

/** An entry as GET /admin/audit and GET /account/audit show it. */
export function auditView(e: AuditEntry & { _id: string }) {
	return {
		id: e._id,
		time: e.time,
		actor: { id: e.actorId, email: e.actorEmail },
		onBehalfOf: e.onBehalfOf,
		account: e.account,
		action: e.action,
		route: e.route,
		target: e.target,
		before: e.before,
		after: e.after,
		reason: e.reason,
		requestId: e.requestId,
		ip: e.ip,
	};
}
