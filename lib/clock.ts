// All time in Quartermaster comes from here (UTC). With QM_TEST_CLOCK=1 the platform clock can be
// set (POST /api/v1/admin/clock broadcasts it to every service); it then keeps running from the
// set instant, so timeouts measured in seconds still behave naturally.
import { envFlag } from "./config";

let offsetMs = 0;

export function now(): Date {
	return new Date(Date.now() + offsetMs);
}

export function nowMs(): number {
	return Date.now() + offsetMs;
}

export function testClockEnabled(): boolean {
	return envFlag("QM_TEST_CLOCK");
}

/** Set the platform clock to `instant`. Refused unless QM_TEST_CLOCK=1. */
export function setClock(instant: Date | string | number): Date {
	if (!testClockEnabled()) throw new Error("The clock can only be set with QM_TEST_CLOCK=1");
	const t = new Date(instant).getTime();
	if (Number.isNaN(t)) throw new Error(`Not a time: ${String(instant)}`);
	offsetMs = t - Date.now();
	return now();
}

/** Back to real time (tests). */
export function resetClock(): void {
	offsetMs = 0;
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export function addMs(d: Date, ms: number): Date {
	return new Date(d.getTime() + ms);
}
