// Storage for a service's own collections: `createDbMixin([accounts, groups])` gives
// `this.db.accounts`, `this.db.groups`, each a Store (store.ts). MONGO_URI → MongoDB
// (mongo-store.ts); otherwise SQLite (sqlite-store.ts): one database file per service under
// DATA_DIR, in memory with DATA_DIR=:memory:, or, for tests of replicas inside one process,
// DATA_DIR=:memory:shared (every broker of the process sees the same in-memory database).
import { mkdirSync } from "fs";
import { join } from "path";
import type { ServiceSchema, Service } from "moleculer";
import type { CollectionSpec } from "../models/collection";
import { openMongoCollection } from "./mongo-store";
import { acquireSqliteFile, databaseFileName, refuseNeDbFiles, releaseSqliteFile } from "./sqlite-store";
import { dataDir, storageMode, type Store } from "./store";

export { DuplicateKeyError, dataDir, storageMode, type Doc, type Query, type Store } from "./store";
export { bumpCounter, hitLimits } from "./counters";

interface Opened {
	spec: CollectionSpec;
	store: Store;
	connect(): Promise<void>;
	close(): Promise<void>;
}

type DbService = Service & { db?: Record<string, Store>; _opened?: Opened[] };

/** Which SQLite database a service's collections live in, and where (null: in memory). */
function sqliteTarget(service: Service): { key: string; path: string | null; keep: boolean } {
	switch (storageMode()) {
		case "memory":
			// Each broker's service has its own: several platforms in one test process stay apart.
			return { key: `memory:${service.broker.nodeID}:${service.fullName}:${memoryId(service)}`, path: null, keep: false };
		case "shared-memory":
			return { key: `shared:${service.name}`, path: null, keep: true };
		default: {
			const path = join(dataDir(), databaseFileName(service.name));
			return { key: path, path, keep: false };
		}
	}
}

const memoryIds = new WeakMap<Service, string>();
function memoryId(service: Service) {
	let id = memoryIds.get(service);
	if (!id) memoryIds.set(service, (id = Math.random().toString(36).slice(2)));
	return id;
}

function openCollection(service: Service, spec: CollectionSpec): Opened {
	if (storageMode() === "mongo") return { spec, ...openMongoCollection(service, spec) };
	const target = sqliteTarget(service);
	const file = acquireSqliteFile(target.key, target.path);
	return {
		spec,
		store: file.collection(spec),
		connect: async () => undefined,
		close: async () => releaseSqliteFile(target.key, target.keep),
	};
}

export function createDbMixin(collections: CollectionSpec[]): Partial<ServiceSchema> {
	return {
		created(this: DbService) {
			if (storageMode() === "files") {
				refuseNeDbFiles(dataDir());
				mkdirSync(dataDir(), { recursive: true });
			}
			// Several db mixins (the service's own and the jobs mixin's) add to one `this.db`.
			const opened = collections.map(spec => openCollection(this, spec));
			this._opened = [...(this._opened ?? []), ...opened];
			this.db = { ...(this.db ?? {}), ...Object.fromEntries(opened.map(o => [o.spec.name, o.store])) };
		},
		async started(this: DbService) {
			for (const o of openedOf(this, collections)) await o.connect();
		},
		async stopped(this: DbService) {
			for (const o of openedOf(this, collections)) await o.close();
		},
	};
}

function openedOf(service: DbService, specs: CollectionSpec[]): Opened[] {
	return specs.map(spec => {
		const o = service._opened?.find(x => x.spec === spec);
		if (!o) throw new Error(`Collection ${spec.name} was not opened`);
		return o;
	});
}
