// NeDB updates a document in each of its collection's indexes by taking it out of the index's
// tree and putting it back — rebalancing the tree twice, and for a key many documents share (an
// account id) filtering the list of all of them — even when the indexed field did not change,
// which for most updates (a status, a balance, a mark cleared) is every index. bench/charge spent
// an eighth of its time there. This swaps the document in place when its key is unchanged; a
// changed key (or one NeDB indexes specially: arrays, objects) goes the original way.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const Index = require("@seald-io/nedb/lib/indexes.js");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const model = require("@seald-io/nedb/lib/model.js");

type Doc = Record<string, unknown>;
interface NeDbIndex {
	fieldName: string;
	sparse: boolean;
	tree: { search(key: unknown): Doc[] };
}
interface Pair {
	oldDoc: Doc;
	newDoc: Doc;
}

let installed = false;

const scalar = (k: unknown) => typeof k === "string" || typeof k === "number" || typeof k === "boolean" || k instanceof Date;
const sameKey = (a: unknown, b: unknown) => (a instanceof Date && b instanceof Date ? a.getTime() === b.getTime() : a === b);

/** Swaps `from` for `to` in the index if they have the same key; false when the original update must run. */
function swap(index: NeDbIndex, from: Doc, to: Doc): boolean {
	const before = model.getDotValue(from, index.fieldName);
	const after = model.getDotValue(to, index.fieldName);
	if (before === undefined && after === undefined) return index.sparse; // in no sparse index either way
	if (!scalar(before) || !sameKey(before, after)) return false;
	const docs = index.tree.search(before);
	const at = docs.indexOf(from);
	if (at < 0) return false;
	docs[at] = to;
	return true;
}

export function installNeDbIndexSwap() {
	if (installed) return;
	installed = true;
	const original = Index.prototype.update as (this: NeDbIndex, oldDoc: Doc | Pair[], newDoc?: Doc) => void;
	Index.prototype.update = function (this: NeDbIndex, oldDoc: Doc | Pair[], newDoc?: Doc) {
		if (!Array.isArray(oldDoc)) {
			if (!swap(this, oldDoc, newDoc as Doc)) original.call(this, oldDoc, newDoc);
			return;
		}
		const swapped: Pair[] = [];
		const rest: Pair[] = [];
		for (const p of oldDoc) (swap(this, p.oldDoc, p.newDoc) ? swapped : rest).push(p);
		if (!rest.length) return;
		try {
			original.call(this, rest);
		} catch (err) {
			// The original rolled back its own pairs; put back the swapped ones too, as NeDB expects of a failed index.
			for (const p of swapped) swap(this, p.newDoc, p.oldDoc);
			throw err;
		}
	};
}
