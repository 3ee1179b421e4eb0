// BIL-4: the period summary, pure — which kinds count as debited, refilled, bonus and adjusted
// (main and bonus together, to the micro-unit), and the balances the period ends with.
import { CURRENCY } from "../../lib/money";
import type { EntryKind } from "../../services/billing/ledger";
import { periodSummary, type SummaryEntry } from "../../services/billing/history";

const U = 1_000_000; // micros per currency unit
const from = new Date("2026-11-01T00:00:00Z");
const to = new Date("2026-11-15T12:00:00Z");
const entry = (kind: EntryKind, amountMain: number, amountBonus = 0): SummaryEntry => ({ kind, amountMain, amountBonus });

describe("periodSummary", () => {
	test.each<[string, SummaryEntry[], { main: number; bonus: number } | undefined, Record<string, string>]>([
		["an account that never moved", [], undefined, { debited: "0.00", refilled: "0.00", bonus: "0.00", adjusted: "0.00" }],
		[
			"a charge split over bonus and main counts whole, at its exact micros",
			[entry("charge", -77_000, -23_000)],
			{ main: -77_000, bonus: 0 },
			{ debited: "0.10", refilled: "0.00", bonus: "0.00", adjusted: "0.00" },
		],
		[
			"hourly charges of 0.077 add up exactly, not rounded to cents",
			[entry("charge", -77_000), entry("charge", -77_000), entry("charge", -77_000)],
			{ main: 10 * U - 231_000, bonus: 0 },
			{ debited: "0.231", refilled: "0.00", bonus: "0.00", adjusted: "0.00" },
		],
		[
			"a correction that gives back lowers what was debited",
			[entry("charge", -2 * U), entry("correction", 500_000)],
			{ main: 8_500_000, bonus: 0 },
			{ debited: "1.50", refilled: "0.00", bonus: "0.00", adjusted: "0.00" },
		],
		[
			"refills, bonuses and adjustments each in their own line",
			[entry("refill", 20 * U), entry("bonus", 0, 5 * U), entry("adjustment", -3 * U), entry("refill", 1_250_000)],
			{ main: 18_250_000, bonus: 5 * U },
			{ debited: "0.00", refilled: "21.25", bonus: "5.00", adjusted: "-3.00" },
		],
	])("%s", (_name, applied, balanceAtEnd, sums) => {
		const s = periodSummary({ from, to, applied, balanceAtEnd });
		expect(s).toMatchObject({ from: "2026-11-01T00:00:00.000Z", to: "2026-11-15T12:00:00.000Z", currency: CURRENCY, ...sums });
	});

	test.each([
		["no balance yet: zeros", undefined, { main: "0.00", bonus: "0.00", total: "0.00" }],
		["main and bonus, and their total", { main: 12_345_000, bonus: 655_000 }, { main: "12.345", bonus: "0.655", total: "13.00" }],
		["a main balance below zero", { main: -1_500_000, bonus: 0 }, { main: "-1.50", bonus: "0.00", total: "-1.50" }],
	])("the balance at the end: %s", (_name, balanceAtEnd, balance) => {
		expect(periodSummary({ from, to, applied: [], balanceAtEnd }).balance).toEqual(balance);
	});
});
