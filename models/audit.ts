import { collection } from "./collection";

/**
 * COL-8, ADM-2: one entry per admin action and per member action on another account's resources.
 * `account` is the account acted on (the owner a member acted for, the account an admin route names),
 * null for an admin action on no one account (a tariff, a group). onBehalfOf, target, before and after are
 * stored as they come (strict: false).
 */
export const auditEntries = collection({
	name: "audit_entries",
	indexes: [{ field: "time" }, { field: "account" }, { field: "actorId" }],
	fields: {
		time: Date,
		actorId: String,
		actorEmail: String,
		account: String,
		action: String,
		route: String,
		reason: String,
		requestId: String,
		ip: String,
	},
});
