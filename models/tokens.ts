import { collection } from "./collection";

/** PAT-1/2: only a digest of each token is stored; `prefix` lets a user tell tokens apart. */
export const tokens = collection({
	name: "tokens",
	indexes: [{ field: "digest", unique: true }, { field: "accountId" }, { field: "expiresAt" }],
	fields: {
		accountId: String,
		description: String,
		template: String,
		apiList: [String],
		allowedIps: [String],
		expiresAt: Date,
		digest: String,
		prefix: String,
		createdAt: Date,
		updatedAt: Date,
		lastUsedAt: Date,
		lastUsedIp: String,
	},
});
