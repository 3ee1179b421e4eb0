import { collection } from "./collection";

export const accounts = collection({
	name: "accounts",
	indexes: [{ field: "email", unique: true }, { field: "status" }, { field: "group" }],
	fields: {
		email: { type: String, required: true, lowercase: true },
		name: String,
		phone: String,
		group: String,
		role: String,
		status: String,
		createdAt: Date,
		activatedAt: Date,
		updatedAt: Date,
	},
});

export const groups = collection({
	name: "groups",
	fields: { name: String, type: String, conversionGroup: String, signupDefault: Boolean, builtIn: Boolean, description: String },
});

/** Pending sign-ups: one per activation link sent (REG-2). */
export const signups = collection({
	name: "signups",
	indexes: [{ field: "tokenDigest", unique: true }, { field: "email" }, { field: "expiresAt", expireAfterSeconds: 7 * 24 * 3600 }],
	fields: { email: String, name: String, tokenDigest: String, createdAt: Date, expiresAt: Date, usedAt: Date, ip: String },
});

/** Fixed-window counters for per-address limits (REG-3). */
export const accountCounters = collection({
	name: "account_counters",
	indexes: [{ field: "expiresAt", expireAfterSeconds: 0 }],
	fields: { count: Number, expiresAt: Date },
});

/** STS-6: every status change — from, to, reason, actor, time. */
export const statusHistory = collection({
	name: "status_history",
	indexes: [{ field: "accountId" }],
	fields: { accountId: String, from: String, to: String, reason: String, actor: String, at: Date },
});
