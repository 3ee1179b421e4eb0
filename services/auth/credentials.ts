// Passwords (PWD-1…PWD-4, REG-5): one credential document an account (`credentials`).
// - Hashes are bcrypt of a SHA-256 pre-hash, computed in worker threads (lib/password-hash).
// - A new password meets the group's policy (./password-policy) and is none of the account's
//   earlier passwords, the current one included (PWD-1): every replaced hash is kept.
// - A password is replaced by one update conditional on the hash it was checked against, so of
//   two parallel changes exactly one wins.
// - A password comparison always costs one bcrypt comparison, with or without credentials, so
//   timing does not tell unknown accounts apart (REG-5).
// - Expiry (PWD-2) is `password.expiry.days` after the last change, 0 = never; heads-up notices
//   are keyed by the change they warn about, so each is sent once.
import { addMs, DAY, now } from "../../lib/clock";
import { newId } from "../../lib/crypto";
import { conflict, notFound, passwordPolicy } from "../../lib/errors";
import type { GroupSettings } from "../../lib/group-settings";
import { dummyHash, hashPassword, verifyPassword } from "../../lib/password-hash";
import { dueNotice } from "../../lib/reminders";
import { DuplicateKeyError, type Doc, type Store } from "../../mixins/db.mixin";
import { DEFAULT_POLICY, policyViolations, type PasswordPolicy } from "./password-policy";

export interface CredentialDoc extends Doc {
	accountId: string;
	passwordHash: string;
	passwordChangedAt: Date;
	previousHashes: string[];
}

/** How a password came to change (the `auth.password.changed` event and the email say it). */
export type PasswordChange = "change" | "reset" | "expired";

/** An account as far as its password is concerned. */
export interface PasswordOwner {
	id: string;
	email: string;
	settings: GroupSettings;
}

/** PWD-1: the default policy, with the group's minimum length when there is a group. */
export function policyFor(settings?: GroupSettings): PasswordPolicy {
	return settings ? { ...DEFAULT_POLICY, minLength: settings["password.min.length"] } : DEFAULT_POLICY;
}

/** PWD-1: 422 PASSWORD_POLICY naming every broken rule. */
export function assertPolicy(password: string, email: string, settings?: GroupSettings): void {
	const violations = policyViolations(password, { email }, policyFor(settings));
	if (violations.length) throw passwordPolicy(violations);
}

/** PWD-2: when a password changed at `changedAt` expires under `days` (0 or none: never). */
export function passwordExpiresAt(changedAt: Date, days: number | undefined): Date | null {
	return days && days > 0 ? addMs(new Date(changedAt), days * DAY) : null;
}

/** What GET /account shows about an account's credentials (accounts keeps a copy). */
export interface CredentialFacts {
	twoFactorEnabled: boolean;
	passwordChangedAt: Date | null;
	passwordExpiresAt: Date | null;
}

export function credentialFacts(cred: CredentialDoc | null, twoFactorEnabled: boolean, expiryDays: number | undefined): CredentialFacts {
	const changed = cred ? new Date(cred.passwordChangedAt) : null;
	return { twoFactorEnabled, passwordChangedAt: changed, passwordExpiresAt: changed && passwordExpiresAt(changed, expiryDays) };
}

/** PWD-2: the heads-up notice due at `t` for this password, if any, with its once-only key. */
export function expiryReminder(cred: CredentialDoc, settings: GroupSettings, t: number) {
	const expiresAt = passwordExpiresAt(cred.passwordChangedAt, settings["password.expiry.days"]);
	const due = expiresAt && dueNotice(expiresAt, t, settings["password.expiry.notify.days"]);
	if (!expiresAt || !due) return null;
	const changed = new Date(cred.passwordChangedAt).toISOString();
	return { expiresAt, daysLeft: due.daysLeft, dedupKey: `password-expiry:${cred.accountId}:${changed}:${due.notice}` };
}

/** A PWD-2 reminder for notifications.send. */
export interface ExpiryNotification {
	template: "password-expiry";
	to: string;
	accountId: string;
	dedupKey: string;
	data: { days: number; expiresAt: string; changeLink: string };
}

/** Every input of one run of the PWD-2 reminders, as one object. */
export interface ExpiryRemindersParams {
	credentials: Credentials;
	/** the accounts of these ids, those that exist */
	identities(ids: string[]): Promise<(PasswordOwner & { status: string })[]>;
	/** sends one reminder; `duplicate` when its key went out before */
	send(notification: ExpiryNotification): Promise<{ duplicate: boolean }>;
	/** where the reminder sends the reader to change the password */
	changeLink: string;
	t: number;
}

/** PWD-2: one pass over every credential (expiry and notice days are per group, so any may be due). Answers how many went out. */
export async function remindExpiringPasswords({ credentials, identities, send, changeLink, t }: ExpiryRemindersParams): Promise<number> {
	let sent = 0;
	for await (const batch of credentials.pages()) {
		const byId = new Map((await identities(batch.map(c => c.accountId))).map(a => [a.id, a]));
		for (const cred of batch) {
			const account = byId.get(cred.accountId);
			const due = account && account.status !== "destroyed" ? expiryReminder(cred, account.settings, t) : null;
			if (!account || !due) continue;
			const data = { days: due.daysLeft, expiresAt: due.expiresAt.toISOString(), changeLink };
			const res = await send({ template: "password-expiry", to: account.email, accountId: account.id, dedupKey: due.dedupKey, data });
			if (!res.duplicate) sent++;
		}
	}
	return sent;
}

/** PWD-1: none of the earlier passwords, the current one included. */
export async function assertNotReused(cred: CredentialDoc, password: string): Promise<void> {
	const hashes = [cred.passwordHash, ...(cred.previousHashes ?? [])];
	const matches = await Promise.all(hashes.map(h => verifyPassword(password, h)));
	if (matches.some(Boolean)) throw passwordPolicy(["notReused"]);
}

export class Credentials {
	constructor(private credentials: Store<CredentialDoc>) {}

	of(accountId: string): Promise<CredentialDoc | null> {
		return this.credentials.findOne({ accountId });
	}

	/**
	 * The account's credentials when `password` is its password, else null. Costs one bcrypt
	 * comparison also without an account or credentials, so timing does not tell them apart (REG-5).
	 */
	async matching(accountId: string | null, password: string): Promise<CredentialDoc | null> {
		const cred = accountId ? await this.of(accountId) : null;
		const ok = await verifyPassword(password, cred?.passwordHash ?? (await dummyHash()));
		return ok ? cred : null;
	}

	/** The first password of an account (PWD-1); 409 when it has one. Answers when it was set. */
	async setInitial(accountId: string, email: string, password: string): Promise<Date> {
		assertPolicy(password, email);
		const passwordHash = await hashPassword(password);
		const passwordChangedAt = now();
		try {
			await this.credentials.insert({ _id: newId(), accountId, passwordHash, passwordChangedAt, previousHashes: [] });
		} catch (err) {
			if (err instanceof DuplicateKeyError) throw conflict("This account has a password already");
			throw err;
		}
		return passwordChangedAt;
	}

	remove(accountId: string): Promise<number> {
		return this.credentials.remove({ accountId });
	}

	/** PWD-1: the group's policy and none of the earlier passwords. Answers the credentials checked. */
	async acceptableNew(account: PasswordOwner, password: string): Promise<CredentialDoc> {
		assertPolicy(password, account.email, account.settings);
		const cred = await this.of(account.id);
		if (!cred) throw notFound("Credentials");
		await assertNotReused(cred, password);
		return cred;
	}

	/** Replaces the password `cred` holds; 409 when another request replaced it meanwhile. Answers when. */
	async replace(cred: CredentialDoc, password: string): Promise<Date> {
		const passwordHash = await hashPassword(password);
		const t = now();
		// Conditional on the hash we checked against: two parallel changes cannot both win.
		const updated = await this.credentials.updateOne(
			{ _id: cred._id, passwordHash: cred.passwordHash },
			{ $set: { passwordHash, passwordChangedAt: t }, $push: { previousHashes: cred.passwordHash } },
		);
		if (!updated) throw conflict("The password was changed at the same moment by another request; try again");
		return t;
	}

	/** Every credential document, in pages of `size`, in a stable order. */
	async *pages(size = 500): AsyncGenerator<CredentialDoc[]> {
		for (let skip = 0; ;) {
			const batch = await this.credentials.find({}, { sort: { _id: 1 }, skip, limit: size });
			if (!batch.length) return;
			skip += batch.length;
			yield batch;
		}
	}
}
