// COL-9: an environment that entered or left a group is announced to every gateway
// (services/environments/groups.ts): only a real change of its groups, as sets, is announced.
import { announceRegrouped, groupsDiffer, REGROUPED } from "../../services/environments/groups";

describe("groupsDiffer", () => {
	test.each<[string[], string[], boolean]>([
		[[], [], false],
		[["a"], ["a"], false],
		[["a", "b"], ["b", "a"], false],
		[["a", "a"], ["a"], false],
		[[], ["a"], true],
		[["a"], [], true],
		[["a"], ["b"], true],
		[["a", "b"], ["a"], true],
		[["a"], ["a", "b"], true],
	])("%j → %j: %s", (before, after, differ) => expect(groupsDiffer(before, after)).toBe(differ));
});

describe("announceRegrouped", () => {
	test("broadcasts the owner and the environments; nothing when none moved", () => {
		const said: [string, unknown][] = [];
		const bus = { broadcast: (event: string, payload: unknown) => said.push([event, payload]) };
		announceRegrouped(bus, "acc_1", []);
		expect(said).toEqual([]);
		announceRegrouped(bus, "acc_1", ["env_1", "env_2"]);
		expect(said).toEqual([[REGROUPED, { ownerId: "acc_1", envIds: ["env_1", "env_2"] }]]);
		expect(REGROUPED).toBe("environments.regrouped");
	});
});
