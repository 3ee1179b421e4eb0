// COL-6 as a table: the SPEC's rule and the platform notes' worked examples (§8.2), then the edges.
// Roles are named after the examples; each role's single policy lets one method, so the methods
// allowed show which roles were united.
import { resolveAccess, type Share, type Target } from "../../services/collaboration/resolve";

const ROLES = ["Viewer", "Admin", "Developer", "Accountant", "Operator"];
const roles = new Map(ROLES.map(r => [r, { policies: [`p-${r}`] }]));
const custom = new Map(ROLES.map(r => [`p-${r}`, { methods: [`m.${r}`] }]));

// groups: A (parent P), P (top), B (parent Q), Q (top), C (top)
const parentOf = { A: "P", P: null, B: "Q", Q: null, C: null };
const env = (groups: string[] = []): Target => ({ envId: "e1", groups, parentOf });

const cases: [string, Share[], Target, string, string[]][] = [
	["Example 1: no groups, no direct role, base Viewer → Viewer", [{ type: "ACCOUNT", roleIds: ["Viewer"] }], env(), "base", ["Viewer"]],
	[
		"Example 2: direct Viewer beats the group's Admin → Viewer only",
		[
			{ type: "ENV", id: "e1", roleIds: ["Viewer"] },
			{ type: "ENV_GROUP", id: "A", roleIds: ["Admin"] },
		],
		env(["A"]),
		"direct",
		["Viewer"],
	],
	[
		"Example 3: group A (Developer + Accountant, its parent's Admin ignored) and group B (none up its tree: the groups' default Viewer) → the union",
		[
			{ type: "ENV_GROUP", id: "A", roleIds: ["Developer", "Accountant"] },
			{ type: "ENV_GROUP", id: "P", roleIds: ["Admin"] },
			{ type: "ENV_GROUP", roleIds: ["Viewer"] },
		],
		env(["A", "B"]),
		"group",
		["Developer", "Accountant", "Viewer"],
	],
	[
		"a group without a role takes its nearest ancestor's",
		[
			{ type: "ENV_GROUP", id: "P", roleIds: ["Operator"] },
			{ type: "ACCOUNT", roleIds: ["Admin"] },
		],
		env(["A"]),
		"group",
		["Operator"],
	],
	[
		"groups with no role anywhere up their trees, and no groups' default: the base applies",
		[
			{ type: "ENV_GROUP", id: "C", roleIds: ["Admin"] },
			{ type: "ACCOUNT", roleIds: ["Viewer"] },
		],
		env(["A"]),
		"base",
		["Viewer"],
	],
	[
		"the groups' default does not reach an environment in no group",
		[
			{ type: "ENV_GROUP", roleIds: ["Admin"] },
			{ type: "ACCOUNT", roleIds: ["Viewer"] },
		],
		env(),
		"base",
		["Viewer"],
	],
	["roles on another environment give nothing here", [{ type: "ENV", id: "e2", roleIds: ["Admin"] }], env(), "none", []],
	[
		"roles at one level are united; the lower level is not added",
		[
			{ type: "ENV", id: "e1", roleIds: ["Viewer", "Operator"] },
			{ type: "ACCOUNT", roleIds: ["Admin"] },
		],
		env(),
		"direct",
		["Viewer", "Operator"],
	],
	[
		"a call about the account as a whole gets the base",
		[
			{ type: "ENV", id: "e1", roleIds: ["Admin"] },
			{ type: "ACCOUNT", roleIds: ["Viewer"] },
		],
		{},
		"base",
		["Viewer"],
	],
	["a role deleted meanwhile gives nothing, though its level still applies", [{ type: "ENV", id: "e1", roleIds: ["Gone"] }], env(), "direct", []],
	[
		"a cycle in the group tree ends the walk",
		[{ type: "ACCOUNT", roleIds: ["Viewer"] }],
		{ envId: "e1", groups: ["X"], parentOf: { X: "Y", Y: "X" } },
		"base",
		["Viewer"],
	],
];

describe("resolveAccess (COL-6)", () => {
	test.each(cases)("%s", (_name, shares, target, level, expected) => {
		const access = resolveAccess(shares, target, roles, custom);
		expect(access.level).toBe(level);
		expect([...access.methods].sort()).toEqual(expected.map(r => `m.${r}`).sort());
		expect(access.roleIds.sort()).toEqual(expected.sort());
	});

	test("system policies give their catalogue methods", () => {
		const access = resolveAccess([{ type: "ACCOUNT", roleIds: ["r"] }], {}, new Map([["r", { policies: ["environment.state"] }]]));
		expect([...access.methods].sort()).toEqual(["environment.control.StartEnv", "environment.control.StopEnv"]);
	});
});
