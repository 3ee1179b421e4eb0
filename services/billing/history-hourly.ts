// BIL-4: the hourly billing history (interval HOUR without groupByLayer) written from the rows kept
// at charge time (history.ts, hourRow), a part of the period at a time so that neither a month of
// rows nor its 4.4 MB answer is held at once (services/billing/history-read.ts streams it). The
// texts joined are the bytes of JSON.stringify(buildHistory(…)) or historyCsv(…)
// (test/unit/history.test.ts). Pure: no Moleculer, no I/O.
import { CURRENCY, formatExact } from "../../lib/money";
import { cmp, CSV_HEAD, csvCell, intervalEnd, intervalStart, type HistoryOptions, type RowHour } from "./history";

/** The hourly intervals of `hours` (one row each), environments in the order buildHistory gives them. */
function hourlyIntervals(hours: RowHour[], o: HistoryOptions) {
	const byStart = new Map<number, RowHour[]>();
	for (const h of hours) {
		const start = intervalStart(h.hour, "HOUR", o.tzOffsetMinutes, o.from);
		const list = byStart.get(start);
		if (list) list.push(h);
		else byStart.set(start, [h]);
	}
	return [...byStart.entries()]
		.sort(([a], [b]) => a - b)
		.map(([start, envs]) => ({
			start: new Date(Math.max(start, o.from)).toISOString(),
			end: new Date(Math.min(intervalEnd(start, "HOUR", o.tzOffsetMinutes, o.to), o.to)).toISOString(),
			envs: envs.sort((a, b) => cmp(a.name, b.name) || cmp(a.envId, b.envId)),
			cost: envs.reduce((a, e) => a + e.row.cost, 0),
		}));
}

/**
 * The hourly history (interval HOUR without groupByLayer) written from stored rows a part of the
 * period at a time, so neither the rows of a whole month nor its answer are held at once: `head`,
 * then `part(rows)` for each part in time order (its text in chunks of about CHUNK characters),
 * then `end()`. The texts joined are the bytes of JSON.stringify(buildHistory(…)) or historyCsv(…)
 * — an HOUR interval never spans two parts, as charged hours are whole UTC hours.
 */
export interface HourlyWriter {
	head: string;
	part(hours: RowHour[]): string[];
	end(): string;
}

/** About 64 KB: a socket write's worth, and young-generation strings that die at once. */
const CHUNK = 64 * 1024;

/** Strings added, joined into chunks of about CHUNK characters. */
class Chunks {
	readonly out: string[] = [];
	private pending: string[] = [];
	private size = 0;

	add(s: string) {
		this.pending.push(s);
		this.size += s.length;
		if (this.size >= CHUNK) this.flush();
	}

	flush(): string[] {
		if (this.pending.length) this.out.push(this.pending.join(""));
		this.pending = [];
		this.size = 0;
		return this.out;
	}
}

export function hourlyJsonWriter(o: HistoryOptions): HourlyWriter {
	let total = 0;
	let first = true;
	return {
		head: `{"from":"${new Date(o.from).toISOString()}","to":"${new Date(o.to).toISOString()}","interval":"HOUR","intervals":[`,
		part(hours) {
			const out = new Chunks();
			for (const i of hourlyIntervals(hours, o)) {
				total += i.cost;
				out.add(
					`${first ? "" : ","}{"start":"${i.start}","end":"${i.end}","environments":[${i.envs.map(e => e.row.json).join(",")}],"cost":"${formatExact(i.cost)}"}`,
				);
				first = false;
			}
			return out.flush();
		},
		end: () => `],"total":"${formatExact(total)}","currency":${JSON.stringify(CURRENCY)}}`,
	};
}

export function hourlyCsvWriter(o: HistoryOptions): HourlyWriter {
	let total = 0;
	return {
		head: `${CSV_HEAD}\n`,
		part(hours) {
			const out = new Chunks();
			for (const i of hourlyIntervals(hours, o)) {
				total += i.cost;
				const prefix = `${i.start},${i.end},`;
				for (const { row } of i.envs) {
					if (typeof row.csv !== "string") for (const line of row.csv) out.add(`${prefix}${line}\n`);
					else if (row.csv) out.add(`${prefix}${row.csv.replaceAll("\n", `\n${prefix}`)}\n`);
				}
			}
			return out.flush();
		},
		end: () => `total,,,,,,,,,,,,${formatExact(total)},${csvCell(CURRENCY)}\n`,
	};
}

/** A writer's whole text for rows read at once. */
function written(w: HourlyWriter, hours: RowHour[]): string {
	return [w.head, ...w.part(hours), w.end()].join("");
}

/** JSON.stringify(buildHistory(hours, o)) for interval HOUR without groupByLayer, from stored rows. */
export const hourlyHistoryJson = (hours: RowHour[], o: HistoryOptions): string => written(hourlyJsonWriter(o), hours);

/** historyCsv(buildHistory(hours, o)) for interval HOUR without groupByLayer, from stored rows. */
export const hourlyHistoryCsv = (hours: RowHour[], o: HistoryOptions): string => written(hourlyCsvWriter(o), hours);
