// REG-5 arithmetic, kept pure: how many consecutive failures lock a (subject, IP) pair and for how
// long, and the account-wide hourly cap. The store applies it with atomic conditional updates.

export interface LockoutPolicy {
	/** consecutive failures that lock the pair */
	maxFailures: number;
	lockMs: number;
	/** failures per subject (account or unknown email) per hour, from any IP */
	accountCapPerHour: number;
}

export const LOCKOUT: LockoutPolicy = { maxFailures: 5, lockMs: 15 * 60_000, accountCapPerHour: 100 };

/** `pw|<subject>|<ip>` or `2fa|<subject>|<ip>`: one counter per kind, subject and client IP. */
export function pairKey(kind: "pw" | "2fa", subject: string, ip: string): string {
	return `${kind}|${subject}|${ip}`;
}

/** Unknown emails are counted and locked like accounts (REG-5), under their normalised address. */
export function subjectOf(account: { id: string } | null, email: string): string {
	return account ? account.id : `email:${email}`;
}

export function hourBucket(nowMs: number): { key: number; endsAt: number } {
	const key = Math.floor(nowMs / 3_600_000);
	return { key, endsAt: (key + 1) * 3_600_000 };
}

export function secondsUntil(nowMs: number, until: Date | number): number {
	return Math.max(1, Math.ceil((new Date(until).getTime() - nowMs) / 1000));
}
