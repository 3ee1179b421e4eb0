// NeDB's data files are written by mixins/nedb-append.ts's serializer, not NeDB's own (which calls
// back for every key): the lines must be the same text, so that files written before and after
// read back the same documents, Dates included.
import { serializeForNeDb } from "../../mixins/nedb-append";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const nedb = require("@seald-io/nedb/lib/model.js") as { serialize(doc: unknown): string; deserialize(line: string): unknown };

describe("serialising NeDB documents", () => {
	const docs: Record<string, unknown>[] = [
		{ _id: "a", createdAt: new Date(Date.UTC(2026, 10, 26, 14, 5, 6, 789)), n: 1.5, s: 'quote " and \\ and\nnewline, ünïcode ✓', t: true, z: null },
		{ _id: "b", nested: { at: new Date(0), list: [1, "two", new Date(86_400_000), { deep: [null, false] }], empty: {} }, arr: [] },
		{ _id: "c", gone: undefined, list: [undefined, 3], big: Number.MAX_SAFE_INTEGER, neg: -0.000001, e: 1e21 },
		{ _id: "d", invalid: new Date(Number.NaN), $$indexCreated: { fieldName: "x", unique: true } },
	];

	it.each(docs.map(d => [d._id, d] as const))("writes document %s exactly as NeDB would", (_id, doc) => {
		expect(serializeForNeDb(doc)).toBe(nedb.serialize(doc));
	});

	it("reads back the same document, Dates as Dates, and leaves Date's own JSON alone", () => {
		const doc = docs[1];
		expect(nedb.deserialize(serializeForNeDb(doc))).toEqual(doc);
		expect(JSON.stringify({ at: new Date(0) })).toBe('{"at":"1970-01-01T00:00:00.000Z"}');
	});

	it("restores Date's JSON even when serialising throws", () => {
		const cyclic: Record<string, unknown> = { at: new Date(0) };
		cyclic.self = cyclic;
		expect(() => serializeForNeDb(cyclic)).toThrow();
		expect(new Date(0).toJSON()).toBe("1970-01-01T00:00:00.000Z");
	});
});
