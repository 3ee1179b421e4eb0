// BIL-4: billing history — the charged environment-hours grouped by interval (hour … year, or
// all), in UTC or a time-zone offset, env → nodes (alphabetical, or grouped by layer) → option
// rows, with totals. Costs are the charged micros themselves, summed exactly, so the history of
// a period equals the ledger's charges for it to the micro-unit. Pure: no Moleculer, no I/O.
import Big from "big.js";
import { CURRENCY, formatExact, type Micros } from "../../lib/money";
import type { Balance, EntryKind } from "./ledger";
import type { Initiator } from "../../lib/usage-record";
import type { RatedEnvHour } from "./rating";

export const INTERVALS = ["HOUR", "DAY", "WEEK", "MONTH", "YEAR", "ALL"] as const;
export type Interval = (typeof INTERVALS)[number];

export interface ChargedHour {
	envId: string;
	name: string;
	/** COL-8: the member who created the environment for the account, shown beside its costs */
	initiator?: Initiator;
	hour: number;
	rated: Pick<RatedEnvHour, "nodes" | "options">;
}

interface NodeAcc {
	nodeId: string | null;
	layer: string;
	reserved: number;
	dynamic: number;
	storage: Quantity;
	traffic: Quantity;
	cost: Micros;
}

/**
 * An exact decimal sum (GB with up to 9 decimals: MB to 6, ÷ 1000). Kept as an integer of
 * nano-units while that is exact (below 2^53, i.e. 9 million GB), in big.js beyond: a month of
 * hourly rows adds hundreds of thousands of these, and big.js would be most of the history's time.
 */
type Quantity = number | Big;
const NANO = 1e9;
function nano(s: string): number | null {
	const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(s);
	if (!m) return null;
	const n = Number(m[1]) * NANO + Number((m[2] ?? "").padEnd(9, "0"));
	return Number.isSafeInteger(n) ? n : null;
}
function add(a: Quantity, b: string): Quantity {
	const n = typeof a === "number" ? nano(b) : null;
	if (typeof a === "number" && n !== null && Number.isSafeInteger(a + n)) return a + n;
	return (typeof a === "number" ? new Big(a).div(NANO) : a).plus(b);
}
function text(q: Quantity): string {
	if (typeof q !== "number") return q.toFixed();
	const units = Math.floor(q / NANO);
	const frac = String(q - units * NANO)
		.padStart(9, "0")
		.replace(/0+$/, "");
	return frac ? `${units}.${frac}` : String(units);
}
// Plain code-unit order: ids and layer names are ASCII, and localeCompare costs more than the rest of the history.
export const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

interface EnvAcc {
	envId: string;
	name: string;
	initiator?: Initiator;
	nodes: Map<string, NodeAcc>;
	options: Map<string, { quantity: number; cost: Micros }>;
	cost: Micros;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The start (epoch ms, UTC) of the interval holding `ms`, in a zone `offsetMin` minutes east of UTC. */
export function intervalStart(ms: number, interval: Interval, offsetMin: number, from: number): number {
	if (interval === "ALL") return from;
	const off = offsetMin * 60_000;
	const local = ms + off;
	let start: number;
	if (interval === "HOUR") start = Math.floor(local / HOUR) * HOUR;
	else if (interval === "DAY") start = Math.floor(local / DAY) * DAY;
	else if (interval === "WEEK") {
		const day = Math.floor(local / DAY) * DAY;
		const weekday = (new Date(day).getUTCDay() + 6) % 7; // Monday = 0
		start = day - weekday * DAY;
	} else {
		const d = new Date(local);
		start = interval === "MONTH" ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) : Date.UTC(d.getUTCFullYear(), 0, 1);
	}
	return start - off;
}

export function intervalEnd(start: number, interval: Interval, offsetMin: number, to: number): number {
	if (interval === "ALL") return to;
	if (interval === "HOUR") return start + HOUR;
	if (interval === "DAY") return start + DAY;
	if (interval === "WEEK") return start + 7 * DAY;
	const off = offsetMin * 60_000;
	const d = new Date(start + off);
	const next = interval === "MONTH" ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) : Date.UTC(d.getUTCFullYear() + 1, 0, 1);
	return next - off;
}

export interface HistoryOptions {
	from: number;
	to: number;
	interval: Interval;
	tzOffsetMinutes: number;
	groupByLayer: boolean;
}

export function buildHistory(hours: ChargedHour[], o: HistoryOptions) {
	const builder = new HistoryBuilder(o);
	builder.add(hours);
	return builder.build();
}

/**
 * The history built from hours added in time order, a part at a time (a long period is read in
 * parts: memory holds the answer, not every hour of the period).
 */
export class HistoryBuilder {
	private intervals = new Map<number, Map<string, EnvAcc>>();
	/** environment entries so far: the answer's size */
	rows = 0;

	constructor(private o: HistoryOptions) {}

	/** Adds hours later than (or as late as) every hour added before. */
	add(hours: ChargedHour[]): void {
		const o = this.o;
		for (const h of [...hours].sort((a, b) => a.hour - b.hour)) this.addHour(h, o);
	}

	private addHour(h: ChargedHour, o: HistoryOptions) {
		const start = intervalStart(h.hour, o.interval, o.tzOffsetMinutes, o.from);
		const envs = this.intervals.get(start) ?? new Map<string, EnvAcc>();
		this.intervals.set(start, envs);
		let env = envs.get(h.envId);
		if (!env) {
			env = { envId: h.envId, name: h.name, nodes: new Map(), options: new Map(), cost: 0 };
			envs.set(h.envId, env);
			this.rows++;
		}
		env.name = h.name; // the latest name
		if (h.initiator) env.initiator = h.initiator;
		for (const n of h.rated.nodes) {
			const key = o.groupByLayer ? `layer:${n.layer}` : n.nodeId;
			const acc = env.nodes.get(key) ?? {
				nodeId: o.groupByLayer ? null : n.nodeId,
				layer: n.layer,
				reserved: 0,
				dynamic: 0,
				storage: 0,
				traffic: 0,
				cost: 0,
			};
			acc.reserved += n.reservedCloudlets;
			acc.dynamic += n.dynamicCloudlets;
			acc.storage = add(acc.storage, n.storageGB);
			acc.traffic = add(acc.traffic, n.trafficGB);
			acc.cost += n.cost;
			env.nodes.set(key, acc);
			env.cost += n.cost;
		}
		for (const opt of h.rated.options) {
			const acc = env.options.get(opt.name) ?? { quantity: 0, cost: 0 };
			acc.quantity += opt.quantity;
			acc.cost += opt.cost;
			env.options.set(opt.name, acc);
			env.cost += opt.cost;
		}
	}

	build() {
		const o = this.o;
		let total = 0;
		const rows = [...this.intervals.entries()]
			.sort(([a], [b]) => a - b)
			.map(([start, envs]) => {
				let cost = 0;
				const environments = [...envs.values()]
					.sort((a, b) => cmp(a.name, b.name) || cmp(a.envId, b.envId))
					.map(e => {
						cost += e.cost;
						return {
							envId: e.envId,
							name: e.name,
							...(e.initiator ? { initiator: e.initiator } : {}),
							nodes: [...e.nodes.values()]
								.sort((a, b) => cmp(a.layer, b.layer) || cmp(String(a.nodeId), String(b.nodeId)))
								.map(n => {
									const row = {
										layer: n.layer,
										reservedCloudletHours: n.reserved,
										dynamicCloudletHours: n.dynamic,
										storageGBh: text(n.storage),
										trafficGB: text(n.traffic),
										cost: formatExact(n.cost),
									};
									// A spread here costs more than the rest of the row (hourly rows: hundreds of thousands).
									return o.groupByLayer ? row : { nodeId: n.nodeId as string, ...row };
								}),
							options: [...e.options.entries()].sort(([a], [b]) => cmp(a, b)).map(([name, x]) => ({ name, quantity: x.quantity, cost: formatExact(x.cost) })),
							cost: formatExact(e.cost),
						};
					});
				total += cost;
				const end = intervalEnd(start, o.interval, o.tzOffsetMinutes, o.to);
				return {
					start: new Date(Math.max(start, o.from)).toISOString(),
					end: new Date(Math.min(end, o.to)).toISOString(),
					environments,
					cost: formatExact(cost),
				};
			});
		return {
			from: new Date(o.from).toISOString(),
			to: new Date(o.to).toISOString(),
			interval: o.interval,
			intervals: rows,
			total: formatExact(total),
			currency: CURRENCY,
		};
	}
}

export type History = ReturnType<HistoryBuilder["build"]>;

export const csvCell = (v: unknown) => {
	const s = v === null || v === undefined ? "" : String(v);
	return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export const CSV_HEAD = [
	"intervalStart",
	"intervalEnd",
	"envId",
	"envName",
	"nodeId",
	"layer",
	"option",
	"quantity",
	"reservedCloudletHours",
	"dynamicCloudletHours",
	"storageGBh",
	"trafficGB",
	"cost",
	"currency",
].join(",");

/**
 * The same history as CSV ("Download CSV"): one row per node (or layer) and option, then the total.
 * Lines are written whole: a month of hourly rows is ~40,000 of them. Numbers, decimal strings
 * and ISO times never need quoting; names and ids go through csvCell.
 */
export function historyCsv(h: History): string {
	return `${historyCsvLines(h).join("\n")}\n`;
}

/** historyCsv's lines: the head, the rows, the total. */
function historyCsvLines(h: History): string[] {
	const cur = csvCell(h.currency);
	const lines = [CSV_HEAD];
	for (const i of h.intervals) {
		for (const e of i.environments) {
			const env = `${i.start},${i.end},${csvCell(e.envId)},${csvCell(e.name)}`;
			for (const n of e.nodes) {
				const nodeId = csvCell((n as { nodeId?: string }).nodeId);
				lines.push(
					`${env},${nodeId},${csvCell(n.layer)},,,${n.reservedCloudletHours},${n.dynamicCloudletHours},${n.storageGBh},${n.trafficGB},${n.cost},${cur}`,
				);
			}
			for (const opt of e.options) lines.push(`${env},,,${csvCell(opt.name)},${opt.quantity},,,,,${opt.cost},${cur}`);
		}
	}
	lines.push(`total,,,,,,,,,,,,${h.total},${cur}`);
	return lines;
}

/**
 * One environment-hour as an HOUR interval shows it, serialised once when the hour is charged:
 * a month of hourly rows is thousands of them, and building and serialising them per request
 * was most of the history's time. Made by buildHistory and historyCsv themselves, so both paths
 * answer the same bytes (test/unit/history.test.ts holds them equal).
 */
export interface HourRow {
	/** the environment's entry of the interval, as JSON */
	json: string;
	/**
	 * its CSV lines without the interval's two leading columns, joined by newlines — or listed, when
	 * a quoted name holds a newline (one string is stored and read faster than a list)
	 */
	csv: string | string[];
	/** the entry's cost, micros */
	cost: Micros;
}

export function hourRow(h: ChargedHour): HourRow {
	const built = buildHistory([h], { from: h.hour, to: h.hour + HOUR, interval: "HOUR", tzOffsetMinutes: 0, groupByLayer: false });
	const interval = built.intervals[0];
	const prefix = `${interval.start},${interval.end},`;
	const tails = historyCsvLines(built)
		.slice(1, -1) // no head, no total
		.map(l => l.slice(prefix.length));
	return {
		json: JSON.stringify(interval.environments[0]),
		csv: tails.some(l => l.includes("\n")) ? tails : tails.join("\n"),
		cost: h.rated.nodes.reduce((a, n) => a + n.cost, 0) + h.rated.options.reduce((a, o) => a + o.cost, 0),
	};
}

export interface RowHour {
	envId: string;
	name: string;
	hour: number;
	row: HourRow;
}

// BIL-4: the period summary (GET /billing/summary) — what the applied ledger debited, refilled,
// granted as bonus and adjusted in a period, and the balances its last entry left. The shell
// reads the entries and the last one before `to`.

/** What the summary needs of an applied entry. */
export interface SummaryEntry {
	kind: EntryKind;
	amountMain: Micros;
	amountBonus: Micros;
}

export interface SummaryInput {
	from: Date;
	to: Date;
	/** the applied entries of [from, to) */
	applied: SummaryEntry[];
	/** the balances after the last entry applied before `to`; none: the account never moved */
	balanceAtEnd?: Balance;
}

/** Debits are charges and their corrections (a correction may give back): shown as what was taken. */
export function periodSummary({ from, to, applied, balanceAtEnd }: SummaryInput) {
	const sum = (kinds: EntryKind[]) => applied.filter(e => kinds.includes(e.kind)).reduce((a, e) => a + e.amountMain + e.amountBonus, 0);
	const b = balanceAtEnd ?? { main: 0, bonus: 0 };
	return {
		from: from.toISOString(),
		to: to.toISOString(),
		debited: formatExact(-sum(["charge", "correction"])),
		refilled: formatExact(sum(["refill"])),
		bonus: formatExact(sum(["bonus"])),
		adjusted: formatExact(sum(["adjustment"])),
		balance: { main: formatExact(b.main), bonus: formatExact(b.bonus), total: formatExact(b.main + b.bonus) },
		currency: CURRENCY,
	};
}

export type PeriodSummary = ReturnType<typeof periodSummary>;
