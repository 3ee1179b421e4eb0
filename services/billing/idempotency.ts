// Idempotency-Key (API.md, PAY-1): a money-moving request names itself; a repeat with the same
// body replays the first answer (the same ledger entry, nothing moved twice), a repeat with
// another body is refused with 409 IDEMPOTENCY_KEY_REUSED. Keys belong to the caller that chose
// them (as with Stripe), and live 30 days.
//
// The ledger key of the movement is made from a nonce drawn when the key is first seen, not from
// the key itself: concurrent and crashed-then-retried requests share the record and so the
// entry, while a key reused after its record expired is a new request — it cannot silently
// replay a movement from months ago.
import { Errors } from "moleculer";
import { addMs, DAY, now } from "../../lib/clock";
import { digest, newId } from "../../lib/crypto";
import { idempotencyKeyReused, validationError } from "../../lib/errors";
import { DuplicateKeyError, type Doc, type Store } from "../../mixins/db.mixin";

const { MoleculerClientError } = Errors;

export const IDEMPOTENCY_TTL_MS = 30 * DAY;
export const IDEMPOTENCY_KEY_MAX = 255;

interface StoredError {
	message: string;
	code: number;
	type: string;
	data?: unknown;
}

export interface IdempotencyDoc extends Doc {
	fingerprint: string;
	nonce: string;
	state: "open" | "answered" | "failed";
	answer?: unknown;
	error?: StoredError;
	createdAt: Date;
	expiresAt: Date;
}

/** The `Idempotency-Key` header as the gateway put it in `ctx.meta`: required on money-moving requests. */
export function requireIdempotencyKey(key: unknown): string {
	if (typeof key !== "string" || key.length === 0)
		throw validationError({ field: "Idempotency-Key", message: "this request moves money: send an Idempotency-Key header (a unique value per request)" });
	if (key.length > IDEMPOTENCY_KEY_MAX) throw validationError({ field: "Idempotency-Key", message: `must be at most ${IDEMPOTENCY_KEY_MAX} characters` });
	return key;
}

/** JSON with keys sorted at every level: the same body gives the same text whatever the key order. */
export function canonicalJson(value: unknown): string {
	if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
	if (value && typeof value === "object" && !(value instanceof Date)) {
		const entries = Object.entries(value as Record<string, unknown>)
			.filter(([, v]) => v !== undefined)
			.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
		return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
	}
	return JSON.stringify(value);
}

export function fingerprintOf(operation: string, body: unknown): string {
	return digest(`${operation}\n${canonicalJson(body)}`);
}

export const keyReused = idempotencyKeyReused;

/** Business refusals that are the outcome of executing the request are replayed like answers. */
function storable(err: unknown): StoredError | null {
	const e = err as { code?: unknown; type?: unknown; message?: string; data?: unknown };
	if (e?.type === "INSUFFICIENT_BALANCE" && typeof e.code === "number") return { message: e.message ?? "", code: e.code, type: e.type, data: e.data };
	return null;
}

export class Idempotency {
	constructor(private store: Store<IdempotencyDoc>) {}

	/**
	 * Runs `execute(nonce)` at most once per (operation, caller, key) with a given body; the first
	 * answer (or business refusal) is stored and replayed. Validate the request before calling
	 * this: a refused request does not use the key up.
	 */
	async run<T>(req: { operation: string; caller: string; key: string; body: unknown }, execute: (nonce: string) => Promise<T>): Promise<T> {
		const id = `${req.operation}|${req.caller}|${req.key}`;
		const fingerprint = fingerprintOf(req.operation, req.body);
		let record = await this.store.findById(id);
		if (!record) {
			const t = now();
			const fresh: IdempotencyDoc = { _id: id, fingerprint, nonce: newId(), state: "open", createdAt: t, expiresAt: addMs(t, IDEMPOTENCY_TTL_MS) };
			try {
				record = await this.store.insert(fresh);
			} catch (err) {
				if (!(err instanceof DuplicateKeyError)) throw err;
				record = await this.store.findById(id);
				if (!record) throw err;
			}
		}
		if (record.fingerprint !== fingerprint) throw keyReused();
		const done = this.replay<T>(record);
		if (done) return done.answer;

		// Open: first time, a concurrent twin, or a retry after a failure — the nonce makes the
		// ledger entry the same one in every case.
		let answer: T;
		try {
			answer = await execute(record.nonce);
		} catch (err) {
			const stored = storable(err);
			if (stored) {
				const kept = await this.store.updateOne({ _id: id, state: "open" }, { $set: { state: "failed", error: stored } });
				if (!kept) return this.stored<T>(id);
			}
			throw err;
		}
		const kept = await this.store.updateOne({ _id: id, state: "open" }, { $set: { state: "answered", answer } });
		// A twin answered first: its answer is the first one.
		return kept ? answer : this.stored<T>(id);
	}

	private replay<T>(record: IdempotencyDoc): { answer: T } | null {
		if (record.state === "answered") return { answer: record.answer as T };
		if (record.state === "failed" && record.error)
			throw new MoleculerClientError(record.error.message, record.error.code, record.error.type, record.error.data);
		return null;
	}

	private async stored<T>(id: string): Promise<T> {
		const record = await this.store.findById(id);
		const done = record && this.replay<T>(record);
		if (!done) throw new Error(`Idempotency record ${id} has no answer`);
		return done.answer;
	}
}
