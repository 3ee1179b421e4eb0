// Stored projections and compound indexes of the SQLite store (models/collection.ts): a read that
// asks for a declared projection's fields gets them from the projection's own column (checksummed
// like the document), an existing file gains the columns when a declaration adds them, and an index
// a compound one replaced is dropped.
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

test("an existing file gains the projection's columns and the compound index; reads of those fields come from the projection", async () => {
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
		.prepare("EXPLAIN QUERY PLAN SELECT _id FROM hours WHERE i_accountId = ? AND i_hour >= ? AND i_hour < ?")
		.all("acc-1", 0, 3)
		.map(r => (r as { detail: string }).detail)
		.join(" ");
	db.close();
	expect(indexes).toEqual(["ix_hours_accountId_hour"]); // the single-field index it replaced is gone
	expect(plan).toContain("ix_hours_accountId_hour (i_accountId=? AND i_hour>? AND i_hour<?)");
});

test("a damaged projection is refused with the file named, like a damaged document", async () => {
	const file = join(tmp, "damaged.sqlite");
	const store = open(file, declared);
	await store.insert(hourDoc(1));
	releaseSqliteFile(file);

	const db = new Database(file);
	const column = (db.prepare("SELECT name FROM pragma_table_info('hours') WHERE name LIKE 'p\\_%' ESCAPE '\\'").pluck().get() as string) ?? "";
	expect(column).toMatch(/^p_/);
	// A flipped digit in the projection only: the document itself is intact.
	db.prepare(`UPDATE hours SET "${column}" = replace("${column}", '"hour":1', '"hour":7')`).run();
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
		const column = db.prepare("SELECT name FROM pragma_table_info('rows') WHERE name LIKE 'pt\\_%' ESCAPE '\\'").pluck().get() as string;
		const stored = db.prepare(`SELECT "${column}" AS text, "${column.replace("pt_", "p_")}" AS json FROM rows ORDER BY _id`).all() as {
			text: string | null;
			json: string;
		}[];
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
		const column = db.prepare("SELECT name FROM pragma_table_info('rows') WHERE name LIKE 'pt\\_%' ESCAPE '\\'").pluck().get() as string;
		db.prepare(`UPDATE rows SET "${column}" = replace("${column}", 'quoted', 'quotes')`).run();
		db.close();
		expect(() => openRows(file)).toThrow(/Document "r1" of rows in .*text-damaged\.sqlite fails its checksum/);
	});
});
