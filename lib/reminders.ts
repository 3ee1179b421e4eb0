// Heads-up notices before a deadline — trial reminders (ACC-2), destroy warnings (STS-4),
// password expiry (PWD-2), token expiry (PAT-5) — share one rule: which notice is due, and how
// many days are really left. Pure: no Moleculer, no I/O.

const DAY = 86_400_000;

export interface DueNotice {
	/** the notice day whose band the deadline is in (each is sent once: it keys the email) */
	notice: number;
	/** the days left, to the nearest whole day and at least 1: what the email says ("in 5 days", "tomorrow" for 1) */
	daysLeft: number;
}

/**
 * The notice due when `deadline` is ahead of `now`: the smallest notice day at or above the days
 * left; null when the deadline has passed or is further away than every notice day. A job that
 * runs late (or a deadline set closer than the first notice) still sends one notice, and it
 * states the days actually left — never "7 days" when 5 remain.
 */
export function dueNotice(deadline: Date | number, now: Date | number, noticeDays: readonly number[]): DueNotice | null {
	const left = (Number(deadline) - Number(now)) / DAY;
	if (!(left > 0)) return null;
	const notice = [...noticeDays].sort((a, b) => a - b).find(d => left <= d);
	return notice === undefined ? null : { notice, daysLeft: Math.max(1, Math.round(left)) };
}
