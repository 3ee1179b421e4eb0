// When a delivery that failed is tried again: backoff from a minute to six hours, for 24 hours
// after the event, then it is given up (`failed`; an administrator may still redeliver it).
import { DAY, HOUR, MINUTE } from "../../lib/clock";

/** The wait after the 1st, 2nd, … failed try; the last one repeats. */
export const RETRY_DELAYS_MS = [MINUTE, 5 * MINUTE, 15 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR];

/** How long after the event deliveries are still tried on schedule. */
export const RETRY_WINDOW_MS = DAY;

/**
 * The next try after `failedTries` scheduled tries failed, the last one at `at`; null: give up.
 * A try that would fall after the window is moved to its end, so the window's last moment is tried too.
 */
export function nextTryAt(eventAt: Date, failedTries: number, at: Date): Date | null {
	const deadline = eventAt.getTime() + RETRY_WINDOW_MS;
	if (at.getTime() >= deadline) return null;
	const delay = RETRY_DELAYS_MS[Math.min(Math.max(failedTries, 1), RETRY_DELAYS_MS.length) - 1];
	return new Date(Math.min(at.getTime() + delay, deadline));
}
