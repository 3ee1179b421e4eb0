// The embedded store: SQLite through better-sqlite3, one database file per service under DATA_DIR
// (`<service>.sqlite`; each service owns its data), or in memory with DATA_DIR=:memory:.
//
// A collection is a table `(rid INTEGER PRIMARY KEY, _id TEXT UNIQUE, doc TEXT, crc, t_<field> …)`:
// the document as JSON (Dates as {"$date": ms}), its CRC-32 (SQLite keeps no checksums of its own:
// a document whose bytes changed on disk is refused on every read, never served), and one column
// per declared index holding that field's value under a real SQLite index (unique ones raise
// DuplicateKeyError; sparse ones are partial indexes). A declared projection is a narrow table of
// its own, `<collection>$p_<key> (rid, _id, doc, crc, text)` — `doc` its fields' values as a JSON
// array (projectValues: parsed in a third of the time of an object with keys) — one row per
// document under the document's `rid` (explicit, so VACUUM keeps it; a trigger deletes it with its
// document), written in the same transaction as the document. A query is narrowed in SQL — `_id`, the
// indexed columns, and other top-level fields read from the JSON in C — then matched exactly with
// mingo, a MongoDB query-language library, which also applies updates: the semantics are
// MongoDB's. better-sqlite3 is synchronous, so an operation runs with no await inside it: a
// conditional update is atomic against every other caller of this process.
//
// Durability — group commit. Databases run in WAL mode with synchronous=NORMAL. The writes of one
// turn of the event loop share one transaction (each in its own savepoint, so a failed one rolls
// back alone), committed when the turn ends: a commit appends its pages to the `-wal` file without
// waiting for the disk. No operation answers then: it waits for an fsync of the WAL that started
// after its commit (Durability below), run on libuv's thread pool. Commits that land while one
// fsync runs share the next one, so concurrent requests pay one fsync — and write each b-tree page
// once — between them, and the event loop never blocks on the disk. What an answer reports is
// therefore in a synced WAL: what synchronous=FULL gives (which fsyncs the WAL in every commit, on
// the event loop — ~0.3 ms measured here, times every write). Checkpoints sync the WAL before and
// the database after copying, as SQLite always does. Reads wait too, for every commit before them
// (and the open transaction): nothing a client is told can rest on an unsynced write. SQLite
// replays the WAL in commit order, so a crash that keeps a commit keeps every one before it.
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readSync, statSync } from "fs";
import { basename, dirname, join } from "path";
import { crc32 } from "zlib";
import Database from "better-sqlite3";
import type { CollectionSpec, IndexSpec } from "../models/collection";
import { envInt } from "../lib/config";
import { newId } from "../lib/crypto";
import { Durability } from "./durability";
import {
	applyUpdate,
	columnValue,
	columnCondition,
	conditionSql,
	CorruptDocumentError,
	covers,
	decodeDoc,
	decodeValues,
	encodeDoc,
	getPath,
	ident,
	jsonPath,
	mingoQuery,
	MULTI,
	project,
	projectValues,
	setPath,
	touches,
	unprojectValues,
	upsertSeed,
	type Value,
} from "./sqlite-documents";
import { DuplicateKeyError, type Doc, type FindOptions, type Query, type Store, type SyncStore, type Update } from "./store";

export { Durability, StorageFailedError } from "./durability";

type Db = Database.Database;

/* ---------- a database file ---------- */

interface Table {
	spec: CollectionSpec;
	/** index field → its column */
	columns: Map<string, string>;
	/** indexed fields some document holds an array or object in (their rows stay candidates) */
	multi: Set<string>;
	ttl: { column: string; seconds: number }[];
	/** CollectionSpec.projections: each one's JSON and checksum columns (and whether the file had them) */
	projections: Projection[];
}

interface Projection {
	/** every field it holds, `text` included */
	fields: string[];
	/** the paths its JSON holds the values of, in order (split at dots): its fields but `text`, then `text` too when that holds no string */
	paths: string[][];
	/** the string field kept in the `text` column as it is */
	text?: string;
	/** its table (quoted) */
	table: string;
	/** `INSERT OR REPLACE` of its row: rid, _id, doc, crc, text */
	upsertSql: string;
}

const SWEEP_MS = 60_000;
const SWEEP_ROWS = 10_000;

export class SqliteFile {
	readonly db: Db;
	readonly durability: Durability;
	private tables = new Map<string, Table>();
	private statements = new Map<string, Database.Statement>();
	private rowStatements = new Map<string, Database.Statement>();
	private sweeper: NodeJS.Timeout | null = null;
	/**
	 * Runs its argument in a transaction (or a savepoint of the open one): made once, as making a
	 * better-sqlite3 transaction function per write cost ~5 % of the charge benchmark.
	 */
	private readonly atomically: <R>(fn: () => R) => R;
	private readonly begin: Database.Statement;
	private readonly commitStatement: Database.Statement;
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
			syncPath(dirname(path));
		}
		this.durability = new Durability(path ? `${path}-wal` : null);
		this.atomically = this.db.transaction(<R>(fn: () => R) => fn()) as <R>(fn: () => R) => R;
		this.begin = this.db.prepare("BEGIN IMMEDIATE");
		this.commitStatement = this.db.prepare("COMMIT");
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
		for (const field of indexedFields(spec)) columns.set(field, ident(`t_${field}`));
		// Small documents live in their primary key's b-tree (WITHOUT ROWID: one b-tree, not a table
		// and an index); larger ones in a rowid table, where a row of a few KB still fits its page
		// (read 5–10× faster than through a WITHOUT ROWID table's overflow pages, measured here).
		if (spec.smallDocuments && spec.projections?.length) throw new Error(`${spec.name}: projections need a rowid table (not smallDocuments)`);
		const layout = spec.smallDocuments
			? "_id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL, crc INTEGER NOT NULL) WITHOUT ROWID"
			: "rid INTEGER PRIMARY KEY, _id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL, crc INTEGER NOT NULL)";
		const projections = (spec.projections ?? []).map((p): Projection => {
			const { fields, text } = Array.isArray(p) ? { fields: p, text: undefined } : p;
			// A projection's table is named by its fields (and the layout of its rows: ";values", a JSON
			// array of values): another list is another projection, and a table of another layout is rebuilt.
			const table = ident(`${spec.name}$p_${crc32(fields.join(",") + (text ? `;text:${text}` : "") + ";values").toString(16)}`);
			return {
				fields: text ? [...new Set([...fields, text])] : fields,
				paths: [...fields.filter(f => f !== text), ...(text ? [text] : [])].map(f => f.split(".")),
				text,
				table,
				upsertSql: `INSERT OR REPLACE INTO ${table} (rid, _id, doc, crc, text) VALUES (?, ?, ?, ?, ?)`,
			};
		});
		const table: Table = { spec, columns, multi: new Set(), ttl: [], projections };
		this.db.transaction(() => {
			this.db.exec(`CREATE TABLE IF NOT EXISTS ${name} (${layout}`);
			let have = this.columnsOf(name);
			if (!have.has("crc")) {
				// A table from before documents had checksums: each gets its own now.
				this.db.exec(`ALTER TABLE ${name} ADD COLUMN crc INTEGER NOT NULL DEFAULT 0`);
				const set = this.db.prepare(`UPDATE ${name} SET crc = ? WHERE _id = ?`);
				for (const row of this.db.prepare(`SELECT _id, doc FROM ${name}`).all() as Row[]) set.run(crc32(row.doc), row._id);
			}
			if (projections.length && !have.has("rid")) {
				// A table from before projections had tables of their own (they were its columns, and
				// its rows had no explicit rid): copied into the current layout, its columns refilled below.
				const old = ident(`${spec.name}$old`);
				this.db.exec(`ALTER TABLE ${name} RENAME TO ${old}`);
				this.db.exec(`CREATE TABLE ${name} (${layout}`);
				this.db.exec(`INSERT INTO ${name} (_id, doc, crc) SELECT _id, doc, crc FROM ${old}`);
				this.db.exec(`DROP TABLE ${old}`);
				have = this.columnsOf(name);
			}
			const stale = [...have].filter(c => c.startsWith("i_"));
			if (stale.length) {
				// Index columns from before they kept MongoDB's types (a Date or a boolean was a number
				// there): dropped with their indexes, the current ones made and filled below.
				for (const ix of this.indexesOf(spec.name)) this.db.exec(`DROP INDEX ${ident(ix)}`);
				for (const c of stale) this.db.exec(`ALTER TABLE ${name} DROP COLUMN ${ident(c)}`);
				have = this.columnsOf(name);
			}
			for (const [field, col] of columns) {
				if (!have.has(`t_${field}`)) {
					this.db.exec(`ALTER TABLE ${name} ADD COLUMN ${col}`);
					this.backfill(spec, field);
				}
				if (this.db.prepare(`SELECT 1 FROM ${name} WHERE ${col} = ? LIMIT 1`).get(MULTI)) table.multi.add(field);
			}
			for (const p of projections) {
				const exists = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(unquote(p.table));
				if (exists) continue;
				this.db.exec(`CREATE TABLE ${p.table} (rid INTEGER PRIMARY KEY, _id TEXT NOT NULL, doc TEXT NOT NULL, crc INTEGER NOT NULL, text TEXT)`);
				this.db.exec(`CREATE TRIGGER ${ident(`${unquote(p.table)}$delete`)} AFTER DELETE ON ${name} BEGIN DELETE FROM ${p.table} WHERE rid = old.rid; END`);
				// Filled from the documents a thousand at a time: a large table is never in memory at once.
				const set = this.db.prepare(p.upsertSql);
				const page = this.db.prepare(`SELECT rid, _id, doc, crc FROM ${name} WHERE rid > ? ORDER BY rid LIMIT 1000`);
				for (let rows = page.all(0) as (Row & { rid: number })[]; rows.length; rows = page.all(rows[rows.length - 1].rid) as (Row & { rid: number })[]) {
					for (const row of rows) set.run(row.rid, ...projectionValues(this.decode(spec.name, row), p));
				}
			}
			// Projections no longer declared (or of an earlier row layout) go, with their triggers.
			const projected = new Set(projections.map(p => unquote(p.table)));
			const tables = this.db
				.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, ?) = ?")
				.pluck()
				.all(spec.name.length + 3, `${spec.name}$p_`) as string[];
			for (const t of tables.filter(t => !projected.has(t))) {
				this.db.exec(`DROP TRIGGER IF EXISTS ${ident(`${t}$delete`)}`);
				this.db.exec(`DROP TABLE ${ident(t)}`);
			}
			// Indexes no longer declared go (e.g. one a compound index replaced).
			const declared = new Set((spec.indexes ?? []).map(ix => indexName(spec.name, ix)));
			for (const ix of this.indexesOf(spec.name)) if (!declared.has(ix)) this.db.exec(`DROP INDEX ${ident(ix)}`);
			for (const ix of spec.indexes ?? []) {
				this.db.exec(
					indexSql(
						spec.name,
						ix,
						[ix.field, ...(ix.then ?? [])].map(f => columns.get(f)!),
					),
				);
				if (ix.expireAfterSeconds !== undefined) table.ttl.push({ column: columns.get(ix.field)!, seconds: ix.expireAfterSeconds });
			}
		})();
		this.durability.commit();
		return table;
	}

	/** The table's declared indexes (named ix_…). */
	private indexesOf(table: string): string[] {
		return this.db
			.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name LIKE 'ix\\_%' ESCAPE '\\'`)
			.pluck()
			.all(table) as string[];
	}

	private columnsOf(table: string): Set<string> {
		return new Set((this.db.pragma(`table_info(${table})`) as { name: string }[]).map(c => c.name));
	}

	/** A column added to a table that has rows: filled from the documents. */
	private backfill(spec: CollectionSpec, field: string) {
		const name = ident(spec.name);
		const set = this.db.prepare(`UPDATE ${name} SET ${ident(`t_${field}`)} = ? WHERE _id = ?`);
		for (const row of this.db.prepare(`SELECT _id, doc, crc FROM ${name}`).all() as Row[]) {
			set.run(columnValue(getPath(this.decode(spec.name, row), field)), row._id);
		}
	}

	/**
	 * A row's document (or projection: `projection`, its JSON holds the `_id`, its text column goes
	 * back to its field), its checksum checked.
	 */
	decode<T>(table: string, row: Row, projection?: Projection): T {
		if (rowCrc(row) !== row.crc) {
			throw new CorruptDocumentError(
				`Document ${JSON.stringify(row._id)} of ${table} in ${this.path ?? "memory"} fails its checksum: the file was damaged. Restore the last backup (qm restore <backup dir>).`,
			);
		}
		if (!projection) return decodeDoc<T>(row._id, row.doc);
		// A text held as a string is in its column (its path not in the JSON), else it is the JSON's last value.
		const values = decodeValues(row.doc);
		const text = projection.text && typeof row.text === "string";
		const doc = unprojectValues(row._id, values, text ? projection.paths.slice(0, -1) : projection.paths);
		if (text) setPath(doc, projection.text!, row.text);
		return doc as T;
	}

	/** Every document's checksum in a table (start check): the first damaged one throws. */
	private verifyDocuments(table: string) {
		for (const source of [ident(table), ...this.tables.get(table)!.projections.map(p => p.table)]) {
			const text = source === ident(table) ? "" : ", text";
			const rows = this.db.prepare(`SELECT _id, doc, crc${text} FROM ${source}`).iterate() as Iterable<Row>;
			let damaged: Row | undefined;
			for (const row of rows) {
				if (rowCrc(row) === row.crc) continue;
				damaged = row;
				break; // ends the statement: the database can close
			}
			if (!damaged) continue;
			this.close();
			this.decode(table, damaged); // throws, naming the document and the file
		}
	}

	/**
	 * The rows `_id, doc, crc[, text]` a SELECT answers, read as arrays: better-sqlite3 builds an
	 * array per row in a third less time than an object with named keys (measured on a month of
	 * history rows), and the Row is a plain literal here.
	 */
	rows(sql: string, params: unknown[]): Row[] {
		let s = this.rowStatements.get(sql);
		if (!s) {
			s = this.db.prepare(sql).raw(true);
			this.rowStatements.set(sql, s);
		}
		return (s.all(...params) as [string, string, number, string | null | undefined][]).map(r => ({ _id: r[0], doc: r[1], crc: r[2], text: r[3] }));
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
			const r = this.atomically(fn);
			this.durability.commit();
			return r;
		}
		if (!this.durability.open) {
			this.begin.run();
			this.durability.open = true;
			setImmediate(() => this.commitOpen());
		}
		return this.atomically(fn);
	}

	private commitOpen() {
		if (!this.durability.open) return;
		this.durability.open = false;
		try {
			this.commitStatement.run();
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
		this.rowStatements.clear();
		if (this.db.open) this.db.close();
		this.durability.close();
	}
}

/** Every field an index names, once: each has its own column. */
const indexedFields = (spec: CollectionSpec) => [...new Set((spec.indexes ?? []).flatMap(ix => [ix.field, ...(ix.then ?? [])]))];

const sameFields = (a: string[], b: string[]) => a.length === new Set(b).size && a.every(f => b.includes(f));

const unquote = (quoted: string) => quoted.slice(1, -1).replace(/""/g, '"');

/**
 * A projection's row for `doc` (after its rid): _id, its values as a JSON array (projectValues),
 * checksum, text — a text field that holds no string stays in the JSON, as its last value.
 */
function projectionValues(doc: Doc, p: Projection): Value[] {
	const text = p.text ? getPath(doc, p.text) : undefined;
	const inColumn = typeof text === "string";
	const json = encodeDoc(projectValues(doc, inColumn ? p.paths.slice(0, -1) : p.paths) as unknown as Record<string, unknown>, true);
	return inColumn ? [doc._id, json, crc32(text, crc32(json)), text] : [doc._id, json, crc32(json), null];
}

/** A row's checksum: of its JSON, then of its text column when that holds a string. */
const rowCrc = (row: Row) => (typeof row.text === "string" ? crc32(row.text, crc32(row.doc)) : crc32(row.doc));

const indexName = (table: string, ix: IndexSpec) => `ix_${table}_${[ix.field, ...(ix.then ?? [])].join("_")}`;

function indexSql(table: string, ix: IndexSpec, cols: string[]) {
	const partial = ix.sparse ? ` WHERE ${cols[0]} IS NOT NULL` : "";
	return `CREATE ${ix.unique ? "UNIQUE " : ""}INDEX IF NOT EXISTS ${ident(indexName(table, ix))} ON ${ident(table)} (${cols.join(", ")})${partial}`;
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

/** fsync of a file or a directory (a read-only descriptor is enough on Linux). */
export function syncPath(path: string) {
	const fd = openSync(path, "r");
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
	/** a projection's text column */
	text?: string | null;
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
	private readonly fields: string[];
	/** UPDATE statements by the index columns they set and whether they answer the rid (see writeRow) */
	private readonly updateSql = new Map<string, string>();

	constructor(
		private readonly file: SqliteFile,
		private readonly meta: Table,
	) {
		this.name = meta.spec.name;
		this.table = ident(this.name);
		this.fields = [...meta.columns.keys()];
		const cols = this.fields.map(f => meta.columns.get(f)!);
		this.insertSql = `INSERT INTO ${this.table} (_id, doc, crc${cols.map(c => `, ${c}`).join("")}) VALUES (?, ?, ?${cols.map(() => ", ?").join("")})`;
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

	/** Store.atomic: `fn` in one transaction of this database, over this store and `others` of the same one. */
	atomic<R>(fn: () => R, ...others: Store[]): Promise<R> {
		for (const o of others) {
			if (!(o instanceof SqliteStore) || o.file !== this.file)
				throw new Error(`${this.name}: ${o.name} is not in the same database, no transaction spans them`);
		}
		return this.write(fn);
	}

	readonly sync: SyncStore<T> = {
		findById: id => this.byId(id),
		findOne: query => this.matching(query).docs[0] ?? null,
		insert: doc => {
			try {
				this.insertRow(doc);
			} catch (err) {
				if (isUniqueViolation(err)) throw new DuplicateKeyError(this.name);
				throw err;
			}
			return doc;
		},
		updateOne: (query, update) => this.updateRow(query, update),
		replace: doc => this.writeRow(doc, { $set: doc }),
	};

	private async read<R>(fn: () => R): Promise<R> {
		const result = fn();
		await this.file.durability.settled();
		return result;
	}

	/** The values of the indexed columns (of `fields`, by default all). */
	private columnValues(doc: Doc, fields = this.fields): Value[] {
		const values: Value[] = [];
		for (const f of fields) {
			const v = columnValue(getPath(doc, f));
			if (v === MULTI) this.meta.multi.add(f);
			values.push(v);
		}
		return values;
	}

	/** The projections' rows of the document at `rid` (its own or replacing the ones it had). */
	private writeProjections(rid: number | bigint, doc: Doc, projections = this.meta.projections) {
		for (const p of projections) this.file.statement(p.upsertSql).run(rid, ...projectionValues(doc, p));
	}

	private insertRow(doc: Doc) {
		if (typeof doc._id !== "string" || !doc._id) doc._id = newId();
		const json = encodeDoc(doc);
		const { lastInsertRowid } = this.file.statement(this.insertSql).run(doc._id, json, crc32(json), ...this.columnValues(doc));
		this.writeProjections(lastInsertRowid, doc);
	}

	/**
	 * The document rewritten after `update`: its index columns and projections only where the
	 * update touched their fields (SQLite rewrites the entries of every index on a column an UPDATE
	 * sets, changed or not).
	 */
	private writeRow(doc: Doc, update: Update) {
		const json = encodeDoc(doc);
		const fields = this.fields.filter(f => touches(update, [f]));
		const touched = this.meta.projections.filter(p => touches(update, p.fields));
		const key = `${fields.join(",")}${touched.length ? ";rid" : ""}`;
		let sql = this.updateSql.get(key);
		if (!sql) {
			const set = fields.map(f => `, ${this.meta.columns.get(f)} = ?`).join("");
			sql = `UPDATE ${this.table} SET doc = ?, crc = ?${set} WHERE _id = ?${touched.length ? " RETURNING rid" : ""}`;
			this.updateSql.set(key, sql);
		}
		const params = [json, crc32(json), ...this.columnValues(doc, fields), doc._id];
		if (!touched.length) this.file.statement(sql).run(...params);
		else this.writeProjections((this.file.statement(sql).get(...params) as { rid: number }).rid, doc, touched);
	}

	/**
	 * The rows SQL can tell might match (through `_id`, indexed columns and the JSON), and what of
	 * the query SQL has not decided exactly (for mingo). With `fields`, a stored projection holding
	 * them is read instead of the whole document when there is one (CollectionSpec.projections).
	 */
	private candidates(query: Query, fields?: string[]): { rows: Row[]; rest: Query; projection?: Projection; exact: boolean } {
		const { filter, params, rest } = this.where(query);
		// A projection serves when it holds the fields asked for and those mingo still tests: its
		// narrow rows are read instead of the documents (a few pages instead of one or two a document).
		const need = [...(fields ?? []), ...Object.keys(rest)];
		const p = fields && need.every(f => !f.startsWith("$")) ? this.meta.projections.find(p => need.every(f => covers(p.fields, f))) : undefined;
		const sql = p
			? `SELECT _id, doc, crc, text FROM ${p.table} WHERE rid IN (SELECT rid FROM ${this.table}${filter})`
			: `SELECT _id, doc, crc FROM ${this.table}${filter}`;
		return { rows: this.file.rows(sql, params), rest, projection: p, exact: !!p && sameFields(p.fields, need) };
	}

	/** The WHERE clause SQL can decide of `query` (through `_id`, indexed columns and the JSON), and the rest of it, for mingo. */
	private where(query: Query): { filter: string; params: unknown[]; rest: Query } {
		const where: string[] = [];
		const params: unknown[] = [];
		const rest: Query = {};
		for (const [k, cond] of Object.entries(query)) {
			rest[k] = cond;
			if (k.startsWith("$") || k.includes(".")) continue;
			const col = k === "_id" ? "_id" : this.meta.columns.get(k);
			if (col) {
				const c = columnCondition(col, cond, params);
				if (!c) continue;
				const multi = this.meta.multi.has(k);
				where.push(multi ? `(${c.sql} OR ${col} = ?)` : c.sql);
				if (multi) params.push(MULTI);
				// The column keeps MongoDB's types and their order (columnValue): SQL's answer is MongoDB's.
				else if (c.exact) delete rest[k];
				continue;
			}
			// Not indexed: SQLite reads the field from the JSON (in C, before any row reaches JS);
			// an array there stays a candidate (MongoDB matches its elements).
			const path = jsonPath(k);
			const sql = conditionSql(kind => (kind === "date" ? `json_extract(doc, ${path.slice(0, -1)}."$date"')` : `json_extract(doc, ${path})`), cond, params);
			if (sql) where.push(`(${sql} OR json_type(doc, ${path}) = 'array')`);
		}
		return { filter: where.length ? ` WHERE ${where.join(" AND ")}` : "", params, rest };
	}

	/**
	 * The documents matching `query` exactly (MongoDB semantics, through mingo); with `fields`,
	 * holding at least those (`exact`: only those).
	 */
	private matching(query: Query, fields?: string[]): { docs: T[]; exact: boolean } {
		const { rows, rest, projection, exact } = this.candidates(query, fields);
		const docs = rows.map(r => this.file.decode<T>(this.name, r, projection));
		if (!Object.keys(rest).length) return { docs, exact };
		const mingo = mingoQuery(rest);
		return { docs: docs.filter(d => mingo.test(d)), exact };
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
		return this.read(() => this.matching(query).docs[0] ?? null);
	}

	findById(id: string): Promise<T | null> {
		return this.read(() => this.byId(id));
	}

	private byId(id: string): T | null {
		const row = this.file.statement(`SELECT _id, doc, crc FROM ${this.table} WHERE _id = ?`).get(id) as Row | undefined;
		return row ? this.file.decode<T>(this.name, row) : null;
	}

	find(query: Query, opts: FindOptions = {}): Promise<T[]> {
		return this.read(() => {
			const { fields } = opts;
			const sorted = Object.keys(opts.sort ?? {});
			const found = this.matching(query, fields && [...fields, ...sorted]);
			let docs = found.docs;
			if (opts.sort || opts.skip || opts.limit) {
				let cursor = mingoQuery({}).find<T>(docs);
				if (opts.sort) cursor = cursor.sort(opts.sort);
				if (opts.skip) cursor = cursor.skip(opts.skip);
				if (opts.limit) cursor = cursor.limit(opts.limit);
				docs = cursor.all() as T[];
			}
			return fields && !(found.exact && sorted.every(f => fields.includes(f))) ? docs.map(d => project(d, fields)) : docs;
		});
	}

	count(query: Query): Promise<number> {
		return this.read(() => {
			// What SQL decides whole is counted there (an index's entries), without reading a document.
			const { filter, params, rest } = this.where(query);
			if (!Object.keys(rest).length) return (this.file.statement(`SELECT count(*) AS n FROM ${this.table}${filter}`).get(...params) as { n: number }).n;
			return this.matching(query).docs.length;
		});
	}

	updateOne(query: Query, update: Update, opts: { upsert?: boolean } = {}): Promise<T | null> {
		return this.write(() => this.updateRow(query, update, opts.upsert));
	}

	private updateRow(query: Query, update: Update, upsert = false): T | null {
		const doc = this.matching(query).docs[0];
		if (doc) {
			this.writeRow(this.updated(doc, update), update);
			return doc;
		}
		if (!upsert) return null;
		const seed = this.updated(upsertSeed(query) as T, update);
		this.insertRow(seed);
		return seed;
	}

	updateMany(query: Query, update: Update): Promise<number> {
		return this.write(() => {
			const { docs } = this.matching(query);
			for (const d of docs) this.writeRow(this.updated(d, update), update);
			return docs.length;
		});
	}

	remove(query: Query): Promise<number> {
		return this.write(() => {
			if (!Object.keys(query).length) return this.file.statement(`DELETE FROM ${this.table}`).run().changes;
			const ids = this.matching(query).docs.map(d => d._id);
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
