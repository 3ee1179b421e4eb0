// REG-5 arithmetic, kept pure: how many consecutive failures lock a (subject, IP) pair and for how
// long, the account-wide hourly cap, and the hour windows it counts in. ./attempts applies it to
// the store with atomic conditional updates and owns the counters' keys.

export interface LockoutPolicy {
	/** consecutive failures that lock the pair */
	maxFailures: number;
	lockMs: number;
	/** failures per subject (account or unknown email) per hour, from any IP */
	accountCapPerHour: number;
}

export const LOCKOUT: LockoutPolicy = { maxFailures: 5, lockMs: 15 * 60_000, accountCapPerHour: 100 };

/** The clock hour `nowMs` falls in: its number since the epoch and when it ends. */
export function hourBucket(nowMs: number): { key: number; endsAt: number } {
	const key = Math.floor(nowMs / 3_600_000);
	return { key, endsAt: (key + 1) * 3_600_000 };
}

/** Whole seconds until `until` for Retry-After, at least 1 (a lock never answers "retry in 0 s"). */
export function secondsUntil(nowMs: number, until: Date | number): number {
	return Math.max(1, Math.ceil((new Date(until).getTime() - nowMs) / 1000));
}
