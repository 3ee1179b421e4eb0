import { collection } from "./collection";

/** QTA-1: a group's value of a quota key (`_id` = `<group>|<key>`). */
export const groupQuotas = collection({ name: "group_quotas", indexes: [{ field: "group" }], fields: { group: String, key: String } });

/** QTA-1: one account's override (`_id` = `<accountId>|<key>`). */
export const quotaOverrides = collection({ name: "quota_overrides", indexes: [{ field: "accountId" }], fields: { accountId: String, key: String } });

/** QTA-4: what an account uses of a countable quota, reservations included (`_id` = `<accountId>|<key>`). */
export const quotaUsage = collection({ name: "quota_usage", indexes: [{ field: "accountId" }], fields: { accountId: String, key: String, used: Number } });

/** QTA-4: reservations, committed or released; expired ones are released by a job. */
export const quotaReservations = collection({
	name: "quota_reservations",
	indexes: [{ field: "accountId" }, { field: "state" }, { field: "expiresAt" }],
	fields: { accountId: String, key: String, amount: Number, state: String, createdAt: Date, expiresAt: Date },
});
