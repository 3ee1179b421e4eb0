// Storage for a service's own collections. MONGO_URI → moleculer-db-adapter-mongoose in `model:`
// mode; otherwise moleculer-db's NeDB MemoryAdapter, file-backed under DATA_DIR (one file per
// collection), or purely in memory with DATA_DIR=":memory:" (unit tests). Services only see
// `this.db.<collection>` — a Store with the handful of portable operations below — and never
// know which backend they got. Every query used must mean the same on both — in particular,
// never compare a field that may be null with $lt/$lte/$gt/$gte: NeDB orders null before every
// value, MongoDB matches nothing; store a sentinel (e.g. epoch 0) instead. Never `$ne`/`$nin` on
// an array field: MongoDB means "no element", NeDB "some element" (keep such sets as the keys of
// a map and test `{"set.key": {$exists: false}}`). Field names must not contain dots (NeDB
// refuses them).
import { mkdirSync } from "fs";
import { join, resolve } from "path";
import type { ServiceSchema, Service } from "moleculer";
import type { CollectionSpec } from "../models/collection";
import { envInt, envString } from "../lib/config";
import { compactWhenGrown, installNeDbAppendHandles, releaseNeDbAppendHandle } from "./nedb-append";
import { installNeDbIndexSwap } from "./nedb-index";

// moleculer-db ships no type declarations for its MemoryAdapter.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { MemoryAdapter } = require("moleculer-db");

export type Doc = { _id: string } & Record<string, unknown>;
export type Query = Record<string, unknown>;
export type Update = Record<string, unknown>;
export interface FindOptions {
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

export interface Store<T extends Doc = Doc> {
	readonly name: string;
	insert(doc: T): Promise<T>;
	/** Inserts each document; answers the indexes of those a unique index refused (the others are in). */
	insertMany(docs: T[]): Promise<number[]>;
	findOne(query: Query): Promise<T | null>;
	findById(id: string): Promise<T | null>;
	find(query: Query, opts?: FindOptions): Promise<T[]>;
	count(query: Query): Promise<number>;
	/** Atomic conditional update of one document; the document after the update, or null if none matched. */
	updateOne(query: Query, update: Update, opts?: { upsert?: boolean }): Promise<T | null>;
	updateMany(query: Query, update: Update): Promise<number>;
	remove(query: Query): Promise<number>;
}

function isNeDbDuplicate(err: unknown) {
	return (err as { errorType?: string })?.errorType === "uniqueViolated";
}
function isMongoDuplicate(err: unknown) {
	return (err as { code?: number })?.code === 11000;
}

/* ---------- NeDB ---------- */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type NeDb = any;

class NeDbStore<T extends Doc> implements Store<T> {
	constructor(
		public readonly name: string,
		private adapter: { db: NeDb },
	) {}
	private get db(): NeDb {
		return this.adapter.db;
	}
	async insert(doc: T) {
		try {
			return (await this.db.insertAsync(doc)) as T;
		} catch (err) {
			if (isNeDbDuplicate(err)) throw new DuplicateKeyError(this.name);
			throw err;
		}
	}
	async insertMany(docs: T[]) {
		if (!docs.length) return [];
		try {
			// NeDB inserts an array all or nothing: on a duplicate nothing is in, so go one by one.
			await this.db.insertAsync(docs);
			return [];
		} catch (err) {
			if (!isNeDbDuplicate(err)) throw err;
		}
		const refused: number[] = [];
		for (let i = 0; i < docs.length; i++) {
			try {
				await this.db.insertAsync(docs[i]);
			} catch (err) {
				if (!isNeDbDuplicate(err)) throw err;
				refused.push(i);
			}
		}
		return refused;
	}
	findOne(query: Query) {
		return this.db.findOneAsync(query) as Promise<T | null>;
	}
	findById(id: string) {
		return this.findOne({ _id: id });
	}
	find(query: Query, opts: FindOptions = {}) {
		let cursor = this.db.findAsync(query);
		if (opts.sort) cursor = cursor.sort(opts.sort);
		if (opts.skip) cursor = cursor.skip(opts.skip);
		if (opts.limit) cursor = cursor.limit(opts.limit);
		return cursor.execAsync() as Promise<T[]>;
	}
	count(query: Query) {
		return this.db.countAsync(query) as Promise<number>;
	}
	async updateOne(query: Query, update: Update, opts: { upsert?: boolean } = {}) {
		try {
			const res = await this.db.updateAsync(query, update, { multi: false, upsert: !!opts.upsert, returnUpdatedDocs: true });
			return res.numAffected ? (res.affectedDocuments as T) : null;
		} catch (err) {
			if (isNeDbDuplicate(err)) throw new DuplicateKeyError(this.name);
			throw err;
		}
	}
	async updateMany(query: Query, update: Update) {
		const res = await this.db.updateAsync(query, update, { multi: true });
		return res.numAffected as number;
	}
	remove(query: Query) {
		return this.db.removeAsync(query, { multi: true }) as Promise<number>;
	}
}

/* ---------- MongoDB (mongoose) ---------- */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Model = any;

class MongoStore<T extends Doc> implements Store<T> {
	constructor(
		public readonly name: string,
		private adapter: { model: Model },
	) {}
	private get model(): Model {
		return this.adapter.model;
	}
	async insert(doc: T) {
		try {
			await this.model.collection.insertOne({ ...doc });
			return doc;
		} catch (err) {
			if (isMongoDuplicate(err)) throw new DuplicateKeyError(this.name);
			throw err;
		}
	}
	async insertMany(docs: T[]) {
		if (!docs.length) return [];
		try {
			// Unordered: every document that can go in does; the refused ones are reported.
			await this.model.collection.insertMany(
				docs.map(d => ({ ...d })),
				{ ordered: false },
			);
			return [];
		} catch (err) {
			// The driver gives one WriteError or a list of them (OneOrMore).
			const raw = (err as { writeErrors?: { index: number; code: number } | { index: number; code: number }[] }).writeErrors;
			const writeErrors = raw === undefined ? undefined : Array.isArray(raw) ? raw : [raw];
			if (!writeErrors || writeErrors.some(e => e.code !== 11000)) throw err;
			return writeErrors.map(e => e.index).sort((a, b) => a - b);
		}
	}
	findOne(query: Query) {
		return this.model.collection.findOne(query) as Promise<T | null>;
	}
	findById(id: string) {
		return this.findOne({ _id: id });
	}
	find(query: Query, opts: FindOptions = {}) {
		let cursor = this.model.collection.find(query);
		if (opts.sort) cursor = cursor.sort(opts.sort);
		if (opts.skip) cursor = cursor.skip(opts.skip);
		if (opts.limit) cursor = cursor.limit(opts.limit);
		return cursor.toArray() as Promise<T[]>;
	}
	count(query: Query) {
		return this.model.collection.countDocuments(query) as Promise<number>;
	}
	async updateOne(query: Query, update: Update, opts: { upsert?: boolean } = {}) {
		try {
			return (await this.model.collection.findOneAndUpdate(query, update, {
				returnDocument: "after",
				upsert: !!opts.upsert,
				includeResultMetadata: false,
			})) as T | null;
		} catch (err) {
			if (isMongoDuplicate(err)) throw new DuplicateKeyError(this.name);
			throw err;
		}
	}
	async updateMany(query: Query, update: Update) {
		const res = await this.model.collection.updateMany(query, update);
		return res.matchedCount as number; // as NeDB counts: documents matched, changed or not
	}
	async remove(query: Query) {
		const res = await this.model.collection.deleteMany(query);
		return res.deletedCount as number;
	}
}

/* ---------- the mixin ---------- */

export function storageMode(): "mongo" | "memory" | "shared-memory" | "files" {
	if (envString("MONGO_URI")) return "mongo";
	const dir = envString("DATA_DIR");
	if (dir === ":memory:") return "memory";
	// Tests only: every broker of this process sees the same in-memory collections, as replicas
	// of a service see one MongoDB. (NeDB files cannot be shared between processes.)
	if (dir === ":memory:shared") return "shared-memory";
	return "files";
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const sharedAdapters = new Map<string, any>();

export function dataDir(): string {
	return resolve(envString("DATA_DIR", "./data"));
}

interface Opened {
	spec: CollectionSpec;
	// eslint-disable-next-line @typescript-eslint/no-explicit-any
	adapter: any;
	store: Store;
}

function mongooseModel(spec: CollectionSpec) {
	// Required lazily: embedded mode never loads mongoose.
	// eslint-disable-next-line @typescript-eslint/no-var-requires
	const mongoose = require("mongoose");
	if (mongoose.models[spec.name]) return mongoose.models[spec.name];
	const schema = new mongoose.Schema(
		{ _id: { type: String, required: true }, ...(spec.fields ?? {}) },
		{ collection: spec.name, strict: false, versionKey: false, autoIndex: false },
	);
	for (const ix of spec.indexes ?? []) {
		const opts: Record<string, unknown> = {};
		if (ix.unique) opts.unique = true;
		if (ix.sparse) opts.sparse = true;
		if (ix.expireAfterSeconds !== undefined) opts.expireAfterSeconds = ix.expireAfterSeconds;
		schema.index({ [ix.field]: 1 }, opts);
	}
	return mongoose.model(spec.name, schema);
}

function openCollection(service: Service, spec: CollectionSpec): Opened {
	const mode = storageMode();
	if (mode === "mongo") {
		// eslint-disable-next-line @typescript-eslint/no-var-requires
		const MongooseAdapter = require("moleculer-db-adapter-mongoose");
		const adapter = new MongooseAdapter(envString("MONGO_URI"), { serverSelectionTimeoutMS: 5000 });
		adapter.init(service.broker, { schema: { model: mongooseModel(spec) }, settings: {}, logger: service.logger });
		return { spec, adapter, store: new MongoStore(spec.name, adapter) };
	}
	installNeDbIndexSwap();
	if (mode === "shared-memory") {
		// One MemoryAdapter per collection for the whole process, connected once.
		if (!sharedAdapters.has(spec.name)) {
			const shared = new MemoryAdapter({});
			shared.init(service.broker, service);
			sharedAdapters.set(spec.name, { db: null, ready: shared.connect().then(() => shared.db), shared });
		}
		const entry = sharedAdapters.get(spec.name);
		const adapter = {
			get db() {
				return entry.shared.db;
			},
			connect: () => entry.ready,
			disconnect: async () => undefined,
		};
		return { spec, adapter, store: new NeDbStore(spec.name, adapter) };
	}
	if (mode === "files") installNeDbAppendHandles();
	const opts = mode === "memory" ? {} : { filename: join(dataDir(), `${spec.name}.db`) };
	const adapter = new MemoryAdapter(opts);
	adapter.init(service.broker, service);
	return { spec, adapter, store: new NeDbStore(spec.name, adapter) };
}

async function connect(service: Service, o: Opened) {
	await o.adapter.connect();
	if (storageMode() === "mongo") {
		await o.adapter.model.createIndexes();
		return;
	}
	for (const ix of o.spec.indexes ?? []) {
		await o.adapter.db.ensureIndexAsync({
			fieldName: ix.field,
			unique: !!ix.unique,
			sparse: !!ix.sparse,
			...(ix.expireAfterSeconds !== undefined ? { expireAfterSeconds: ix.expireAfterSeconds } : {}),
		});
	}
	// A file grows by a line per update: rewritten once it has grown by its size (nedb-append.ts).
	if (storageMode() === "files") {
		const db = o.adapter.db;
		compactWhenGrown(
			db.filename,
			() => db.compactDatafileAsync(),
			envInt("NEDB_COMPACT_MIN_BYTES", 8 << 20),
			err => service.logger.warn(`Rewriting ${db.filename} to the size of its data failed; tried again later`, err),
		);
	}
}

// One mongoose connection serves every collection of the process: close it with the last one.
let mongoUsers = 0;

async function disconnect(o: Opened) {
	if (storageMode() === "mongo") {
		if (--mongoUsers === 0) {
			// eslint-disable-next-line @typescript-eslint/no-var-requires
			await require("mongoose").disconnect();
		}
		return;
	}
	// Rewrite the append-only file so it stays the size of the data.
	if (storageMode() === "files") {
		await releaseNeDbAppendHandle(o.adapter.db.filename);
		await o.adapter.db.compactDatafileAsync();
	}
}

function findOpened(service: Service, spec: CollectionSpec): Opened {
	const all = (service as unknown as { _opened: Opened[] })._opened;
	const o = all.find(x => x.spec === spec);
	if (!o) throw new Error(`Collection ${spec.name} was not opened`);
	return o;
}

/** `createDbMixin([accounts, groups])` gives `this.db.accounts`, `this.db.groups`. */
export function createDbMixin(collections: CollectionSpec[]): Partial<ServiceSchema> {
	return {
		created(this: Service) {
			if (storageMode() === "files") mkdirSync(dataDir(), { recursive: true });
			// Several db mixins (the service's own and the jobs mixin's) add to one `this.db`.
			const self = this as unknown as { db?: Record<string, Store>; _opened?: Opened[] };
			const opened = collections.map(spec => openCollection(this, spec));
			self._opened = [...(self._opened ?? []), ...opened];
			self.db = { ...(self.db ?? {}), ...Object.fromEntries(opened.map(o => [o.spec.name, o.store])) };
		},
		async started(this: Service) {
			for (const o of collections.map(spec => findOpened(this, spec))) {
				await connect(this, o);
				if (storageMode() === "mongo") mongoUsers++;
			}
		},
		async stopped(this: Service) {
			for (const o of collections.map(spec => findOpened(this, spec))) await disconnect(o);
		},
	};
}

/**
 * Atomically adds 1 to the counter document `id` (created on first use) and returns the new
 * count. Parallel callers each see a different count, so a limit can never be overshot.
 */
export async function bumpCounter(store: Store, id: string, expiresAt: Date): Promise<number> {
	for (let attempt = 0; ; attempt++) {
		try {
			const doc = await store.updateOne({ _id: id }, { $inc: { count: 1 }, $set: { expiresAt } }, { upsert: true });
			return (doc?.count as number) ?? 1;
		} catch (err) {
			// Two first uses raced on MongoDB: the loser's upsert hits the unique _id; the next try increments.
			if (!(err instanceof DuplicateKeyError) || attempt > 2) throw err;
		}
	}
}

/**
 * Fixed-window limits on one key ("1 per minute and 5 per hour"): counts the hit in every window
 * and returns 0 when allowed, else the seconds until the fullest window ends.
 */
export async function hitLimits(store: Store, key: string, limits: { limit: number; windowSeconds: number }[], nowMs: number): Promise<number> {
	let retryAfter = 0;
	for (const l of limits) {
		const windowMs = l.windowSeconds * 1000;
		const bucket = Math.floor(nowMs / windowMs);
		const end = (bucket + 1) * windowMs;
		const count = await bumpCounter(store, `${key}|${l.windowSeconds}|${bucket}`, new Date(end));
		if (count > l.limit) retryAfter = Math.max(retryAfter, (end - nowMs) / 1000);
	}
	return retryAfter;
}
