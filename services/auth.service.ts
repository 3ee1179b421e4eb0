// auth: credentials, sessions, sign-in protection and two-factor authentication.
// - Passwords: bcrypt of a SHA-256 pre-hash, in worker threads (lib/password-hash); policy per
//   group, no reuse of any earlier password (PWD-1), expiry with heads-up notices (PWD-2),
//   change (PWD-3) and reset by single-use link (PWD-4).
// - Sessions: opaque 256-bit tokens, only a digest stored, idle and absolute timeouts (REG-4/6).
// - Lockout (REG-5): a (subject, IP) pair takes a slot atomically *before* a password is compared,
//   so parallel attempts can never exceed the limit; a success frees the pair.
// - TOTP (TFA-1…6): secrets sealed with QM_MASTER_KEY; each accepted time step is consumed with one
//   conditional update, so a code works once; recovery codes likewise.
import { randomInt } from "crypto";
import QRCode from "qrcode";
import type { Context, Service } from "moleculer";
import { addMs, DAY, HOUR, MINUTE, now, nowMs } from "../lib/clock";
import { envInt, envString, publicUrl } from "../lib/config";
import { digest, newId, randomToken } from "../lib/crypto";
import {
	conflict,
	forbidden,
	invalidCredentials,
	invalidState,
	linkInvalid,
	notFound,
	passwordPolicy,
	passwordRequired,
	rateLimited,
	unauthorized,
	wrongCode,
} from "../lib/errors";
import { dummyHash, hashPassword, verifyPassword } from "../lib/password-hash";
import { masterKey, open, seal } from "../lib/secretbox";
import { dueNotice } from "../lib/reminders";
import { defineService } from "../lib/service-schema";
import { bumpCounter, createDbMixin, DuplicateKeyError, hitLimits, type Doc, type Store } from "../mixins/db.mixin";
import { createJobsMixin } from "../mixins/jobs.mixin";
import { authCounters, authLinks, credentials, recoveryCodes, sessions, signinAttempts, twoFactor } from "../models/auth";
import type { GroupSettings } from "../lib/group-settings";
import { hourBucket, LOCKOUT, pairKey, secondsUntil, subjectOf } from "./auth/lockout";
import { DEFAULT_POLICY, policyViolations } from "./auth/password-policy";
import { matchStep, newSecret, otpauthUrl } from "./auth/totp";

interface CredentialDoc extends Doc {
	accountId: string;
	passwordHash: string;
	passwordChangedAt: Date;
	previousHashes: string[];
}

export type SessionScope = "full" | "2fa-setup";

interface SessionDoc extends Doc {
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

interface AttemptDoc extends Doc {
	kind: "pw" | "2fa";
	subject: string;
	email: string;
	ip: string;
	failures: number;
	/** epoch 0 when not locked (never null: see takeAttempt) */
	lockedUntil: Date;
	lastFailureAt?: Date;
	expiresAt: Date;
}

interface LinkDoc extends Doc {
	kind: "reset" | "change" | "challenge";
	tokenDigest: string;
	accountId: string;
	createdAt: Date;
	expiresAt: Date;
	usedAt: Date | null;
	ip: string;
}

interface TwoFactorDoc extends Doc {
	enabled: boolean;
	secretSealed?: string;
	pendingSecretSealed?: string;
	lastUsedStep: number;
	enabledAt?: Date;
}

interface RecoveryDoc extends Doc {
	accountId: string;
	setId: string;
	digest: string;
	codeSealed: string;
	position: number;
	usedAt: Date | null;
}

interface AccountRef {
	id: string;
	email: string;
	name?: string;
	status: string;
	group: string;
	settings: GroupSettings;
}

type Meta = { ip?: string; userAgent?: string; user?: { id: string; email: string; sessionId?: string } };

type Self = Service & {
	db: {
		credentials: Store<CredentialDoc>;
		sessions: Store<SessionDoc>;
		signin_attempts: Store<AttemptDoc>;
		auth_counters: Store;
		auth_links: Store<LinkDoc>;
		two_factor: Store<TwoFactorDoc>;
		recovery_codes: Store<RecoveryDoc>;
	};
	idleMs: number;
	absoluteMs: number;
	account(ctx: Context, id: string): Promise<AccountRef>;
	assertPolicy(password: string, email: string, settings?: GroupSettings): void;
	assertNotReused(cred: CredentialDoc, password: string): Promise<void>;
	setPassword(ctx: Context, account: AccountRef, password: string, how: "change" | "reset" | "expired"): Promise<void>;
	acceptableNewPassword(account: AccountRef, password: string): Promise<CredentialDoc>;
	storePassword(ctx: Context, account: AccountRef, cred: CredentialDoc, password: string, how: "change" | "reset" | "expired"): Promise<void>;
	passwordByLink(ctx: Context, kind: "reset" | "change", token: string, password: string, invalid: string): Promise<AccountRef>;
	checkPassword(ctx: Context, account: { id: string; email: string }, password: string): Promise<void>;
	confirmedWith2fa(ctx: Context, password: string): Promise<AccountRef>;
	createSession(ctx: Context, accountId: string, scope: SessionScope): Promise<{ session: string; expiresAt: Date; sessionId: string }>;
	sessionAnswer(ctx: Context, account: AccountRef): Promise<Record<string, unknown>>;
	afterFirstFactor(ctx: Context, account: AccountRef, cred: CredentialDoc): Promise<Record<string, unknown>>;
	afterSecondFactor(ctx: Context, account: AccountRef, cred: CredentialDoc): Promise<Record<string, unknown>>;
	createLink(kind: LinkDoc["kind"], accountId: string, validMs: number, ip: string): Promise<{ token: string; expiresAt: Date }>;
	findLink(kind: LinkDoc["kind"], token: string): Promise<LinkDoc | null>;
	useLink(link: LinkDoc): Promise<boolean>;
	takeAttempt(kind: "pw" | "2fa", subject: string, email: string, ip: string): Promise<string>;
	attemptFailed(key: string, subject: string): Promise<void>;
	attemptSucceeded(key: string): Promise<void>;
	verifySecondFactor(account: AccountRef, code: string): Promise<"totp" | "recovery" | null>;
	newRecoveryCodes(accountId: string): Promise<string[]>;
	remainingRecoveryCodes(accountId: string): Promise<RecoveryDoc[]>;
	credentialInfo(
		accountId: string,
		expiryDays?: number,
	): Promise<{ twoFactorEnabled: boolean; passwordChangedAt: Date | null; passwordExpiresAt: Date | null }>;
	pushCredentialState(ctx: Context, accountId: string, state: { twoFactorEnabled?: boolean; passwordChangedAt?: Date | null }): Promise<void>;
	notify(ctx: Context, template: string, account: { id: string; email: string }, dedupKey: string, data?: Record<string, unknown>): Promise<void>;
};

/** `qm_ses_` + 43 base64url characters (256 bits): the prefix lets secret scanners find leaks. */
export const SESSION_PREFIX = "qm_ses_";
const LAST_SEEN_EVERY_MS = MINUTE; // session writes at most once a minute per session
const RESET_VALID_MS = 30 * MINUTE; // PWD-4
const CHANGE_TOKEN_VALID_MS = 15 * MINUTE; // PWD-2: after PASSWORD_EXPIRED
const CHALLENGE_VALID_MS = 5 * MINUTE; // REG-4
const RECOVERY_CODES = 12; // TFA-2
const RESET_LIMITS_PER_ADDRESS = [
	{ limit: 1, windowSeconds: 60 },
	{ limit: 5, windowSeconds: 3600 },
];
const WAIT_FOR_SLOT_MS = 3000;
const NOT_LOCKED = new Date(0);

const passwordRule = { type: "string", min: 1, max: 1024 } as const; // the policy says the rest
const tokenRule = { type: "string", min: 1, max: 200 } as const;

function normaliseRecoveryCode(code: string): string {
	return code.replace(/[\s-]/g, "").toUpperCase();
}

/** 12 codes of 10 characters from an unambiguous alphabet, shown as `XXXXX-XXXXX`. */
function generateRecoveryCode(): string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"; // 32 symbols: 50 bits a code, uniformly drawn
	const raw = Array.from({ length: 10 }, () => alphabet[randomInt(alphabet.length)]).join("");
	return `${raw.slice(0, 5)}-${raw.slice(5)}`;
}

function recoveryDigest(accountId: string, code: string): string {
	return digest(`${accountId}:${normaliseRecoveryCode(code)}`);
}

function passwordExpiresAt(cred: CredentialDoc, settings: GroupSettings): Date | null {
	const days = settings["password.expiry.days"];
	return days > 0 ? addMs(new Date(cred.passwordChangedAt), days * DAY) : null;
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

const AuthService = defineService<Self>({
	name: "auth",
	mixins: [createDbMixin([credentials, sessions, signinAttempts, authCounters, authLinks, twoFactor, recoveryCodes]), createJobsMixin("auth")],

	jobs: {
		"sessions-cleanup": {
			cron: "17 * * * *",
			async handler(this: Self) {
				const t = now();
				return this.db.sessions.remove({ $or: [{ absoluteExpiresAt: { $lte: t } }, { idleExpiresAt: { $lte: t } }] });
			},
		},

		/** PWD-2: heads-up email + in-app notice at 14/7/3/1 days before expiry, each exactly once. */
		"password-expiry": {
			cron: "5 * * * *",
			async handler(this: Self, ctx: Context) {
				const t = nowMs();
				let sent = 0;
				let skip = 0;
				// Every credential, in pages: expiry and notice days are per group, so any may be due.
				for (;;) {
					const batch = await this.db.credentials.find({}, { sort: { _id: 1 }, skip, limit: 500 });
					if (!batch.length) break;
					skip += batch.length;
					const accounts = await ctx.call<AccountRef[], { ids: string[] }>("accounts.identities", { ids: batch.map(c => c.accountId) });
					const byId = new Map(accounts.map(a => [a.id, a]));
					for (const cred of batch) {
						const account = byId.get(cred.accountId);
						if (!account || account.status === "destroyed") continue;
						const expiresAt = passwordExpiresAt(cred, account.settings);
						if (!expiresAt) continue;
						const due = dueNotice(expiresAt, t, account.settings["password.expiry.notify.days"]);
						if (!due) continue;
						const changed = new Date(cred.passwordChangedAt).toISOString();
						const res = await ctx.call<{ duplicate: boolean }, Record<string, unknown>>("notifications.send", {
							template: "password-expiry",
							to: account.email,
							accountId: account.id,
							dedupKey: `password-expiry:${account.id}:${changed}:${due.notice}`,
							data: { days: due.daysLeft, expiresAt: expiresAt.toISOString(), changeLink: `${publicUrl()}/account/password` },
						});
						if (!res.duplicate) sent++;
					}
				}
				return sent;
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
				const passwordChangedAt = now();
				try {
					await this.db.credentials.insert({ _id: newId(), accountId: ctx.params.accountId, passwordHash, passwordChangedAt, previousHashes: [] });
				} catch (err) {
					if (err instanceof DuplicateKeyError) throw conflict("This account has a password already");
					throw err;
				}
				return { ok: true, passwordChangedAt };
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

		/** POST /auth/signin (REG-4, REG-5) */
		signin: {
			params: { email: { type: "string", min: 1, max: 320 }, password: passwordRule },
			async handler(this: Self, ctx: Context<{ email: string; password: string }, Meta>) {
				const email = ctx.params.email.trim().toLowerCase();
				const ip = ctx.meta.ip ?? "";
				const account = await ctx.call<AccountRef | null, { email: string }>("accounts.findByEmail", { email });
				const subject = subjectOf(account, email);
				const key = await this.takeAttempt("pw", subject, email, ip);
				const cred = account ? await this.db.credentials.findOne({ accountId: account.id }) : null;
				// Unknown emails cost one bcrypt comparison too, so timing does not tell them apart.
				const ok = await verifyPassword(ctx.params.password, cred?.passwordHash ?? (await dummyHash()));
				if (!account || !cred || !ok) {
					await this.attemptFailed(key, subject);
					throw invalidCredentials();
				}
				await this.attemptSucceeded(key);
				if (account.status === "suspended") throw forbidden("This account is suspended", undefined, "ACCOUNT_SUSPENDED");
				return this.afterFirstFactor(ctx, account, cred);
			},
		},

		/** POST /auth/signin/2fa — the challenge and a TOTP or recovery code → a session (TFA-4). */
		signin2fa: {
			params: { challenge: tokenRule, code: { type: "string", min: 1, max: 40 } },
			async handler(this: Self, ctx: Context<{ challenge: string; code: string }, Meta>) {
				const link = await this.findLink("challenge", ctx.params.challenge);
				if (!link) throw unauthorized("The sign-in challenge is unknown or expired; sign in again", "SESSION_EXPIRED");
				const account = await this.account(ctx, link.accountId);
				const key = await this.takeAttempt("2fa", account.id, account.email, ctx.meta.ip ?? "");
				const factor = await this.verifySecondFactor(account, ctx.params.code);
				if (!factor) {
					await this.attemptFailed(key, account.id);
					throw wrongCode(401);
				}
				await this.attemptSucceeded(key);
				if (!(await this.useLink(link))) throw unauthorized("The sign-in challenge was used already; sign in again", "SESSION_EXPIRED");
				if (account.status === "suspended") throw forbidden("This account is suspended", undefined, "ACCOUNT_SUSPENDED");
				const cred = await this.db.credentials.findOne({ accountId: account.id });
				if (!cred) throw invalidCredentials();
				const answer = await this.afterSecondFactor(ctx, account, cred);
				if (factor === "recovery") {
					const remaining = (await this.remainingRecoveryCodes(account.id)).length;
					await this.notify(ctx, "2fa-recovery-used", account, `2fa-recovery-used:${account.id}:${newId()}`, { remaining });
					return {
						...answer,
						recoveryCodesRemaining: remaining,
						...(remaining <= 3 ? { warning: `Only ${remaining} recovery codes left: generate new ones.` } : {}),
					};
				}
				return answer;
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

		/** GET /auth/sessions */
		listSessions: {
			params: {},
			async handler(this: Self, ctx: Context<Record<string, never>, Meta>) {
				const t = now();
				const rows = await this.db.sessions.find({ accountId: ctx.meta.user!.id }, { sort: { createdAt: -1 } });
				return rows
					.filter(s => s.idleExpiresAt > t && s.absoluteExpiresAt > t)
					.map(s => ({
						id: s._id,
						createdAt: s.createdAt,
						lastSeenAt: s.lastSeenAt,
						ip: s.ip,
						userAgent: s.userAgent,
						current: s._id === ctx.meta.user!.sessionId,
					}));
			},
		},

		/** DELETE /auth/sessions/{id} */
		endSession: {
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				const removed = await this.db.sessions.remove({ _id: ctx.params.id, accountId: ctx.meta.user!.id });
				if (!removed) throw notFound("Session");
				return null;
			},
		},

		/** POST /auth/sessions/revoke-others */
		revokeOtherSessions: {
			params: {},
			async handler(this: Self, ctx: Context<Record<string, never>, Meta>) {
				const revoked = await this.db.sessions.remove({ accountId: ctx.meta.user!.id, _id: { $ne: ctx.meta.user!.sessionId } });
				return { revoked };
			},
		},

		/** POST /auth/password/change (PWD-3, session only) */
		changePassword: {
			params: { currentPassword: passwordRule, newPassword: passwordRule, invalidateSessions: { type: "boolean", optional: true, default: false } },
			async handler(this: Self, ctx: Context<{ currentPassword: string; newPassword: string; invalidateSessions: boolean }, Meta>) {
				const account = await this.account(ctx, ctx.meta.user!.id);
				await this.checkPassword(ctx, account, ctx.params.currentPassword);
				await this.setPassword(ctx, account, ctx.params.newPassword, "change");
				if (ctx.params.invalidateSessions) await this.db.sessions.remove({ accountId: account.id, _id: { $ne: ctx.meta.user!.sessionId } });
				return null;
			},
		},

		/** POST /auth/password/expired — the changeToken of PASSWORD_EXPIRED + a new password → a session (PWD-2). */
		changeExpiredPassword: {
			params: { changeToken: tokenRule, newPassword: passwordRule },
			async handler(this: Self, ctx: Context<{ changeToken: string; newPassword: string }, Meta>) {
				const account = await this.passwordByLink(
					ctx,
					"change",
					ctx.params.changeToken,
					ctx.params.newPassword,
					"The change token is invalid, used or expired; sign in again",
				);
				return this.sessionAnswer(ctx, account);
			},
		},

		/** POST /auth/password/reset — the same 202 for every address (PWD-4). */
		requestReset: {
			params: { email: { type: "email", normalize: true, max: 254 } },
			async handler(this: Self, ctx: Context<{ email: string }, Meta>) {
				const wait = await hitLimits(this.db.auth_counters, `reset:${ctx.params.email}`, RESET_LIMITS_PER_ADDRESS, nowMs());
				if (wait > 0) throw rateLimited(wait);
				const account = await ctx.call<AccountRef | null, { email: string }>("accounts.findByEmail", { email: ctx.params.email });
				if (account && account.status !== "suspended") {
					const { token } = await this.createLink("reset", account.id, RESET_VALID_MS, ctx.meta.ip ?? "");
					await this.notify(ctx, "password-reset", account, `password-reset:${digest(token)}`, { link: `${publicUrl()}/password/reset?token=${token}` });
				}
				return { message: "If the address has an account, an email with a reset link is on its way." };
			},
		},

		/** POST /auth/password/reset/confirm — link + new password; 2FA stays as it is (PWD-4). */
		confirmReset: {
			params: { token: tokenRule, newPassword: passwordRule, invalidateSessions: { type: "boolean", optional: true, default: false } },
			async handler(this: Self, ctx: Context<{ token: string; newPassword: string; invalidateSessions: boolean }, Meta>) {
				const account = await this.passwordByLink(
					ctx,
					"reset",
					ctx.params.token,
					ctx.params.newPassword,
					"This reset link is invalid, already used or expired; ask for a new one",
				);
				if (ctx.params.invalidateSessions) await this.db.sessions.remove({ accountId: account.id });
				// A forgotten password also clears the lockouts it caused.
				await this.db.signin_attempts.remove({ subject: account.id, kind: "pw" });
				return null;
			},
		},

		/** POST /auth/2fa/setup {password} → secret, otpauth:// URI and QR code (TFA-1). */
		setup2fa: {
			params: { password: passwordRule },
			async handler(this: Self, ctx: Context<{ password: string }, Meta>) {
				const account = await this.account(ctx, ctx.meta.user!.id);
				await this.checkPassword(ctx, account, ctx.params.password);
				const existing = await this.db.two_factor.findById(account.id);
				if (existing?.enabled) throw invalidState("Two-factor authentication is on already; disable it first");
				const secret = newSecret();
				await this.db.two_factor.updateOne(
					{ _id: account.id },
					{ $set: { enabled: false, pendingSecretSealed: seal(secret), lastUsedStep: existing?.lastUsedStep ?? -1 } },
					{ upsert: true },
				);
				const url = otpauthUrl(secret, account.email, envString("TOTP_ISSUER", "Quartermaster"));
				return { secret, otpauthUrl: url, qrCode: await QRCode.toDataURL(url, { margin: 1, width: 240 }) };
			},
		},

		/** POST /auth/2fa/enable {code} → 12 recovery codes, shown once here (TFA-2). */
		enable2fa: {
			params: { code: { type: "string", min: 1, max: 10 } },
			async handler(this: Self, ctx: Context<{ code: string }, Meta>) {
				const account = await this.account(ctx, ctx.meta.user!.id);
				const tf = await this.db.two_factor.findById(account.id);
				if (!tf?.pendingSecretSealed || tf.enabled) throw invalidState("Start with POST /auth/2fa/setup");
				const step = matchStep(open(tf.pendingSecretSealed), ctx.params.code.trim(), nowMs(), tf.lastUsedStep ?? -1);
				if (step === null) throw wrongCode(422, "is not the current code of the authenticator app");
				// The setup code's step is consumed too: it cannot be used again to sign in (TFA-3).
				const enabled = await this.db.two_factor.updateOne(
					{ _id: account.id, enabled: false, pendingSecretSealed: tf.pendingSecretSealed, lastUsedStep: { $lt: step } },
					{ $set: { enabled: true, secretSealed: tf.pendingSecretSealed, lastUsedStep: step, enabledAt: now() }, $unset: { pendingSecretSealed: true } },
				);
				if (!enabled) throw wrongCode(422, "was used already");
				const codes = await this.newRecoveryCodes(account.id);
				await this.db.sessions.updateMany({ accountId: account.id, scope: "2fa-setup" }, { $set: { scope: "full" } });
				await this.pushCredentialState(ctx, account.id, { twoFactorEnabled: true });
				await this.notify(ctx, "2fa-enabled", account, `2fa-enabled:${account.id}:${step}`);
				return { recoveryCodes: codes };
			},
		},

		/** POST /auth/2fa/recovery-codes {password} → the unused codes (TFA-5). */
		recoveryCodes: {
			params: { password: passwordRule },
			async handler(this: Self, ctx: Context<{ password: string }, Meta>) {
				const account = await this.confirmedWith2fa(ctx, ctx.params.password);
				const left = await this.remainingRecoveryCodes(account.id);
				return { recoveryCodes: left.map(r => open(r.codeSealed)), remaining: left.length };
			},
		},

		/** POST /auth/2fa/recovery-codes/regenerate {password} → a new set; the old one dies (TFA-5). */
		regenerateRecoveryCodes: {
			params: { password: passwordRule },
			async handler(this: Self, ctx: Context<{ password: string }, Meta>) {
				const account = await this.confirmedWith2fa(ctx, ctx.params.password);
				const codes = await this.newRecoveryCodes(account.id);
				await this.notify(ctx, "2fa-codes-regenerated", account, `2fa-codes-regenerated:${account.id}:${newId()}`);
				return { recoveryCodes: codes };
			},
		},

		/** POST /auth/2fa/disable {password, code} (TFA-5) */
		disable2fa: {
			params: { password: passwordRule, code: { type: "string", min: 1, max: 40 } },
			async handler(this: Self, ctx: Context<{ password: string; code: string }, Meta>) {
				const account = await this.confirmedWith2fa(ctx, ctx.params.password);
				// Wrong codes here count on the same counter as at sign-in (TFA-4).
				const key = await this.takeAttempt("2fa", account.id, account.email, ctx.meta.ip ?? "");
				if (!(await this.verifySecondFactor(account, ctx.params.code))) {
					await this.attemptFailed(key, account.id);
					throw wrongCode(422);
				}
				await this.attemptSucceeded(key);
				await this.db.two_factor.remove({ _id: account.id });
				await this.db.recovery_codes.remove({ accountId: account.id });
				await this.pushCredentialState(ctx, account.id, { twoFactorEnabled: false });
				await this.notify(ctx, "2fa-disabled", account, `2fa-disabled:${account.id}:${newId()}`);
				return null;
			},
		},

		/** GET /admin/signin-attempts?email&ip — failing and locked pairs (REG-6). */
		adminAttempts: {
			params: { email: { type: "string", optional: true, max: 320 }, ip: { type: "string", optional: true, max: 64 } },
			async handler(this: Self, ctx: Context<{ email?: string; ip?: string }>) {
				const query: Record<string, unknown> = { failures: { $gt: 0 } };
				if (ctx.params.email) query.email = ctx.params.email.trim().toLowerCase();
				if (ctx.params.ip) query.ip = ctx.params.ip;
				const t = now();
				const rows = await this.db.signin_attempts.find(query, { sort: { lastFailureAt: -1 }, limit: 500 });
				return rows.map(r => ({
					kind: r.kind === "pw" ? "password" : "2fa",
					email: r.email,
					ip: r.ip,
					failures: r.failures,
					locked: r.lockedUntil > t,
					lockedUntil: r.lockedUntil > t ? r.lockedUntil : null,
					lastFailureAt: r.lastFailureAt ?? null,
				}));
			},
		},

		/** DELETE /admin/signin-attempts?email&ip — lifts the matching lockouts. */
		adminResetAttempts: {
			params: { email: { type: "string", optional: true, max: 320 }, ip: { type: "string", optional: true, max: 64 } },
			async handler(this: Self, ctx: Context<{ email?: string; ip?: string }>) {
				const query: Record<string, unknown> = {};
				if (ctx.params.email) query.email = ctx.params.email.trim().toLowerCase();
				if (ctx.params.ip) query.ip = ctx.params.ip;
				const reset = await this.db.signin_attempts.remove(query);
				if (ctx.params.email) {
					const account = await ctx.call<AccountRef | null, { email: string }>("accounts.findByEmail", { email: ctx.params.email.trim().toLowerCase() });
					await this.db.auth_counters.remove({
						_id: { $regex: new RegExp(`^cap\\|${(account?.id ?? `email:${ctx.params.email}`).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\|`) },
					});
				}
				return { reset };
			},
		},

		/** Internal: sensitive operations of other services (tokens) confirm the password here. */
		confirmPassword: {
			visibility: "public",
			params: { accountId: { type: "string", min: 1 }, password: passwordRule },
			async handler(this: Self, ctx: Context<{ accountId: string; password: string }>) {
				await this.checkPassword(ctx, await this.account(ctx, ctx.params.accountId), ctx.params.password);
				return { ok: true };
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
					scope: s.scope ?? "full",
					expiresAt: new Date(Math.min(idleExpiresAt.getTime(), s.absoluteExpiresAt.getTime())),
				};
			},
		},

		/** Internal: what GET /account shows about credentials. */
		credentialInfo: {
			visibility: "public",
			params: { accountId: { type: "string", min: 1 }, passwordExpiryDays: { type: "number", integer: true, min: 0, optional: true } },
			handler(this: Self, ctx: Context<{ accountId: string; passwordExpiryDays?: number }>) {
				return this.credentialInfo(ctx.params.accountId, ctx.params.passwordExpiryDays);
			},
		},
	},

	events: {
		/** STS-5: a suspended account loses every session at once. */
		"accounts.status.changed": {
			params: { id: "string", to: "string" },
			async handler(this: Self, ctx: Context<{ id: string; to: string }>) {
				if (ctx.params.to === "suspended" || ctx.params.to === "destroyed") await this.db.sessions.remove({ accountId: ctx.params.id });
			},
		},
	},

	methods: {
		async account(ctx: Context, id: string) {
			const [a] = await ctx.call<AccountRef[], { ids: string[] }>("accounts.identities", { ids: [id] });
			if (!a) throw unauthorized();
			return a;
		},

		assertPolicy(password: string, email: string, settings?: GroupSettings) {
			const policy = settings ? { ...DEFAULT_POLICY, minLength: settings["password.min.length"] } : DEFAULT_POLICY;
			const violations = policyViolations(password, { email }, policy);
			if (violations.length) throw passwordPolicy(violations);
		},

		/** PWD-1: none of the earlier passwords, the current one included. */
		async assertNotReused(this: Self, cred: CredentialDoc, password: string) {
			const hashes = [cred.passwordHash, ...(cred.previousHashes ?? [])];
			const matches = await Promise.all(hashes.map(h => verifyPassword(password, h)));
			if (matches.some(Boolean)) throw passwordPolicy(["notReused"]);
		},

		/** PWD-1: the group's policy and none of the earlier passwords. Answers the credentials checked. */
		async acceptableNewPassword(this: Self, account: AccountRef, password: string) {
			this.assertPolicy(password, account.email, account.settings);
			const cred = await this.db.credentials.findOne({ accountId: account.id });
			if (!cred) throw notFound("Credentials");
			await this.assertNotReused(cred, password);
			return cred;
		},

		async setPassword(this: Self, ctx: Context, account: AccountRef, password: string, how: "change" | "reset" | "expired") {
			await this.storePassword(ctx, account, await this.acceptableNewPassword(account, password), password, how);
		},

		async storePassword(this: Self, ctx: Context, account: AccountRef, cred: CredentialDoc, password: string, how: "change" | "reset" | "expired") {
			const passwordHash = await hashPassword(password);
			const t = now();
			// Conditional on the hash we checked against: two parallel changes cannot both win.
			const updated = await this.db.credentials.updateOne(
				{ _id: cred._id, passwordHash: cred.passwordHash },
				{ $set: { passwordHash, passwordChangedAt: t }, $push: { previousHashes: cred.passwordHash } },
			);
			if (!updated) throw conflict("The password was changed at the same moment by another request; try again");
			ctx.emit("auth.password.changed", { accountId: account.id, how });
			await this.pushCredentialState(ctx, account.id, { passwordChangedAt: t });
			await this.notify(ctx, "password-changed", account, `password-changed:${account.id}:${t.toISOString()}`, {
				how,
				when: t.toISOString(),
				resetLink: `${publicUrl()}/password/reset`,
			});
		},

		/** A single-use link or token and a new password: a refused password leaves the link usable. */
		async passwordByLink(this: Self, ctx: Context, kind: "reset" | "change", token: string, password: string, invalid: string) {
			const link = await this.findLink(kind, token);
			if (!link) throw linkInvalid(invalid);
			const account = await this.account(ctx, link.accountId);
			const cred = await this.acceptableNewPassword(account, password);
			if (!(await this.useLink(link))) throw linkInvalid(invalid);
			await this.storePassword(ctx, account, cred, password, kind === "reset" ? "reset" : "expired");
			return account;
		},

		/** The caller, after the password, on an account with 2FA on (view, regenerate, disable). */
		async confirmedWith2fa(this: Self, ctx: Context, password: string) {
			const account = await this.account(ctx, (ctx.meta as Meta).user!.id);
			await this.checkPassword(ctx, account, password);
			const tf = await this.db.two_factor.findById(account.id);
			if (!tf?.enabled) throw invalidState("Two-factor authentication is off");
			return account;
		},

		/** Sensitive operations confirm the password; wrong ones count toward the same lockout as sign-in. */
		async checkPassword(this: Self, ctx: Context, account: { id: string; email: string }, password: string) {
			const key = await this.takeAttempt("pw", account.id, account.email, (ctx.meta as Meta).ip ?? "");
			const cred = await this.db.credentials.findOne({ accountId: account.id });
			if (!cred || !(await verifyPassword(password, cred.passwordHash))) {
				await this.attemptFailed(key, account.id);
				throw passwordRequired();
			}
			await this.attemptSucceeded(key);
		},

		async createSession(this: Self, ctx: Context, accountId: string, scope: SessionScope) {
			const meta = ctx.meta as Meta;
			const token = SESSION_PREFIX + randomToken(32);
			const t = now();
			const session: SessionDoc = {
				_id: newId(),
				accountId,
				tokenDigest: digest(token),
				createdAt: t,
				lastSeenAt: t,
				idleExpiresAt: addMs(t, this.idleMs),
				absoluteExpiresAt: addMs(t, this.absoluteMs),
				ip: meta.ip ?? "",
				userAgent: meta.userAgent ?? "",
				scope,
			};
			await this.db.sessions.insert(session);
			ctx.emit("auth.signedIn", { accountId, sessionId: session._id, ip: session.ip });
			return { session: token, sessionId: session._id, expiresAt: new Date(Math.min(session.idleExpiresAt.getTime(), session.absoluteExpiresAt.getTime())) };
		},

		/** A session, and the account as GET /account shows it. */
		async sessionAnswer(this: Self, ctx: Context, account: AccountRef) {
			const tf = await this.db.two_factor.findById(account.id);
			const setupRequired = !!account.settings["2fa.required"] && !tf?.enabled;
			const { session, expiresAt } = await this.createSession(ctx, account.id, setupRequired ? "2fa-setup" : "full");
			const view = await ctx.call<Record<string, unknown>, { id: string }>("accounts.view", { id: account.id });
			const info = await this.credentialInfo(account.id, account.settings["password.expiry.days"]);
			// Each sign-in also refreshes accounts' copy, should an earlier update have been lost.
			await this.pushCredentialState(ctx, account.id, { twoFactorEnabled: info.twoFactorEnabled, passwordChangedAt: info.passwordChangedAt });
			return {
				session,
				expiresAt,
				account: { ...view, twoFactorEnabled: info.twoFactorEnabled, passwordExpiresAt: info.passwordExpiresAt },
				// TFA-6: the group requires 2FA; this session may only set it up.
				...(setupRequired ? { twoFactorSetupRequired: true } : {}),
			};
		},

		/** Password accepted: a 2FA challenge, or the expired-password detour, or a session. */
		async afterFirstFactor(this: Self, ctx: Context, account: AccountRef, cred: CredentialDoc) {
			const tf = await this.db.two_factor.findById(account.id);
			if (tf?.enabled) {
				const { token, expiresAt } = await this.createLink("challenge", account.id, CHALLENGE_VALID_MS, (ctx.meta as Meta).ip ?? "");
				return { twoFactorRequired: true, challenge: token, expiresAt };
			}
			return this.afterSecondFactor(ctx, account, cred);
		},

		/** Both factors accepted. PWD-2: an expired password leads into the change flow, never a dead end. */
		async afterSecondFactor(this: Self, ctx: Context, account: AccountRef, cred: CredentialDoc) {
			const expiresAt = passwordExpiresAt(cred, account.settings);
			if (expiresAt && expiresAt <= now()) {
				const { token, expiresAt: tokenExpiresAt } = await this.createLink("change", account.id, CHANGE_TOKEN_VALID_MS, (ctx.meta as Meta).ip ?? "");
				throw forbidden("The password has expired: choose a new one", { changeToken: token, changeTokenExpiresAt: tokenExpiresAt }, "PASSWORD_EXPIRED");
			}
			return this.sessionAnswer(ctx, account);
		},

		async createLink(this: Self, kind: LinkDoc["kind"], accountId: string, validMs: number, ip: string) {
			const token = randomToken(32);
			const t = now();
			const expiresAt = addMs(t, validMs);
			await this.db.auth_links.insert({ _id: newId(), kind, tokenDigest: digest(token), accountId, createdAt: t, expiresAt, usedAt: null, ip });
			return { token, expiresAt };
		},

		findLink(this: Self, kind: LinkDoc["kind"], token: string) {
			return this.db.auth_links.findOne({ kind, tokenDigest: digest(token), usedAt: null, expiresAt: { $gt: now() } });
		},

		/** Single use: true for exactly one caller. */
		async useLink(this: Self, link: LinkDoc) {
			return !!(await this.db.auth_links.updateOne({ _id: link._id, usedAt: null }, { $set: { usedAt: now() } }));
		},

		/**
		 * REG-5: takes one of the pair's slots before the password is compared; a pair with 5 failures
		 * (or 5 attempts in flight) has none left, so 200 parallel wrong passwords compare at most 5.
		 * Waits briefly while the slots are held by attempts in flight; refuses once the pair is locked.
		 */
		async takeAttempt(this: Self, kind: "pw" | "2fa", subject: string, email: string, ip: string) {
			const key = pairKey(kind, subject, ip);
			const deadline = Date.now() + WAIT_FOR_SLOT_MS;
			for (;;) {
				const t = nowMs();
				const cap = await this.db.auth_counters.findById(`cap|${subject}|${hourBucket(t).key}`);
				if (cap && (cap.count as number) >= LOCKOUT.accountCapPerHour) throw rateLimited(secondsUntil(t, hourBucket(t).endsAt), "TOO_MANY_ATTEMPTS");
				// A lock that has run out frees the pair. (`lockedUntil` is never null: NeDB orders null
				// before every date while MongoDB compares nothing with it; epoch 0 means "not locked".)
				const nowDate = new Date(t);
				await this.db.signin_attempts.updateOne(
					{ _id: key, lockedUntil: { $gt: NOT_LOCKED, $lte: nowDate } },
					{ $set: { failures: 0, lockedUntil: NOT_LOCKED } },
				);
				const expiresAt = new Date(t + LOCKOUT.lockMs + DAY);
				let taken: AttemptDoc | null = null;
				try {
					taken = await this.db.signin_attempts.updateOne(
						{ _id: key, failures: { $lt: LOCKOUT.maxFailures }, lockedUntil: { $lte: nowDate } },
						{ $inc: { failures: 1 }, $set: { expiresAt } },
					);
					if (!taken && !(await this.db.signin_attempts.findById(key))) {
						taken = await this.db.signin_attempts.insert({ _id: key, kind, subject, email, ip, failures: 1, lockedUntil: NOT_LOCKED, expiresAt });
					}
				} catch (err) {
					if (!(err instanceof DuplicateKeyError)) throw err; // a parallel first attempt created it: try again
				}
				if (taken) return key;
				const doc = await this.db.signin_attempts.findById(key);
				if (doc && doc.lockedUntil > new Date(t)) throw rateLimited(secondsUntil(t, doc.lockedUntil), "TOO_MANY_ATTEMPTS");
				if (Date.now() > deadline) throw rateLimited(1, "TOO_MANY_ATTEMPTS");
				await sleep(20);
			}
		},

		/** The slot stays counted as a failure; the fifth locks the pair for 15 minutes. */
		async attemptFailed(this: Self, key: string, subject: string) {
			const t = nowMs();
			await this.db.signin_attempts.updateOne({ _id: key }, { $set: { lastFailureAt: new Date(t) } });
			await this.db.signin_attempts.updateOne(
				{ _id: key, failures: { $gte: LOCKOUT.maxFailures }, lockedUntil: { $lte: new Date(t) } },
				{ $set: { lockedUntil: new Date(t + LOCKOUT.lockMs) } },
			);
			const { key: hour, endsAt } = hourBucket(t);
			await bumpCounter(this.db.auth_counters, `cap|${subject}|${hour}`, new Date(endsAt));
		},

		/** A success frees the pair (REG-5). */
		async attemptSucceeded(this: Self, key: string) {
			await this.db.signin_attempts.updateOne({ _id: key, lockedUntil: { $lte: now() } }, { $set: { failures: 0 } });
		},

		/** A TOTP code (its step consumed atomically) or an unused recovery code (used atomically). */
		async verifySecondFactor(this: Self, account: AccountRef, code: string) {
			const tf = await this.db.two_factor.findById(account.id);
			if (!tf?.enabled || !tf.secretSealed) return null;
			const trimmed = code.trim();
			if (/^\d{6}$/.test(trimmed)) {
				const step = matchStep(open(tf.secretSealed), trimmed, nowMs(), tf.lastUsedStep ?? -1);
				if (step === null) return null;
				const consumed = await this.db.two_factor.updateOne({ _id: account.id, enabled: true, lastUsedStep: { $lt: step } }, { $set: { lastUsedStep: step } });
				return consumed ? "totp" : null;
			}
			const used = await this.db.recovery_codes.updateOne(
				{ accountId: account.id, digest: recoveryDigest(account.id, trimmed), usedAt: null },
				{ $set: { usedAt: now() } },
			);
			return used ? "recovery" : null;
		},

		async newRecoveryCodes(this: Self, accountId: string) {
			const setId = newId();
			const codes = Array.from({ length: RECOVERY_CODES }, generateRecoveryCode);
			for (const [position, code] of codes.entries()) {
				await this.db.recovery_codes.insert({
					_id: newId(),
					accountId,
					setId,
					digest: recoveryDigest(accountId, code),
					codeSealed: seal(code),
					position,
					usedAt: null,
				});
			}
			// The old set dies once the new one is in place.
			await this.db.recovery_codes.remove({ accountId, setId: { $ne: setId } });
			return codes;
		},

		remainingRecoveryCodes(this: Self, accountId: string) {
			return this.db.recovery_codes.find({ accountId, usedAt: null }, { sort: { position: 1 } });
		},

		/** `expiryDays` from the caller's group settings saves asking accounts for them. */
		async credentialInfo(this: Self, accountId: string, expiryDays?: number) {
			const [c, tf] = await Promise.all([this.db.credentials.findOne({ accountId }), this.db.two_factor.findById(accountId)]);
			const changed = c ? new Date(c.passwordChangedAt) : null;
			let days = expiryDays;
			if (c && days === undefined) {
				const [a] = await this.broker.call<AccountRef[], { ids: string[] }>("accounts.identities", { ids: [accountId] });
				days = a?.settings["password.expiry.days"] ?? 0;
			}
			const expiresAt = changed && days ? addMs(changed, days * DAY) : null;
			return { twoFactorEnabled: !!tf?.enabled, passwordChangedAt: changed, passwordExpiresAt: expiresAt };
		},

		/** GET /account is answered by accounts alone: it keeps a copy of these two facts. */
		async pushCredentialState(this: Self, ctx: Context, accountId: string, state: { twoFactorEnabled?: boolean; passwordChangedAt?: Date | null }) {
			const clean = Object.fromEntries(Object.entries(state).filter(([, v]) => v !== undefined && v !== null));
			try {
				await ctx.call("accounts.setCredentialState", { id: accountId, ...clean });
			} catch (err) {
				this.logger.warn(`Could not update accounts' copy of the credential state of ${accountId}; the next sign-in will`, err);
			}
		},

		async notify(this: Self, ctx: Context, template: string, account: { id: string; email: string }, dedupKey: string, data: Record<string, unknown> = {}) {
			await ctx.call("notifications.send", { template, to: account.email, accountId: account.id, dedupKey, data: { when: now().toISOString(), ...data } });
		},
	},

	created(this: Self) {
		this.idleMs = envInt("SESSION_IDLE_MINUTES", 120) * MINUTE;
		this.absoluteMs = envInt("SESSION_ABSOLUTE_HOURS", 24) * HOUR;
	},

	started() {
		// Fail at start, not at the first 2FA setup, when the master key is missing or malformed.
		masterKey();
	},
});

export default AuthService;
