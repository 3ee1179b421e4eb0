/**
 * REG-5: the lockout numbers (5 failures lock a pair for 15 minutes, 100 failures an hour per
 * account) and the arithmetic of hour windows and Retry-After.
 */
import { hourBucket, LOCKOUT, secondsUntil } from "../../services/auth/lockout";

const HOUR = 3_600_000;

test("the policy of REG-5", () => {
	expect(LOCKOUT).toEqual({ maxFailures: 5, lockMs: 15 * 60_000, accountCapPerHour: 100 });
});

describe("hourBucket", () => {
	test.each([
		[0, 0, HOUR],
		[HOUR - 1, 0, HOUR],
		[HOUR, 1, 2 * HOUR],
		[Date.UTC(2026, 2, 1, 12, 30), Date.UTC(2026, 2, 1, 12) / HOUR, Date.UTC(2026, 2, 1, 13)],
	])("%d ms is in hour %d, which ends at %d", (now, key, endsAt) => {
		expect(hourBucket(now)).toEqual({ key, endsAt });
	});
});

describe("secondsUntil", () => {
	test.each([
		[0, 15 * 60_000, 900], // a fresh lock: 15 minutes
		[0, 1_500, 2], // partial seconds round up
		[0, 1, 1],
		[5_000, 5_000, 1], // never "retry in 0 seconds"
		[10_000, 5_000, 1], // nor a negative wait
		[0, new Date(60_000), 60], // dates as well as epoch ms
	])("from %d until %s: %d s", (now, until, seconds) => {
		expect(secondsUntil(now, until)).toBe(seconds);
	});
});
