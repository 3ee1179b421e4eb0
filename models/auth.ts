import { collection } from "./collection";

export const credentials = collection({
	name: "credentials",
	indexes: [{ field: "accountId", unique: true }],
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
	},
});
