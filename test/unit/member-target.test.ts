// services/gateway/member-target.ts: which other account's resource a request names (COL-6, COL-7),
// table-tested over catalogue entries.
import { API_CATALOGUE } from "../../lib/api-catalogue";
import { memberTarget } from "../../services/gateway/member-target";

const entry = (rest: string) => {
	const e = API_CATALOGUE.find(x => x.rest === rest);
	if (!e) throw new Error(`not in the catalogue: ${rest}`);
	return e;
};
const ME = "acc-me";

describe("memberTarget", () => {
	test.each([
		// route, params → target
		["GET /environments/:id", { id: "env-1" }, { kind: "env", envId: "env-1" }],
		["POST /environments/:id/stop", { id: "env-1" }, { kind: "env", envId: "env-1" }],
		["GET /environments/:id/usage", { id: "env-1", from: "2027-01-01" }, { kind: "env", envId: "env-1" }],
		// an environment route's id is the environment, whatever else is given
		["PATCH /environments/:id", { id: "env-1", ownerId: "acc-owner" }, { kind: "env", envId: "env-1" }],
		["POST /environments", { name: "x", ownerId: "acc-owner" }, { kind: "owner", ownerId: "acc-owner" }],
		["GET /pricing", { ownerId: "acc-owner" }, { kind: "owner", ownerId: "acc-owner" }],
		["DELETE /collaboration/members/:id", { id: "m-1", ownerId: "acc-owner" }, { kind: "owner", ownerId: "acc-owner" }],
		["GET /billing/history", { envId: "env-2" }, { kind: "env", envId: "env-2" }],
		["GET /billing/transactions", { envId: "env-2", kind: "charge" }, { kind: "env", envId: "env-2" }],
		// the caller's own account: nothing to check
		["POST /environments", { name: "x", ownerId: ME }, null],
		["POST /environments", { name: "x" }, null],
		["GET /pricing", {}, null],
		["GET /billing/history", { envId: "" }, null],
		["GET /environments/:id", {}, null],
		["GET /environments", {}, null],
		// not a member's route: sessions only, administrators, public
		["GET /tokens", { ownerId: "acc-owner" }, null],
		["GET /admin/accounts/:id", { id: "acc-owner" }, null],
		["POST /auth/signin", { ownerId: "acc-owner" }, null],
	])("%s %j → %j", (rest, params, expected) => {
		expect(memberTarget(entry(rest), params as Record<string, unknown>, ME)).toEqual(expected);
	});

	it("takes only id-shaped strings as ids", () => {
		expect(memberTarget(entry("GET /pricing"), { ownerId: ["acc-owner"] }, ME)).toBeNull();
		expect(memberTarget(entry("GET /environments/:id"), { id: 42 }, ME)).toBeNull();
		// Not an id: the action's validation names the field (422), rather than a 404 for an unknown owner.
		expect(memberTarget(entry("POST /environments"), { ownerId: "x".repeat(65) }, ME)).toBeNull();
		expect(memberTarget(entry("GET /billing/history"), { envId: "env 1" }, ME)).toBeNull();
	});
});
