// Stored projections and compound indexes of the SQLite store (models/collection.ts): a read that
// asks for a declared projection's fields gets them from the projection's own narrow table
// (checksummed like the document), an existing file gains the table when a declaration adds it, a
// table from the layout before (projections in columns of the document's row) is rebuilt, and an
// index a compound one replaced is dropped.
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import Database from "better-sqlite3";
import { acquireSqliteFile, releaseSqliteFile } from "../../mixins/sqlite-store";
import type { Doc, Store } from "../../mixins/store";
import { collection, type CollectionSpec } from "../../models/collection";

const tmp = mkdtempSync(join(tmpdir(), "qm-projections-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Hour extends Doc {
	accountId: string;
	hour: number;
	name: string;
	rated: { nodes: { id: string; cost: number }[]; lines: string[] };
	at: Date;
}

const plain = collection({ name: "hours", indexes: [{ field: "accountId" }] });
const declared: CollectionSpec = {
	name: "hours",
	indexes: [{ field: "accountId", then: ["hour"] }],
	projections: [["name", "hour", "rated.nodes", "at"]],
};

const hourDoc = (i: number, accountId = "acc-1"): Hour => ({
	_id: `h${i}`,
	accountId,
	hour: i,
	name: `env ${i}`,
	rated: { nodes: [{ id: `n${i}`, cost: i * 10 }], lines: ["not in the projection"] },
	at: new Date(1_000 + i),
});

function open(file: string, spec: CollectionSpec): Store<Hour> {
	return acquireSqliteFile(file, file).collection<Hour>(spec);
}

/** The names of a collection's projection tables. */
function projectionTables(db: Database.Database, collection: string): string[] {
	return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ? ORDER BY name").pluck().all(`${collection}$p\_%`) as string[];
}

test("an existing file gains the projection's table and the compound index; reads of those fields come from the projection", async () => {
	const file = join(tmp, "gains.sqlite");
	const before = open(file, plain);
	for (let i = 0; i < 5; i++) await before.insert(hourDoc(i));
	await before.insert(hourDoc(9, "acc-2"));
	releaseSqliteFile(file);

	const store = open(file, declared);
	await store.insert(hourDoc(5)); // written with the projection from the start
	const got = await store.find({ accountId: "acc-1", hour: { $gte: 1, $lt: 6 } }, { fields: ["name", "hour", "rated.nodes", "at"] });
	expect(got.sort((a, b) => a.hour - b.hour)).toEqual(
		[1, 2, 3, 4, 5].map(i => ({ _id: `h${i}`, name: `env ${i}`, hour: i, rated: { nodes: [{ id: `n${i}`, cost: i * 10 }] }, at: new Date(1_000 + i) })),
	);
	// Fewer fields than the projection: only those.
	expect(await store.find({ accountId: "acc-2" }, { fields: ["hour"] })).toEqual([{ _id: "h9", hour: 9 }]);
	// A field the projection lacks: from the whole document.
	expect(await store.find({ accountId: "acc-2" }, { fields: ["rated.lines"] })).toEqual([{ _id: "h9", rated: { lines: ["not in the projection"] } }]);
	// A projection follows updates.
	await store.updateOne({ _id: "h1" }, { $set: { name: "renamed" } });
	expect(await store.find({ _id: "h1" }, { fields: ["name"] })).toEqual([{ _id: "h1", name: "renamed" }]);
	releaseSqliteFile(file);

	const db = new Database(file, { readonly: true });
	const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'hours' AND name LIKE 'ix%'").pluck().all();
	const plan = db
		.prepare("EXPLAIN QUERY PLAN SELECT _id FROM hours WHERE t_accountId = ? AND t_hour >= ? AND t_hour < ?")
		.all("acc-1", 0, 3)
		.map(r => (r as { detail: string }).detail)
		.join(" ");
	db.close();
	expect(indexes).toEqual(["ix_hours_accountId_hour"]); // the single-field index it replaced is gone
	expect(plan).toContain("ix_hours_accountId_hour (t_accountId=? AND t_hour>? AND t_hour<?)");
});

test("a projection's rows follow their documents: one each, gone with a removed document", async () => {
	const file = join(tmp, "follow.sqlite");
	const store = open(file, declared);
	for (let i = 0; i < 4; i++) await store.insert(hourDoc(i));
	await store.updateOne({ _id: "h2" }, { $set: { hour: 20 } });
	await store.updateOne({ _id: "h3" }, { $set: { "rated.lines": [] } }); // no projected field: its row stays as it was
	await store.remove({ _id: "h0" });
	expect(await store.find({ _id: "h3" }, { fields: ["name", "rated.nodes"] })).toEqual([
		{ _id: "h3", name: "env 3", rated: { nodes: [{ id: "n3", cost: 30 }] } },
	]);
	expect((await store.find({ accountId: "acc-1", hour: { $gte: 2 } }, { fields: ["hour"] })).map(d => d.hour).sort((a, b) => a - b)).toEqual([3, 20]);
	releaseSqliteFile(file);

	const db = new Database(file, { readonly: true });
	const [side] = projectionTables(db, "hours");
	const rows = db.prepare(`SELECT p.rid, p._id, h._id AS doc FROM "${side}" p LEFT JOIN hours h ON h.rid = p.rid ORDER BY p._id`).all();
	db.close();
	expect(rows).toEqual(["h1", "h2", "h3"].map(id => ({ rid: expect.any(Number), _id: id, doc: id })));
});

test("a projection table of an earlier row layout (or no longer declared) is dropped with its trigger; the declared one is built from the documents", async () => {
	const file = join(tmp, "earlier-layout.sqlite");
	const store = open(file, plain);
	for (let i = 0; i < 1_500; i++) await store.insert(hourDoc(i, i % 2 ? "acc-1" : "acc-2")); // more than one page of the fill
	releaseSqliteFile(file);
	// What the previous layout left: its table (the projection's JSON an object) and the trigger deleting its rows.
	const db = new Database(file);
	db.exec(`CREATE TABLE "hours$p_0ld" (rid INTEGER PRIMARY KEY, _id TEXT NOT NULL, doc TEXT NOT NULL, crc INTEGER NOT NULL, text TEXT)`);
	db.exec(`CREATE TRIGGER "hours$p_0ld$delete" AFTER DELETE ON hours BEGIN DELETE FROM "hours$p_0ld" WHERE rid = old.rid; END`);
	db.close();

	const again = open(file, declared);
	expect(await again.find({ accountId: "acc-1", hour: { $gte: 1_495 } }, { fields: ["name", "hour", "at"] })).toEqual([
		{ _id: "h1495", name: "env 1495", hour: 1_495, at: new Date(2_495) },
		{ _id: "h1497", name: "env 1497", hour: 1_497, at: new Date(2_497) },
		{ _id: "h1499", name: "env 1499", hour: 1_499, at: new Date(2_499) },
	]);
	expect(await again.remove({ _id: "h1499" })).toBe(1); // no trigger left pointing at a dropped table
	releaseSqliteFile(file);
	const after = new Database(file, { readonly: true });
	const tables = projectionTables(after, "hours");
	const triggers = after.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").pluck().all() as string[];
	const rows = after.prepare(`SELECT count(*) FROM "${tables[0]}"`).pluck().get();
	after.close();
	expect(tables).toHaveLength(1);
	expect(tables[0]).not.toBe("hours$p_0ld");
	expect(triggers).toEqual([`${tables[0]}$delete`]);
	expect(rows).toBe(1_499);
});

test("a table of the layout before (projection columns in the document's row, no rid) is rebuilt, its documents and projections kept", async () => {
	const file = join(tmp, "before.sqlite");
	const db = new Database(file);
	db.exec(`CREATE TABLE hours (_id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL, crc INTEGER NOT NULL, "i_accountId", "i_hour", "p_1" TEXT, "pc_1" INTEGER)`);
	db.exec(`CREATE INDEX "ix_hours_accountId_hour" ON hours ("i_accountId", "i_hour")`);
	const docs = [hourDoc(1), hourDoc(2, "acc-2")];
	const { crc32 } = await import("zlib");
	for (const d of docs) {
		const json = JSON.stringify({ ...d, _id: undefined, at: { $date: d.at.getTime() } });
		db.prepare("INSERT INTO hours VALUES (?, ?, ?, ?, ?, '{}', 0)").run(d._id, json, crc32(json), d.accountId, d.hour);
	}
	db.close();

	const store = open(file, declared);
	expect(await store.find({ accountId: "acc-2" }, { fields: ["name", "hour"] })).toEqual([{ _id: "h2", name: "env 2", hour: 2 }]);
	expect(await store.findById("h1")).toEqual(hourDoc(1));
	releaseSqliteFile(file);
	const after = new Database(file, { readonly: true });
	const columns = (after.pragma("table_info(hours)") as { name: string }[]).map(c => c.name);
	const tables = projectionTables(after, "hours");
	after.close();
	expect(columns).toEqual(["rid", "_id", "doc", "crc", "t_accountId", "t_hour"]);
	expect(tables).toHaveLength(1);
});

test("index columns from before they kept MongoDB's types (a Date as a number) are rebuilt, and a query on them answers as MongoDB does", async () => {
	const file = join(tmp, "untyped.sqlite");
	const spec: CollectionSpec = { name: "events", indexes: [{ field: "at" }, { field: "on" }] };
	const db = new Database(file);
	db.exec(`CREATE TABLE events (_id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL, crc INTEGER NOT NULL, "i_at", "i_on") WITHOUT ROWID`);
	db.exec(`CREATE INDEX "ix_events_at" ON events ("i_at")`);
	const { crc32 } = await import("zlib");
	// Then, the Date 5 and the number 5 were both 5 in the column, true was 1.
	for (const [id, at, on] of [
		["date", { $date: 5 }, true],
		["number", 5, 1],
	] as const) {
		const json = JSON.stringify({ at, on });
		db.prepare("INSERT INTO events VALUES (?, ?, ?, ?, ?)").run(id, json, crc32(json), 5, 1);
	}
	db.close();

	const store = open(file, spec);
	expect((await store.find({ at: { $gte: new Date(0), $lt: new Date(10) } })).map(d => d._id)).toEqual(["date"]);
	expect((await store.find({ at: { $gte: 0, $lt: 10 } })).map(d => d._id)).toEqual(["number"]);
	expect((await store.find({ on: true })).map(d => d._id)).toEqual(["date"]);
	expect((await store.find({ on: 1 })).map(d => d._id)).toEqual(["number"]);
	releaseSqliteFile(file);
	const after = new Database(file, { readonly: true });
	const columns = (after.pragma("table_info(events)") as { name: string }[]).map(c => c.name);
	const plan = after.prepare(`EXPLAIN QUERY PLAN SELECT _id FROM events WHERE "t_at" >= ?`).all(0) as { detail: string }[];
	after.close();
	expect(columns).toEqual(["_id", "doc", "crc", "t_at", "t_on"]);
	expect(plan.map(p => p.detail).join(" ")).toContain("INDEX ix_events_at");
});

test("a damaged projection is refused with the file named, like a damaged document", async () => {
	const file = join(tmp, "damaged.sqlite");
	const store = open(file, declared);
	await store.insert(hourDoc(1));
	releaseSqliteFile(file);

	const db = new Database(file);
	const [side] = projectionTables(db, "hours");
	expect(side).toMatch(/^hours\$p_/);
	// A changed byte in the projection only (its JSON still parses): the document itself is intact.
	db.prepare(`UPDATE "${side}" SET doc = ' ' || doc`).run();
	db.close();

	expect(() => open(file, declared)).toThrow(/Document "h1" of hours in .*damaged\.sqlite fails its checksum/);
});

describe("a projection with a text column", () => {
	interface Row extends Doc {
		accountId: string;
		hour: number;
		row: { text: unknown; cost: number };
	}
	const spec: CollectionSpec = {
		name: "rows",
		indexes: [{ field: "accountId", then: ["hour"] }],
		projections: [{ fields: ["hour", "row.cost"], text: "row.text" }],
	};
	const text = '{"quoted":"a \\"b\\"","newline":"x\ny"}';
	const openRows = (file: string) => acquireSqliteFile(file, file).collection<Row>(spec);

	test("keeps the string as it is in its own column and gives it back in its field; a non-string stays in the JSON", async () => {
		const file = join(tmp, "text.sqlite");
		const store = openRows(file);
		await store.insert({ _id: "r1", accountId: "a", hour: 1, row: { text, cost: 5 } });
		await store.insert({ _id: "r2", accountId: "a", hour: 2, row: { text: ["a", "list"], cost: 6 } });
		const got = await store.find({ accountId: "a" }, { fields: ["hour", "row.cost", "row.text"] });
		expect(got.sort((a, b) => a.hour - b.hour)).toEqual([
			{ _id: "r1", hour: 1, row: { cost: 5, text } },
			{ _id: "r2", hour: 2, row: { cost: 6, text: ["a", "list"] } },
		]);
		await store.updateOne({ _id: "r1" }, { $set: { "row.text": "changed" } });
		expect(await store.find({ _id: "r1" }, { fields: ["row.text"] })).toEqual([{ _id: "r1", row: { text: "changed" } }]);
		releaseSqliteFile(file);

		const db = new Database(file, { readonly: true });
		const [side] = projectionTables(db, "rows");
		const stored = db.prepare(`SELECT text, doc AS json FROM "${side}" ORDER BY _id`).all() as { text: string | null; json: string }[];
		db.close();
		expect(stored[0]).toEqual({ text: "changed", json: expect.not.stringContaining("changed") });
		expect(stored[1].text).toBeNull();
		expect(stored[1].json).toContain('"list"');
	});

	test("a damaged text column is refused with the file named", async () => {
		const file = join(tmp, "text-damaged.sqlite");
		const store = openRows(file);
		await store.insert({ _id: "r1", accountId: "a", hour: 1, row: { text, cost: 5 } });
		releaseSqliteFile(file);
		const db = new Database(file);
		const [side] = projectionTables(db, "rows");
		db.prepare(`UPDATE "${side}" SET text = replace(text, 'quoted', 'quotes')`).run();
		db.close();
		expect(() => openRows(file)).toThrow(/Document "r1" of rows in .*text-damaged\.sqlite fails its checksum/);
	});
});
