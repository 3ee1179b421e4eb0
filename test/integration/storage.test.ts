// The portable Store (mixins/store.ts) behaves the same on every backend: SQLite in memory, SQLite
// files under DATA_DIR, and MongoDB when MONGO_URI or MONGOMS_SYSTEM_BINARY is set (otherwise that
// leg is reported as skipped, with the reason). Also the job leases built on it.
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { ServiceBroker } from "moleculer";
import { createDbMixin, DuplicateKeyError, bumpCounter, type Store } from "../../mixins/db.mixin";
import { createJobsMixin } from "../../mixins/jobs.mixin";
import { collection } from "../../models/collection";

const people = collection({
	name: "test_people",
	indexes: [
		{ field: "email", unique: true },
		{ field: "expiresAt", expireAfterSeconds: 3600 },
	],
	fields: { email: String, name: String, age: Number, createdAt: Date },
});
const counters = collection({ name: "test_counters" });

interface Backend {
	name: string;
	env: () => Promise<Record<string, string>>;
	skip?: string;
	cleanup?: () => Promise<void>;
}

const tmp = mkdtempSync(join(tmpdir(), "qm-storage-"));
let mongoStop: (() => Promise<void>) | undefined;

// Read once: the SQLite legs run first and clear MONGO_URI for their brokers.
const mongoUri = process.env.MONGO_URI;
const mongoReason =
	mongoUri || process.env.MONGOMS_SYSTEM_BINARY
		? undefined
		: "MongoDB leg skipped: set MONGO_URI or MONGOMS_SYSTEM_BINARY to run it (no MongoDB server on this machine)";
const backends: Backend[] = [
	{ name: "SQLite in memory", env: async () => ({ DATA_DIR: ":memory:", MONGO_URI: "" }) },
	{ name: "SQLite files", env: async () => ({ DATA_DIR: join(tmp, "files"), MONGO_URI: "" }) },
	{
		name: "MongoDB",
		skip: mongoReason,
		env: async () => {
			if (mongoUri) return { MONGO_URI: mongoUri };
			const { MongoMemoryServer } = await import("mongodb-memory-server-core");
			const server = await MongoMemoryServer.create({ binary: { systemBinary: process.env.MONGOMS_SYSTEM_BINARY } });
			mongoStop = () => server.stop().then(() => undefined);
			return { MONGO_URI: server.getUri("qm-storage-test") };
		},
		cleanup: async () => mongoStop?.(),
	},
];

if (mongoReason) console.warn(mongoReason);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function openBroker(env: Record<string, string>) {
	for (const [k, v] of Object.entries(env)) {
		if (v) process.env[k] = v;
		else delete process.env[k];
	}
	process.env.QM_JOBS = "off";
	const broker = new ServiceBroker({ logger: false });
	let runs = 0;
	const svc = broker.createService({
		name: "storetest",
		mixins: [createDbMixin([people, counters]), createJobsMixin("storetest")],
		jobs: {
			slow: {
				cron: "0 0 1 1 *",
				async handler() {
					runs++;
					await new Promise(r => setTimeout(r, 100));
					return runs;
				},
			},
		},
	} as never) as unknown as { db: Record<string, Store>; runJob(name: string, tick?: Date): Promise<{ processed: number; skipped?: boolean }> };
	await broker.start();
	return { broker, svc, db: svc.db, runs: () => runs };
}

describe.each(backends.map(b => [b.name, b] as const))("Store on %s", (_name, backend) => {
	const run = backend.skip ? describe.skip : describe;
	run("operations", () => {
		let ctx: Awaited<ReturnType<typeof openBroker>>;
		let env: Record<string, string>;
		beforeAll(async () => {
			env = await backend.env();
			ctx = await openBroker(env);
			await ctx.db.test_people.remove({});
			await ctx.db.test_counters.remove({});
		});
		afterAll(async () => {
			await ctx?.broker.stop();
			await backend.cleanup?.();
		});

		it("inserts, finds and refuses a second document with a unique value", async () => {
			const t = new Date("2026-01-02T03:04:05Z");
			await ctx.db.test_people.insert({ _id: "p1", email: "a@example.com", name: "Ann", age: 30, createdAt: t });
			const back = await ctx.db.test_people.findById("p1");
			expect(back).toMatchObject({ _id: "p1", email: "a@example.com", age: 30 });
			expect(new Date(back!.createdAt as Date).getTime()).toBe(t.getTime());
			await expect(ctx.db.test_people.insert({ _id: "p2", email: "a@example.com" })).rejects.toBeInstanceOf(DuplicateKeyError);
			await expect(ctx.db.test_people.insert({ _id: "p1", email: "other@example.com" })).rejects.toBeInstanceOf(DuplicateKeyError);
			expect(await ctx.db.test_people.count({})).toBe(1);
		});

		it("queries with $in, $or, $regex, date ranges, sort, skip and limit the same way", async () => {
			const base = Date.parse("2026-03-01T00:00:00Z");
			for (let i = 0; i < 10; i++) {
				await ctx.db.test_people.insert({
					_id: `q${i}`,
					email: `q${i}@Example.com`,
					name: i % 2 ? "Odd" : "Even",
					age: i,
					createdAt: new Date(base + i * 3600_000),
				});
			}
			const page = await ctx.db.test_people.find({ _id: { $regex: /^q/ } }, { sort: { age: -1 }, skip: 2, limit: 3 });
			expect(page.map(p => p.age)).toEqual([7, 6, 5]);
			expect((await ctx.db.test_people.find({ age: { $in: [1, 3, 99] } }, { sort: { age: 1 } })).map(p => p._id)).toEqual(["q1", "q3"]);
			expect(await ctx.db.test_people.count({ $or: [{ age: 0 }, { name: "Odd", age: { $gte: 7 } }] })).toBe(3);
			expect(await ctx.db.test_people.count({ email: { $regex: /Q2@EXAMPLE/i } })).toBe(1);
			expect(await ctx.db.test_people.count({ createdAt: { $gte: new Date(base + 5 * 3600_000), $lt: new Date(base + 8 * 3600_000) } })).toBe(3);
		});

		it("reads only the fields asked for, dotted paths included", async () => {
			await ctx.db.test_people.insert({ _id: "f1", email: "f1@example.com", name: "Fay", age: 40, address: { city: "Oslo", zip: "0150" } });
			expect(await ctx.db.test_people.find({ _id: "f1" }, { fields: ["name", "address.city", "missing"] })).toEqual([
				{ _id: "f1", name: "Fay", address: { city: "Oslo" } },
			]);
		});

		it("inserts many, answering which ones a unique index refused, the others in", async () => {
			await ctx.db.test_people.insert({ _id: "m2", email: "m2@example.com" });
			const refused = await ctx.db.test_people.insertMany([
				{ _id: "m1", email: "m1@example.com" },
				{ _id: "m2", email: "again@example.com" },
				{ _id: "m3", email: "m3@example.com" },
				{ _id: "m4", email: "m1@example.com" },
			]);
			expect(refused).toEqual([1, 3]);
			expect((await ctx.db.test_people.find({ _id: { $in: ["m1", "m2", "m3", "m4"] } }, { sort: { _id: 1 } })).map(p => [p._id, p.email])).toEqual([
				["m1", "m1@example.com"],
				["m2", "m2@example.com"],
				["m3", "m3@example.com"],
			]);
			expect(await ctx.db.test_people.insertMany([])).toEqual([]);
		});

		it("tests set membership portably: a key of a map, not $ne on an array", async () => {
			await ctx.db.test_counters.insert({ _id: "hour", taken: { b1: 1, b2: 1 }, n: 0 });
			const take = (batch: string) =>
				ctx.db.test_counters.updateOne({ _id: "hour", [`taken.${batch}`]: { $exists: false } }, { $inc: { n: 1 }, $set: { [`taken.${batch}`]: 1 } });
			expect(await take("b2")).toBeNull();
			expect(await take("b3")).toMatchObject({ n: 1, taken: { b1: 1, b2: 1, b3: 1 } });
			expect(await take("b3")).toBeNull();
		});

		it("keeps its indexes right through updates that keep, change or fail to change an indexed value", async () => {
			await ctx.db.test_people.insertMany([
				{ _id: "x1", email: "x1@example.com", name: "One", age: 1 },
				{ _id: "x2", email: "x2@example.com", name: "Two", age: 2 },
			]);
			await ctx.db.test_people.updateOne({ _id: "x1" }, { $set: { name: "Uno" } }); // the indexed email kept
			expect(await ctx.db.test_people.findOne({ email: "x1@example.com" })).toMatchObject({ _id: "x1", name: "Uno" });
			await ctx.db.test_people.updateOne({ _id: "x1" }, { $set: { email: "first@example.com" } });
			expect(await ctx.db.test_people.findOne({ email: "x1@example.com" })).toBeNull();
			expect(await ctx.db.test_people.findOne({ email: "first@example.com" })).toMatchObject({ _id: "x1", name: "Uno" });
			await expect(ctx.db.test_people.updateOne({ _id: "x2" }, { $set: { email: "first@example.com", age: 9 } })).rejects.toBeInstanceOf(DuplicateKeyError);
			expect(await ctx.db.test_people.findOne({ email: "x2@example.com" })).toMatchObject({ _id: "x2", age: 2 });
			await ctx.db.test_people.updateMany({ _id: { $in: ["x1", "x2"] } }, { $inc: { age: 10 } });
			expect((await ctx.db.test_people.find({ email: { $in: ["first@example.com", "x2@example.com"] } }, { sort: { age: 1 } })).map(p => p.age)).toEqual([
				11, 12,
			]);
		});

		it("updates one document atomically under a condition: 100 parallel reservations of 7 places", async () => {
			await ctx.db.test_counters.insert({ _id: "places", used: 0 });
			const results = await Promise.all(
				Array.from({ length: 100 }, () => ctx.db.test_counters.updateOne({ _id: "places", used: { $lt: 7 } }, { $inc: { used: 1 } })),
			);
			expect(results.filter(Boolean)).toHaveLength(7);
			expect((await ctx.db.test_counters.findById("places"))!.used).toBe(7);
			expect(new Set(results.filter(Boolean).map(r => r!.used))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7]));
		});

		it("adds past 32 bits without wrapping around (money in micro-units)", async () => {
			await ctx.db.test_counters.insert({ _id: "big", n: 2_147_483_000 });
			expect(await ctx.db.test_counters.updateOne({ _id: "big" }, { $inc: { n: 1000 } })).toMatchObject({ n: 2_147_484_000 });
			expect(await ctx.db.test_counters.updateMany({ _id: "big" }, { $inc: { n: -2_147_484_001 } })).toBe(1);
			expect(await ctx.db.test_counters.count({ _id: "big", n: -1 })).toBe(1);
		});

		it("counts parallel hits on a new counter without losing one", async () => {
			const expires = new Date(Date.now() + 60_000);
			const counts = await Promise.all(Array.from({ length: 50 }, () => bumpCounter(ctx.db.test_counters, "hits", expires)));
			expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
		});

		it("returns null for an update that matches nothing, upserts on request, and counts many-updates and removals", async () => {
			expect(await ctx.db.test_counters.updateOne({ _id: "nobody" }, { $set: { x: 1 } })).toBeNull();
			expect(await ctx.db.test_counters.findById("nobody")).toBeNull();
			expect(await ctx.db.test_counters.updateOne({ _id: "made" }, { $set: { x: 1 } }, { upsert: true })).toMatchObject({ _id: "made", x: 1 });
			expect(await ctx.db.test_people.updateMany({ name: "Odd" }, { $set: { flagged: true } })).toBe(5);
			expect(await ctx.db.test_people.count({ flagged: true })).toBe(5);
			expect(await ctx.db.test_people.updateOne({ _id: "q1" }, { $unset: { flagged: true } })).not.toHaveProperty("flagged");
			expect(await ctx.db.test_people.remove({ name: "Even" })).toBe(5);
		});

		it("runs a job once when two runs race, and a scheduled tick on one replica only", async () => {
			const before = ctx.runs();
			const [a, b] = await Promise.allSettled([ctx.svc.runJob("slow"), ctx.svc.runJob("slow")]);
			const outcomes = [a, b].map(r => (r.status === "fulfilled" ? "ran" : (r.reason as { type?: string }).type));
			expect(outcomes.sort()).toEqual(["CONFLICT", "ran"]);
			expect(ctx.runs()).toBe(before + 1);

			const tick = new Date("2026-05-01T10:00:00Z");
			const ticks = await Promise.all([ctx.svc.runJob("slow", tick), ctx.svc.runJob("slow", tick)]);
			expect(ticks.filter(t => !t.skipped)).toHaveLength(1);
			expect((await ctx.svc.runJob("slow", tick)).skipped).toBe(true); // a late replica of the same tick
			expect((await ctx.svc.runJob("slow")).processed).toBe(before + 3); // the lease was released
		});

		it("runs an atomic function as one transaction across two collections of the database (embedded only)", async () => {
			const { test_people: people, test_counters: counters } = ctx.db;
			if (!people.atomic) {
				expect(people.sync).toBeUndefined(); // MongoDB: no transaction across documents here, the callers run protocols
				return;
			}
			const both = () => {
				counters.sync!.insert({ _id: "tx", n: 1 });
				people.sync!.insert({ _id: "tx1", email: "tx@example.com" });
				return people.sync!.findById("tx1");
			};
			expect(await people.atomic(both, counters)).toMatchObject({ email: "tx@example.com" });
			// A unique index refusing the second write undoes the first: nothing half-written.
			await expect(
				people.atomic(() => {
					counters.sync!.updateOne({ _id: "tx" }, { $inc: { n: 1 } });
					people.sync!.insert({ _id: "tx2", email: "tx@example.com" });
				}, counters),
			).rejects.toBeInstanceOf(DuplicateKeyError);
			expect(await counters.findById("tx")).toMatchObject({ n: 1 });
			const doc = (await counters.findById("tx"))!;
			await people.atomic(() => counters.sync!.replace({ ...doc, n: 5 }), counters);
			expect(await counters.findOne({ n: 5 })).toMatchObject({ _id: "tx" });
			// A store of another database (another platform's, in memory) is refused: no transaction spans two.
			if (backend.name === "SQLite in memory") {
				const other = await openBroker(env);
				try {
					expect(() => people.atomic!(() => 0, other.db.test_counters)).toThrow(/not in the same database/);
				} finally {
					await other.broker.stop();
				}
			}
		});

		if (backend.name === "SQLite files") {
			it("keeps the data and the unique index across a restart", async () => {
				await ctx.broker.stop();
				ctx = await openBroker(env);
				expect(await ctx.db.test_people.findById("p1")).toMatchObject({ email: "a@example.com" });
				expect((await ctx.db.test_counters.findById("places"))!.used).toBe(7);
				await expect(ctx.db.test_people.insert({ _id: "p9", email: "a@example.com" })).rejects.toBeInstanceOf(DuplicateKeyError);
			});
		}
	});
});
