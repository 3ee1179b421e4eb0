// A collection is declared once — name, indexes, and the typed fields MongoDB gets — and the db
// mixin applies the same declaration to SQLite (embedded) and to a mongoose model (MONGO_URI).
import type { SchemaDefinition } from "mongoose";

export interface IndexSpec {
	field: string;
	/** a compound index: these fields after `field`, in order (e.g. an account's hours, in time order) */
	then?: string[];
	unique?: boolean;
	/** unique only among documents that have the field */
	sparse?: boolean;
	/** both stores drop the document this many seconds after the date in `field` */
	expireAfterSeconds?: number;
}

export interface CollectionSpec {
	name: string;
	indexes?: IndexSpec[];
	/** typed fields for mongoose; other fields are stored as they come (strict: false) */
	fields?: SchemaDefinition;
	/** many documents of a few hundred bytes at most: SQLite keeps them in their key's b-tree alone */
	smallDocuments?: boolean;
	/**
	 * Field lists that reads ask for often over many large documents (`find(q, {fields})`): SQLite
	 * keeps each one's JSON, checksummed, in a narrow table of its own (a row per document) and reads
	 * that instead, so such a read touches a few pages and parses only those fields (MongoDB
	 * projects on the server).
	 */
	projections?: (string[] | ProjectionSpec)[];
}

/** A projection with one large string field of its `fields` that SQLite keeps as it is, in a column of its own (not escaped into the JSON, so not parsed back). */
export interface ProjectionSpec {
	fields: string[];
	text: string;
}

export function collection(spec: CollectionSpec): CollectionSpec {
	return spec;
}
