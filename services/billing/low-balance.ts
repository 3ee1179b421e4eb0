// BIL-5: low-balance and predictive warnings, pure. An account is warned when its balance (main +
// bonus) is under `account.personal.min.threshold`, and told "about N days left" when its average
// hourly spend over the last `account.avg.usage.period` days empties it within three days. Each
// notice is sent once per episode — re-armed only when the balance recovers (at or above the
// threshold; more than three days left) — and never twice on one day; accounts with auto-refill
// on are never warned (their balance looks after itself).
import Big from "big.js";
import type { Micros } from "../../lib/money";

/** The forecast warns when the balance lasts this many days or fewer. */
export const FORECAST_DAYS = 3;

/**
 * Days the balance lasts at the average hourly spend of `spent` over `periodHours`, rounded down to
 * a tenth; 0 when nothing is left, null when nothing was spent.
 */
export function daysLeft(balance: Micros, spent: Micros, periodHours: number): number | null {
	if (spent <= 0 || periodHours <= 0) return null;
	if (balance <= 0) return 0;
	return Number(new Big(balance).times(periodHours).div(new Big(spent).times(24)).round(1, Big.roundDown));
}

export interface NoticeState {
	lowArmed: boolean;
	/** the local day the low-balance notice was last sent ("" never) */
	lowDay: string;
	forecastArmed: boolean;
	forecastDay: string;
}

export const ARMED: NoticeState = { lowArmed: true, lowDay: "", forecastArmed: true, forecastDay: "" };

/** The notices to send now and the state after them. `threshold` 0 turns the low-balance notice off. */
export function notices(
	s: NoticeState,
	o: { balance: Micros; threshold: Micros; daysLeft: number | null; today: string; autoRefill: boolean },
): { send: ("low" | "forecast")[]; next: NoticeState } {
	const next: NoticeState = { lowArmed: s.lowArmed, lowDay: s.lowDay, forecastArmed: s.forecastArmed, forecastDay: s.forecastDay };
	const send: ("low" | "forecast")[] = [];
	const low = o.threshold > 0 && o.balance < o.threshold;
	if (!low) next.lowArmed = true;
	else if (!o.autoRefill && s.lowArmed && s.lowDay !== o.today) {
		send.push("low");
		Object.assign(next, { lowArmed: false, lowDay: o.today });
	}
	const short = o.daysLeft !== null && o.daysLeft <= FORECAST_DAYS;
	if (!short) next.forecastArmed = true;
	else if (!o.autoRefill && s.forecastArmed && s.forecastDay !== o.today) {
		send.push("forecast");
		Object.assign(next, { forecastArmed: false, forecastDay: o.today });
	}
	return { send, next };
}
