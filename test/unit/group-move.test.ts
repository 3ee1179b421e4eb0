// services/accounts/group-move.ts: what a move into another group writes — since when the account
// is of its type (BIL-6 invoices a post-paid month from then), and an admin's move dropping a
// pending upgrade (ACC-4, ACC-5).
import { adminMoveUpdate, typeChange } from "../../services/accounts/group-move";

const AT = new Date("2027-01-15T12:00:00Z");
const g = (_id: string, type: string) => ({ _id, type });

describe("since when an account is of its type", () => {
	it.each<[string, { type: string } | null, { type: string }, { typeSince?: Date }]>([
		["billing → post: post-paid from now", g("billing", "billing"), g("post", "post"), { typeSince: AT }],
		["post → billing: pre-paid from now", g("post", "post"), g("billing", "billing"), { typeSince: AT }],
		["trial → billing (an upgrade)", g("trial", "trial"), g("billing", "billing"), { typeSince: AT }],
		["post → another post group: still post-paid since before", g("post", "post"), g("post-eu", "post"), {}],
		["trial → collaboration (both trial)", g("trial", "trial"), g("collaboration", "trial"), {}],
		["from a group that no longer exists", null, g("post", "post"), { typeSince: AT }],
	])("%s", (_, from, to, fields) => {
		expect(typeChange(from, to, AT)).toEqual(fields);
	});
});

describe("an administrator's move", () => {
	const pending = { upgrade: { state: "pending" as const, requestedAt: AT, targetGroup: "billing" } };
	const done = { upgrade: { state: "done" as const, requestedAt: AT, targetGroup: "billing", convertedAt: AT } };
	it.each<[string, object, { type: string; _id: string }, { type: string; _id: string }, object]>([
		[
			"drops an upgrade pending its first refill",
			pending,
			g("trial", "trial"),
			g("post", "post"),
			{ $set: { group: "post", updatedAt: AT, typeSince: AT }, $unset: { upgrade: "" } },
		],
		[
			"drops it on a move to another trial group too",
			pending,
			g("trial", "trial"),
			g("collaboration", "trial"),
			{ $set: { group: "collaboration", updatedAt: AT }, $unset: { upgrade: "" } },
		],
		["keeps a done upgrade (its record)", done, g("billing", "billing"), g("post", "post"), { $set: { group: "post", updatedAt: AT, typeSince: AT } }],
		["of an account that never asked", {}, g("billing", "billing"), g("billing-eu", "billing"), { $set: { group: "billing-eu", updatedAt: AT } }],
	])("%s", (_, account, from, to, update) => {
		expect(adminMoveUpdate(account, from, to, AT)).toEqual(update);
	});
});
