// The storage contract every service sees: `this.db.<collection>` is a Store with the handful of
// portable operations below, and a service never knows which backend it got (SQLite embedded,
// sqlite-store.ts; MongoDB with MONGO_URI, mongo-store.ts). Every query used must mean the same on
// both: the SQLite store matches and updates with mingo, a MongoDB query-language library, so the
// semantics are MongoDB's. Two rules remain from MongoDB itself:
// - never compare a field that may be null with $lt/$lte/$gt/$gte (MongoDB matches nothing);
//   store a sentinel (e.g. epoch 0) instead;
// - never `$ne`/`$nin` on an array field (MongoDB means "no element"): keep such sets as the
//   keys of a map and test `{"set.key": {$exists: false}}`.
// Field names must not contain dots or start with `$`.
import { resolve } from "path";
import { envString } from "../lib/config";

export type Doc = { _id: string } & Record<string, unknown>;
export type Query = Record<string, unknown>;
export type Update = Record<string, unknown>;
export interface FindOptions {
	/**
	 * Only these fields (and `_id`), as MongoDB's inclusion projection: top-level names or dotted
	 * paths through objects; a path a document lacks is left out. For reads of a few fields of many
	 * large documents (the billing history): declare the list in CollectionSpec.projections.
	 */
	fields?: string[];
	sort?: Record<string, 1 | -1>;
	skip?: number;
	limit?: number;
}

/** A unique index refused the write. */
export class DuplicateKeyError extends Error {
	constructor(public collection: string) {
		super(`Duplicate key in ${collection}`);
		this.name = "DuplicateKeyError";
	}
}

/**
 * A collection. Every write is durable when its promise resolves: it survives a crash of the
 * process and a power cut (SQLite: see Durability in sqlite-store.ts; MongoDB: the server's
 * write concern).
 */
export interface Store<T extends Doc = Doc> {
	readonly name: string;
	/** insertMany is one transaction: no reader ever sees part of it (SQLite; not MongoDB's unordered insert). */
	readonly atomicBatches: boolean;
	/**
	 * `syncWithNext`: answers once committed, and the write becomes durable with the next answered
	 * write of the same service's database (which it precedes on every crash: SQLite's WAL is
	 * replayed in order). For a record that only matters together with the write that follows it.
	 */
	insert(doc: T, opts?: { syncWithNext?: boolean }): Promise<T>;
	/** Inserts each document; answers the indexes of those a unique index refused (the others are in). */
	insertMany(docs: T[]): Promise<number[]>;
	findOne(query: Query): Promise<T | null>;
	findById(id: string): Promise<T | null>;
	find(query: Query, opts?: FindOptions): Promise<T[]>;
	count(query: Query): Promise<number>;
	/** Atomic conditional update of one document; the document after the update, or null if none matched. */
	updateOne(query: Query, update: Update, opts?: { upsert?: boolean }): Promise<T | null>;
	/** Updates every matching document; answers how many matched (changed or not). */
	updateMany(query: Query, update: Update): Promise<number>;
	remove(query: Query): Promise<number>;
	/**
	 * Embedded store only (undefined on MongoDB): runs `fn` as ONE transaction of this store's
	 * database, with no await inside — `fn` reads and writes through `sync` of this store and of
	 * `others`, which must live in the same database. Answers once what it wrote is durable; a
	 * throw undoes all of it. For what SQLite can do better than a protocol of single-document
	 * writes (the ledger entry and its balance at once).
	 */
	atomic?<R>(fn: () => R, ...others: Store[]): Promise<R>;
	/** The synchronous operations `atomic`'s function uses (embedded store only). */
	readonly sync?: SyncStore<T>;
}

/** A store's operations inside `Store.atomic`: synchronous, same semantics as the async ones. */
export interface SyncStore<T extends Doc> {
	findById(id: string): T | null;
	findOne(query: Query): T | null;
	/** throws DuplicateKeyError on a unique index */
	insert(doc: T): T;
	updateOne(query: Query, update: Update): T | null;
	/** Writes `doc` over the document of its `_id`, which exists: for one read in the same transaction. */
	replace(doc: T): void;
}

export type StorageMode = "mongo" | "memory" | "shared-memory" | "files";

export function storageMode(): StorageMode {
	if (envString("MONGO_URI")) return "mongo";
	const dir = envString("DATA_DIR");
	if (dir === ":memory:") return "memory";
	// Tests only: every broker of this process sees the same in-memory databases, as replicas of a
	// service see one MongoDB.
	if (dir === ":memory:shared") return "shared-memory";
	return "files";
}

export function dataDir(): string {
	return resolve(envString("DATA_DIR", "./data"));
}
