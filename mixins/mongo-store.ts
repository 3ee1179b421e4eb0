// The MongoDB store (MONGO_URI): moleculer-db-adapter-mongoose in `model:` mode, one mongoose
// connection for every collection of the process, the declared indexes created at start (TTL
// indexes drop expired documents on the server). Services share it between replicas.
import type { Service } from "moleculer";
import type { CollectionSpec } from "../models/collection";
import { envString } from "../lib/config";
import { DuplicateKeyError, type Doc, type FindOptions, type Query, type Store, type Update } from "./store";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Model = any;

function isMongoDuplicate(err: unknown) {
	return (err as { code?: number })?.code === 11000;
}

export class MongoStore<T extends Doc> implements Store<T> {
	readonly atomicBatches = false;
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
		return res.matchedCount as number; // documents matched, changed or not
	}
	async remove(query: Query) {
		const res = await this.model.collection.deleteMany(query);
		return res.deletedCount as number;
	}
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

// One mongoose connection serves every collection of the process: closed with the last one.
let mongoUsers = 0;

/** A collection on MongoDB: its store, and how to open and close it. */
export function openMongoCollection(service: Service, spec: CollectionSpec) {
	// eslint-disable-next-line @typescript-eslint/no-var-requires
	const MongooseAdapter = require("moleculer-db-adapter-mongoose");
	const adapter = new MongooseAdapter(envString("MONGO_URI"), { serverSelectionTimeoutMS: 5000 });
	adapter.init(service.broker, { schema: { model: mongooseModel(spec) }, settings: {}, logger: service.logger });
	return {
		store: new MongoStore(spec.name, adapter) as Store,
		async connect() {
			await adapter.connect();
			mongoUsers++;
			await adapter.model.createIndexes();
		},
		async close() {
			if (--mongoUsers === 0) {
				// eslint-disable-next-line @typescript-eslint/no-var-requires
				await require("mongoose").disconnect();
			}
		},
	};
}
