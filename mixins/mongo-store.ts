// The MongoDB store (MONGO_URI): every collection of the process on one connection (mongoose's
// default connection, the one /ready watches), used through the driver's native collections: the
// store's queries are MongoDB's query language as written, with no schema casting. The declared
// indexes are created at start. Services share the database between replicas.
//
// Verified on FerretDB 1.24 (`npm run test:mongo`). Where a server lacks something the store needs,
// the fallback lives here, naming the server and the difference:
// - FerretDB 1.24 has no TTL indexes: a TTL index the server refuses becomes a plain index, and
//   this store deletes the expired documents every minute, as the SQLite store does.
// - FerretDB 1.x applies an update or a removal by reading the matching documents, changing them
//   itself and writing them back by _id, with nothing checking that they did not change in between:
//   two concurrent `{used: {$lt: 7}}` + `$inc` updates both succeed from the same value (lost
//   updates, limits overshot). On it, each update and removal holds a lock on every document it
//   writes (LockedWrites); on MongoDB the server's own atomic operations are used (ServerWrites).
//
// moleculer-db-adapter-mongoose (model mode) holds each collection's model and joins the
// connection; two of its traps are stepped around here: its connect() throws "MongoDB connection
// failed" with the driver's error (refused, authentication, DNS, …) dropped, so the connection is
// opened first, here, with the reason kept, and the adapter joins it; and loading it switches
// mongoose's strictQuery on for the whole process, so the setting is put back.
import type { Service } from "moleculer";
import type { mongo } from "mongoose";
import type { CollectionSpec } from "../models/collection";
import { envString } from "../lib/config";
import { maskString } from "../lib/mask";
import { DuplicateKeyError, type Doc, type FindOptions, type Query, type Store, type Update } from "./store";

/** How often expired documents are deleted where the server has no TTL index (the SQLite store's pace). */
const SWEEP_MS = 60_000;

function isMongoDuplicate(err: unknown) {
	const e = err as { code?: number; message?: string };
	if (e?.code === 11000) return true;
	// FerretDB 1.24: an update that breaks a unique index answers InternalError (1) with
	// PostgreSQL's unique_violation, not DuplicateKey.
	return e?.code === 1 && /SQLSTATE 23505/.test(e.message ?? "");
}

/**
 * Increments go as doubles. FerretDB 1.24 adds two 32-bit integers with wraparound
 * (2147483000 + 1000 → -2147483296) where MongoDB promotes to a 64-bit long, and the driver sends
 * every integer that fits 32 bits as one: a balance in micro-units passing 2,147 would turn
 * negative. A 32-bit integer plus a double is a double on every server, exact up to 2^53 like
 * the JavaScript number it is read back as.
 */
function portableUpdate(update: Update): Update {
	const inc = update.$inc as Record<string, unknown> | undefined;
	if (!inc) return update;
	const { Double } = mongoose().mongo;
	return { ...update, $inc: Object.fromEntries(Object.entries(inc).map(([k, v]) => [k, typeof v === "number" ? new Double(v) : v])) };
}

/** Updates and removals of documents that concurrent requests may write too. */
interface DocumentWrites {
	updateOne(query: Query, update: Update, upsert: boolean): Promise<Doc | null>;
	updateMany(query: Query, update: Update): Promise<number>;
	remove(query: Query): Promise<number>;
}

/** A server whose every single-document write is atomic with its condition (MongoDB). */
class ServerWrites implements DocumentWrites {
	constructor(private coll: mongo.Collection) {}
	updateOne(query: Query, update: Update, upsert: boolean) {
		return this.coll.findOneAndUpdate(query, update, { returnDocument: "after", upsert, includeResultMetadata: false }) as Promise<Doc | null>;
	}
	async updateMany(query: Query, update: Update) {
		return (await this.coll.updateMany(query, update)).matchedCount; // documents matched, changed or not
	}
	async remove(query: Query) {
		return (await this.coll.deleteMany(query)).deletedCount;
	}
}

/**
 * FerretDB 1.x: every document an update or a removal writes is locked first (DocumentLocks), its
 * condition then evaluated and applied by the server while nobody else can write it. Every writer
 * of an existing document goes through here; inserts need no lock (the unique _id decides).
 */
class LockedWrites implements DocumentWrites {
	constructor(
		private coll: mongo.Collection,
		private locks: DocumentLocks,
	) {}
	private applyOne(query: Query, update: Update, upsert: boolean) {
		return this.coll.findOneAndUpdate(query, update, { returnDocument: "after", upsert, includeResultMetadata: false }) as Promise<Doc | null>;
	}
	async updateOne(query: Query, update: Update, upsert: boolean) {
		// The document is named: lock it, even before it exists (an upsert).
		if (typeof query._id === "string") return this.locks.holding(query._id, () => this.applyOne(query, update, upsert));
		for (;;) {
			const candidate = await this.coll.findOne(query, { projection: { _id: 1 } });
			if (!candidate) return upsert ? this.applyOne(query, update, true) : null;
			const id = candidate._id as unknown as string;
			const after = await this.locks.holding(id, () => this.applyOne(withId(query, id), update, false));
			if (after) return after;
			// It changed between the look and the lock: look again.
		}
	}
	async updateMany(query: Query, update: Update) {
		let matched = 0;
		for (const id of await this.idsOf(query)) {
			const res = await this.locks.holding(id, () => this.coll.updateOne(withId(query, id), update));
			matched += res.matchedCount;
		}
		return matched;
	}
	async remove(query: Query) {
		let removed = 0;
		for (const id of await this.idsOf(query)) {
			const res = await this.locks.holding(id, () => this.coll.deleteOne(withId(query, id)));
			removed += res.deletedCount;
		}
		return removed;
	}
	private async idsOf(query: Query) {
		return (await this.coll.find(query, { projection: { _id: 1 } }).toArray()).map(d => d._id as unknown as string);
	}
}

const turns = new Map<string, Promise<unknown>>();
/** Runs `fn` once every earlier `fn` of the same key in this process has settled. */
function inTurn<R>(key: string, fn: () => Promise<R>): Promise<R> {
	const previous = turns.get(key) ?? Promise.resolve();
	const mine = previous.then(fn, fn);
	const settled = mine.then(
		() => undefined,
		() => undefined,
	);
	turns.set(key, settled);
	void settled.then(() => {
		if (turns.get(key) === settled) turns.delete(key);
	});
	return mine;
}

/**
 * `query` narrowed to the document `id`, with `_id` a top-level equality: FerretDB 1.24 hands
 * top-level equalities to PostgreSQL and evaluates the rest (`$and`, `$or`, ranges) itself, on
 * every document of the collection.
 */
function withId(query: Query, id: string): Query {
	if (!("_id" in query)) return { ...query, _id: id };
	const and = (query.$and as Query[] | undefined) ?? [];
	return { ...query, _id: id, $and: [...and, { _id: query._id }] };
}

/** How long a lock holds when its holder died before releasing it (a write takes milliseconds). */
const LOCK_MS = 15_000;
/** The collection of document locks, shared by every collection of the database. */
const LOCKS_COLLECTION = "_store_locks";

/**
 * Locks on documents over a server where inserting a document of an existing _id is the only
 * atomic conditional write (FerretDB 1.x): a lock is a document `<collection>/<id>` in
 * LOCKS_COLLECTION, taken by inserting it and released by deleting it. A holder that died leaves
 * it until it expires (LOCK_MS), then a waiter removes it.
 */
class DocumentLocks {
	constructor(
		private locks: mongo.Collection,
		private collection: string,
	) {}
	async holding<R>(id: string, write: () => Promise<R>): Promise<R> {
		const key = `${this.collection}/${id}`;
		// Writers of this process queue here, so only one of them at a time asks the server.
		return inTurn(key, async () => {
			const holder = `${process.pid}-${Math.random().toString(36).slice(2)}`;
			await this.take(key, holder);
			try {
				return await write();
			} finally {
				// Not released (the server went away): it expires after LOCK_MS; the write stands.
				await this.locks.deleteOne({ _id: key, holder } as never).catch(() => undefined);
			}
		});
	}
	private async take(key: string, holder: string) {
		const deadline = Date.now() + 2 * LOCK_MS;
		for (let wait = 1; ; wait = Math.min(wait * 2, 32)) {
			try {
				await this.locks.insertOne({ _id: key, holder, until: new Date(Date.now() + LOCK_MS) } as never);
				return;
			} catch (err) {
				if (!isMongoDuplicate(err)) throw err;
			}
			const current = await this.locks.findOne({ _id: key } as never);
			if (current && (current.until as Date).getTime() < Date.now()) {
				await this.locks.deleteOne({ _id: key, holder: current.holder } as never); // its holder died
				continue;
			}
			if (Date.now() > deadline) throw new Error(`Document ${key} stayed locked for ${(2 * LOCK_MS) / 1000} s`);
			await new Promise(r => setTimeout(r, wait * (0.5 + Math.random())));
		}
	}
}

export class MongoStore<T extends Doc> implements Store<T> {
	readonly atomicBatches = false;
	/** Set when the service starts (connect). */
	private conn: { coll: mongo.Collection; writes: DocumentWrites } | null = null;
	constructor(public readonly name: string) {}
	attach(conn: { coll: mongo.Collection; writes: DocumentWrites } | null) {
		this.conn = conn;
	}
	private get connected() {
		if (!this.conn) throw new Error(`Collection ${this.name} used before its service connected to MongoDB`);
		return this.conn;
	}
	private get c(): mongo.Collection {
		return this.connected.coll;
	}
	private get writes(): DocumentWrites {
		return this.connected.writes;
	}
	async insert(doc: T) {
		try {
			await this.c.insertOne({ ...doc } as never);
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
			await this.c.insertMany(
				docs.map(d => ({ ...d }) as never),
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
		return this.c.findOne(query) as Promise<T | null>;
	}
	findById(id: string) {
		return this.findOne({ _id: id });
	}
	find(query: Query, opts: FindOptions = {}) {
		let cursor = this.c.find(query, opts.fields ? { projection: Object.fromEntries(opts.fields.map(f => [f, 1])) } : {});
		if (opts.sort) cursor = cursor.sort(opts.sort);
		if (opts.skip) cursor = cursor.skip(opts.skip);
		if (opts.limit) cursor = cursor.limit(opts.limit);
		return cursor.toArray() as unknown as Promise<T[]>;
	}
	count(query: Query) {
		return this.c.countDocuments(query);
	}
	async updateOne(query: Query, update: Update, opts: { upsert?: boolean } = {}) {
		try {
			return (await this.writes.updateOne(query, portableUpdate(update), !!opts.upsert)) as T | null;
		} catch (err) {
			if (isMongoDuplicate(err)) throw new DuplicateKeyError(this.name);
			throw err;
		}
	}
	updateMany(query: Query, update: Update) {
		return this.writes.updateMany(query, portableUpdate(update));
	}
	remove(query: Query) {
		return this.writes.remove(query);
	}
}

interface SweptIndex {
	field: string;
	seconds: number;
}

/** FerretDB 1.24: `Index option "expireAfterSeconds" is not implemented yet` (NotImplemented, 238). */
function isTtlRefused(err: unknown) {
	const e = err as { code?: number; codeName?: string; message?: string };
	return (e?.code === 238 || e?.codeName === "NotImplemented") && /expireAfterSeconds/.test(e.message ?? "");
}

/** Creates the declared indexes; answers the TTL ones the server refused, which the store sweeps. */
async function createIndexes(coll: mongo.Collection, spec: CollectionSpec): Promise<SweptIndex[]> {
	const swept: SweptIndex[] = [];
	for (const ix of spec.indexes ?? []) {
		const keys = Object.fromEntries([ix.field, ...(ix.then ?? [])].map(f => [f, 1 as const]));
		const opts: mongo.CreateIndexesOptions = {};
		if (ix.unique) opts.unique = true;
		if (ix.sparse) opts.sparse = true;
		if (ix.expireAfterSeconds === undefined) {
			await coll.createIndex(keys, opts);
			continue;
		}
		try {
			await coll.createIndex(keys, { ...opts, expireAfterSeconds: ix.expireAfterSeconds });
		} catch (err) {
			if (!isTtlRefused(err)) throw err;
			await coll.createIndex(keys, opts);
			swept.push({ field: ix.field, seconds: ix.expireAfterSeconds });
		}
	}
	return swept;
}

/** Deletes what a TTL index would have: documents whose date in `field` is `seconds` old. */
async function sweepExpired(writes: DocumentWrites, swept: SweptIndex[], nowMs = Date.now()): Promise<number> {
	let removed = 0;
	for (const { field, seconds } of swept) {
		// $lt on a date matches dates only, as a TTL index ignores documents without a date there.
		removed += await writes.remove({ [field]: { $lt: new Date(nowMs - seconds * 1000) } });
	}
	return removed;
}

// One connection serves every collection of the process (every broker in it): opened by the first
// collection to connect, closed with the last one.
interface Database {
	db: mongo.Db;
	/** FerretDB 1.x: updates are not atomic with their condition (see LockedWrites). */
	locksWrites: boolean;
}
let connecting: Promise<Database> | null = null;
let users = 0;

function mongoose() {
	// Required lazily: embedded mode never loads mongoose.
	// eslint-disable-next-line @typescript-eslint/no-var-requires
	return require("mongoose") as typeof import("mongoose");
}

function connectDatabase(): Promise<Database> {
	if (connecting) return connecting;
	const uri = envString("MONGO_URI");
	connecting = mongoose()
		.connect(uri, { serverSelectionTimeoutMS: 5000 })
		.then(async m => {
			// The adapter of each collection listens to the one connection ("disconnected", "error"):
			// a service with many collections passes Node's default of 10 listeners.
			m.connection.setMaxListeners(100);
			const db = m.connection.db!;
			const info = await db.admin().command({ buildInfo: 1 });
			return { db, locksWrites: /^v?1\./.test(String(info.ferretdbVersion ?? "")) };
		})
		.catch(async (err: Error) => {
			connecting = null;
			await mongoose()
				.disconnect()
				.catch(() => undefined);
			// The driver's reason (refused, authentication, DNS, TLS, …), never a bare "failed".
			throw new Error(`MongoDB at ${maskString(uri)} could not be reached: ${err.message}`, { cause: err });
		});
	return connecting;
}

/** Whether a collection of this process is on MongoDB (a gateway-only process holds none). */
export function databaseInUse(): boolean {
	return users > 0;
}

async function releaseDatabase() {
	if (--users > 0) return;
	connecting = null;
	await mongoose().disconnect();
}

/** The collection's mongoose model (typed fields; indexes are created by createIndexes). */
function mongooseModel(spec: CollectionSpec) {
	const m = mongoose();
	if (m.models[spec.name]) return m.models[spec.name];
	const schema = new m.Schema(
		{ _id: { type: String, required: true }, ...(spec.fields ?? {}) },
		{ collection: spec.name, strict: false, versionKey: false, autoIndex: false },
	);
	return m.model(spec.name, schema);
}

/** moleculer-db-adapter-mongoose, loaded without keeping the strictQuery it sets process-wide. */
function mongooseAdapter() {
	const before = mongoose().get("strictQuery");
	// eslint-disable-next-line @typescript-eslint/no-var-requires
	const Adapter = require("moleculer-db-adapter-mongoose");
	mongoose().set("strictQuery", before);
	return Adapter;
}

/** A collection on MongoDB: its store, and how to open and close it. */
export function openMongoCollection(service: Service, spec: CollectionSpec) {
	const store = new MongoStore(spec.name);
	let sweeper: NodeJS.Timeout | null = null;
	let open = false; // holds one use of the connection
	return {
		store: store as Store,
		async connect() {
			users++;
			open = true;
			try {
				const { db, locksWrites } = await connectDatabase();
				// The adapter joins the open connection (its connect() only connects when none is).
				const Adapter = mongooseAdapter();
				const adapter = new Adapter(envString("MONGO_URI"), { serverSelectionTimeoutMS: 5000 });
				adapter.init(service.broker, { schema: { model: mongooseModel(spec) }, settings: {}, logger: service.logger });
				await adapter.connect();
				const coll = (adapter.db as mongo.Db).collection(spec.name);
				const writes = locksWrites ? new LockedWrites(coll, new DocumentLocks(db.collection(LOCKS_COLLECTION), spec.name)) : new ServerWrites(coll);
				store.attach({ coll, writes });
				const swept = await createIndexes(coll, spec);
				if (!swept.length) return;
				const sweep = () =>
					sweepExpired(writes, swept).catch(err => service.logger.warn(`Deleting expired documents of ${spec.name} failed:`, maskString(String(err))));
				await sweep();
				sweeper = setInterval(sweep, SWEEP_MS);
				sweeper.unref();
			} catch (err) {
				store.attach(null);
				open = false;
				await releaseDatabase();
				throw err;
			}
		},
		async close() {
			if (sweeper) clearInterval(sweeper);
			sweeper = null;
			store.attach(null);
			if (!open) return;
			open = false;
			await releaseDatabase();
		},
	};
}
