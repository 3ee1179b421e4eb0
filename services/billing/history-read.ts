// BIL-4: reading a billing history from the charge documents — a part of the period at a time,
// so memory holds the answer and not every hour of a long period, and never an answer larger
// than MAX_ROWS environment entries (a 422 asks for a narrower request instead).
import { Readable } from "stream";
import type { Store } from "../../mixins/db.mixin";
import { validationError } from "../../lib/errors";
import { HISTORY_FIELDS, HOUR_ROWS } from "../../models/billing";
import type { ChargeDoc } from "./charging";
import { HistoryBuilder, historyCsv, hourRow, type History, type HistoryOptions, type RowHour } from "./history";
import { hourlyCsvWriter, hourlyJsonWriter } from "./history-hourly";

const DAY = 86_400_000;
/** One read covers this much of the period. */
const PART_MS = 8 * DAY;
/** Environment entries an answer may hold (a month of hourly rows for ~140 environments). */
export const MAX_ROWS = 100_000;

function tooLarge(maxRows: number): Error {
	return validationError({
		field: "from",
		message: `the answer would hold more than ${maxRows} rows: ask for a shorter period, a longer interval or one environment`,
	});
}

/** The parts of [from, to) each read covers, in time order. */
function parts(o: HistoryOptions): [number, number][] {
	const out: [number, number][] = [];
	for (let t = o.from; t < o.to; t += PART_MS) out.push([t, Math.min(t + PART_MS, o.to)]);
	return out;
}

/**
 * The history of the charge documents matching `query` (its account and environment) in the
 * period of `o`: hourly rows (the rows kept at charge time) as a stream of JSON or CSV text,
 * written a part at a time while it is sent; else the History (or its CSV).
 */
export async function readHistory(
	charges: Store<ChargeDoc>,
	query: Record<string, unknown>,
	o: HistoryOptions,
	csv: boolean,
	maxRows = MAX_ROWS,
): Promise<Readable | string | History> {
	if (o.interval === "HOUR" && !o.groupByLayer) {
		// Counted before the first byte: a refusal is still a 422, not a cut answer.
		if ((await charges.count({ ...query, hour: { $gte: o.from, $lt: o.to } })) > maxRows) throw tooLarge(maxRows);
		return Readable.from(hourlyText(charges, query, o, csv ? "csv" : "json"), { objectMode: false });
	}
	const builder = new HistoryBuilder(o);
	for (const [from, to] of parts(o)) {
		builder.add(await charges.find({ ...query, hour: { $gte: from, $lt: to } }, { fields: HISTORY_FIELDS }));
		if (builder.rows > maxRows) throw tooLarge(maxRows);
	}
	const history = builder.build();
	return csv ? historyCsv(history) : history;
}

/** The hourly history's text, in chunks: a part of the period read, written and sent before the next is read. */
async function* hourlyText(charges: Store<ChargeDoc>, query: Record<string, unknown>, o: HistoryOptions, format: "json" | "csv"): AsyncGenerator<string> {
	const writer = format === "csv" ? hourlyCsvWriter(o) : hourlyJsonWriter(o);
	yield writer.head;
	for (const [from, to] of parts(o)) yield* writer.part(await hourRows(charges, { ...query, hour: { $gte: from, $lt: to } }, format));
	yield writer.end();
}

/**
 * The hours of `query` with the rows the hourly history shows (`format`'s part of them), as kept
 * at charge time; an hour charged before rows were kept gets its row built here from its rated items.
 */
async function hourRows(charges: Store<ChargeDoc>, query: Record<string, unknown>, format: "json" | "csv"): Promise<RowHour[]> {
	const { fields, text } = HOUR_ROWS[format];
	const docs = await charges.find(query, { fields: [...fields, text] });
	const old = docs.filter(d => !d.historyRow).map(d => d._id);
	const rated = old.length ? new Map((await charges.find({ _id: { $in: old } }, { fields: HISTORY_FIELDS })).map(d => [d._id, d])) : null;
	return docs.map(d => ({ envId: d.envId, name: d.name, hour: d.hour, row: d.historyRow ?? hourRow(rated!.get(d._id)!) }));
}
