// GET /environments/{id}/usage: an environment's hourly buckets over a range of at most 31 days
// (the last 24 hours by default), as its owner sees them. Store-taking: no Moleculer.
import { validationError, type FieldError } from "../../lib/errors";
import { timeParam } from "../../lib/time-params";
import { HOUR_MS, hourOf } from "../../lib/usage-record";
import type { Store } from "../../mixins/db.mixin";
import { usageHours } from "./env-hours";
import type { EnvHourDoc } from "./store";

/** The range `?from&to` asks for (ms), or a validation error. */
export function usageRange(params: { from?: string; to?: string }, nowMs: number): { from: number; to: number } {
	const errors: FieldError[] = [];
	const to = timeParam(params.to, "to", errors)?.getTime() ?? nowMs;
	const from = timeParam(params.from, "from", errors)?.getTime() ?? to - 24 * HOUR_MS;
	if (!errors.length && from >= to) errors.push({ field: "from", message: "must be before to" });
	if (!errors.length && to - from > 31 * 24 * HOUR_MS) errors.push({ field: "from", message: "the range may span at most 31 days" });
	if (errors.length) throw validationError(errors);
	return { from, to };
}

/** The hours of the environment that started within the range, from its first hour on. */
export async function usageOf(hours: Store<EnvHourDoc>, envId: string, from: number, to: number) {
	const rows = await hours.find({ envId, hour: { $gte: hourOf(from), $lt: to } }, { sort: { hour: 1 } });
	return { envId, from: new Date(from).toISOString(), to: new Date(to).toISOString(), hours: usageHours(rows) };
}
