// auth: credentials and sessions. Passwords are bcrypt hashes of a SHA-256 pre-hash, computed in
// worker threads (lib/password-hash); sessions are opaque 256-bit tokens of which only a SHA-256
// digest is stored (REG-4), with an idle and an absolute timeout. The issue on account security
// adds lockout, policy per group, expiry, reset and 2FA on top of this.
import type { Context, Service } from "moleculer";
import { defineService } from "../lib/service-schema";
import { addMs, DAY, HOUR, MINUTE, now } from "../lib/clock";
import { envInt } from "../lib/config";
import { digest, newId, randomToken } from "../lib/crypto";
import { conflict, forbidden, invalidCredentials, passwordPolicy, unauthorized } from "../lib/errors";
import { dummyHash, hashPassword, verifyPassword } from "../lib/password-hash";
import { createDbMixin, DuplicateKeyError, type Doc, type Store } from "../mixins/db.mixin";
import { createJobsMixin } from "../mixins/jobs.mixin";
import { credentials, sessions } from "../models/auth";
import { DEFAULT_POLICY, policyViolations } from "./auth/password-policy";

interface CredentialDoc extends Doc {
	accountId: string;
	passwordHash: string;
	passwordChangedAt: Date;
	previousHashes: string[];
}

interface SessionDoc extends Doc {
	accountId: string;
	tokenDigest: string;
	createdAt: Date;
	lastSeenAt: Date;
	idleExpiresAt: Date;
	absoluteExpiresAt: Date;
	ip: string;
	userAgent: string;
}

interface AccountRef {
	id: string;
	email: string;
	status: string;
}

type Meta = { ip?: string; userAgent?: string; user?: { id: string; sessionId?: string } };

type Self = Service & {
	db: { credentials: Store<CredentialDoc>; sessions: Store<SessionDoc> };
	idleMs: number;
	absoluteMs: number;
	assertPolicy(password: string, email: string): void;
	credentialInfo(accountId: string): Promise<{ twoFactorEnabled: boolean; passwordChangedAt: Date | null; passwordExpiresAt: Date | null }>;
};

/** `qm_ses_` + 43 base64url characters (256 bits): the prefix lets secret scanners find leaks. */
export const SESSION_PREFIX = "qm_ses_";
const PASSWORD_EXPIRY_DAYS = 180; // PWD-2 default; per group in the account-security issue
const LAST_SEEN_EVERY_MS = MINUTE; // session writes at most once a minute per session

const passwordRule = { type: "string", min: 1, max: 1024 } as const; // the policy says the rest

const AuthService = defineService<Self>({
	name: "auth",
	mixins: [createDbMixin([credentials, sessions]), createJobsMixin("auth")],

	jobs: {
		"sessions-cleanup": {
			cron: "17 * * * *",
			async handler(this: Self) {
				const t = now();
				return this.db.sessions.remove({ $or: [{ absoluteExpiresAt: { $lte: t } }, { idleExpiresAt: { $lte: t } }] });
			},
		},
	},

	actions: {
		/** Internal: refuses a password that breaks the policy (422 PASSWORD_POLICY). */
		checkPassword: {
			visibility: "public",
			params: { password: passwordRule, email: { type: "string", optional: true } },
			handler(this: Self, ctx: Context<{ password: string; email?: string }>) {
				this.assertPolicy(ctx.params.password, ctx.params.email ?? "");
				return { ok: true };
			},
		},

		/** Internal: the first password of a new account (activation, bootstrap admin). */
		setInitialPassword: {
			visibility: "public",
			params: { accountId: { type: "string", min: 1 }, email: { type: "string" }, password: passwordRule },
			async handler(this: Self, ctx: Context<{ accountId: string; email: string; password: string }>) {
				this.assertPolicy(ctx.params.password, ctx.params.email);
				const passwordHash = await hashPassword(ctx.params.password);
				try {
					await this.db.credentials.insert({ _id: newId(), accountId: ctx.params.accountId, passwordHash, passwordChangedAt: now(), previousHashes: [] });
				} catch (err) {
					if (err instanceof DuplicateKeyError) throw conflict("This account has a password already");
					throw err;
				}
				return { ok: true };
			},
		},

		/** Internal: undo of setInitialPassword when the rest of an activation failed. */
		removeCredentials: {
			visibility: "public",
			params: { accountId: { type: "string", min: 1 } },
			async handler(this: Self, ctx: Context<{ accountId: string }>) {
				const [c, s] = await Promise.all([
					this.db.credentials.remove({ accountId: ctx.params.accountId }),
					this.db.sessions.remove({ accountId: ctx.params.accountId }),
				]);
				return { credentials: c, sessions: s };
			},
		},

		/** POST /auth/signin (REG-4) */
		signin: {
			params: { email: { type: "string", min: 1, max: 320 }, password: passwordRule },
			async handler(this: Self, ctx: Context<{ email: string; password: string }, Meta>) {
				const email = ctx.params.email.trim().toLowerCase();
				const account = await ctx.call<AccountRef | null, { email: string }>("accounts.findByEmail", { email });
				const cred = account ? await this.db.credentials.findOne({ accountId: account.id }) : null;
				// Unknown emails cost one bcrypt comparison too, so timing does not tell them apart.
				const ok = await verifyPassword(ctx.params.password, cred?.passwordHash ?? (await dummyHash()));
				if (!account || !cred || !ok) throw invalidCredentials();
				if (account.status === "suspended") throw forbidden("This account is suspended", undefined, "ACCOUNT_SUSPENDED");

				const token = SESSION_PREFIX + randomToken(32);
				const t = now();
				const session: SessionDoc = {
					_id: newId(),
					accountId: account.id,
					tokenDigest: digest(token),
					createdAt: t,
					lastSeenAt: t,
					idleExpiresAt: addMs(t, this.idleMs),
					absoluteExpiresAt: addMs(t, this.absoluteMs),
					ip: ctx.meta.ip ?? "",
					userAgent: ctx.meta.userAgent ?? "",
				};
				await this.db.sessions.insert(session);
				ctx.emit("auth.signedIn", { accountId: account.id, sessionId: session._id, ip: session.ip });
				const view = await ctx.call<Record<string, unknown>, { id: string }>("accounts.view", { id: account.id });
				return {
					session: token,
					expiresAt: new Date(Math.min(session.idleExpiresAt.getTime(), session.absoluteExpiresAt.getTime())),
					account: { ...view, ...(await this.credentialInfo(account.id)) },
				};
			},
		},

		/** POST /auth/signout: ends the calling session at once (REG-6). */
		signout: {
			params: {},
			async handler(this: Self, ctx: Context<Record<string, never>, Meta>) {
				const user = ctx.meta.user;
				if (user?.sessionId) await this.db.sessions.remove({ _id: user.sessionId, accountId: user.id });
				return null;
			},
		},

		/** Internal (gateway): session token → who; 401 when unknown or expired. */
		resolveSession: {
			visibility: "public",
			params: { token: { type: "string", min: 1, max: 512 } },
			async handler(this: Self, ctx: Context<{ token: string }>) {
				const { token } = ctx.params;
				if (!token.startsWith(SESSION_PREFIX)) throw unauthorized();
				const s = await this.db.sessions.findOne({ tokenDigest: digest(token) });
				if (!s) throw unauthorized("Unknown or ended session");
				const t = now();
				if (s.idleExpiresAt <= t || s.absoluteExpiresAt <= t) {
					await this.db.sessions.remove({ _id: s._id });
					throw unauthorized("The session has expired; sign in again", "SESSION_EXPIRED");
				}
				let idleExpiresAt = s.idleExpiresAt;
				if (t.getTime() - new Date(s.lastSeenAt).getTime() >= LAST_SEEN_EVERY_MS) {
					idleExpiresAt = addMs(t, this.idleMs);
					await this.db.sessions.updateOne({ _id: s._id }, { $set: { lastSeenAt: t, idleExpiresAt } });
				}
				return {
					sessionId: s._id,
					accountId: s.accountId,
					expiresAt: new Date(Math.min(idleExpiresAt.getTime(), s.absoluteExpiresAt.getTime())),
				};
			},
		},

		/** Internal: what GET /account shows about credentials. */
		credentialInfo: {
			visibility: "public",
			params: { accountId: { type: "string", min: 1 } },
			handler(this: Self, ctx: Context<{ accountId: string }>) {
				return this.credentialInfo(ctx.params.accountId);
			},
		},
	},

	methods: {
		assertPolicy(password: string, email: string) {
			const violations = policyViolations(password, { email }, DEFAULT_POLICY);
			if (violations.length) throw passwordPolicy(violations);
		},

		async credentialInfo(this: Self, accountId: string) {
			const c = await this.db.credentials.findOne({ accountId });
			const changed = c ? new Date(c.passwordChangedAt) : null;
			return {
				twoFactorEnabled: false,
				passwordChangedAt: changed,
				passwordExpiresAt: changed ? addMs(changed, PASSWORD_EXPIRY_DAYS * DAY) : null,
			};
		},
	},

	created(this: Self) {
		this.idleMs = envInt("SESSION_IDLE_MINUTES", 120) * MINUTE;
		this.absoluteMs = envInt("SESSION_ABSOLUTE_HOURS", 24) * HOUR;
	},
});

export default AuthService;
