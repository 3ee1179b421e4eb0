// services/accounts/group-move.ts: what a move into another group writes — since when the account
// is of its type (BIL-6 invoices a post-paid month from then) and its period in the type it left
// (BIL-6 invoices a post-paid one until the move), and an admin's move dropping a
// pending upgrade (ACC-4, ACC-5).
import { adminMoveUpdate, typeChange } from "../../services/accounts/group-move";

const AT = new Date("2027-01-15T12:00:00Z");
const g = (_id: string, type: string) => ({ _id, type });

describe("since when an account is of its type, and its period in the type it leaves", () => {
	const JAN_3 = new Date("2027-01-03T08:00:00Z");
	it.each<[string, { typeSince?: Date }, { _id: string; type: string } | null, { _id: string; type: string }, object]>([
		["billing → post: post-paid from now", {}, g("billing", "billing"), g("post", "post"), { typeSince: AT, "left.billing": { group: "billing", until: AT } }],
		[
			"post (since activation) → billing: its post-paid period ends now",
			{},
			g("post", "post"),
			g("billing", "billing"),
			{ typeSince: AT, "left.post": { group: "post", until: AT } },
		],
		[
			"post-eu (since a move on the 3rd) → billing: post-paid in post-eu from the 3rd until now",
			{ typeSince: JAN_3 },
			g("post-eu", "post"),
			g("billing", "billing"),
			{ typeSince: AT, "left.post": { group: "post-eu", since: JAN_3, until: AT } },
		],
		["trial → billing (an upgrade)", {}, g("trial", "trial"), g("billing", "billing"), { typeSince: AT, "left.trial": { group: "trial", until: AT } }],
		["post → another post group: still post-paid since before", { typeSince: JAN_3 }, g("post", "post"), g("post-eu", "post"), {}],
		["trial → collaboration (both trial)", {}, g("trial", "trial"), g("collaboration", "trial"), {}],
		["from a group that no longer exists: the type it leaves is unknown", { typeSince: JAN_3 }, null, g("post", "post"), { typeSince: AT }],
	])("%s", (_, account, from, to, fields) => {
		expect(typeChange(account, from, to, AT)).toEqual(fields);
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
			{ $set: { group: "post", updatedAt: AT, typeSince: AT, "left.trial": { group: "trial", until: AT } }, $unset: { upgrade: "" } },
		],
		[
			"drops it on a move to another trial group too",
			pending,
			g("trial", "trial"),
			g("collaboration", "trial"),
			{ $set: { group: "collaboration", updatedAt: AT }, $unset: { upgrade: "" } },
		],
		[
			"keeps a done upgrade (its record)",
			done,
			g("billing", "billing"),
			g("post", "post"),
			{ $set: { group: "post", updatedAt: AT, typeSince: AT, "left.billing": { group: "billing", until: AT } } },
		],
		[
			"out of post: records its post-paid period until the move",
			{ typeSince: new Date("2027-01-03T08:00:00Z") },
			g("post", "post"),
			g("billing", "billing"),
			{ $set: { group: "billing", updatedAt: AT, typeSince: AT, "left.post": { group: "post", since: new Date("2027-01-03T08:00:00Z"), until: AT } } },
		],
		["of an account that never asked", {}, g("billing", "billing"), g("billing-eu", "billing"), { $set: { group: "billing-eu", updatedAt: AT } }],
	])("%s", (_, account, from, to, update) => {
		expect(adminMoveUpdate(account, from, to, AT)).toEqual(update);
	});
});
