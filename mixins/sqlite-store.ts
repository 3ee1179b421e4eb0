// The embedded store: SQLite through better-sqlite3, one database file per service under DATA_DIR
// (`<service>.sqlite`; each service owns its data), or in memory with DATA_DIR=:memory:.
//
// A collection is a table `(_id TEXT PRIMARY KEY, doc TEXT, crc, i_<field> …)`: the document as
// JSON (Dates as {"$date": ms}), its CRC-32 (SQLite keeps no checksums of its own: a document whose
// bytes changed on disk is refused on every read, never served), and one column per declared index holding that field's value, under a
// real SQLite index (unique ones raise DuplicateKeyError; sparse ones are partial indexes). A query
// is narrowed in SQL through `_id` and the indexed columns, then matched exactly with mingo, a
// MongoDB query-language library, which also applies updates: the semantics are MongoDB's and no
// lookup on an indexed field scans a table. better-sqlite3 is synchronous, so each operation runs
// in one transaction with no await inside it: a conditional update is atomic against every other
// caller of this process.
//
// Durability — group commit. Databases run in WAL mode with synchronous=NORMAL: a transaction's
// commit appends its frames to the `-wal` file without waiting for the disk. An operation does not
// answer then: it waits for an fsync of the WAL file that started after its commit (Durability
// below), run on libuv's thread pool. Commits that land while one fsync runs share the next one,
// so concurrent requests pay one fsync between them, and the event loop never blocks on the disk.
// What an answer reports is therefore in a synced WAL: exactly what synchronous=FULL gives (which
// fsyncs the WAL in every commit, on the event loop — ~0.3 ms measured here, times every write).
// Checkpoints sync the WAL before and the database after copying, as SQLite always does. Reads
// wait too, for every commit before them: nothing a client is told can rest on an unsynced write.
import { closeSync, existsSync, fsync, fsyncSync, openSync, readdirSync, readSync, statSync } from "fs";
import { basename, dirname, join } from "path";
import { crc32 } from "zlib";
import Database from "better-sqlite3";
import type { Query as MingoQuery } from "mingo";
import type { CollectionSpec, IndexSpec } from "../models/collection";
import { envInt } from "../lib/config";
import { newId } from "../lib/crypto";
import { DuplicateKeyError, type Doc, type FindOptions, type Query, type Store, type Update } from "./store";

type Db = Database.Database;

/*
 * mingo, used through its parts: a query with only the query operators in its context, and the
 * update operators applied one by one. (Its front doors copy every operator table of the library
 * into a new context on each call — measured as most of the store's time on busy paths.)
 */
// Subpath modules (package exports; this project's TypeScript resolution does not read them).
/* eslint-disable @typescript-eslint/no-var-requires */
const { Context } = require("mingo/core");
const { Query } = require("mingo/query") as { Query: new (c: object, o: object) => MingoQuery };
const QUERY_CONTEXT = Context.init().addQueryOps(require("mingo/operators/query"));
const UPDATE_OPERATORS = require("mingo/operators/update") as Record<string, (expr: unknown) => (doc: Record<string, unknown>) => unknown>;
/* eslint-enable @typescript-eslint/no-var-requires */
const mingoQuery = (condition: Record<string, unknown>) => new Query(condition, { context: QUERY_CONTEXT });

/** Applies a MongoDB update document ($set, $inc, $unset, $push, $pull, $max, …) to `doc`, in place. */
function applyUpdate(doc: Record<string, unknown>, update: Record<string, unknown>) {
	for (const [op, expr] of Object.entries(update)) {
		const apply = UPDATE_OPERATORS[op];
		if (!op.startsWith("$") || !apply) throw new Error(`Unsupported update operator ${op}`);
		apply(expr)(doc);
	}
}
type Value = string | number | Buffer | null;

/* ---------- documents ---------- */

function dateTag(this: Date) {
	return { $date: this.getTime() };
}

/** The document without its `_id` as JSON, Dates as {"$date": ms}. */
export function encodeDoc(doc: Record<string, unknown>): string {
	const { _id, ...rest } = doc;
	void _id;
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
	if (!Array.isArray(v) && "$date" in v && Object.keys(v).length === 1) return new Date((v as { $date: number | null }).$date ?? NaN);
	const o = v as Record<string, unknown>;
	for (const k in o) {
		const x = o[k];
		if (x !== null && typeof x === "object") o[k] = reviveDates(x);
	}
	return o;
}

/** A stored document whose checksum no longer matches its bytes. */
export class CorruptDocumentError extends Error {}

export function decodeDoc<T>(id: string, json: string): T {
	const text = json === "{}" ? `{"_id":${JSON.stringify(id)}}` : `{"_id":${JSON.stringify(id)},${json.slice(1)}`;
	const doc = JSON.parse(text);
	return (json.includes('"$date"') ? reviveDates(doc) : doc) as T;
}

/** An array or object under an indexed field: SQL cannot narrow on it, so such rows are always candidates. */
const MULTI = Buffer.from([0]);

/** What an indexed column holds for a value: scalars as themselves (Dates as ms, booleans as 1/0). */
function columnValue(v: unknown): Value {
	if (v === undefined || v === null) return null;
	switch (typeof v) {
		case "string":
			return v;
		case "number":
			return Number.isFinite(v) ? v : null;
		case "boolean":
			return v ? 1 : 0;
	}
	if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.getTime();
	return MULTI;
}

/** A scalar a query compares with, as its column holds it; undefined when SQL cannot use it. */
function scalarParam(v: unknown): Value | undefined {
	if (typeof v === "string" || (typeof v === "number" && Number.isFinite(v)) || typeof v === "boolean") return columnValue(v);
	if (v instanceof Date && !Number.isNaN(v.getTime())) return v.getTime();
	return undefined;
}

function getPath(doc: Record<string, unknown>, path: string): unknown {
	if (!path.includes(".")) return doc[path];
	let v: unknown = doc;
	for (const part of path.split(".")) {
		if (v === null || typeof v !== "object") return undefined;
		v = (v as Record<string, unknown>)[part];
	}
	return v;
}

const isOperatorObject = (v: unknown): v is Record<string, unknown> =>
	v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date) && Object.keys(v).length > 0 && Object.keys(v).every(k => k.startsWith("$"));

const RANGE: Record<string, string> = { $gt: ">", $gte: ">=", $lt: "<", $lte: "<=", $eq: "=" };

/**
 * Where SQL reads a field: an indexed column (Dates as ms, booleans as 1/0, whatever the value), or
 * the document's JSON, where a Date is the number under "$date". `kind` is the query value's.
 */
type FieldSql = (kind: "date" | "scalar") => string;

/**
 * SQL that every document matching `cond` on a field satisfies (a superset: mingo decides
 * exactly), or null when SQL cannot narrow on it.
 */
function conditionSql(field: FieldSql, cond: unknown, params: unknown[]): string | null {
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

/** A condition that is a string, or `$eq`/`$in` of strings only. */
function onlyStrings(cond: unknown): boolean {
	if (typeof cond === "string") return true;
	if (!isOperatorObject(cond)) return false;
	return Object.entries(cond).every(
		([op, v]) => (op === "$eq" && typeof v === "string") || (op === "$in" && Array.isArray(v) && v.every(x => typeof x === "string")),
	);
}

/** A top-level field of the stored JSON, quoted for SQLite's JSON path. */
const jsonPath = (field: string) => `'$."${field.replace(/'/g, "''").replace(/"/g, '\\"')}"'`;

/** The document an upsert starts from: the query's equality conditions (as MongoDB builds it). */
function upsertSeed(query: Query): Doc {
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

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/* ---------- durability: group commit ---------- */

/** Thrown by every operation after an fsync failed: what the disk holds is unknown until a restart. */
export class StorageFailedError extends Error {}

/**
 * Counts commits and syncs the WAL file for them: `settled()` answers once an fsync that started
 * after the latest commit has finished. One fsync runs at a time; commits meanwhile share the next.
 */
export class Durability {
	private committed = 0;
	private synced = 0;
	private running: Promise<void> | null = null;
	private failed: Error | null = null;
	/** a transaction is open: what it holds is answered after its commit (and the fsync after that) */
	open = false;
	private nextCommit: { promise: Promise<void>; resolve: () => void } | null = null;
	/** how the WAL is synced (tests replace it to hold an fsync back) */
	static fsync: (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void = fsync;
	constructor(
		private readonly walPath: string | null,
		private fd: number | null = null,
	) {}
	commit() {
		this.committed++;
		if (!this.walPath) this.synced = this.committed; // in memory: nothing to sync
		this.nextCommit?.resolve();
		this.nextCommit = null;
	}
	/** The commit of the open transaction failed: nothing it held happened, and the store stops. */
	fail(err: Error) {
		this.failed = new StorageFailedError(`a commit failed (${err.message}): storage stopped; restart the platform`);
		this.nextCommit?.resolve();
		this.nextCommit = null;
	}
	async settled(): Promise<void> {
		const target = this.committed + (this.open ? 1 : 0);
		while (this.synced < target) {
			if (this.failed) throw this.failed;
			if (this.committed < target) {
				if (!this.nextCommit) {
					let resolve!: () => void;
					const promise = new Promise<void>(r => (resolve = r));
					this.nextCommit = { promise, resolve };
				}
				await this.nextCommit.promise;
				continue;
			}
			this.running ??= this.syncOnce().finally(() => {
				this.running = null;
			});
			await this.running;
		}
		if (this.failed) throw this.failed;
	}
	private async syncOnce() {
		const target = this.committed;
		try {
			// The WAL keeps its inode while the database is open (a checkpoint rewrites it in place).
			this.fd ??= openSync(this.walPath!, "r");
			const fd = this.fd;
			await new Promise<void>((resolve, reject) => Durability.fsync(fd, err => (err ? reject(err) : resolve())));
			this.synced = Math.max(this.synced, target);
		} catch (err) {
			// After a failed fsync the kernel may have dropped the dirty pages: never retry and report success.
			this.failed = new StorageFailedError(`fsync of ${this.walPath} failed (${(err as Error).message}): storage stopped; restart the platform`);
			throw this.failed;
		}
	}
	/**
	 * The database was closed, which checkpoints the WAL into the database file and syncs it: every
	 * commit is durable. Closes the WAL's descriptor, after an fsync still running on it.
	 */
	close() {
		this.synced = this.committed;
		const fd = this.fd;
		this.fd = null;
		if (fd === null) return;
		if (this.running)
			void this.running.then(
				() => closeSync(fd),
				() => closeSync(fd),
			);
		else closeSync(fd);
	}
}

/* ---------- a database file ---------- */

interface Table {
	spec: CollectionSpec;
	/** index field → its column */
	columns: Map<string, string>;
	/** indexed fields some document holds an array or object in (their rows stay candidates) */
	multi: Set<string>;
	ttl: { column: string; seconds: number }[];
}

const SWEEP_MS = 60_000;
const SWEEP_ROWS = 10_000;

export class SqliteFile {
	readonly db: Db;
	readonly durability: Durability;
	private tables = new Map<string, Table>();
	private statements = new Map<string, Database.Statement>();
	private sweeper: NodeJS.Timeout | null = null;
	/** the file is small enough to check whole at open (structure, and each table's checksums) */
	private checkAtOpen = false;
	users = 0;

	/** `path` null: in memory. */
	constructor(readonly path: string | null) {
		this.db = path ? openFile(path) : new Database(":memory:");
		if (path) {
			this.checkAtOpen = statSync(path).size <= envInt("QM_START_CHECK_MAX_MB", 256) * 1024 * 1024;
			if (this.checkAtOpen) checkIntegrity(this.db, path);
			// The database and its WAL exist now; their names are made durable once.
			syncDirectory(dirname(path));
		}
		this.durability = new Durability(path ? `${path}-wal` : null);
	}

	/** Creates the collection's table, columns and indexes as declared (missing ones added). */
	collection<T extends Doc>(spec: CollectionSpec): Store<T> {
		let table = this.tables.get(spec.name);
		if (!table) {
			table = this.createTable(spec);
			this.tables.set(spec.name, table);
			if (this.checkAtOpen) this.verifyDocuments(spec.name);
			if (table.ttl.length) this.startSweeper();
		}
		return new SqliteStore<T>(this, table);
	}

	private createTable(spec: CollectionSpec): Table {
		const name = ident(spec.name);
		const columns = new Map<string, string>();
		for (const ix of spec.indexes ?? []) columns.set(ix.field, ident(`i_${ix.field}`));
		// Small documents live in their primary key's b-tree (WITHOUT ROWID: one b-tree, not a table
		// and an index); larger ones in a rowid table, where a row of a few KB still fits its page
		// (read 5–10× faster than through a WITHOUT ROWID table's overflow pages, measured here).
		const layout = spec.smallDocuments ? " WITHOUT ROWID" : "";
		this.db.exec(`CREATE TABLE IF NOT EXISTS ${name} (_id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL, crc INTEGER NOT NULL)${layout}`);
		const have = new Set((this.db.pragma(`table_info(${name})`) as { name: string }[]).map(c => c.name));
		const table: Table = { spec, columns, multi: new Set(), ttl: [] };
		this.db.transaction(() => {
			if (!have.has("crc")) {
				// A table from before documents had checksums: each gets its own now.
				this.db.exec(`ALTER TABLE ${name} ADD COLUMN crc INTEGER NOT NULL DEFAULT 0`);
				const set = this.db.prepare(`UPDATE ${name} SET crc = ? WHERE _id = ?`);
				for (const row of this.db.prepare(`SELECT _id, doc FROM ${name}`).all() as Row[]) set.run(crc32(row.doc), row._id);
			}
			for (const ix of spec.indexes ?? []) {
				const col = columns.get(ix.field)!;
				if (!have.has(`i_${ix.field}`)) {
					this.db.exec(`ALTER TABLE ${name} ADD COLUMN ${col}`);
					this.backfill(spec, ix);
				}
				this.db.exec(indexSql(spec.name, ix, col));
				if (ix.expireAfterSeconds !== undefined) table.ttl.push({ column: col, seconds: ix.expireAfterSeconds });
				if (this.db.prepare(`SELECT 1 FROM ${name} WHERE ${col} = ? LIMIT 1`).get(MULTI)) table.multi.add(ix.field);
			}
		})();
		this.durability.commit();
		return table;
	}

	/** A column added to a table that has rows: filled from the documents. */
	private backfill(spec: CollectionSpec, ix: IndexSpec) {
		const name = ident(spec.name);
		const set = this.db.prepare(`UPDATE ${name} SET ${ident(`i_${ix.field}`)} = ? WHERE _id = ?`);
		for (const row of this.db.prepare(`SELECT _id, doc, crc FROM ${name}`).iterate() as Iterable<Row>) {
			set.run(columnValue(getPath(this.decode(spec.name, row), ix.field)), row._id);
		}
	}

	/** A row as its document, refused when its checksum does not match. */
	decode<T>(table: string, row: Row): T {
		if (crc32(row.doc) !== row.crc) {
			throw new CorruptDocumentError(
				`Document ${JSON.stringify(row._id)} of ${table} in ${this.path ?? "memory"} fails its checksum: the file was damaged. Restore the last backup (qm restore <backup dir>).`,
			);
		}
		return decodeDoc<T>(row._id, row.doc);
	}

	/** Every document's checksum in a table (start check): the first damaged one throws. */
	private verifyDocuments(table: string) {
		const rows = this.db.prepare(`SELECT _id, doc, crc FROM ${ident(table)}`).iterate() as Iterable<Row>;
		for (const row of rows) {
			if (crc32(row.doc) === row.crc) continue;
			this.close();
			this.decode(table, row); // throws, naming the document and the file
		}
	}

	statement(sql: string): Database.Statement {
		let s = this.statements.get(sql);
		if (!s) {
			s = this.db.prepare(sql);
			this.statements.set(sql, s);
		}
		return s;
	}

	/** TTL indexes (MongoDB's expireAfterSeconds): expired documents are deleted every minute. */
	private startSweeper() {
		if (this.sweeper) return;
		this.sweep();
		this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
		this.sweeper.unref();
	}

	sweep(nowMs = Date.now()): number {
		let removed = 0;
		for (const t of this.tables.values()) {
			for (const { column, seconds } of t.ttl) {
				const name = ident(t.spec.name);
				const del = this.statement(`DELETE FROM ${name} WHERE _id IN (SELECT _id FROM ${name} WHERE ${column} < ? LIMIT ${SWEEP_ROWS})`);
				removed += this.write(() => del.run(nowMs - seconds * 1000).changes);
			}
		}
		return removed;
	}

	/**
	 * Runs `fn` atomically (a transaction, or a savepoint of the open one). On a file, the writes of
	 * one turn of the event loop share one transaction, committed when the turn ends (setImmediate):
	 * concurrent requests write each b-tree page once per commit instead of once each, and share
	 * its fsync (Durability). A write that fails rolls back alone (its savepoint).
	 */
	write<R>(fn: () => R): R {
		if (!this.path) {
			const r = this.db.transaction(fn)();
			this.durability.commit();
			return r;
		}
		if (!this.durability.open) {
			this.db.exec("BEGIN IMMEDIATE");
			this.durability.open = true;
			setImmediate(() => this.commitOpen());
		}
		return this.db.transaction(fn)();
	}

	private commitOpen() {
		if (!this.durability.open) return;
		this.durability.open = false;
		try {
			this.db.exec("COMMIT");
			this.durability.commit();
		} catch (err) {
			if (this.db.inTransaction) this.db.exec("ROLLBACK");
			this.durability.fail(err as Error);
		}
	}

	close() {
		if (this.sweeper) clearInterval(this.sweeper);
		this.sweeper = null;
		if (this.db.open) this.commitOpen();
		this.statements.clear();
		if (this.db.open) this.db.close();
		this.durability.close();
	}
}

function indexSql(table: string, ix: IndexSpec, col: string) {
	const name = ident(`ix_${table}_${ix.field}`);
	const partial = ix.sparse ? ` WHERE ${col} IS NOT NULL` : "";
	return `CREATE ${ix.unique ? "UNIQUE " : ""}INDEX IF NOT EXISTS ${name} ON ${ident(table)} (${col})${partial}`;
}

/**
 * SQLite's quick check at open (structure: pages, b-trees, free lists): a damaged database never
 * serves a request. It reads the whole file, so only files up to QM_START_CHECK_MAX_MB (256 MiB,
 * ~2 s with the checksums on this machine) are checked at start, keeping a restart within seconds;
 * on larger ones SQLite still refuses damaged pages when it reads them, and the documents'
 * checksums refuse damaged content.
 */
function checkIntegrity(db: Db, path: string) {
	let verdict: string;
	try {
		const rows = db.pragma("quick_check") as { quick_check: string }[];
		verdict = rows.map(r => r.quick_check).join("; ");
	} catch (err) {
		db.close();
		throw openError(path, err);
	}
	if (verdict !== "ok") {
		db.close();
		throw damaged(path, `SQLite quick_check: ${verdict.slice(0, 300)}`);
	}
}

const damaged = (path: string, why: string) =>
	new Error(
		`The database ${path} is damaged (${why}). Quartermaster will not start on it. ` +
			`Stop the platform and restore the last backup: qm restore <backup dir> (see README, "Backup and restore").`,
	);

/** SQLite's word that the file is not a sound database is damage; anything else (busy, permissions) is said as it is. */
function openError(path: string, err: unknown) {
	const code = (err as { code?: string }).code ?? "";
	if (/^SQLITE_(CORRUPT|NOTADB)/.test(code)) return damaged(path, (err as Error).message);
	return new Error(`Cannot open the database ${path}: ${(err as Error).message}`);
}

/** A database file in WAL mode with the settings the header explains. */
function openFile(path: string): Db {
	let db: Db | undefined;
	try {
		db = new Database(path);
		db.pragma("journal_mode = WAL");
		db.pragma("synchronous = NORMAL");
		db.pragma("busy_timeout = 5000");
		db.pragma("cache_size = -8000");
		return db;
	} catch (err) {
		db?.close();
		throw openError(path, err);
	}
}

function syncDirectory(dir: string) {
	const fd = openSync(dir, "r");
	try {
		fsyncSync(fd);
	} finally {
		closeSync(fd);
	}
}

/**
 * Earlier versions kept NeDB files (`<collection>.db`, JSON lines) in DATA_DIR. There is no
 * migration (no installation had users): such a directory is refused with what changed.
 */
export function refuseNeDbFiles(dir: string) {
	if (!existsSync(dir)) return;
	const nedb = readdirSync(dir).filter(f => f.endsWith(".db") && !isSqliteFile(join(dir, f)));
	if (existsSync(join(dir, "metering-log"))) nedb.push("metering-log/");
	if (!nedb.length) return;
	throw new Error(
		`DATA_DIR ${dir} holds data of an earlier Quartermaster (NeDB files: ${nedb.slice(0, 5).join(", ")}${nedb.length > 5 ? ", …" : ""}). ` +
			`The embedded store is SQLite now (one <service>.sqlite per service) and there is no migration: ` +
			`start with an empty DATA_DIR, or move those files away.`,
	);
}

function isSqliteFile(path: string) {
	const fd = openSync(path, "r");
	try {
		const head = Buffer.alloc(16);
		readSync(fd, head, 0, 16, 0);
		return head.toString("latin1") === "SQLite format 3\u0000";
	} finally {
		closeSync(fd);
	}
}

/* ---------- the store ---------- */

interface Row {
	_id: string;
	doc: string;
	crc: number;
}

function isUniqueViolation(err: unknown) {
	const code = (err as { code?: string })?.code;
	return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

export class SqliteStore<T extends Doc> implements Store<T> {
	readonly name: string;
	readonly atomicBatches = true;
	private readonly table: string;
	private readonly insertSql: string;
	private readonly updateSql: string;
	private readonly fields: string[];

	constructor(
		private readonly file: SqliteFile,
		private readonly meta: Table,
	) {
		this.name = meta.spec.name;
		this.table = ident(this.name);
		this.fields = [...meta.columns.keys()];
		const cols = this.fields.map(f => meta.columns.get(f)!);
		this.insertSql = `INSERT INTO ${this.table} (_id, doc, crc${cols.map(c => `, ${c}`).join("")}) VALUES (?, ?, ?${cols.map(() => ", ?").join("")})`;
		this.updateSql = `UPDATE ${this.table} SET doc = ?, crc = ?${cols.map(c => `, ${c} = ?`).join("")} WHERE _id = ?`;
	}

	private get db() {
		return this.file.db;
	}

	/**
	 * Runs `fn` in one transaction; answers once what it (and every commit before it) wrote is
	 * durable — or at once, committed, with `syncWithNext` (Store.insert).
	 */
	private async write<R>(fn: () => R, syncWithNext = false): Promise<R> {
		let result: R;
		try {
			result = this.file.write(fn);
		} catch (err) {
			if (isUniqueViolation(err)) throw new DuplicateKeyError(this.name);
			throw err;
		}
		if (!syncWithNext) await this.file.durability.settled();
		return result;
	}

	private async read<R>(fn: () => R): Promise<R> {
		const result = fn();
		await this.file.durability.settled();
		return result;
	}

	private columnValues(doc: Doc): Value[] {
		const values: Value[] = [];
		for (const f of this.fields) {
			const v = columnValue(getPath(doc, f));
			if (v === MULTI) this.meta.multi.add(f);
			values.push(v);
		}
		return values;
	}

	private insertRow(doc: Doc) {
		if (typeof doc._id !== "string" || !doc._id) doc._id = newId();
		const json = encodeDoc(doc);
		this.file.statement(this.insertSql).run(doc._id, json, crc32(json), ...this.columnValues(doc));
	}

	private writeRow(doc: Doc) {
		const json = encodeDoc(doc);
		this.file.statement(this.updateSql).run(json, crc32(json), ...this.columnValues(doc), doc._id);
	}

	/**
	 * The rows SQL can tell might match (through `_id`, indexed columns and the JSON), and what of
	 * the query SQL has not decided exactly (for mingo).
	 */
	private candidates(query: Query): { rows: Row[]; rest: Query } {
		const where: string[] = [];
		const params: unknown[] = [];
		const rest: Query = {};
		for (const [k, cond] of Object.entries(query)) {
			rest[k] = cond;
			if (k.startsWith("$") || k.includes(".")) continue;
			const col = k === "_id" ? "_id" : this.meta.columns.get(k);
			if (col) {
				const sql = conditionSql(() => col, cond, params);
				if (!sql) continue;
				const multi = this.meta.multi.has(k);
				where.push(multi ? `(${sql} OR ${col} = ?)` : sql);
				if (multi) params.push(MULTI);
				// A column holds a string only for a string: SQL's answer is MongoDB's.
				else if (onlyStrings(cond)) delete rest[k];
				continue;
			}
			// Not indexed: SQLite reads the field from the JSON (in C, before any row reaches JS);
			// an array there stays a candidate (MongoDB matches its elements).
			const path = jsonPath(k);
			const sql = conditionSql(kind => (kind === "date" ? `json_extract(doc, ${path.slice(0, -1)}."$date"')` : `json_extract(doc, ${path})`), cond, params);
			if (sql) where.push(`(${sql} OR json_type(doc, ${path}) = 'array')`);
		}
		const sql = `SELECT _id, doc, crc FROM ${this.table}${where.length ? ` WHERE ${where.join(" AND ")}` : ""}`;
		return { rows: this.file.statement(sql).all(...params) as Row[], rest };
	}

	/** The documents matching `query` exactly (MongoDB semantics, through mingo). */
	private matching(query: Query): T[] {
		const { rows, rest } = this.candidates(query);
		const docs = rows.map(r => this.file.decode<T>(this.name, r));
		if (!Object.keys(rest).length) return docs;
		const mingo = mingoQuery(rest);
		return docs.filter(d => mingo.test(d));
	}

	private updated(doc: T, update: Update): T {
		const id = doc._id;
		applyUpdate(doc, update as never);
		if (doc._id !== id) throw new Error(`${this.name}: an update may not change _id`);
		return doc;
	}

	insert(doc: T, opts: { syncWithNext?: boolean } = {}): Promise<T> {
		return this.write(() => {
			this.insertRow(doc);
			return doc;
		}, opts.syncWithNext);
	}

	insertMany(docs: T[]): Promise<number[]> {
		if (!docs.length) return Promise.resolve([]);
		// One transaction: a refused row undoes that statement only (SQLite's ABORT), the others stay.
		return this.write(() => {
			const refused: number[] = [];
			for (let i = 0; i < docs.length; i++) {
				try {
					this.insertRow(docs[i]);
				} catch (err) {
					if (!isUniqueViolation(err)) throw err;
					refused.push(i);
				}
			}
			return refused;
		});
	}

	findOne(query: Query): Promise<T | null> {
		return this.read(() => this.matching(query)[0] ?? null);
	}

	findById(id: string): Promise<T | null> {
		return this.read(() => {
			const row = this.file.statement(`SELECT _id, doc, crc FROM ${this.table} WHERE _id = ?`).get(id) as Row | undefined;
			return row ? this.file.decode<T>(this.name, row) : null;
		});
	}

	find(query: Query, opts: FindOptions = {}): Promise<T[]> {
		return this.read(() => {
			const docs = this.matching(query);
			if (!opts.sort && !opts.skip && !opts.limit) return docs;
			let cursor = mingoQuery({}).find<T>(docs);
			if (opts.sort) cursor = cursor.sort(opts.sort);
			if (opts.skip) cursor = cursor.skip(opts.skip);
			if (opts.limit) cursor = cursor.limit(opts.limit);
			return cursor.all() as T[];
		});
	}

	count(query: Query): Promise<number> {
		return this.read(() => {
			if (!Object.keys(query).length) return (this.file.statement(`SELECT count(*) AS n FROM ${this.table}`).get() as { n: number }).n;
			return this.matching(query).length;
		});
	}

	updateOne(query: Query, update: Update, opts: { upsert?: boolean } = {}): Promise<T | null> {
		return this.write(() => {
			const doc = this.matching(query)[0];
			if (doc) {
				this.writeRow(this.updated(doc, update));
				return doc;
			}
			if (!opts.upsert) return null;
			const seed = this.updated(upsertSeed(query) as T, update);
			this.insertRow(seed);
			return seed;
		});
	}

	updateMany(query: Query, update: Update): Promise<number> {
		return this.write(() => {
			const docs = this.matching(query);
			for (const d of docs) this.writeRow(this.updated(d, update));
			return docs.length;
		});
	}

	remove(query: Query): Promise<number> {
		return this.write(() => {
			if (!Object.keys(query).length) return this.file.statement(`DELETE FROM ${this.table}`).run().changes;
			const ids = this.matching(query).map(d => d._id);
			if (!ids.length) return 0;
			return this.file.statement(`DELETE FROM ${this.table} WHERE _id IN (SELECT value FROM json_each(?))`).run(JSON.stringify(ids)).changes;
		});
	}
}

/* ---------- opening ---------- */

const files = new Map<string, SqliteFile>();

/**
 * The database behind `key`, opened once per process and shared by the collections that name it
 * (a service's own and its jobs mixin's); `path` null keeps it in memory.
 */
export function acquireSqliteFile(key: string, path: string | null): SqliteFile {
	let f = files.get(key);
	if (!f) {
		f = new SqliteFile(path);
		files.set(key, f);
	}
	f.users++;
	return f;
}

/** Closes the database when its last user lets go (`keep`: in-memory databases replicas share stay). */
export function releaseSqliteFile(key: string, keep = false) {
	const f = files.get(key);
	if (!f || --f.users > 0 || keep) return;
	files.delete(key);
	f.close();
}

/** Every database file this process has open (backup, tests). */
export function openSqliteFiles(): SqliteFile[] {
	return [...files.values()];
}

export const databaseFileName = (service: string) => `${service}.sqlite`;
export const serviceOfFile = (file: string) => basename(file).replace(/\.sqlite$/, "");
