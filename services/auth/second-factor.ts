// The second factor (TFA-1…TFA-5): TOTP secrets (`two_factor`) and recovery codes (`recovery_codes`).
// - Secrets and codes are sealed with QM_MASTER_KEY at rest (TFA-2); recovery codes are found by a
//   digest of account and normalised code, so spaces, dashes and case do not matter.
// - Each accepted TOTP step is consumed with one conditional update (`lastUsedStep` only grows), so
//   a code works once, also under parallel submissions, and the setup code cannot sign in (TFA-3).
//   Each recovery code is used once, likewise.
// - 2FA is on only after a valid code (TFA-2); a new set of recovery codes replaces the old one
//   once it is in place (TFA-5).
// The RFC 6238 arithmetic is in ./totp; lockout of wrong codes (TFA-4) is the caller's, via ./attempts.
import { randomInt } from "crypto";
import { now, nowMs } from "../../lib/clock";
import { digest, newId } from "../../lib/crypto";
import { invalidState, wrongCode } from "../../lib/errors";
import { open, seal } from "../../lib/secretbox";
import type { Doc, Store } from "../../mixins/db.mixin";
import { matchStep, newSecret } from "./totp";

export interface TwoFactorDoc extends Doc {
	enabled: boolean;
	secretSealed?: string;
	pendingSecretSealed?: string;
	lastUsedStep: number;
	enabledAt?: Date;
}

export interface RecoveryDoc extends Doc {
	accountId: string;
	setId: string;
	digest: string;
	codeSealed: string;
	position: number;
	usedAt: Date | null;
}

export type Factor = "totp" | "recovery";

/** TFA-2: codes in a set. */
export const RECOVERY_CODES = 12;
/** TFA-4: at or below this many unused codes, sign-in with a recovery code warns. */
export const RECOVERY_CODES_LOW = 3;
const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"; // 32 unambiguous symbols: 50 bits a code, uniformly drawn

/** Spaces and dashes dropped, upper case: how a code is typed does not matter. */
export function normaliseRecoveryCode(code: string): string {
	return code.replace(/[\s-]/g, "").toUpperCase();
}

/** 10 characters from an unambiguous alphabet, shown as `XXXXX-XXXXX`. */
export function generateRecoveryCode(): string {
	const raw = Array.from({ length: 10 }, () => ALPHABET[randomInt(ALPHABET.length)]).join("");
	return `${raw.slice(0, 5)}-${raw.slice(5)}`;
}

/** What is stored to find a code: bound to the account, so equal codes of two accounts differ. */
export function recoveryDigest(accountId: string, code: string): string {
	return digest(`${accountId}:${normaliseRecoveryCode(code)}`);
}

/** TFA-4: what a sign-in with a recovery code adds to its answer. */
export function recoveryCodesLeft(remaining: number): { recoveryCodesRemaining: number; warning?: string } {
	return {
		recoveryCodesRemaining: remaining,
		...(remaining <= RECOVERY_CODES_LOW ? { warning: `Only ${remaining} recovery codes left: generate new ones.` } : {}),
	};
}

export interface SecondFactorParams {
	twoFactor: Store<TwoFactorDoc>;
	recoveryCodes: Store<RecoveryDoc>;
}

export class SecondFactor {
	private twoFactor: Store<TwoFactorDoc>;
	private recoveryCodes: Store<RecoveryDoc>;

	constructor({ twoFactor, recoveryCodes }: SecondFactorParams) {
		this.twoFactor = twoFactor;
		this.recoveryCodes = recoveryCodes;
	}

	async isOn(accountId: string): Promise<boolean> {
		return !!(await this.twoFactor.findById(accountId))?.enabled;
	}

	/** TFA-1: a new pending secret (2FA stays off until `enable`); answers it in clear, once. */
	async beginSetup(accountId: string): Promise<string> {
		const existing = await this.twoFactor.findById(accountId);
		if (existing?.enabled) throw invalidState("Two-factor authentication is on already; disable it first");
		const secret = newSecret();
		await this.twoFactor.updateOne(
			{ _id: accountId },
			{ $set: { enabled: false, pendingSecretSealed: seal(secret), lastUsedStep: existing?.lastUsedStep ?? -1 } },
			{ upsert: true },
		);
		return secret;
	}

	/** TFA-2: a current code of the pending secret turns 2FA on; answers the step and the recovery codes. */
	async enable(accountId: string, code: string): Promise<{ step: number; recoveryCodes: string[] }> {
		const tf = await this.twoFactor.findById(accountId);
		if (!tf?.pendingSecretSealed || tf.enabled) throw invalidState("Start with POST /auth/2fa/setup");
		const step = matchStep(open(tf.pendingSecretSealed), code.trim(), nowMs(), tf.lastUsedStep ?? -1);
		if (step === null) throw wrongCode(422, "is not the current code of the authenticator app");
		// The setup code's step is consumed too: it cannot be used again to sign in (TFA-3).
		const enabled = await this.twoFactor.updateOne(
			{ _id: accountId, enabled: false, pendingSecretSealed: tf.pendingSecretSealed, lastUsedStep: { $lt: step } },
			{ $set: { enabled: true, secretSealed: tf.pendingSecretSealed, lastUsedStep: step, enabledAt: now() }, $unset: { pendingSecretSealed: true } },
		);
		if (!enabled) throw wrongCode(422, "was used already");
		return { step, recoveryCodes: await this.newRecoveryCodes(accountId) };
	}

	/** A TOTP code (its step consumed atomically) or an unused recovery code (used atomically). */
	async verify(accountId: string, code: string): Promise<Factor | null> {
		const tf = await this.twoFactor.findById(accountId);
		if (!tf?.enabled || !tf.secretSealed) return null;
		const trimmed = code.trim();
		if (/^\d{6}$/.test(trimmed)) {
			const step = matchStep(open(tf.secretSealed), trimmed, nowMs(), tf.lastUsedStep ?? -1);
			if (step === null) return null;
			const consumed = await this.twoFactor.updateOne({ _id: accountId, enabled: true, lastUsedStep: { $lt: step } }, { $set: { lastUsedStep: step } });
			return consumed ? "totp" : null;
		}
		const used = await this.recoveryCodes.updateOne({ accountId, digest: recoveryDigest(accountId, trimmed), usedAt: null }, { $set: { usedAt: now() } });
		return used ? "recovery" : null;
	}

	/** TFA-5: a new set; the old set dies once the new one is in place. */
	async newRecoveryCodes(accountId: string): Promise<string[]> {
		const setId = newId();
		const codes = Array.from({ length: RECOVERY_CODES }, generateRecoveryCode);
		for (const [position, code] of codes.entries()) {
			await this.recoveryCodes.insert({
				_id: newId(),
				accountId,
				setId,
				digest: recoveryDigest(accountId, code),
				codeSealed: seal(code),
				position,
				usedAt: null,
			});
		}
		await this.recoveryCodes.remove({ accountId, setId: { $ne: setId } });
		return codes;
	}

	/** TFA-5: the unused codes, in their original order, in clear. */
	async unusedRecoveryCodes(accountId: string): Promise<string[]> {
		const left = await this.recoveryCodes.find({ accountId, usedAt: null }, { sort: { position: 1 } });
		return left.map(r => open(r.codeSealed));
	}

	unusedRecoveryCodeCount(accountId: string): Promise<number> {
		return this.recoveryCodes.count({ accountId, usedAt: null });
	}

	/** TFA-5: secret and codes are gone; the account signs in with the password alone. */
	async disable(accountId: string): Promise<void> {
		await this.twoFactor.remove({ _id: accountId });
		await this.recoveryCodes.remove({ accountId });
	}
}
