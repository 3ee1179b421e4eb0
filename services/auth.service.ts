// auth: credentials, sessions, sign-in protection and two-factor authentication. This file is the
// shell — schema, settings, thin actions in the order of a customer's journey (sign-up, sign-in,
// 2FA, sessions, password, admin) — over the modules of services/auth/ (see its README):
// credentials.ts (PWD-1…4), sessions.ts (REG-4/6), attempts.ts + lockout.ts (REG-5),
// second-factor.ts + totp.ts (TFA-1…6), links.ts (single-use links and challenges).
import QRCode from "qrcode";
import type { Context, Service } from "moleculer";
import { HOUR, MINUTE, now, nowMs } from "../lib/clock";
import { envInt, envString, publicUrl } from "../lib/config";
import { digest, newId } from "../lib/crypto";
import { forbidden, invalidCredentials, invalidState, linkInvalid, passwordRequired, rateLimited, unauthorized, wrongCode } from "../lib/errors";
import { masterKey } from "../lib/secretbox";
import { defineService } from "../lib/service-schema";
import { createDbMixin, hitLimits, type Store } from "../mixins/db.mixin";
import { createJobsMixin } from "../mixins/jobs.mixin";
import { authCounters, authLinks, credentials, recoveryCodes, sessions, signinAttempts, twoFactor } from "../models/auth";
import { Attempts, normaliseEmail, subjectOf, type AttemptDoc, type AttemptKind } from "./auth/attempts";
import { assertPolicy, credentialFacts, Credentials, passwordExpiresAt, remindExpiringPasswords } from "./auth/credentials";
import type { CredentialDoc, ExpiryNotification, PasswordChange, PasswordOwner } from "./auth/credentials";
import { LINK_INVALID, Links, RESET_REQUESTS_PER_ADDRESS, type LinkDoc } from "./auth/links";
import { recoveryCodesLeft, SecondFactor, type RecoveryDoc, type TwoFactorDoc } from "./auth/second-factor";
import { Sessions, signInAnswer, type SessionDoc } from "./auth/sessions";
import { otpauthUrl } from "./auth/totp";

type AccountRef = PasswordOwner & { name?: string; status: string; group: string };
type Meta = { ip?: string; userAgent?: string; user?: { id: string; email: string; sessionId?: string } };
type Answer = Record<string, unknown>;

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
	credentials: Credentials;
	sessions: Sessions;
	attempts: Attempts;
	links: Links;
	secondFactor: SecondFactor;
	account(ctx: Context, id: string): Promise<AccountRef>;
	requirePassword(ctx: Context, account: { id: string; email: string }, password: string): Promise<void>;
	requireSecondFactor(ctx: Context, account: AccountRef, code: string, status: 401 | 422): Promise<"totp" | "recovery">;
	confirmedWith2fa(ctx: Context, password: string): Promise<AccountRef>;
	afterSecondFactor(ctx: Context, account: AccountRef, cred: CredentialDoc): Promise<Answer>;
	sessionAnswer(ctx: Context, account: AccountRef): Promise<Answer>;
	storePassword(ctx: Context, account: AccountRef, cred: CredentialDoc, password: string, how: PasswordChange): Promise<void>;
	passwordByLink(ctx: Context, kind: "reset" | "change", token: string, password: string): Promise<AccountRef>;
	pushCredentialState(ctx: Context, accountId: string, state: { twoFactorEnabled?: boolean; passwordChangedAt?: Date | null }): Promise<void>;
	notify(ctx: Context, template: string, account: { id: string; email: string }, dedupKey: string, data?: Answer): Promise<void>;
};

const passwordRule = { type: "string", min: 1, max: 1024 } as const; // the policy says the rest
const tokenRule = { type: "string", min: 1, max: 200 } as const;
const codeRule = { type: "string", min: 1, max: 40 } as const;
const adminFilterRule = { email: { type: "string", optional: true, max: 320 }, ip: { type: "string", optional: true, max: 64 } } as const;
const suspended = () => forbidden("This account is suspended", undefined, "ACCOUNT_SUSPENDED");
const ipOf = (ctx: Context) => (ctx.meta as Meta).ip ?? "";
const pair = (ctx: Context, kind: AttemptKind, subject: string, email: string) => ({ kind, subject, email, ip: ipOf(ctx) });

const AuthService = defineService<Self>({
	name: "auth",
	mixins: [createDbMixin([credentials, sessions, signinAttempts, authCounters, authLinks, twoFactor, recoveryCodes]), createJobsMixin("auth")],

	jobs: {
		"sessions-cleanup": {
			cron: "17 * * * *",
			handler(this: Self) {
				return this.sessions.removeExpired();
			},
		},

		/** PWD-2: heads-up email + in-app notice at 14/7/3/1 days before expiry, each exactly once. */
		"password-expiry": {
			cron: "5 * * * *",
			handler(this: Self, ctx: Context) {
				return remindExpiringPasswords({
					credentials: this.credentials,
					identities: ids => ctx.call<AccountRef[], { ids: string[] }>("accounts.identities", { ids }),
					send: notification => ctx.call<{ duplicate: boolean }, ExpiryNotification>("notifications.send", notification),
					changeLink: `${publicUrl()}/account/password`,
					t: nowMs(),
				});
			},
		},
	},

	actions: {
		// ── Sign-up ─────────────────────────────────────────────────────────────────────────────
		/** Internal: refuses a password that breaks the policy (422 PASSWORD_POLICY). */
		checkPasswordPolicy: {
			visibility: "public",
			params: { password: passwordRule, email: { type: "string", optional: true } },
			handler(this: Self, ctx: Context<{ password: string; email?: string }>) {
				assertPolicy(ctx.params.password, ctx.params.email ?? "");
				return { ok: true };
			},
		},
		/** Internal: the first password of a new account (activation, bootstrap admin). */
		setInitialPassword: {
			visibility: "public",
			params: { accountId: { type: "string", min: 1 }, email: { type: "string" }, password: passwordRule },
			async handler(this: Self, ctx: Context<{ accountId: string; email: string; password: string }>) {
				return { ok: true, passwordChangedAt: await this.credentials.setInitial(ctx.params.accountId, ctx.params.email, ctx.params.password) };
			},
		},
		/** Internal: undo of setInitialPassword when the rest of an activation failed. */
		removeCredentials: {
			visibility: "public",
			params: { accountId: { type: "string", min: 1 } },
			async handler(this: Self, ctx: Context<{ accountId: string }>) {
				const [c, s] = await Promise.all([this.credentials.remove(ctx.params.accountId), this.sessions.endAll(ctx.params.accountId)]);
				return { credentials: c, sessions: s };
			},
		},

		// ── Sign-in ─────────────────────────────────────────────────────────────────────────────
		/** POST /auth/signin (REG-4, REG-5) */
		signin: {
			params: { email: { type: "string", min: 1, max: 320 }, password: passwordRule },
			async handler(this: Self, ctx: Context<{ email: string; password: string }, Meta>) {
				const email = normaliseEmail(ctx.params.email);
				const account = await ctx.call<AccountRef | null, { email: string }>("accounts.findByEmail", { email });
				const subject = subjectOf(account, email);
				const cred = await this.attempts.guarded(pair(ctx, "pw", subject, email), () => this.credentials.matching(account?.id ?? null, ctx.params.password));
				if (!account || !cred) throw invalidCredentials();
				if (account.status === "suspended") throw suspended();
				if (!(await this.secondFactor.isOn(account.id))) return this.afterSecondFactor(ctx, account, cred);
				const { token, expiresAt } = await this.links.create("challenge", account.id, ipOf(ctx));
				return { twoFactorRequired: true, challenge: token, expiresAt };
			},
		},
		/** POST /auth/signin/2fa — the challenge and a TOTP or recovery code → a session (TFA-4). */
		signin2fa: {
			params: { challenge: tokenRule, code: codeRule },
			async handler(this: Self, ctx: Context<{ challenge: string; code: string }, Meta>) {
				const link = await this.links.find("challenge", ctx.params.challenge);
				if (!link) throw unauthorized("The sign-in challenge is unknown or expired; sign in again", "SESSION_EXPIRED");
				const account = await this.account(ctx, link.accountId);
				const factor = await this.requireSecondFactor(ctx, account, ctx.params.code, 401);
				if (!(await this.links.use(link))) throw unauthorized("The sign-in challenge was used already; sign in again", "SESSION_EXPIRED");
				if (account.status === "suspended") throw suspended();
				const cred = await this.credentials.of(account.id);
				if (!cred) throw invalidCredentials();
				const answer = await this.afterSecondFactor(ctx, account, cred);
				if (factor !== "recovery") return answer;
				const remaining = await this.secondFactor.unusedRecoveryCodeCount(account.id);
				await this.notify(ctx, "2fa-recovery-used", account, `2fa-recovery-used:${account.id}:${newId()}`, { remaining });
				return { ...answer, ...recoveryCodesLeft(remaining) };
			},
		},

		// ── Two-factor authentication ───────────────────────────────────────────────────────────
		/** POST /auth/2fa/setup {password} → secret, otpauth:// URI and QR code (TFA-1). */
		setup2fa: {
			params: { password: passwordRule },
			async handler(this: Self, ctx: Context<{ password: string }, Meta>) {
				const account = await this.account(ctx, ctx.meta.user!.id);
				await this.requirePassword(ctx, account, ctx.params.password);
				const secret = await this.secondFactor.beginSetup(account.id);
				const url = otpauthUrl(secret, account.email, envString("TOTP_ISSUER", "Quartermaster"));
				return { secret, otpauthUrl: url, qrCode: await QRCode.toDataURL(url, { margin: 1, width: 240 }) };
			},
		},
		/** POST /auth/2fa/enable {code} → 12 recovery codes, shown once here (TFA-2). */
		enable2fa: {
			params: { code: { type: "string", min: 1, max: 10 } },
			async handler(this: Self, ctx: Context<{ code: string }, Meta>) {
				const account = await this.account(ctx, ctx.meta.user!.id);
				const { step, recoveryCodes } = await this.secondFactor.enable(account.id, ctx.params.code);
				await this.sessions.promoteSetupSessions(account.id);
				await this.pushCredentialState(ctx, account.id, { twoFactorEnabled: true });
				await this.notify(ctx, "2fa-enabled", account, `2fa-enabled:${account.id}:${step}`);
				return { recoveryCodes };
			},
		},
		/** POST /auth/2fa/recovery-codes {password} → the unused codes (TFA-5). */
		recoveryCodes: {
			params: { password: passwordRule },
			async handler(this: Self, ctx: Context<{ password: string }, Meta>) {
				const account = await this.confirmedWith2fa(ctx, ctx.params.password);
				const codes = await this.secondFactor.unusedRecoveryCodes(account.id);
				return { recoveryCodes: codes, remaining: codes.length };
			},
		},
		/** POST /auth/2fa/recovery-codes/regenerate {password} → a new set; the old one dies (TFA-5). */
		regenerateRecoveryCodes: {
			params: { password: passwordRule },
			async handler(this: Self, ctx: Context<{ password: string }, Meta>) {
				const account = await this.confirmedWith2fa(ctx, ctx.params.password);
				const codes = await this.secondFactor.newRecoveryCodes(account.id);
				await this.notify(ctx, "2fa-codes-regenerated", account, `2fa-codes-regenerated:${account.id}:${newId()}`);
				return { recoveryCodes: codes };
			},
		},
		/** POST /auth/2fa/disable {password, code} (TFA-5) */
		disable2fa: {
			params: { password: passwordRule, code: codeRule },
			async handler(this: Self, ctx: Context<{ password: string; code: string }, Meta>) {
				const account = await this.confirmedWith2fa(ctx, ctx.params.password);
				await this.requireSecondFactor(ctx, account, ctx.params.code, 422);
				await this.secondFactor.disable(account.id);
				await this.pushCredentialState(ctx, account.id, { twoFactorEnabled: false });
				await this.notify(ctx, "2fa-disabled", account, `2fa-disabled:${account.id}:${newId()}`);
				return null;
			},
		},

		// ── Sessions ────────────────────────────────────────────────────────────────────────────
		/** Internal (gateway): session token → who; 401 when unknown or expired. */
		resolveSession: {
			visibility: "public",
			params: { token: { type: "string", min: 1, max: 512 } },
			handler(this: Self, ctx: Context<{ token: string }>) {
				return this.sessions.resolve(ctx.params.token);
			},
		},
		/** GET /auth/sessions */
		listSessions: {
			params: {},
			handler(this: Self, ctx: Context<Record<string, never>, Meta>) {
				return this.sessions.list(ctx.meta.user!.id, ctx.meta.user!.sessionId);
			},
		},
		/** DELETE /auth/sessions/{id} */
		endSession: {
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				await this.sessions.end(ctx.meta.user!.id, ctx.params.id);
				return null;
			},
		},
		/** POST /auth/sessions/revoke-others */
		revokeOtherSessions: {
			params: {},
			async handler(this: Self, ctx: Context<Record<string, never>, Meta>) {
				return { revoked: await this.sessions.endOthers(ctx.meta.user!.id, ctx.meta.user!.sessionId) };
			},
		},
		/** POST /auth/signout: ends the calling session at once (REG-6). */
		signout: {
			params: {},
			async handler(this: Self, ctx: Context<Record<string, never>, Meta>) {
				const user = ctx.meta.user;
				if (user) await this.sessions.endOwn(user.id, user.sessionId);
				return null;
			},
		},

		// ── Password ────────────────────────────────────────────────────────────────────────────
		/** POST /auth/password/change (PWD-3, session only) */
		changePassword: {
			params: { currentPassword: passwordRule, newPassword: passwordRule, invalidateSessions: { type: "boolean", optional: true, default: false } },
			async handler(this: Self, ctx: Context<{ currentPassword: string; newPassword: string; invalidateSessions: boolean }, Meta>) {
				const account = await this.account(ctx, ctx.meta.user!.id);
				await this.requirePassword(ctx, account, ctx.params.currentPassword);
				const cred = await this.credentials.acceptableNew(account, ctx.params.newPassword);
				await this.storePassword(ctx, account, cred, ctx.params.newPassword, "change");
				if (ctx.params.invalidateSessions) await this.sessions.endOthers(account.id, ctx.meta.user!.sessionId);
				return null;
			},
		},
		/** POST /auth/password/expired — the changeToken of PASSWORD_EXPIRED + a new password → a session (PWD-2). */
		changeExpiredPassword: {
			params: { changeToken: tokenRule, newPassword: passwordRule },
			async handler(this: Self, ctx: Context<{ changeToken: string; newPassword: string }, Meta>) {
				const account = await this.passwordByLink(ctx, "change", ctx.params.changeToken, ctx.params.newPassword);
				return this.sessionAnswer(ctx, account);
			},
		},
		/** POST /auth/password/reset — the same 202 for every address (PWD-4). */
		requestReset: {
			params: { email: { type: "email", normalize: true, max: 254 } },
			async handler(this: Self, ctx: Context<{ email: string }, Meta>) {
				const wait = await hitLimits(this.db.auth_counters, `reset:${ctx.params.email}`, RESET_REQUESTS_PER_ADDRESS, nowMs());
				if (wait > 0) throw rateLimited(wait);
				const account = await ctx.call<AccountRef | null, { email: string }>("accounts.findByEmail", { email: ctx.params.email });
				if (account && account.status !== "suspended") {
					const { token } = await this.links.create("reset", account.id, ipOf(ctx));
					await this.notify(ctx, "password-reset", account, `password-reset:${digest(token)}`, { link: `${publicUrl()}/password/reset?token=${token}` });
				}
				return { message: "If the address has an account, an email with a reset link is on its way." };
			},
		},
		/** POST /auth/password/reset/confirm — link + new password; 2FA stays as it is (PWD-4). */
		confirmReset: {
			params: { token: tokenRule, newPassword: passwordRule, invalidateSessions: { type: "boolean", optional: true, default: false } },
			async handler(this: Self, ctx: Context<{ token: string; newPassword: string; invalidateSessions: boolean }, Meta>) {
				const account = await this.passwordByLink(ctx, "reset", ctx.params.token, ctx.params.newPassword);
				if (ctx.params.invalidateSessions) await this.sessions.endAll(account.id);
				await this.attempts.clearPasswordLockouts(account.id);
				return null;
			},
		},
		/** Internal: sensitive operations of other services (tokens) confirm the password here. */
		confirmPassword: {
			visibility: "public",
			params: { accountId: { type: "string", min: 1 }, password: passwordRule },
			async handler(this: Self, ctx: Context<{ accountId: string; password: string }>) {
				await this.requirePassword(ctx, await this.account(ctx, ctx.params.accountId), ctx.params.password);
				return { ok: true };
			},
		},
		/** Internal: what GET /account shows about credentials; `passwordExpiryDays` from the caller's group saves asking accounts. */
		credentialInfo: {
			visibility: "public",
			params: { accountId: { type: "string", min: 1 }, passwordExpiryDays: { type: "number", integer: true, min: 0, optional: true } },
			async handler(this: Self, ctx: Context<{ accountId: string; passwordExpiryDays?: number }>) {
				const { accountId } = ctx.params;
				const [cred, twoFactorEnabled] = await Promise.all([this.credentials.of(accountId), this.secondFactor.isOn(accountId)]);
				let days = ctx.params.passwordExpiryDays;
				if (cred && days === undefined) {
					const [a] = await this.broker.call<AccountRef[], { ids: string[] }>("accounts.identities", { ids: [accountId] });
					days = a?.settings["password.expiry.days"] ?? 0;
				}
				return credentialFacts(cred, twoFactorEnabled, days);
			},
		},

		// ── Administration ──────────────────────────────────────────────────────────────────────
		/** GET /admin/signin-attempts?email&ip — failing and locked pairs (REG-6). */
		adminAttempts: {
			params: adminFilterRule,
			handler(this: Self, ctx: Context<{ email?: string; ip?: string }>) {
				return this.attempts.list(ctx.params);
			},
		},
		/** DELETE /admin/signin-attempts?email&ip — lifts the matching lockouts, and with an address its hourly cap. */
		adminResetAttempts: {
			params: adminFilterRule,
			async handler(this: Self, ctx: Context<{ email?: string; ip?: string }>) {
				const email = ctx.params.email ? normaliseEmail(ctx.params.email) : undefined;
				const account = email ? await ctx.call<AccountRef | null, { email: string }>("accounts.findByEmail", { email }) : null;
				return { reset: await this.attempts.reset(ctx.params, email && subjectOf(account, email)) };
			},
		},
	},

	events: {
		/** STS-5: a suspended account loses every session at once. */
		"accounts.status.changed": {
			params: { id: "string", to: "string" },
			async handler(this: Self, ctx: Context<{ id: string; to: string }>) {
				if (ctx.params.to === "suspended" || ctx.params.to === "destroyed") await this.sessions.endAll(ctx.params.id);
			},
		},
	},

	methods: {
		async account(ctx: Context, id: string) {
			const [a] = await ctx.call<AccountRef[], { ids: string[] }>("accounts.identities", { ids: [id] });
			if (!a) throw unauthorized();
			return a;
		},
		/** Sensitive operations confirm the password; wrong ones count toward the same lockout as sign-in. */
		async requirePassword(this: Self, ctx: Context, account: { id: string; email: string }, password: string) {
			const cred = await this.attempts.guarded(pair(ctx, "pw", account.id, account.email), () => this.credentials.matching(account.id, password));
			if (!cred) throw passwordRequired();
		},
		/** A code of the second factor; wrong codes count on their own counter, as at sign-in (TFA-4). */
		async requireSecondFactor(this: Self, ctx: Context, account: AccountRef, code: string, status: 401 | 422) {
			const factor = await this.attempts.guarded(pair(ctx, "2fa", account.id, account.email), () => this.secondFactor.verify(account.id, code));
			if (!factor) throw wrongCode(status);
			return factor;
		},
		/** The caller, after the password, on an account with 2FA on (view, regenerate, disable). */
		async confirmedWith2fa(this: Self, ctx: Context, password: string) {
			const account = await this.account(ctx, (ctx.meta as Meta).user!.id);
			await this.requirePassword(ctx, account, password);
			if (!(await this.secondFactor.isOn(account.id))) throw invalidState("Two-factor authentication is off");
			return account;
		},
		/** Both factors accepted. PWD-2: an expired password leads into the change flow, never a dead end. */
		async afterSecondFactor(this: Self, ctx: Context, account: AccountRef, cred: CredentialDoc) {
			const expiresAt = passwordExpiresAt(cred.passwordChangedAt, account.settings["password.expiry.days"]);
			if (!expiresAt || expiresAt > now()) return this.sessionAnswer(ctx, account);
			const { token, expiresAt: tokenExpiresAt } = await this.links.create("change", account.id, ipOf(ctx));
			throw forbidden("The password has expired: choose a new one", { changeToken: token, changeTokenExpiresAt: tokenExpiresAt }, "PASSWORD_EXPIRED");
		},
		/** A session, and the account as GET /account shows it. */
		async sessionAnswer(this: Self, ctx: Context, account: AccountRef) {
			const meta = ctx.meta as Meta;
			const twoFactorEnabled = await this.secondFactor.isOn(account.id);
			const setupRequired = !!account.settings["2fa.required"] && !twoFactorEnabled; // TFA-6
			const opened = await this.sessions.open(account.id, setupRequired ? "2fa-setup" : "full", meta);
			ctx.emit("auth.signedIn", { accountId: account.id, sessionId: opened.sessionId, ip: meta.ip ?? "" });
			const view = await ctx.call<Answer, { id: string }>("accounts.view", { id: account.id });
			const info = credentialFacts(await this.credentials.of(account.id), twoFactorEnabled, account.settings["password.expiry.days"]);
			// Each sign-in also refreshes accounts' copy, should an earlier update have been lost.
			await this.pushCredentialState(ctx, account.id, { twoFactorEnabled, passwordChangedAt: info.passwordChangedAt });
			return signInAnswer(opened, { ...view, twoFactorEnabled, passwordExpiresAt: info.passwordExpiresAt }, setupRequired);
		},
		/** PWD-3/PWD-4: the new password in place, then the event, accounts' copy and the email. */
		async storePassword(this: Self, ctx: Context, account: AccountRef, cred: CredentialDoc, password: string, how: PasswordChange) {
			const t = await this.credentials.replace(cred, password);
			ctx.emit("auth.password.changed", { accountId: account.id, how });
			await this.pushCredentialState(ctx, account.id, { passwordChangedAt: t });
			const when = t.toISOString();
			await this.notify(ctx, "password-changed", account, `password-changed:${account.id}:${when}`, { how, when, resetLink: `${publicUrl()}/password/reset` });
		},
		/** A single-use link or token and a new password: a refused password leaves the link usable. */
		async passwordByLink(this: Self, ctx: Context, kind: "reset" | "change", token: string, password: string) {
			const link = await this.links.find(kind, token);
			if (!link) throw linkInvalid(LINK_INVALID[kind]);
			const account = await this.account(ctx, link.accountId);
			const cred = await this.credentials.acceptableNew(account, password);
			if (!(await this.links.use(link))) throw linkInvalid(LINK_INVALID[kind]);
			await this.storePassword(ctx, account, cred, password, kind === "reset" ? "reset" : "expired");
			return account;
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
		async notify(this: Self, ctx: Context, template: string, account: { id: string; email: string }, dedupKey: string, data: Answer = {}) {
			await ctx.call("notifications.send", { template, to: account.email, accountId: account.id, dedupKey, data: { when: now().toISOString(), ...data } });
		},
	},

	created(this: Self) {
		this.credentials = new Credentials(this.db.credentials);
		this.sessions = new Sessions({
			sessions: this.db.sessions,
			idleMs: envInt("SESSION_IDLE_MINUTES", 120) * MINUTE,
			absoluteMs: envInt("SESSION_ABSOLUTE_HOURS", 24) * HOUR,
		});
		this.attempts = new Attempts({ attempts: this.db.signin_attempts, counters: this.db.auth_counters });
		this.links = new Links(this.db.auth_links);
		this.secondFactor = new SecondFactor({ twoFactor: this.db.two_factor, recoveryCodes: this.db.recovery_codes });
	},

	started() {
		// Fail at start, not at the first 2FA setup, when the master key is missing or malformed.
		masterKey();
	},
});

export default AuthService;
