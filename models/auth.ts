import { collection } from "./collection";

export const credentials = collection({
	name: "credentials",
	indexes: [{ field: "accountId", unique: true }, { field: "passwordChangedAt" }],
	fields: { accountId: String, passwordHash: String, passwordChangedAt: Date, previousHashes: [String] },
});

export const sessions = collection({
	name: "sessions",
	indexes: [{ field: "tokenDigest", unique: true }, { field: "accountId" }, { field: "absoluteExpiresAt", expireAfterSeconds: 24 * 3600 }],
	fields: {
		accountId: String,
		tokenDigest: String,
		createdAt: Date,
		lastSeenAt: Date,
		idleExpiresAt: Date,
		absoluteExpiresAt: Date,
		ip: String,
		userAgent: String,
		scope: String,
	},
});

/** REG-5: one document per (kind, subject, IP) pair, and hourly per-subject failure counters. */
export const signinAttempts = collection({
	name: "signin_attempts",
	indexes: [{ field: "subject" }, { field: "expiresAt", expireAfterSeconds: 0 }],
	fields: { kind: String, subject: String, email: String, ip: String, failures: Number, lockedUntil: Date, lastFailureAt: Date, expiresAt: Date },
});

export const authCounters = collection({
	name: "auth_counters",
	indexes: [{ field: "expiresAt", expireAfterSeconds: 0 }],
	fields: { count: Number, expiresAt: Date },
});

/** Single-use links and tokens: password reset (30 min), expired-password change, 2FA challenge (5 min). */
export const authLinks = collection({
	name: "auth_links",
	indexes: [{ field: "tokenDigest", unique: true }, { field: "accountId" }, { field: "expiresAt", expireAfterSeconds: 24 * 3600 }],
	fields: { kind: String, tokenDigest: String, accountId: String, createdAt: Date, expiresAt: Date, usedAt: Date, ip: String },
});

/** TFA: `_id` = account id; secrets sealed with QM_MASTER_KEY. */
export const twoFactor = collection({
	name: "two_factor",
	fields: { enabled: Boolean, secretSealed: String, pendingSecretSealed: String, lastUsedStep: Number, enabledAt: Date },
});

export const recoveryCodes = collection({
	name: "recovery_codes",
	indexes: [{ field: "digest", unique: true }, { field: "accountId" }],
	fields: { accountId: String, setId: String, digest: String, codeSealed: String, position: Number, usedAt: Date },
});
