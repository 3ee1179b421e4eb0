// Encryption at rest for secrets the platform must read back (TOTP secrets, recovery codes): TFA-2.
// AES-256-GCM with QM_MASTER_KEY (32 bytes, base64). Embedded mode generates one into
// DATA_DIR/master.key on first use; distributed mode (TRANSPORTER set) refuses to run without it,
// since every replica must share the same key.
import { createCipheriv, createDecipheriv, randomBytes } from "crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "fs";
import { join, resolve } from "path";
import { envString } from "./config";

let cached: Buffer | null = null;

function parseKey(raw: string, origin: string): Buffer {
	const key = Buffer.from(raw.trim(), "base64");
	if (key.length !== 32) throw new Error(`${origin} must be 32 bytes in base64 (e.g. \`openssl rand -base64 32\`), got ${key.length} bytes`);
	return key;
}

export function masterKey(): Buffer {
	if (cached) return cached;
	const fromEnv = envString("QM_MASTER_KEY");
	if (fromEnv) return (cached = parseKey(fromEnv, "QM_MASTER_KEY"));
	const transporter = envString("TRANSPORTER");
	if (transporter && transporter !== "none") throw new Error("QM_MASTER_KEY is required in distributed mode (TRANSPORTER is set): every replica must share it");
	const dir = envString("DATA_DIR", "./data");
	if (dir.startsWith(":memory:")) return (cached = randomBytes(32)); // tests: nothing on disk
	const file = join(resolve(dir), "master.key");
	if (existsSync(file)) return (cached = parseKey(readFileSync(file, "utf8"), file));
	mkdirSync(resolve(dir), { recursive: true });
	const key = randomBytes(32);
	writeFileSync(file, key.toString("base64") + "\n", { mode: 0o600, flag: "wx" });
	return (cached = key);
}

/** Forget the key (tests that switch DATA_DIR). */
export function resetMasterKey() {
	cached = null;
}

/** `v1.<iv>.<tag>.<ciphertext>` in base64url. */
export function seal(plain: string): string {
	const iv = randomBytes(12);
	const c = createCipheriv("aes-256-gcm", masterKey(), iv);
	const data = Buffer.concat([c.update(plain, "utf8"), c.final()]);
	return ["v1", iv.toString("base64url"), c.getAuthTag().toString("base64url"), data.toString("base64url")].join(".");
}

export function open(sealed: string): string {
	const [v, iv, tag, data] = sealed.split(".");
	if (v !== "v1" || !iv || !tag || data === undefined) throw new Error("Not a sealed value");
	const d = createDecipheriv("aes-256-gcm", masterKey(), Buffer.from(iv, "base64url"));
	d.setAuthTag(Buffer.from(tag, "base64url"));
	return Buffer.concat([d.update(Buffer.from(data, "base64url")), d.final()]).toString("utf8");
}
