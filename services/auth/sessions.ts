// Sessions (REG-4, REG-6, TFA-6, STS-5): opaque bearer tokens for the web console.
// - A token is `qm_ses_` + 256 random bits; only its digest is stored.
// - A session ends at the first of its idle and absolute expiry; use pushes the idle expiry out,
//   with at most one write a minute per session.
// - A `2fa-setup` session (TFA-6: the group requires 2FA, the account has none yet) may only set
//   it up; enabling 2FA makes the account's setup sessions `full`.
// - A session found expired is removed on the spot; the rest by the hourly clean-up.
import { addMs, MINUTE, now } from "../../lib/clock";
import { digest, newId, randomToken } from "../../lib/crypto";
import { notFound, unauthorized } from "../../lib/errors";
import type { Doc, Store } from "../../mixins/db.mixin";

export type SessionScope = "full" | "2fa-setup";

export interface SessionDoc extends Doc {
	accountId: string;
	tokenDigest: string;
	createdAt: Date;
	lastSeenAt: Date;
	idleExpiresAt: Date;
	absoluteExpiresAt: Date;
	ip: string;
	userAgent: string;
	scope?: SessionScope;
}

/** Where a session is opened from (unknown: empty). */
export interface Client {
	ip?: string;
	userAgent?: string;
}

/** `qm_ses_` + 43 base64url characters (256 bits): the prefix lets secret scanners find leaks. */
export const SESSION_PREFIX = "qm_ses_";
const LAST_SEEN_EVERY_MS = MINUTE;

/** The earlier of the two expiries: when the session ends unless it is used. */
export function endsAt(idleExpiresAt: Date, absoluteExpiresAt: Date): Date {
	return new Date(Math.min(idleExpiresAt.getTime(), absoluteExpiresAt.getTime()));
}

export function isLive(s: Pick<SessionDoc, "idleExpiresAt" | "absoluteExpiresAt">, t: Date): boolean {
	return s.idleExpiresAt > t && s.absoluteExpiresAt > t;
}

/** Whether a use at `t` should move the idle expiry (and last seen) out. */
export function dueForTouch(lastSeenAt: Date, t: Date): boolean {
	return t.getTime() - new Date(lastSeenAt).getTime() >= LAST_SEEN_EVERY_MS;
}

/** A session as GET /auth/sessions lists it. */
export function sessionView(s: SessionDoc, currentId: string | undefined) {
	return { id: s._id, createdAt: s.createdAt, lastSeenAt: s.lastSeenAt, ip: s.ip, userAgent: s.userAgent, current: s._id === currentId };
}

/** The answer of a sign-in: the session, and the account as GET /account shows it. */
export function signInAnswer(opened: { session: string; expiresAt: Date }, account: Record<string, unknown>, setupRequired: boolean) {
	// TFA-6: the group requires 2FA and the account has none: this session may only set it up.
	return { session: opened.session, expiresAt: opened.expiresAt, account, ...(setupRequired ? { twoFactorSetupRequired: true } : {}) };
}

export interface SessionsParams {
	sessions: Store<SessionDoc>;
	idleMs: number;
	absoluteMs: number;
}

export class Sessions {
	private sessions: Store<SessionDoc>;
	private idleMs: number;
	private absoluteMs: number;

	constructor({ sessions, idleMs, absoluteMs }: SessionsParams) {
		this.sessions = sessions;
		this.idleMs = idleMs;
		this.absoluteMs = absoluteMs;
	}

	/** A new session; the token is answered once and never stored. */
	async open(accountId: string, scope: SessionScope, client: Client): Promise<{ session: string; sessionId: string; expiresAt: Date }> {
		const token = SESSION_PREFIX + randomToken(32);
		const t = now();
		const s: SessionDoc = {
			_id: newId(),
			accountId,
			tokenDigest: digest(token),
			createdAt: t,
			lastSeenAt: t,
			idleExpiresAt: addMs(t, this.idleMs),
			absoluteExpiresAt: addMs(t, this.absoluteMs),
			ip: client.ip ?? "",
			userAgent: client.userAgent ?? "",
			scope,
		};
		await this.sessions.insert(s);
		return { session: token, sessionId: s._id, expiresAt: endsAt(s.idleExpiresAt, s.absoluteExpiresAt) };
	}

	/** Token → who; 401 when unknown or expired (SESSION_EXPIRED once it has run out). */
	async resolve(token: string) {
		if (!token.startsWith(SESSION_PREFIX)) throw unauthorized();
		const s = await this.sessions.findOne({ tokenDigest: digest(token) });
		if (!s) throw unauthorized("Unknown or ended session");
		const t = now();
		if (!isLive(s, t)) {
			await this.sessions.remove({ _id: s._id });
			throw unauthorized("The session has expired; sign in again", "SESSION_EXPIRED");
		}
		let idleExpiresAt = s.idleExpiresAt;
		if (dueForTouch(s.lastSeenAt, t)) {
			idleExpiresAt = addMs(t, this.idleMs);
			await this.sessions.updateOne({ _id: s._id }, { $set: { lastSeenAt: t, idleExpiresAt } });
		}
		return { sessionId: s._id, accountId: s.accountId, scope: s.scope ?? "full", expiresAt: endsAt(idleExpiresAt, s.absoluteExpiresAt) };
	}

	/** REG-6: the account's live sessions, the newest first, the caller's marked `current`. */
	async list(accountId: string, currentId: string | undefined) {
		const t = now();
		const rows = await this.sessions.find({ accountId }, { sort: { createdAt: -1 } });
		return rows.filter(s => isLive(s, t)).map(s => sessionView(s, currentId));
	}

	/** REG-6: ends one session of the account; 404 when it has none of that id. */
	async end(accountId: string, id: string): Promise<void> {
		if (!(await this.sessions.remove({ _id: id, accountId }))) throw notFound("Session");
	}

	/** Ends the caller's own session, if it has one (sign-out). */
	async endOwn(accountId: string, id: string | undefined): Promise<void> {
		if (id) await this.sessions.remove({ _id: id, accountId });
	}

	/** REG-6, PWD-3: every session of the account but `keepId`. Answers how many ended. */
	endOthers(accountId: string, keepId: string | undefined): Promise<number> {
		return this.sessions.remove({ accountId, _id: { $ne: keepId } });
	}

	/** PWD-4, STS-5: every session of the account. */
	endAll(accountId: string): Promise<number> {
		return this.sessions.remove({ accountId });
	}

	/** TFA-6: 2FA is on now, so the account's setup-only sessions become full ones. */
	async promoteSetupSessions(accountId: string): Promise<void> {
		await this.sessions.updateMany({ accountId, scope: "2fa-setup" }, { $set: { scope: "full" } });
	}

	/** Removes every session past either expiry. */
	removeExpired(): Promise<number> {
		const t = now();
		return this.sessions.remove({ $or: [{ absoluteExpiresAt: { $lte: t } }, { idleExpiresAt: { $lte: t } }] });
	}
}
