// QTA-2: the catalogue carries the spec's trial / billing defaults, and values are checked by unit.
import { checkValue, defaultValue, QUOTA_BY_KEY, QUOTA_KEYS } from "../../services/quotas/catalogue";

const U = -1;
// The list of QTA-2, key by key: [key, trial, billing].
const SPEC: [string, number | string, number | string][] = [
	["environment.maxcount", 5, U],
	["environment.maxnodescount", 6, 48],
	["environment.maxsamenodescount", 2, 16],
	["environment.maxcloudletsperrec", 8, 32],
	["disk.limitation", 10, 100],
	["disk.limitation.storage", 50, 1000],
	["network.bandwidth", 10, 1000],
	["environment.highavailability.enabled", 0, 1],
	["environment.externalip.enabled", 0, 1],
	["environment.externalip.maxcount", 0, 10],
	["environment.externalip.maxcount.per.node", 0, 2],
	["environment.externalipv6.enabled", 0, 1],
	["environment.externalipv6.maxcount", 0, 10],
	["environment.externalipv6.maxcount.per.node", 0, 2],
	["environment.jelasticssl.enabled", 0, 1],
	["environment.customdomains.enabled", 0, 1],
	["account.trialperiod", 14, U],
	["account.minbalance", "0", "0"],
	["account.destroy.period", 30, 60],
	["account.personal.min.threshold", "0", "5.00"],
	["account.charge.balance.first", 0, 0],
	["account.convert.after.first.fund.enabled", 1, 1],
	["account.convert.after.login.enabled", 0, 0],
	["collaboration.enabled", 0, 1],
];

describe("quota catalogue (QTA-2)", () => {
	test.each(SPEC)("%s: trial %p, billing %p", (key, trial, billing) => {
		const q = QUOTA_BY_KEY.get(key)!;
		expect(q).toBeDefined();
		expect(defaultValue(q, "trial")).toEqual(trial);
		expect(defaultValue(q, "billing")).toEqual(billing);
	});

	test("every key has a description and a unit; unknown groups follow billing", () => {
		for (const q of QUOTA_KEYS) {
			expect(q.description.length).toBeGreaterThan(10);
			expect(defaultValue(q, "some-new-group")).toEqual(q.values.billing);
		}
		expect(defaultValue(QUOTA_BY_KEY.get("environment.maxcount")!, "collaboration")).toBe(0); // COL-4
	});

	test.each([
		["environment.maxcount", 7, 7],
		["environment.maxcount", -1, -1],
		["environment.maxcount", -2, "error"],
		["environment.maxcount", 2.5, "error"],
		["environment.maxcount", "7", "error"],
		["environment.maxcount", 1_000_000_000, 1_000_000_000],
		["environment.maxcount", 1e308, "error"],
		["account.trialperiod", 1_000_000_001, "error"],
		["environment.jelasticssl.enabled", 1, 1],
		["environment.jelasticssl.enabled", 2, "error"],
		["account.minbalance", "-10.50", "-10.50"],
		["account.minbalance", 5, "5"],
		["account.minbalance", "5.1234567", "error"],
		["account.minbalance", "ten", "error"],
	] as [string, unknown, unknown][])("checkValue(%s, %p) → %p", (key, value, expected) => {
		const r = checkValue(QUOTA_BY_KEY.get(key)!, value);
		if (expected === "error") expect(r).toHaveProperty("error");
		else expect(r).toEqual({ value: expected });
	});
});
