// TOTP (RFC 6238: SHA-1, 6 digits, 30 s) for TFA-1…TFA-4. Codes of the current and the previous
// step are accepted, and only for a step later than the last one used (TFA-3): the caller
// consumes the step atomically, so a code works once, also under parallel submissions.
import { generateSecret, generateSync, generateURI } from "otplib";
import { safeEqual } from "../../lib/crypto";

export const PERIOD_SECONDS = 30;

export function newSecret(): string {
	return generateSecret(); // 20 random bytes, base32
}

export function otpauthUrl(secret: string, account: string, issuer: string): string {
	return generateURI({ issuer, label: account, secret });
}

export function stepAt(nowMs: number): number {
	return Math.floor(nowMs / 1000 / PERIOD_SECONDS);
}

export function codeAt(secret: string | Uint8Array, step: number, digits: 6 | 8 = 6): string {
	return generateSync({ secret, epoch: step * PERIOD_SECONDS, digits });
}

/**
 * The step the code belongs to (current or previous), if it is later than `lastUsedStep`;
 * otherwise null. Compares in constant time.
 */
export function matchStep(secret: string | Uint8Array, code: string, nowMs: number, lastUsedStep = -1): number | null {
	if (!/^\d{6}$/.test(code)) return null;
	const current = stepAt(nowMs);
	for (const step of [current, current - 1]) {
		if (step <= lastUsedStep) continue;
		if (safeEqual(codeAt(secret, step), code)) return step;
	}
	return null;
}
