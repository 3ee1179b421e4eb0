// Random tokens and digests. Secrets are stored only as digests (REG-2, REG-4, PAT-2).
import { createHash, randomBytes, randomInt, timingSafeEqual } from "crypto";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** URL-safe random token with `bytes` bytes of entropy (base64url). */
export function randomToken(bytes: number): string {
	return randomBytes(bytes).toString("base64url");
}

/** Uniformly random base62 string (no modulo bias). */
export function randomBase62(length: number): string {
	let out = "";
	for (let i = 0; i < length; i++) out += BASE62[randomInt(62)];
	return out;
}

/** Document ids: 20 base62 characters (~119 bits), the same on NeDB and MongoDB. */
export function newId(): string {
	return randomBase62(20);
}

/** SHA-256 hex digest: how tokens, links and sessions are stored and looked up. */
export function digest(value: string): string {
	return createHash("sha256").update(value, "utf8").digest("hex");
}

export function safeEqual(a: string, b: string): boolean {
	const ab = Buffer.from(a);
	const bb = Buffer.from(b);
	return ab.length === bb.length && timingSafeEqual(ab, bb);
}
