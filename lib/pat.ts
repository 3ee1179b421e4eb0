// PAT-2: `qm_pat_` + 32 base62 characters + a 6-character checksum (CRC-32 of the body, in base62).
// The prefix lets secret scanners find leaked tokens; the checksum lets the gateway refuse a
// mistyped or made-up token without a database read. Only a SHA-256 digest is ever stored.
import { crc32 } from "zlib";
import { digest, randomBase62 } from "./crypto";

export const PAT_PREFIX = "qm_pat_";
const BODY = 32;
const CHECK = 6;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SHAPE = new RegExp(`^${PAT_PREFIX}[0-9A-Za-z]{${BODY + CHECK}}$`);

function base62(n: number, width: number): string {
	let out = "";
	for (let i = 0; i < width; i++) {
		out = BASE62[n % 62] + out;
		n = Math.floor(n / 62);
	}
	return out;
}

export function checksum(body: string): string {
	return base62(crc32(body) >>> 0, CHECK);
}

export function newPat(): string {
	const body = randomBase62(BODY);
	return PAT_PREFIX + body + checksum(body);
}

export function looksLikePat(token: string): boolean {
	return token.startsWith(PAT_PREFIX);
}

/** Shape and checksum, without touching any store. */
export function wellFormedPat(token: string): boolean {
	if (!SHAPE.test(token)) return false;
	const body = token.slice(PAT_PREFIX.length, PAT_PREFIX.length + BODY);
	return token.slice(PAT_PREFIX.length + BODY) === checksum(body);
}

export function patDigest(token: string): string {
	return digest(token);
}

/** What lists show so a user can tell tokens apart: `qm_pat_AbCd…`. */
export function displayPrefix(token: string): string {
	return token.slice(0, PAT_PREFIX.length + 4);
}
