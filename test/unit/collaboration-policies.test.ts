// COL-2, PAT-6: the system policy tree follows the one API catalogue — every method a member could
// be given is in some system policy, no policy names a method the catalogue lacks, ids are unique,
// and a custom policy's methods are refused by name when unknown or not for members. The seeded
// role templates (COL-3) name only system policies.
import { API_CATALOGUE } from "../../lib/api-catalogue";
import { memberMethods, policyMethodErrors, SYSTEM_POLICIES, isOwnAccountOnly } from "../../services/collaboration/policies";
import { ROLE_TEMPLATES } from "../../services/collaboration/roles";

const catalogued = new Set(API_CATALOGUE.map(e => e.method).filter(Boolean));

describe("the system policies and the API catalogue", () => {
	test("every catalogue method a member could call is in at least one system policy", () => {
		const inPolicies = new Set(SYSTEM_POLICIES.flatMap(p => p.methods));
		expect(memberMethods().filter(m => !inPolicies.has(m))).toEqual([]);
	});

	test("no policy names a method the catalogue lacks, or one only for one's own account", () => {
		const named = SYSTEM_POLICIES.flatMap(p => p.methods);
		expect(named.filter(m => !catalogued.has(m))).toEqual([]);
		expect(named.filter(isOwnAccountOnly)).toEqual([]);
	});

	test("leaf ids are unique and each sits at a path in the tree", () => {
		const ids = SYSTEM_POLICIES.map(p => p.id);
		expect(new Set(ids).size).toBe(ids.length);
		expect(SYSTEM_POLICIES.find(p => p.id === "environment.state")?.path).toEqual(["Environment", "State"]);
		expect(SYSTEM_POLICIES.find(p => p.id === "container.files.write")?.path).toEqual(["Container", "File System", "Write Files (Create/Edit/Delete)"]);
	});

	test("a method added to the catalogue for members and left out of the tree is caught", () => {
		const grown = [
			...API_CATALOGUE,
			{
				rest: "POST /environments/:id/restart",
				action: "environments.restart",
				method: "environment.control.RestartNodes",
				access: "user" as const,
				description: "x",
			},
		];
		const inPolicies = new Set(SYSTEM_POLICIES.flatMap(p => p.methods));
		expect(memberMethods(grown).filter(m => !inPolicies.has(m))).toEqual(["environment.control.RestartNodes"]);
	});

	test("the role templates name system policies only", () => {
		const ids = new Set(SYSTEM_POLICIES.map(p => p.id));
		for (const t of ROLE_TEMPLATES) expect(t.policies.filter(p => !ids.has(p))).toEqual([]);
		expect(ROLE_TEMPLATES.map(t => t.name)).toEqual(["Viewer", "Operator", "Developer", "Admin", "Billing viewer"]);
	});
});

describe("custom policy methods", () => {
	test.each([
		[["environment.control.StartEnv"], []],
		[["environment.control.Teleport"], ['methods[0]: "environment.control.Teleport" is not an API method of the catalogue']],
		[["environment.control.GetEnvs", "users.account.ChangeName"], ['methods[1]: "users.account.ChangeName" cannot be given to a member']],
		[["admin.accounts.GetAccounts"], ['methods[0]: "admin.accounts.GetAccounts" cannot be given to a member']],
		[["users.authentication.CreateToken"], ['methods[0]: "users.authentication.CreateToken" cannot be given to a member']],
	])("%j", (methods, expected) => {
		const errors = policyMethodErrors(methods).map(e => `${e.field}: ${e.message}`);
		expect(errors.length).toBe(expected.length);
		expected.forEach((start, i) => expect(errors[i].startsWith(start)).toBe(true));
	});
});
