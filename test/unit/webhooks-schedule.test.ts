/**
 * The retry schedule of outgoing webhooks (services/webhooks/schedule.ts): 1 min, 5 min, 15 min,
 * 1 h, 3 h, then every 6 h, for 24 h after the event — the last try at the window's end, none after.
 */
import { HOUR, MINUTE } from "../../lib/clock";
import { nextTryAt, RETRY_WINDOW_MS } from "../../services/webhooks/schedule";

const EVENT = new Date("2027-03-01T12:00:00Z");
const at = (ms: number) => new Date(EVENT.getTime() + ms);

describe("nextTryAt", () => {
	it.each<[string, number, number, number | null]>([
		["after the 1st failed try (at the event)", 1, 0, MINUTE],
		["after the 2nd", 2, MINUTE, 6 * MINUTE],
		["after the 3rd", 3, 6 * MINUTE, 21 * MINUTE],
		["after the 4th", 4, 21 * MINUTE, 81 * MINUTE],
		["after the 5th", 5, 81 * MINUTE, 261 * MINUTE],
		["after the 6th: 6 h", 6, 261 * MINUTE, 621 * MINUTE],
		["after the 7th: 6 h again", 7, 621 * MINUTE, 981 * MINUTE],
		["a late try waits from when it ran, not from when it was due", 2, HOUR, HOUR + 5 * MINUTE],
		["a wait past the window is cut to its end", 8, 20 * HOUR, 24 * HOUR],
		["at the window's end: give up", 9, 24 * HOUR, null],
		["after it: give up", 3, 30 * HOUR, null],
	])("%s", (_, failedTries, triedAt, next) => {
		expect(nextTryAt(EVENT, failedTries, at(triedAt))).toEqual(next === null ? null : at(next));
	});

	it("retries for exactly 24 h: following the schedule, the last try is at the window's end", () => {
		// Each try fails; `tries.length` is then the number of failed tries so far.
		const tries = [0];
		for (let next = nextTryAt(EVENT, 1, at(0)); next; next = nextTryAt(EVENT, tries.length, next)) tries.push(next.getTime() - EVENT.getTime());
		expect(tries.at(-1)).toBe(RETRY_WINDOW_MS);
		expect(tries).toEqual([0, 1, 6, 21, 81, 261, 621, 981, 1341, 1440].map(m => m * MINUTE));
	});
});
