// The SQLite store's pure parts (mixins/sqlite-documents.ts): documents survive the trip to JSON
// and back, and the SQL a condition narrows to never leaves out a document MongoDB's semantics
// (mingo) would match — checked on a table of documents of every type the store meets.
import Database from "better-sqlite3";
import {
	columnCondition,
	columnValue,
	conditionSql,
	MULTI,
	covers,
	decodeDoc,
	decodeValues,
	encodeDoc,
	jsonPath,
	mingoQuery,
	mingoSharesOptions,
	project,
	projectValues,
	setPath,
	touches,
	unprojectValues,
	upsertSeed,
} from "../../mixins/sqlite-documents";
import fc from "fast-check";

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
		[true, Buffer.from([1, 1])],
		[false, Buffer.from([1, 0])],
		[new Date(42), Buffer.from([2, 0x80, 0, 0, 0, 0, 0, 0, 42])],
		[new Date(-1), Buffer.from([2, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
		[new Date(NaN), Buffer.from([0])],
		[NaN, Buffer.from([0])],
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

	it("says which conditions on a column SQL decides alone", () => {
		expect(columnCondition("c", { $ne: 5 }, [])).toBeNull();
		expect(columnCondition("c", { $gte: 5, $ne: 7 }, [])?.exact).toBe(false);
		expect(columnCondition("c", { $in: [new Date(1)] }, [])).toBeNull();
		expect(columnCondition("c", { $gte: "a", $lt: new Date(1) }, [])?.exact).toBe(true);
	});

	it("starts an upsert from the query's equalities, as MongoDB does", () => {
		expect(upsertSeed({ _id: "k", a: 1, "b.c": "x", d: { $eq: 2 }, e: { $gt: 3 }, $or: [{ f: 1 }] })).toEqual({ _id: "k", a: 1, b: { c: "x" }, d: 2 });
	});
});

test("mingo queries are made without copying its operator tables each time (a mingo upgrade that stops this costs the store ~5 µs a query)", () => {
	expect(mingoSharesOptions()).toBe(true);
	expect(mingoQuery({ a: { $gte: 2 }, b: "x" }).test({ a: 3, b: "x" })).toBe(true);
	expect(mingoQuery({ a: { $gte: 2 }, b: "x" }).test({ a: 3, b: ["y"] })).toBe(false);
});

describe("conditions on indexed columns: MongoDB's answer exactly, where SQL says it decides", () => {
	// Every type the store meets, side by side in one column, as MongoDB compares them (no cross-type matches).
	const values: unknown[] = [
		5,
		5.5,
		-3,
		12,
		0,
		"5",
		"",
		"abc",
		"b",
		true,
		false,
		new Date(5),
		new Date(-1000),
		new Date(20),
		null,
		undefined,
		Infinity,
		-Infinity,
	];
	const docs = values.map((v, i) => (v === undefined ? { _id: String(i) } : { _id: String(i), v }));
	const db = new Database(":memory:");
	db.exec("CREATE TABLE t (_id TEXT PRIMARY KEY, c)");
	const insert = db.prepare("INSERT INTO t VALUES (?, ?)");
	for (const d of docs) insert.run(d._id, columnValue((d as { v?: unknown }).v));

	it.each<[string, unknown]>([
		["a number", 5],
		["a number as a decimal", 5.0],
		["a string", "5"],
		["the empty string", ""],
		["true", true],
		["false", false],
		["a date", new Date(5)],
		["$eq of a date", { $eq: new Date(-1000) }],
		["$in of numbers and strings", { $in: [5, "abc", 12] }],
		["an empty $in", { $in: [] }],
		["numbers above", { $gt: 4 }],
		["numbers from", { $gte: 5 }],
		["numbers below", { $lt: 6 }],
		["numbers up to", { $lte: 0 }],
		["a number range", { $gte: 5, $lt: 13 }],
		["strings above", { $gt: "a" }],
		["strings below", { $lt: "b" }],
		["strings up to", { $lte: "5" }],
		["dates from", { $gte: new Date(0) }],
		["dates below", { $lt: new Date(10) }],
		["a date range", { $gte: new Date(-5000), $lte: new Date(5) }],
		["up to infinity", { $lte: Infinity }],
		["bounds of two types (nothing)", { $gte: 0, $lt: "b" }],
	])("%s", (_name, cond) => {
		const params: unknown[] = [];
		const c = columnCondition("c", cond, params);
		expect(c?.exact).toBe(true);
		const selected = (db.prepare(`SELECT _id FROM t WHERE ${c!.sql}`).all(...params) as { _id: string }[]).map(r => r._id).sort();
		const q = mingoQuery({ v: cond });
		expect(selected).toEqual(
			docs
				.filter(d => q.test(d))
				.map(d => d._id)
				.sort(),
		);
	});

	it("keeps arrays, objects and NaN as candidates", () => {
		for (const v of [[1], { a: 1 }, NaN, new Date(NaN)]) expect(columnValue(v)).toBe(MULTI);
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

	// Stored as an array of values (projectValues), a projection reads back as `project` made it.
	const roundTrip = (d: Record<string, unknown>, fields: string[]) => {
		const paths = fields.map(f => f.split("."));
		return unprojectValues(String(d._id), decodeValues(encodeDoc(projectValues(d, paths) as unknown as Record<string, unknown>, true)), paths);
	};
	it.each<[string[]]>([[["a"]], [["b.c", "b.e"]], [["b", "b.c"]], [["at", "n"]], [["missing", "b.missing"]], [["a.deeper"]], [["f.g"]], [["b.d", "f", "at"]]])(
		"%j stored as values reads back as project made it",
		fields => {
			expect(roundTrip(doc, fields)).toEqual(project(doc, fields));
		},
	);

	it("any document and paths: stored as values, read back as project made it (Dates too)", () => {
		const key = fc.constantFrom("a", "b", "c", "$missing", "0");
		const leaf = fc.oneof(fc.integer(), fc.string({ maxLength: 3 }), fc.boolean(), fc.constant(null), fc.date({ noInvalidDate: true }));
		const value = fc.letrec(tie => ({
			v: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("v"), { maxLength: 3 }), fc.dictionary(key, tie("v"), { maxKeys: 3 })),
		})).v;
		const path = fc.array(fc.constantFrom("a", "b", "c"), { minLength: 1, maxLength: 3 }).map(p => p.join("."));
		fc.assert(
			fc.property(fc.dictionary(fc.constantFrom("a", "b", "c"), value, { maxKeys: 3 }), fc.uniqueArray(path, { minLength: 1, maxLength: 4 }), (d, fields) => {
				const withId = { ...d, _id: "x" };
				// As the store holds it (a Date comes back as a Date; {"$date": …} is the store's own tag for one, not generated).
				const stored = decodeDoc<{ _id: string } & Record<string, unknown>>("x", encodeDoc(withId));
				expect(roundTrip(stored, fields)).toEqual(project(stored, fields));
			}),
			{ numRuns: 2000 },
		);
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
