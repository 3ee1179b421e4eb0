// The SQLite store's pure parts (mixins/sqlite-documents.ts): documents survive the trip to JSON
// and back, and the SQL a condition narrows to never leaves out a document MongoDB's semantics
// (mingo) would match — checked on a table of documents of every type the store meets.
import Database from "better-sqlite3";
import {
	columnValue,
	conditionSql,
	covers,
	decodeDoc,
	encodeDoc,
	jsonPath,
	mingoQuery,
	onlyStrings,
	project,
	setPath,
	touches,
	upsertSeed,
} from "../../mixins/sqlite-documents";

describe("documents as JSON", () => {
	it.each([
		["flat", { _id: "a", n: 1, s: "x", b: true, z: null }],
		["dates at any depth", { _id: "b", at: new Date(5), nested: { at: new Date(7), list: [new Date(9), { at: new Date(11) }] } }],
		["no field but _id", { _id: "d" }],
		["top-level dates only", { _id: "e", createdAt: new Date(1), updatedAt: new Date(2), n: { x: 1 } }],
		["a top-level date and a deep one", { _id: "f", createdAt: new Date(1), deep: [{ at: new Date(3) }] }],
		["a string that mentions $date", { _id: "g", note: '{"$date":1}', at: new Date(4) }],
	])("%s: decode(encode(doc)) is the document", (_name, doc) => {
		const back = decodeDoc<Record<string, unknown>>(doc._id, encodeDoc(doc));
		expect(back).toEqual(doc);
		expect(encodeDoc(doc)).not.toContain('"_id"'); // the key is its own column
	});

	it("decodes a document whose JSON holds its _id (a stored projection)", () => {
		const doc = { _id: "p", at: new Date(5), n: 1 };
		expect(decodeDoc(null, encodeDoc(doc, true))).toEqual(doc);
	});

	it("keeps an invalid date invalid", () => {
		const back = decodeDoc<{ at: Date }>("c", encodeDoc({ _id: "c", at: new Date(NaN) }));
		expect(back.at).toBeInstanceOf(Date);
		expect(Number.isNaN(back.at.getTime())).toBe(true);
	});

	it("leaves Date.prototype.toJSON as it was", () => {
		encodeDoc({ _id: "x", at: new Date(1) });
		expect(JSON.stringify({ at: new Date(0) })).toBe('{"at":"1970-01-01T00:00:00.000Z"}');
	});

	it.each([
		[undefined, null],
		[null, null],
		["s", "s"],
		[3.5, 3.5],
		[true, 1],
		[new Date(42), 42],
		[[1, 2], Buffer.from([0])],
	])("an indexed column holds %p as %p", (value, column) => {
		expect(columnValue(value)).toEqual(column);
	});
});

describe("conditions in SQL: a superset of what matches", () => {
	const docs: Record<string, unknown>[] = [
		{ _id: "1", v: 5 },
		{ _id: "2", v: 12 },
		{ _id: "3", v: "5" },
		{ _id: "4", v: "abc" },
		{ _id: "5", v: true },
		{ _id: "6", v: new Date(5) },
		{ _id: "7", v: [1, 5, 30] },
		{ _id: "8", v: null },
		{ _id: "9" },
		{ _id: "10", v: { $date: 5, other: 1 } },
		{ _id: "11", v: new Date(20) },
	];
	const db = new Database(":memory:");
	db.exec("CREATE TABLE t (_id TEXT PRIMARY KEY, doc TEXT)");
	const insert = db.prepare("INSERT INTO t VALUES (?, ?)");
	for (const d of docs) insert.run(d._id, encodeDoc(d));
	const path = jsonPath("v");
	const field = (kind: "date" | "scalar") => (kind === "date" ? `json_extract(doc, ${path.slice(0, -1)}."$date"')` : `json_extract(doc, ${path})`);

	it.each<[string, unknown]>([
		["a number", 5],
		["a string", "5"],
		["a boolean", true],
		["a date", new Date(5)],
		["$in of numbers", { $in: [5, 12] }],
		["$in of strings", { $in: ["abc", "5"] }],
		["an empty $in", { $in: [] }],
		["a number range", { $gte: 5, $lt: 13 }],
		["a string range", { $gt: "a" }],
		["a date range", { $gte: new Date(0), $lt: new Date(10) }],
		["$ne (not narrowed)", { $ne: 5 }],
		["$exists (not narrowed)", { $exists: false }],
	])("%s", (_name, cond) => {
		const params: unknown[] = [];
		const sql = conditionSql(field, cond, params);
		const where = sql ? `(${sql}) OR json_type(doc, ${path}) = 'array'` : "1";
		const selected = new Set((db.prepare(`SELECT _id FROM t WHERE ${where}`).all(...params) as { _id: string }[]).map(r => r._id));
		const q = mingoQuery({ v: cond });
		const matching = docs.filter(d => q.test(d)).map(d => d._id as string);
		for (const id of matching) expect(selected).toContain(id);
	});

	it("says when SQL alone decides (strings only)", () => {
		expect(onlyStrings("x")).toBe(true);
		expect(onlyStrings({ $in: ["a", "b"] })).toBe(true);
		expect(onlyStrings({ $in: ["a", 1] })).toBe(false);
		expect(onlyStrings(5)).toBe(false);
		expect(onlyStrings({ $gt: "a" })).toBe(false);
	});

	it("starts an upsert from the query's equalities, as MongoDB does", () => {
		expect(upsertSeed({ _id: "k", a: 1, "b.c": "x", d: { $eq: 2 }, e: { $gt: 3 }, $or: [{ f: 1 }] })).toEqual({ _id: "k", a: 1, b: { c: "x" }, d: 2 });
	});
});

describe("projections", () => {
	const doc = { _id: "x", a: 1, b: { c: 2, d: [1, 2], e: null }, f: [{ g: 1 }], at: new Date(3), n: null };
	it.each<[string[], Record<string, unknown>]>([
		[["a"], { _id: "x", a: 1 }],
		[["b.c", "b.e"], { _id: "x", b: { c: 2, e: null } }],
		[["b", "b.c"], { _id: "x", b: doc.b }],
		[["at", "n"], { _id: "x", at: new Date(3), n: null }], // a stored null stays
		[["missing", "b.missing"], { _id: "x", b: {} }], // what MongoDB answers
		[["a.deeper"], { _id: "x" }], // through a number: nothing
		[["f.g"], { _id: "x" }], // through an array: not supported, nothing
	])("%j keeps only those fields", (fields, expected) => {
		expect(project(doc, fields)).toEqual(expected);
	});

	it.each<[string[], string, boolean]>([
		[["rated"], "rated.nodes", true],
		[["rated.nodes"], "rated.nodes", true],
		[["rated.nodes"], "rated", false],
		[["rated.nodes"], "rated.nodesX", false],
		[["hour"], "hours", false],
	])("a projection to %j holds %s: %s", (have, path, expected) => {
		expect(covers(have, path)).toBe(expected);
	});

	// An update that touches none of a projection's fields leaves its row as it is (not rewritten).
	const fields = ["envId", "rated.nodes", "historyRow.json"];
	it.each<[Record<string, unknown>, boolean]>([
		[{ $set: { lastKey: "k", charged: 5 }, $inc: { entries: 1 } }, false],
		[{ $set: { envId: "e2" } }, true], // the field itself
		[{ $set: { "rated.nodes.0.cost": 1 } }, true], // inside one
		[{ $set: { rated: {} } }, true], // holding one
		[{ $unset: { historyRow: true } }, true],
		[{ $set: { "rated.options": [] } }, false], // a sibling of one
		[{ $set: { envIdX: 1 } }, false],
		[{ $rename: { other: "envId" } }, true], // renamed onto one
		[{ $rename: { envId: "other" } }, true], // renamed away
		[{ $push: { "rated.nodes": { id: "n" } } }, true],
		[{ envId: "replacement" }, true], // a whole document
	])("%j touches a projection of envId, rated.nodes, historyRow.json: %s", (update, expected) => {
		expect(touches(update, fields)).toBe(expected);
	});
});

describe("setPath", () => {
	test.each([
		[{}, "a", 1, { a: 1 }],
		[{ a: { b: 1 } }, "a.c", 2, { a: { b: 1, c: 2 } }],
		[{}, "a.b.c", "x", { a: { b: { c: "x" } } }],
		// A scalar in the way is replaced by an object, as MongoDB's $set would refuse and a projection never holds.
		[{ a: 5 }, "a.b", 1, { a: { b: 1 } }],
	])("%j, %s = %j → %j", (doc, path, value, want) => {
		setPath(doc as Record<string, unknown>, path, value);
		expect(doc).toEqual(want);
	});
});
