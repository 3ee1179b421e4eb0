// STS-1…STS-4 and ACC-3, table-driven over the pure status machine and its settings.
import { nextStatus, statusConfig, trialEndsAt, type StatusConfig, type StatusFacts } from "../../services/accounts/status";

const DAY = 86_400_000;
const t0 = new Date("2026-01-01T00:00:00Z");
const at = (days: number) => new Date(t0.getTime() + days * DAY);
const M = 1_000_000;
const trialCfg: StatusConfig = { trialPeriodDays: 14, minBalance: 0, destroyPeriodDays: 30, trialBonus: 10 * M };
const billingCfg: StatusConfig = { trialPeriodDays: -1, minBalance: 0, destroyPeriodDays: 60, trialBonus: 0 };
const facts = (over: Partial<StatusFacts>): StatusFacts => ({
	status: "active",
	type: "trial",
	activatedAt: t0,
	deactivatedAt: null,
	now: at(1),
	balance: { main: 0, bonus: 10 * M },
	...over,
});

const post = (over: Partial<StatusFacts>) => facts({ type: "post", balance: { main: -50 * M, bonus: 0 }, ...over });

describe("nextStatus", () => {
	test.each([
		["trial, day 13, bonus left", facts({ now: at(13.9) }), trialCfg, null],
		// Issue 14 item 11: administrators are staff, not customers — the rules never move them.
		["admin, balance below the minimum", facts({ role: "admin", type: "billing", balance: { main: -50 * M, bonus: 0 } }), billingCfg, null],
		["admin, in a trial group past its period", facts({ role: "admin", now: at(30) }), trialCfg, null],
		[
			"admin, deactivated past the destroy period",
			facts({ role: "admin", type: "billing", status: "deactivated", deactivatedAt: at(1), now: at(90) }),
			billingCfg,
			null,
		],
		[
			"user, the same facts",
			facts({ role: "user", type: "billing", balance: { main: -50 * M, bonus: 0 } }),
			billingCfg,
			{ to: "deactivated", reason: "balance below the minimum" },
		],
		["trial, day 14: period over", facts({ now: at(14) }), trialCfg, { to: "deactivated", reason: "trial period ended" }],
		["trial, bonus spent on day 3", facts({ now: at(3), balance: { main: 0, bonus: 0 } }), trialCfg, { to: "deactivated", reason: "trial bonus spent" }],
		["trial, bonus spent but main funded", facts({ balance: { main: 5 * M, bonus: 0 } }), trialCfg, null],
		[
			"trial group without a bonus (collaboration): an empty balance is no reason",
			facts({ balance: { main: 0, bonus: 0 } }),
			{ ...trialCfg, trialPeriodDays: -1, trialBonus: 0 },
			null,
		],
		["trial without a period (-1)", facts({ now: at(400) }), { ...trialCfg, trialPeriodDays: -1 }, null],
		["trial, balance unknown: money rules wait", facts({ balance: null }), trialCfg, null],
		["billing, balance at the minimum", facts({ type: "billing", balance: { main: 0, bonus: 0 } }), billingCfg, null],
		[
			"billing, balance below the minimum",
			facts({ type: "billing", balance: { main: -1, bonus: 0 } }),
			billingCfg,
			{ to: "deactivated", reason: "balance below the minimum" },
		],
		["billing, negative minimum allows debt", facts({ type: "billing", balance: { main: -5 * M, bonus: 0 } }), { ...billingCfg, minBalance: -10 * M }, null],
		[
			"billing deactivated, refilled",
			facts({ type: "billing", status: "deactivated", deactivatedAt: at(1), now: at(2), balance: { main: M, bonus: 0 } }),
			billingCfg,
			{ to: "active", reason: "balance restored" },
		],
		[
			"billing deactivated, still short",
			facts({ type: "billing", status: "deactivated", deactivatedAt: at(1), now: at(2), balance: { main: -1, bonus: 0 } }),
			billingCfg,
			null,
		],
		[
			"trial deactivated: a refill alone does not reactivate (upgrade does)",
			facts({ status: "deactivated", deactivatedAt: at(14), now: at(20), balance: { main: M, bonus: 0 } }),
			trialCfg,
			null,
		],
		[
			"deactivated 30 days: destroyed",
			facts({ status: "deactivated", deactivatedAt: at(14), now: at(44) }),
			trialCfg,
			{ to: "destroyed", reason: "deactivated longer than the destroy period" },
		],
		["deactivated 29 days", facts({ status: "deactivated", deactivatedAt: at(14), now: at(43) }), trialCfg, null],
		["suspended stays suspended", facts({ status: "suspended", now: at(100) }), trialCfg, null],
		[
			"destroyed, refilled to positive: active",
			facts({ status: "destroyed", refilled: true, balance: { main: 5 * M, bonus: 0 } }),
			trialCfg,
			{ to: "active", reason: "refilled after destruction" },
		],
		["destroyed, refilled but still negative", facts({ status: "destroyed", refilled: true, balance: { main: -M, bonus: 0 } }), trialCfg, null],
		["destroyed stays destroyed", facts({ status: "destroyed", now: at(100), balance: { main: 100 * M, bonus: 0 } }), trialCfg, null],
		// BIL-3, STS-2/STS-3: a post-paid account owes invoices, not a balance.
		["post, balance far below the minimum, nothing overdue", post({ balance: { main: -500 * M, bonus: 0 }, overdue: false }), billingCfg, null],
		["post, an invoice overdue", post({ overdue: true }), billingCfg, { to: "deactivated", reason: "post-paid invoice overdue" }],
		[
			"post, an invoice overdue though the balance is positive",
			post({ balance: { main: 50 * M, bonus: 0 }, overdue: true }),
			billingCfg,
			{ to: "deactivated", reason: "post-paid invoice overdue" },
		],
		["post, billing away (overdue unknown): the rule waits", post({ balance: null, overdue: null }), billingCfg, null],
		[
			"post deactivated, the invoice paid",
			post({ status: "deactivated", deactivatedAt: at(1), now: at(2), overdue: false }),
			billingCfg,
			{ to: "active", reason: "post-paid invoice paid" },
		],
		[
			"post deactivated, paid, balance still negative",
			post({ status: "deactivated", deactivatedAt: at(1), now: at(2), balance: { main: -9 * M, bonus: 0 }, overdue: false }),
			billingCfg,
			{ to: "active", reason: "post-paid invoice paid" },
		],
		[
			"post deactivated, still overdue though refilled",
			post({ status: "deactivated", deactivatedAt: at(1), now: at(2), balance: { main: 90 * M, bonus: 0 }, overdue: true }),
			billingCfg,
			null,
		],
		["post deactivated, overdue unknown", post({ status: "deactivated", deactivatedAt: at(1), now: at(2), overdue: null }), billingCfg, null],
		[
			"post deactivated 60 days: destroyed",
			post({ status: "deactivated", deactivatedAt: at(1), now: at(61), overdue: true }),
			billingCfg,
			{ to: "destroyed", reason: "deactivated longer than the destroy period" },
		],
		[
			"post destroyed, paid after destruction",
			post({ status: "destroyed", refilled: true, balance: { main: -2 * M, bonus: 0 }, overdue: false }),
			billingCfg,
			{ to: "active", reason: "refilled after destruction" },
		],
		[
			"post destroyed, refilled but still overdue",
			post({ status: "destroyed", refilled: true, balance: { main: 20 * M, bonus: 0 }, overdue: true }),
			billingCfg,
			null,
		],
		[
			"billing: an overdue fact is no rule of its own (balance decides)",
			facts({ type: "billing", balance: { main: 5 * M, bonus: 0 }, overdue: true }),
			billingCfg,
			null,
		],
		["admin in a post group, overdue", post({ role: "admin", overdue: true }), billingCfg, null],
	] as [string, StatusFacts, StatusConfig, unknown][])("%s", (_name, f, c, expected) => {
		expect(nextStatus(f, c)).toEqual(expected);
	});

	test("trialEndsAt: activation + period for trials, none otherwise", () => {
		expect(trialEndsAt({ activatedAt: t0, type: "trial" }, trialCfg)).toEqual(at(14));
		expect(trialEndsAt({ activatedAt: t0, type: "billing" }, trialCfg)).toBeNull();
		expect(trialEndsAt({ activatedAt: t0, type: "trial" }, { trialPeriodDays: -1 })).toBeNull();
	});
});

// The rules' settings from quotas.effective values: the catalogue's defaults (trial 14 days, bonus
// 10.00, destroyed after 30 days; billing 60 days, ACC-2, STS-2, STS-4) and a provider's edits.
describe("statusConfig", () => {
	test.each([
		[
			"trial defaults",
			{ "account.trialperiod": 14, "account.trial.bonus": "10.00", "account.minbalance": "0", "account.destroy.period": 30 },
			{ trialPeriodDays: 14, minBalance: 0, destroyPeriodDays: 30, trialBonus: 10 * M },
		],
		[
			"billing: a trial that never ends, no bonus",
			{ "account.trialperiod": -1, "account.trial.bonus": "0", "account.minbalance": "0", "account.destroy.period": 60 },
			billingCfg,
		],
		[
			"a negative minimum (STS-2: may be negative)",
			{ "account.trialperiod": -1, "account.minbalance": "-25.50", "account.destroy.period": 60 },
			{ trialPeriodDays: -1, minBalance: -25.5 * M, destroyPeriodDays: 60, trialBonus: 0 },
		],
		[
			"no trial bonus value: none",
			{ "account.trialperiod": 7, "account.minbalance": "1", "account.destroy.period": "30" },
			{ trialPeriodDays: 7, minBalance: M, destroyPeriodDays: 30, trialBonus: 0 },
		],
		[
			"amounts exact to the micro-unit",
			{ "account.trialperiod": 14, "account.trial.bonus": "0.000001", "account.minbalance": "0.5", "account.destroy.period": 30 },
			{ trialPeriodDays: 14, minBalance: 500_000, destroyPeriodDays: 30, trialBonus: 1 },
		],
	] as [string, Record<string, number | string>, StatusConfig][])("%s", (_name, values, expected) => {
		expect(statusConfig(values)).toEqual(expected);
	});

	test("an amount that is not money is refused, naming the quota", () => {
		expect(() => statusConfig({ "account.trialperiod": 14, "account.minbalance": "lots", "account.destroy.period": 30 })).toThrow(
			expect.objectContaining({ data: [expect.objectContaining({ field: "account.minbalance" })] }),
		);
	});
});
