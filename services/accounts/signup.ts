// Sign-up and activation (REG-1…REG-3), and the bootstrap admin (ADM-1): how an account comes to
// exist. Store-taking: the accounts collections and a `Bus` for auth, billing and notifications
// arrive as parameters; no Moleculer, no other service imported.
// Invariants:
// - signing up answers the same whatever the address (REG-1): an owner gets "already registered"
//   by email, a newcomer an activation link; limits per address (REG-3; the gateway adds per IP);
// - an activation link is single-use, 24 h, stored as a digest only (REG-2); a refused password
//   does not use it up, and a failed activation leaves nothing half-written (the link works again);
// - an account exists with its credentials or not at all (createAccount undoes its insert);
// - the bootstrap admin is created once and never touches an existing account.
// Requirements: REG-1, REG-2, REG-3, PWD-1 (policy asked of auth), ACC-2 (trial bonus), ADM-1.
import { addMs, HOUR, now, nowMs } from "../../lib/clock";
import { envString, publicUrl } from "../../lib/config";
import { digest, newId, randomBase62, randomToken } from "../../lib/crypto";
import { conflict, linkInvalid, rateLimited } from "../../lib/errors";
import { DuplicateKeyError, hitLimits } from "../../mixins/db.mixin";
import type { AccountDoc, AccountsDb, Bus } from "./store";

const ACTIVATION_VALID_MS = 24 * HOUR; // REG-2
// REG-3: per address; the gateway adds per-IP limits in front of the route.
const SIGNUP_LIMITS_PER_ADDRESS = [
	{ limit: 1, windowSeconds: 60 },
	{ limit: 5, windowSeconds: 3600 },
];

export interface SignupParams {
	db: AccountsDb;
	bus: Bus;
	warn(message: string, err: unknown): void;
}

type NewAccount = Pick<AccountDoc, "email" | "name" | "group" | "role">;

/** POST /auth/signup — the same answer whether or not the address is known (REG-1). */
export async function signUp(p: SignupParams, req: { email: string; name?: string; ip?: string }): Promise<{ message: string }> {
	const { email, name } = req;
	const wait = await hitLimits(p.db.account_counters, `signup:${email}`, SIGNUP_LIMITS_PER_ADDRESS, nowMs());
	if (wait > 0) throw rateLimited(wait);

	const existing = await p.db.accounts.findOne({ email });
	const base = publicUrl();
	if (existing) {
		await p.bus.call("notifications.send", {
			template: "already-registered",
			to: email,
			accountId: existing._id,
			dedupKey: `already-registered:${newId()}`,
			data: { signinLink: `${base}/signin`, resetLink: `${base}/password/reset` },
		});
	} else {
		await sendActivation(p, { email, name, ip: req.ip });
	}
	return { message: "Check your inbox: we sent an email to this address." };
}

/** A pending sign-up and its activation email; activated, the account joins `group` (default: the sign-up group). */
async function sendActivation(p: SignupParams, req: { email: string; name?: string; ip?: string; group?: string }): Promise<void> {
	const token = randomToken(24); // 192 bits
	const t = now();
	await p.db.signups.insert({
		_id: newId(),
		email: req.email,
		name: req.name ?? "",
		tokenDigest: digest(token),
		createdAt: t,
		expiresAt: addMs(t, ACTIVATION_VALID_MS),
		usedAt: null,
		ip: req.ip ?? "",
		...(req.group ? { group: req.group } : {}),
	});
	await p.bus.call("notifications.send", {
		template: "activation",
		to: req.email,
		dedupKey: `activation:${digest(token)}`,
		data: { link: `${publicUrl()}/activate?token=${token}`, validHours: 24 },
	});
}

/** COL-4: an invited address without an account gets the activation email; activated, it is in the `collaboration` group. */
export async function signUpInvitee(p: SignupParams, req: { email: string; name?: string }): Promise<{ sent: boolean }> {
	if (await p.db.accounts.findOne({ email: req.email })) return { sent: false };
	await sendActivation(p, { ...req, group: "collaboration" });
	return { sent: true };
}

/** POST /auth/activate — single-use link + password → active account in the sign-up group (REG-2). */
export async function activate(p: SignupParams, req: { token: string; password: string }): Promise<AccountDoc> {
	const tokenDigest = digest(req.token);
	const link = await p.db.signups.findOne({ tokenDigest, usedAt: null, expiresAt: { $gt: now() } });
	if (!link) throw linkInvalid();
	// Policy first: a refused password must not use up the link.
	await p.bus.call("auth.checkPasswordPolicy", { password: req.password, email: link.email });
	const claimed = await p.db.signups.updateOne({ _id: link._id, usedAt: null }, { $set: { usedAt: now() } });
	if (!claimed) throw linkInvalid();
	// COL-4: an invitee's sign-up names its group; anyone else's joins the sign-up group.
	const signupGroup = link.group ?? (await p.db.groups.findOne({ signupDefault: true }))?.name ?? "trial";
	let account: AccountDoc;
	try {
		account = await createAccount(p, { email: link.email, name: link.name, group: signupGroup, role: "user" }, req.password);
	} catch (err) {
		// Nothing half-written: the link works again unless the address was taken meanwhile.
		await p.db.signups.updateOne({ _id: link._id }, { $set: { usedAt: null } });
		if ((err as Error).name === "MoleculerClientError" && (err as { type?: string }).type === "CONFLICT")
			throw linkInvalid("This email address has an account already");
		throw err;
	}
	// ACC-2: the trial bonus (also granted on the accounts.created event; keyed, so once).
	await p.bus
		.call("billing.grantTrialBonus", { accountId: account._id })
		.catch(err => p.warn(`Trial bonus of ${account._id} not granted yet; the trial job retries`, err));
	await p.bus.call("notifications.send", {
		template: "welcome",
		to: account.email,
		accountId: account._id,
		dedupKey: `welcome:${account._id}`,
		data: { name: account.name, signinLink: `${publicUrl()}/signin` },
	});
	return account;
}

/** An active account with its initial password, or nothing at all (CONFLICT when the address is taken). */
export async function createAccount(p: Pick<SignupParams, "db" | "bus">, fields: NewAccount, password: string): Promise<AccountDoc> {
	const t = now();
	const account: AccountDoc = { _id: newId(), phone: "", ...fields, status: "active", createdAt: t, activatedAt: t, updatedAt: t };
	try {
		await p.db.accounts.insert(account);
	} catch (err) {
		if (err instanceof DuplicateKeyError) throw conflict("This email address has an account already");
		throw err;
	}
	try {
		const set = await p.bus.call<{ passwordChangedAt: Date }>("auth.setInitialPassword", {
			accountId: account._id,
			email: account.email,
			password,
		});
		account.passwordChangedAt = new Date(set.passwordChangedAt);
		await p.db.accounts.updateOne({ _id: account._id }, { $set: { passwordChangedAt: account.passwordChangedAt, twoFactorEnabled: false } });
	} catch (err) {
		await p.db.accounts.remove({ _id: account._id });
		await p.bus.call("auth.removeCredentials", { accountId: account._id }).catch(() => undefined);
		throw err;
	}
	p.bus.emit("accounts.created", { id: account._id, email: account.email, group: account.group, role: account.role });
	return account;
}

export interface BootstrapParams {
	db: AccountsDb;
	/** a Bus for auth, asked for once auth is there */
	bus(): Bus;
	/** waits until auth is reachable (in distributed mode it may start after accounts) */
	authReady(): Promise<unknown>;
	info(message: string): void;
}

/** QM_ADMIN_EMAIL/QM_ADMIN_PASSWORD: creates the first admin once; never touches an existing account. */
export async function bootstrapAdmin(p: BootstrapParams): Promise<void> {
	const email = envString("QM_ADMIN_EMAIL").trim().toLowerCase();
	if (!email) return;
	if (await p.db.accounts.findOne({ email })) return;
	const given = envString("QM_ADMIN_PASSWORD");
	// A generated password meets the policy: 24 base62 characters plus one of each class.
	const password = given || `${randomBase62(24)}aZ7!`;
	await p.authReady();
	try {
		await createAccount({ db: p.db, bus: p.bus() }, { email, name: "Administrator", group: "billing", role: "admin" }, password);
	} catch (err) {
		if ((err as { type?: string }).type === "CONFLICT") return; // another replica was first
		throw err;
	}
	p.info(`Bootstrap admin ${email} created`);
	// Printed once, on purpose, straight to the terminal and not through the (masking) logger.
	if (!given) process.stdout.write(`\n  Bootstrap admin: ${email}\n  Generated password (shown once): ${password}\n\n`);
}
