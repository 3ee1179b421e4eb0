// The reading of billing's report requests (BIL-4): the period a summary or a history covers,
// the history's interval, zone and format, and the transactions' filters. Every problem is
// collected and answered at once as a 422 with its fields. No Moleculer, no I/O.
import { now } from "../../lib/clock";
import { validationError, type FieldError } from "../../lib/errors";
import { checkPeriod, timeParam, tzOffsetMinutes, TZ_OFFSET_MESSAGE } from "../../lib/time-params";
import type { EntryKind } from "./ledger";
import { INTERVALS, type HistoryOptions, type Interval } from "./history";

/** The longest history asked at once. */
const MAX_HISTORY_MS = 400 * 24 * 3_600_000;

/** [from, to) of a report: `to` defaults to now, `from` to the start of to's calendar month (UTC). */
export function reportPeriod(params: { from?: string; to?: string }, errors: FieldError[]): { from: Date; to: Date } {
	const to = timeParam(params.to, "to", errors) ?? now();
	const from = timeParam(params.from, "from", errors) ?? new Date(Date.UTC(to.getUTCFullYear(), to.getUTCMonth(), 1));
	if (!errors.length) checkPeriod(from, to, errors);
	return { from, to };
}

/** GET /billing/summary's period, or a 422. */
export function summaryPeriod(params: { from?: string; to?: string }): { from: Date; to: Date } {
	const errors: FieldError[] = [];
	const period = reportPeriod(params, errors);
	if (errors.length) throw validationError(errors);
	return period;
}

export interface HistoryParams {
	from?: string;
	to?: string;
	interval?: string;
	groupByLayer?: boolean;
	envId?: string;
	tzOffset?: string;
	format?: string;
}

/** GET /billing/history: the charge documents to read, how to group them, and whether as CSV (`format=csv` or `Accept: text/csv`); or a 422. */
export function historyRequest(accountId: string, params: HistoryParams, accept = "") {
	const errors: FieldError[] = [];
	const { from, to } = reportPeriod(params, errors);
	if (!errors.length && to.getTime() - from.getTime() > MAX_HISTORY_MS) errors.push({ field: "from", message: "the period may span at most 400 days" });
	const interval = (params.interval ?? "DAY").toUpperCase() as Interval;
	if (!INTERVALS.includes(interval)) errors.push({ field: "interval", message: `must be one of ${INTERVALS.join(", ")}` });
	const tz = tzOffsetMinutes(params.tzOffset);
	if (tz === null) errors.push({ field: "tzOffset", message: TZ_OFFSET_MESSAGE });
	if (errors.length) throw validationError(errors);
	const query: Record<string, unknown> = { accountId };
	if (params.envId) query.envId = params.envId;
	const options: HistoryOptions = { from: from.getTime(), to: to.getTime(), interval, tzOffsetMinutes: tz as number, groupByLayer: !!params.groupByLayer };
	const csv = params.format === "csv" || (!params.format && /text\/csv/.test(accept));
	return { query, options, csv };
}

export interface TransactionsParams {
	kind?: EntryKind;
	from?: string;
	to?: string;
	envId?: string;
}

/** GET /billing/transactions: the account's applied entries matching the filters, or a 422. */
export function transactionsQuery(accountId: string, params: TransactionsParams): Record<string, unknown> {
	const errors: FieldError[] = [];
	const from = timeParam(params.from, "from", errors);
	const to = timeParam(params.to, "to", errors);
	checkPeriod(from, to, errors);
	if (errors.length) throw validationError(errors);
	const query: Record<string, unknown> = { accountId, state: "applied" };
	if (params.kind) query.kind = params.kind;
	if (params.envId) query.envId = params.envId;
	if (from || to) query.appliedAt = { ...(from ? { $gte: from } : {}), ...(to ? { $lt: to } : {}) };
	return query;
}
