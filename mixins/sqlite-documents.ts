// The SQLite store's pure parts: documents as JSON text and back (Dates as {"$date": ms}), the
// values indexed columns hold, the SQL a query condition narrows to (always a superset of what
// matches: mingo decides exactly), the document an upsert starts from, and mingo itself — a
// query with only the query operators in its context, and the update operators one by one.
import type { Query as MingoQuery } from "mingo";
import type { Doc, Query } from "./store";

/*
 * mingo, used through its parts: a query with only the query operators in its context, and the
 * update operators applied one by one. (Its front doors copy every operator table of the library
 * into a new context on each call — measured as most of the store's time on busy paths.)
 */
// Subpath modules (package exports; this project's TypeScript resolution does not read them).
/* eslint-disable @typescript-eslint/no-var-requires */
const { Context } = require("mingo/core");
const { Query } = require("mingo/query") as { Query: new (c: object, o: object) => MingoQuery };
const QUERY_OPERATORS = require("mingo/operators/query") as Record<string, unknown>;
const UPDATE_OPERATORS = require("mingo/operators/update") as Record<string, (expr: unknown) => (doc: Record<string, unknown>) => unknown>;
/* eslint-enable @typescript-eslint/no-var-requires */
/*
 * A Query given plain options copies its context's operator tables (Context.from), ~40 % of making
 * one; given mingo's own ComputeOptions (ComputeOptions.init: "its internal options and locals are
 * used") it does not. mingo does not export that class: an instance is taken once from the
 * options a query operator is compiled with. Should a later mingo not hand one over, plain options serve.
 */
let optionsShared = false;
let queryOptions: object = { context: Context.init().addQueryOps(QUERY_OPERATORS) };
new Query(
	{ probe: { $qmOptions: true } },
	{
		context: Context.init().addQueryOps({
			...QUERY_OPERATORS,
			$qmOptions: (_field: string, _value: unknown, options: object) => {
				queryOptions = options;
				optionsShared = true;
				return () => true;
			},
		}),
	},
);
export const mingoQuery = (condition: Record<string, unknown>) => new Query(condition, queryOptions);
/** Whether queries are made without copying the operator tables (a test watches mingo upgrades). */
export const mingoSharesOptions = () => optionsShared;

/** Applies a MongoDB update document ($set, $inc, $unset, $push, $pull, $max, …) to `doc`, in place. */
export function applyUpdate(doc: Record<string, unknown>, update: Record<string, unknown>) {
	for (const [op, expr] of Object.entries(update)) {
		const apply = UPDATE_OPERATORS[op];
		if (!op.startsWith("$") || !apply) throw new Error(`Unsupported update operator ${op}`);
		apply(expr)(doc);
	}
}

export type Value = string | number | Buffer | null;

/* ---------- documents ---------- */

function dateTag(this: Date) {
	return { $date: this.getTime() };
}

/** The document as JSON, Dates as {"$date": ms}; without its `_id` (the row's key holds it) unless `withId`. */
export function encodeDoc(doc: Record<string, unknown>, withId = false): string {
	let rest = doc;
	if (!withId) {
		const { _id, ...others } = doc;
		void _id;
		rest = others;
	}
	// Set for this one synchronous call only: JSON.stringify asks toJSON before any replacer.
	const saved = Date.prototype.toJSON;
	Date.prototype.toJSON = dateTag as unknown as () => string;
	try {
		return JSON.stringify(rest);
	} finally {
		Date.prototype.toJSON = saved;
	}
}

/** {"$date": ms} objects back to Dates, in place (a walk after JSON.parse: several times faster than a reviver). */
function reviveDates(v: unknown): unknown {
	if (v === null || typeof v !== "object") return v;
	if (isDateTag(v)) return new Date(v.$date ?? NaN);
	const o = v as Record<string, unknown>;
	for (const k in o) {
		const x = o[k];
		if (x !== null && typeof x === "object") o[k] = reviveDates(x);
	}
	return o;
}

/** A stored document whose checksum no longer matches its bytes. */
export class CorruptDocumentError extends Error {}

/** A stored document back (`id` null: the JSON holds its `_id`). */
export function decodeDoc<T>(id: string | null, json: string): T {
	const text = id === null ? json : json === "{}" ? `{"_id":${JSON.stringify(id)}}` : `{"_id":${JSON.stringify(id)},${json.slice(1)}`;
	const doc = JSON.parse(text);
	const dates = occurrences(json, '"$date"');
	// Most Dates are top-level (createdAt, updatedAt): the walk goes deeper only when some are not.
	if (dates && reviveTopLevelDates(doc) < dates) reviveDates(doc);
	return doc as T;
}

function occurrences(text: string, word: string): number {
	let n = 0;
	for (let i = text.indexOf(word); i !== -1; i = text.indexOf(word, i + word.length)) n++;
	return n;
}

const isDateTag = (v: unknown): v is { $date: number | null } => isPlainObject(v) && "$date" in v && Object.keys(v).length === 1;

function reviveTopLevelDates(doc: Record<string, unknown>): number {
	let n = 0;
	for (const k in doc) {
		const v = doc[k];
		if (isDateTag(v)) {
			doc[k] = new Date(v.$date ?? NaN);
			n++;
		}
	}
	return n;
}

/**
 * What an indexed column holds for a value, so that SQLite's order of types is MongoDB's and a
 * comparison SQL answers is MongoDB's answer: numbers as INTEGER or REAL, strings as TEXT, and
 * BLOBs, which sort after both: booleans [1, 0|1], then Dates [2, ms + 2^63 in 8 big-endian bytes].
 * Arrays, objects and values SQLite cannot compare as MongoDB does (NaN, an invalid Date) are
 * MULTI [0]: their rows are candidates of every query on the field, and mingo decides.
 */
export const MULTI = Buffer.from([0]);
const BOOLEAN = 1;
const DATE = 2;
const DATE_OFFSET = 2n ** 63n;

export function columnValue(v: unknown): Value {
	if (v === undefined || v === null) return null;
	switch (typeof v) {
		case "string":
			return v;
		case "number":
			return Number.isNaN(v) ? MULTI : v;
		case "boolean":
			return Buffer.from([BOOLEAN, v ? 1 : 0]);
	}
	if (v instanceof Date) {
		const ms = v.getTime();
		if (Number.isNaN(ms)) return MULTI;
		const key = Buffer.allocUnsafe(9);
		key[0] = DATE;
		key.writeBigUInt64BE(BigInt(ms) + DATE_OFFSET, 1);
		return key;
	}
	return MULTI;
}

const RANGE: Record<string, string> = { $gt: ">", $gte: ">=", $lt: "<", $lte: "<=", $eq: "=" };

/**
 * For a range on a column, what keeps it inside the operand's type (SQLite compares across types,
 * MongoDB does not): [the bound for $gt/$gte, the bound for $lt/$lte] — numbers < '' ≤ strings < x'' ≤
 * BLOBs, and a Date key > x'02' and < x'03'.
 */
const TYPE_BRACKET = {
	number: ["< ''", null],
	string: ["< x''", ">= ''"],
	date: ["< x'03'", "> x'02'"],
} as const;

const valueType = (v: unknown) => (typeof v === "number" ? "number" : typeof v === "string" ? "string" : v instanceof Date ? "date" : null);

/**
 * SQL on an indexed column `col` that the documents matching `cond` satisfy, and whether SQL's
 * answer is exactly MongoDB's (`exact`: mingo need not test the condition again, provided no row
 * holds an array or object there); null when SQL cannot narrow on it.
 */
export function columnCondition(col: string, cond: unknown, params: unknown[]): { sql: string; exact: boolean } | null {
	if (!isOperatorObject(cond)) cond = { $eq: cond };
	const parts: string[] = [];
	let exact = true;
	const ops = Object.entries(cond as Record<string, unknown>);
	const bounded = (low: boolean, t: string) => ops.some(([op, v]) => RANGE[op] && op !== "$eq" && op.startsWith("$g") === low && valueType(v) === t);
	for (const [op, v] of ops) {
		const type = valueType(v);
		if (op === "$in" && Array.isArray(v)) {
			// json_each hands numbers and strings back as SQLite numbers and TEXT: their columns' types.
			if (!v.every(x => typeof x === "string" || (typeof x === "number" && Number.isFinite(x)))) {
				exact = false;
				continue;
			}
			if (!v.length) parts.push("0");
			else {
				params.push(JSON.stringify(v));
				parts.push(`${col} IN (SELECT value FROM json_each(?))`);
			}
		} else if (op === "$eq" && (type || typeof v === "boolean")) {
			const value = columnValue(v);
			if (value === MULTI) exact = false;
			else {
				params.push(value);
				parts.push(`${col} = ?`);
			}
		} else if (RANGE[op] && type) {
			const value = columnValue(v);
			if (value === MULTI) {
				exact = false;
				continue;
			}
			params.push(value);
			// A bound on the other side of the same type is bracket enough (and the index's range).
			const low = op.startsWith("$g");
			const bracket = bounded(!low, type) ? null : TYPE_BRACKET[type][low ? 0 : 1];
			parts.push(bracket ? `${col} ${RANGE[op]} ? AND ${col} ${bracket}` : `${col} ${RANGE[op]} ?`);
		} else exact = false;
	}
	return parts.length ? { sql: parts.join(" AND "), exact } : null;
}

/** A scalar a query compares with, as the document's JSON holds it (json_extract); undefined when SQL cannot use it. */
function scalarParam(v: unknown): string | number | undefined {
	if (typeof v === "string" || (typeof v === "number" && Number.isFinite(v))) return v;
	if (typeof v === "boolean") return v ? 1 : 0;
	if (v instanceof Date && !Number.isNaN(v.getTime())) return v.getTime();
	return undefined;
}

export function getPath(doc: Record<string, unknown>, path: string): unknown {
	if (!path.includes(".")) return doc[path];
	let v: unknown = doc;
	for (const part of path.split(".")) {
		if (v === null || typeof v !== "object") return undefined;
		v = (v as Record<string, unknown>)[part];
	}
	return v;
}

/** Sets `path` (dotted, through objects it creates where missing) to `value`. */
export function setPath(doc: Record<string, unknown>, path: string, value: unknown): void {
	const parts = path.split(".");
	let o = doc;
	for (const part of parts.slice(0, -1)) o = (isPlainObject(o[part]) ? o[part] : (o[part] = {})) as Record<string, unknown>;
	o[parts[parts.length - 1]] = value;
}

export const isOperatorObject = (v: unknown): v is Record<string, unknown> =>
	v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date) && Object.keys(v).length > 0 && Object.keys(v).every(k => k.startsWith("$"));

/**
 * Where SQL reads a field in the document's JSON (json_extract: booleans as 1/0, a Date the number
 * under "$date"). `kind` is the query value's.
 */
export type FieldSql = (kind: "date" | "scalar") => string;

/**
 * SQL that every document matching `cond` on a field of its JSON satisfies (a superset: mingo
 * decides exactly), or null when SQL cannot narrow on it.
 */
export function conditionSql(field: FieldSql, cond: unknown, params: unknown[]): string | null {
	const kind = (v: unknown) => (v instanceof Date ? "date" : "scalar");
	const scalar = scalarParam(cond);
	if (scalar !== undefined) {
		params.push(scalar);
		return `${field(kind(cond))} = ?`;
	}
	if (!isOperatorObject(cond)) return null;
	const parts: string[] = [];
	for (const [op, v] of Object.entries(cond)) {
		if (op === "$in" && Array.isArray(v) && !v.length) parts.push("0");
		else if (op === "$in" && Array.isArray(v)) {
			const list = v.map(scalarParam);
			if (list.some(x => x === undefined || x === null) || new Set(v.map(kind)).size > 1) continue;
			params.push(JSON.stringify(list));
			parts.push(`${field(kind(v[0]))} IN (SELECT value FROM json_each(?))`);
		} else if (RANGE[op] && typeof v !== "boolean") {
			const p = scalarParam(v);
			if (p === undefined || p === null) continue;
			params.push(p);
			parts.push(`${field(kind(v))} ${RANGE[op]} ?`);
		}
	}
	return parts.length ? parts.join(" AND ") : null;
}

/**
 * A stored projection's values (sqlite-store.ts): the value `project` gives at each path, in order
 * — and where it gives none, null there and, after the last value, one object `{"<index>": k}` of
 * those paths, `k` the objects `project` still makes on the way (k of the path's leading parts).
 * Any value is then stored as it is, nothing in it read as a marker. Parsed back, an array is a
 * third of the work of an object with its keys (a month of hourly history is 7,200 of them a
 * request), and `unprojectValues` answers exactly what `project` did.
 */
export function projectValues(doc: Record<string, unknown>, paths: string[][]): unknown[] {
	const missing: Record<number, number> = {};
	let anyMissing = false;
	const values = paths.map((parts, index) => {
		let from: unknown = doc;
		for (let i = 0; i < parts.length; i++) {
			if (isPlainObject(from) && parts[i] in from) {
				from = from[parts[i]];
				if (i === parts.length - 1) return from;
				if (isPlainObject(from)) continue;
			}
			missing[index] = i; // parts[i] is missing, or the value at it is no object to go through
			anyMissing = true;
			return null;
		}
		return null;
	});
	return anyMissing ? [...values, missing] : values;
}

/** The document `project` made, from its `projectValues` (Dates revived) and its `_id`. */
export function unprojectValues(id: string, values: unknown[], paths: string[][]): Record<string, unknown> {
	const doc: Record<string, unknown> = { _id: id };
	const missing = values.length > paths.length ? (values[paths.length] as Record<string, number>) : null;
	for (let i = 0; i < paths.length; i++) {
		const parts = paths[i];
		const made = missing && i in missing ? missing[i] : -1;
		let o = doc;
		for (let j = 0, depth = made >= 0 ? made : parts.length - 1; j < depth; j++) o = (o[parts[j]] ??= {}) as Record<string, unknown>;
		if (made < 0) o[parts[parts.length - 1]] = values[i];
	}
	return doc;
}

/** A stored projection's values back, Dates revived. */
export function decodeValues(json: string): unknown[] {
	const values = JSON.parse(json) as unknown[];
	if (json.includes('"$date"')) reviveDates(values);
	return values;
}

/** `doc` with `_id` and `paths` only (MongoDB's inclusion projection; dotted paths through objects). */
export function project<T extends { _id: string }>(doc: T, paths: string[]): T {
	const out: Record<string, unknown> = { _id: doc._id };
	for (const path of paths) {
		const parts = path.split(".");
		let from: unknown = doc;
		let to = out;
		for (let i = 0; i < parts.length; i++) {
			if (!isPlainObject(from) || !(parts[i] in from)) break;
			from = from[parts[i]];
			if (i === parts.length - 1) to[parts[i]] = from;
			else if (isPlainObject(from)) to = (to[parts[i]] ??= {}) as Record<string, unknown>;
			else break;
		}
	}
	return out as T;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date);

/**
 * Whether `update` may change a field of `fields`: an operator's path equal to one, inside one
 * or holding one (`rated` holds `rated.nodes`); a replacement document changes every field.
 */
export function touches(update: Record<string, unknown>, fields: string[]): boolean {
	for (const [op, paths] of Object.entries(update)) {
		if (!op.startsWith("$") || paths === null || typeof paths !== "object") return true;
		// $rename changes its values' paths too
		const changed = op === "$rename" ? [...Object.keys(paths), ...Object.values(paths).map(String)] : Object.keys(paths);
		for (const path of changed) {
			if (fields.some(f => path === f || path.startsWith(`${f}.`) || f.startsWith(`${path}.`))) return true;
		}
	}
	return false;
}

/** Whether a document projected to `have` holds `path` whole (`rated` holds `rated.nodes`). */
export const covers = (have: string[], path: string) => have.some(h => path === h || path.startsWith(`${h}.`));

/** A top-level field of the stored JSON, quoted for SQLite's JSON path. */
export const jsonPath = (field: string) => `'$."${field.replace(/'/g, "''").replace(/"/g, '\\"')}"'`;

/** The document an upsert starts from: the query's equality conditions (as MongoDB builds it). */
export function upsertSeed(query: Query): Doc {
	const seed: Record<string, unknown> = {};
	for (const [k, v] of Object.entries(query)) {
		if (k.startsWith("$")) continue;
		const value = isOperatorObject(v) ? ("$eq" in v ? v.$eq : undefined) : v;
		if (value === undefined) continue;
		if (k.includes(".")) applyUpdate(seed, { $set: { [k]: value } });
		else seed[k] = value;
	}
	return seed as Doc;
}

export const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
