// lib/reminders.ts: which notice is due, with how many days really left (issue 14 item 12) —
// trial reminders (ACC-2: 6/3/1), destroy warnings (STS-4: 7/1), password expiry (PWD-2:
// 14/7/3/1), token expiry (PAT-5: 7/1).
import { dueNotice } from "../../lib/reminders";

const DAY = 86_400_000;
const deadline = Date.UTC(2026, 5, 30, 12);
const before = (days: number) => deadline - days * DAY;

describe("dueNotice", () => {
	test.each([
		// [what, notice days, days before the deadline, expected]
		["password: 14 days ahead, the 14-day notice", [14, 7, 3, 1], 14, { notice: 14, daysLeft: 14 }],
		["password: 5 days left in the 7-day band says 5, not 7", [14, 7, 3, 1], 5, { notice: 7, daysLeft: 5 }],
		["password: 6.5 days left rounds up to 7", [14, 7, 3, 1], 6.5, { notice: 7, daysLeft: 7 }],
		["password: 4.4 days left says 4", [14, 7, 3, 1], 4.4, { notice: 7, daysLeft: 4 }],
		["password: a job a minute late in the 3-day band says tomorrow, not 2 days", [14, 7, 3, 1], 1.0007, { notice: 3, daysLeft: 1 }],
		["password: 20 days ahead, nothing yet", [14, 7, 3, 1], 20, null],
		["token: 5 days left (created 5 days before expiry)", [7, 1], 5, { notice: 7, daysLeft: 5 }],
		["token: hours left, the 1-day notice says tomorrow", [7, 1], 0.2, { notice: 1, daysLeft: 1 }],
		["token: at the 1-day boundary", [7, 1], 1, { notice: 1, daysLeft: 1 }],
		["trial: 2 days left, the 3-day reminder", [6, 3, 1], 2, { notice: 3, daysLeft: 2 }],
		["trial: notice days in any order", [1, 6, 3], 4, { notice: 6, daysLeft: 4 }],
		["destroy: 7 days before", [1, 7], 7, { notice: 7, daysLeft: 7 }],
		["deadline reached", [7, 1], 0, null],
		["deadline passed", [7, 1], -1, null],
		["no notice days", [], 1, null],
	])("%s", (_name, days, daysBefore, expected) => {
		expect(dueNotice(deadline, before(daysBefore), days)).toEqual(expected);
		expect(dueNotice(new Date(deadline), new Date(before(daysBefore)), days)).toEqual(expected); // Dates or milliseconds
	});
});
