// COL-5: the membership state machine, every state against every action.
import { nextStatus, type MemberAction, type MemberStatus } from "../../services/collaboration/states";
import { normaliseShares, shareErrors } from "../../services/collaboration/shares";

const STATES: MemberStatus[] = ["pending", "active", "suspended", "rejected", "left", "removed"];
const ACTIONS: MemberAction[] = ["accept", "reject", "suspend", "activate", "leave", "remove", "resend", "reinvite", "edit"];

// rows: states; columns: ACTIONS; "-" = not possible
const TABLE: Record<MemberStatus, string[]> = {
	pending: ["active", "rejected", "-", "-", "-", "removed", "pending", "-", "pending"],
	active: ["-", "-", "suspended", "-", "left", "removed", "-", "-", "active"],
	suspended: ["-", "-", "-", "active", "left", "removed", "-", "-", "suspended"],
	rejected: ["-", "-", "-", "-", "-", "removed", "pending", "pending", "-"],
	left: ["-", "-", "-", "-", "-", "removed", "pending", "pending", "-"],
	removed: ["-", "-", "-", "-", "-", "-", "-", "pending", "-"],
};

describe("membership states (COL-5)", () => {
	test.each(STATES.flatMap(s => ACTIONS.map((a, i) => [s, a, TABLE[s][i]] as const)))("%s + %s → %s", (status, action, expected) => {
		expect(nextStatus(status, action) ?? "-").toBe(expected);
	});
});

describe("shared items (COL-4)", () => {
	test.each([
		[[{ type: "ENV" as const, roleIds: ["r"] }], ["resources[0].id: is required for an environment"]],
		[[{ type: "ACCOUNT" as const, id: "x", roleIds: ["r"] }], ["resources[0].id: must be left out: ACCOUNT is the whole account root"]],
		[
			[
				{ type: "ENV_GROUP" as const, roleIds: ["r"] },
				{ type: "ENV_GROUP" as const, roleIds: ["s"] },
			],
			["resources[1]: is shared twice; give all its roles in one item"],
		],
		[
			[
				{ type: "ENV" as const, id: "e", roleIds: ["r"] },
				{ type: "ENV_GROUP" as const, id: "e", roleIds: ["r"] },
				{ type: "ACCOUNT" as const, roleIds: ["r"] },
			],
			[],
		],
	])("%j", (resources, expected) => {
		expect(shareErrors(resources).map(e => `${e.field}: ${e.message}`)).toEqual(expected);
	});

	test("stored with each role once and no empty id", () => {
		expect(normaliseShares([{ type: "ACCOUNT", roleIds: ["a", "a", "b"] }])).toEqual([{ type: "ACCOUNT", roleIds: ["a", "b"] }]);
	});
});
