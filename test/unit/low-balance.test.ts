// BIL-5: days left at the recent spend, and which notices an hourly look sends (services/billing/low-balance.ts).
import { ARMED, daysLeft, notices, type NoticeState } from "../../services/billing/low-balance";

describe("days the balance lasts", () => {
	it.each<[number, number, number, number | null]>([
		[4_000_000, 16_000_000, 168, 1.7], // 4.00 at 16.00 a week: 1.75 days, down to a tenth
		[7_000_000, 1_000_000, 24, 7],
		[1, 1_000_000_000, 168, 0], // a micro left: rounds down to 0
		[0, 5_000_000, 168, 0],
		[-3_000_000, 5_000_000, 168, 0],
		[10_000_000, 0, 168, null], // nothing spent: no forecast
		[10_000_000, -2_000_000, 168, null], // corrections gave back more than was charged
	])("%i micros at %i micros over %i hours → %p days", (balance, spent, hours, want) => {
		expect(daysLeft(balance, spent, hours)).toBe(want);
	});
});

describe("notices of one look", () => {
	const look: { balance: number; threshold: number; daysLeft: number | null; today: string; autoRefill: boolean } = {
		balance: 4_000_000,
		threshold: 5_000_000,
		daysLeft: 1.7,
		today: "2027-01-10",
		autoRefill: false,
	};
	const told: NoticeState = { lowArmed: false, lowDay: "2027-01-10", forecastArmed: false, forecastDay: "2027-01-10" };
	it.each<[string, NoticeState, Partial<typeof look>, string[], Partial<NoticeState>]>([
		["low and short, armed", ARMED, {}, ["low", "forecast"], { lowArmed: false, lowDay: "2027-01-10", forecastArmed: false }],
		["told already, still low the next day", told, { today: "2027-01-11" }, [], { lowArmed: false, lowDay: "2027-01-10" }],
		["recovered: re-armed, nothing sent", told, { balance: 50_000_000, daysLeft: 20 }, [], { lowArmed: true, forecastArmed: true }],
		["re-armed and low again the same day: not twice a day", { ...told, lowArmed: true, forecastArmed: true }, {}, [], { lowArmed: true }],
		[
			"re-armed and low again the next day",
			{ ...told, lowArmed: true },
			{ today: "2027-01-11", daysLeft: 9 },
			["low"],
			{ lowDay: "2027-01-11", forecastArmed: true },
		],
		["threshold 0: no low notice", ARMED, { threshold: 0 }, ["forecast"], { lowArmed: true }],
		["nothing spent: no forecast", ARMED, { daysLeft: null }, ["low"], { forecastArmed: true }],
		["auto-refill on: nothing", ARMED, { autoRefill: true }, [], { lowArmed: true, forecastArmed: true }],
	])("%s", (_name, state, more, send, next) => {
		const got = notices(state, { ...look, ...more });
		expect(got.send).toEqual(send);
		expect(got.next).toMatchObject(next);
	});
});
