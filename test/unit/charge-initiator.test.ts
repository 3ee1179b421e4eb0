// COL-8: an environment a member created for its owner carries that member (its initiator) from the
// inventory (services/environments/inventory.ts) through the hour's usage record
// (services/metering/env-hours.ts) to the owner's billing history (services/billing/history.ts); an
// environment the owner made itself carries nothing, so its rows are as they always were.
import { rowForInterval, type EnvState } from "../../services/environments/inventory";
import { buildRecord } from "../../services/metering/env-hours";
import { buildHistory, hourRow, type ChargedHour } from "../../services/billing/history";
import type { RatedEnvHour } from "../../services/billing/rating";
import { inventoryNode } from "../helpers/topology";

const FROM = new Date("2030-01-01T10:00:00Z");
const TO = new Date("2030-01-01T11:00:00Z");
const MEMBER = { id: "acc_member", email: "member@example.com" };
const state = (over: Partial<EnvState> = {}): EnvState => ({
	at: new Date("2030-01-01T09:00:00Z"),
	rev: 1,
	ownerId: "acc_owner",
	name: "shop",
	status: "running",
	ssl: false,
	subscription: false,
	nodes: [inventoryNode("a")],
	...over,
});

const rated: RatedEnvHour = {
	nodes: [{ nodeId: "a", layer: "cp", reservedCloudlets: 2, dynamicCloudlets: 1, usedCloudlets: 3, storageGB: "1", trafficGB: "0", cost: 12_345 }],
	options: [],
	lines: [],
	total: 12_345,
	tiers: { reserved: null, dynamic: null },
};
const charged = (initiator?: typeof MEMBER): ChargedHour => ({ envId: "env_1", name: "shop", hour: FROM.getTime(), rated, ...(initiator ? { initiator } : {}) });

describe("the initiator, from the inventory to the billing history", () => {
	test.each([
		["made by a member for the owner", state({ initiator: MEMBER }), MEMBER],
		["made by the owner", state(), undefined],
	])("%s", (_, s, initiator) => {
		const row = rowForInterval("env_1", [s], FROM, TO)!;
		expect(row.initiator).toEqual(initiator);
		expect("initiator" in row).toBe(!!initiator);
		const record = buildRecord(row, FROM.getTime(), 1, [], new Map());
		expect(record.initiator).toEqual(initiator);
		expect("initiator" in record).toBe(!!initiator);
	});

	test("the last state within the hour names it: a transfer (initiator cleared) ends it", () => {
		const row = rowForInterval("env_1", [state({ initiator: MEMBER }), state({ rev: 2, at: new Date("2030-01-01T10:30:00Z"), ownerId: "acc_new" })], FROM, TO)!;
		expect(row).toMatchObject({ ownerId: "acc_new" });
		expect(row.initiator).toBeUndefined();
	});

	test.each([
		["HOUR", [charged(MEMBER)]],
		["DAY", [charged(MEMBER), { ...charged(MEMBER), hour: FROM.getTime() + 3_600_000 }]],
	] as const)("a %s row shows it beside the environment's cost; the stored hourly row says the same", (interval, hours) => {
		const h = buildHistory([...hours], { from: FROM.getTime(), to: FROM.getTime() + 86_400_000, interval, tzOffsetMinutes: 0, groupByLayer: false });
		expect(h.intervals[0].environments[0]).toMatchObject({ envId: "env_1", name: "shop", initiator: MEMBER });
		expect(JSON.parse(hourRow(charged(MEMBER)).json)).toMatchObject({ initiator: MEMBER, cost: "0.012345" });
	});

	test("the owner's own environment: no initiator in its rows", () => {
		const h = buildHistory([charged()], { from: FROM.getTime(), to: TO.getTime(), interval: "HOUR", tzOffsetMinutes: 0, groupByLayer: false });
		expect(h.intervals[0].environments[0]).not.toHaveProperty("initiator");
		expect(JSON.parse(hourRow(charged()).json)).not.toHaveProperty("initiator");
	});
});
