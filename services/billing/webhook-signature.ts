// Signed webhooks in the Stripe style (PAY-2; API.md, POST /billing/providers/{name}/webhook),
// kept pure (no Moleculer, no I/O). The header is `t=<unix s>,v1=<hex HMAC-SHA256(secret,
// "<t>.<raw body>")>`; several `v1=` entries may appear (one per secret during a rotation) and
// other schemes (`v0=`, …) are ignored. The HMAC is taken over the raw bytes as received: a body
// parsed and serialised again (other whitespace, other key order) is another body.
import { createHmac, timingSafeEqual } from "node:crypto";

export type Verdict = { ok: true; timestamp: number } | { ok: false; reason: "unsigned" | "malformed" | "stale" | "mismatch" };

/** API.md: older (or further in the future) than this is refused as a possible replay. */
export const DEFAULT_TOLERANCE_SEC = 300;

const SCHEME = "v1";
const TIMESTAMP = /^[0-9]{1,15}$/;
const SIGNATURE = /^[0-9a-f]{64}$/i;

function hmac(secret: string, t: string, rawBody: Buffer | string): Buffer {
	const body = typeof rawBody === "string" ? Buffer.from(rawBody, "utf8") : rawBody;
	return createHmac("sha256", secret).update(`${t}.`, "utf8").update(body).digest();
}

/** The header value for `rawBody` signed with `secret` at `timestampSec` (unix seconds). */
export function signPayload(secret: string, rawBody: Buffer | string, timestampSec: number): string {
	if (secret.length === 0) throw new RangeError("webhook secret must not be empty");
	if (!Number.isSafeInteger(timestampSec) || timestampSec < 0) throw new RangeError("timestamp must be whole unix seconds");
	const t = String(timestampSec);
	return `t=${t},${SCHEME}=${hmac(secret, t, rawBody).toString("hex")}`;
}

/** The header's timestamp (as written, since that is what was signed) and its v1 signatures. */
function parseHeader(header: string): { t: string; signatures: string[] } | undefined {
	let t: string | undefined;
	const signatures: string[] = [];
	for (const item of header.split(",")) {
		const at = item.indexOf("=");
		if (at <= 0) return undefined;
		const key = item.slice(0, at).trim();
		const value = item.slice(at + 1).trim();
		if (key === "t") {
			if (t !== undefined || !TIMESTAMP.test(value)) return undefined;
			t = value;
		} else if (key === SCHEME) signatures.push(value);
	}
	return t === undefined || signatures.length === 0 ? undefined : { t, signatures };
}

/** Constant-time equality of two byte strings; a length difference is simply "not equal". */
function sameBytes(a: Buffer, b: Buffer): boolean {
	return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Verifies a webhook: any of `secrets` may have signed it (old and new both during a rotation).
 * The signature is checked before the age, so "stale" means an authentic but old message — a
 * replay — and never tells a forger anything. An empty secret never matches: it would let anyone sign.
 */
export function verifySignature(
	rawBody: Buffer | string,
	header: string | undefined,
	secrets: string[],
	nowSec: number,
	toleranceSec = DEFAULT_TOLERANCE_SEC,
): Verdict {
	if (header === undefined || header.trim() === "") return { ok: false, reason: "unsigned" };
	const parsed = parseHeader(header);
	if (!parsed) return { ok: false, reason: "malformed" };

	// A v1 that is not 64 hex digits cannot match; Buffer.from(…, "hex") would silently truncate it.
	const candidates = parsed.signatures.filter(s => SIGNATURE.test(s)).map(s => Buffer.from(s, "hex"));
	let matched = false;
	for (const secret of secrets) {
		if (secret.length === 0) continue;
		const expected = hmac(secret, parsed.t, rawBody);
		// No early exit: every candidate is compared, so timing does not say which one matched.
		for (const candidate of candidates) matched = sameBytes(candidate, expected) || matched;
	}
	if (!matched) return { ok: false, reason: "mismatch" };

	const timestamp = Number(parsed.t);
	if (Math.abs(nowSec - timestamp) > toleranceSec) return { ok: false, reason: "stale" };
	return { ok: true, timestamp };
}
