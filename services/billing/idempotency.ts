// Idempotency-Key (API.md, PAY-1): a money-moving request names itself; a repeat with the same
// body replays the first answer (the same ledger entry, nothing moved twice), a repeat with
// another body or on another endpoint is refused with 409 IDEMPOTENCY_KEY_REUSED. Keys belong to
// the caller that chose them (as with Stripe), one key one request across every endpoint, and
// live 30 days. A replay is marked `Idempotent-Replayed: true`.
//
// While a request runs it holds a lease on its record: a twin arriving meanwhile is answered 409
// with Retry-After and never executes. A request that crashed leaves its lease behind: the retry
// takes the record over at once when the holder's process is gone (as job leases do), else when
// the lease lapses.
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
import { HOLDER_FORMAT, holderIsDead, LEASE_HOST } from "../../mixins/jobs.mixin";

const { MoleculerClientError } = Errors;

export const IDEMPOTENCY_TTL_MS = 30 * DAY;
export const IDEMPOTENCY_KEY_MAX = 255;
/** As long as the gateway waits for an answer: a holder past it has crashed or given up. */
export const IDEMPOTENCY_LEASE_MS = 30_000;
// Leases measure how long a process has been running, not business time: the wall clock, which
// the test clock does not move.
const leaseUntil = () => new Date(Date.now() + IDEMPOTENCY_LEASE_MS);

/** Leases (`<host>:<pid>:<run>`) of the requests running in this process. */
const running = new Set<string>();

/** Is `lease` held by a process of this host that no longer exists (or by none)? */
export function leaseIsDead(lease: string | undefined): boolean {
	return !lease || !HOLDER_FORMAT.test(lease) || holderIsDead(lease, running);
}

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
	/** while open: the running request's lease (`<host>:<pid>:<run>`) and when it lapses */
	lease?: string;
	leaseUntil?: Date;
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

/** PAY-1: the first request with this key is still running; the client retries shortly. */
export function keyInUse(retryAfterSeconds = 1) {
	return new MoleculerClientError("A request with this Idempotency-Key is still running; retry shortly", 409, "CONFLICT", {
		field: "Idempotency-Key",
		retryAfter: retryAfterSeconds,
	});
}

/** Where a replayed answer is marked (`ctx.meta`): moleculer-web sends `$responseHeaders`. */
export interface ReplayMeta {
	$responseHeaders?: Record<string, string>;
}

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
	async run<T>(
		/** meta: the caller's `ctx.meta`, where a replay sets its response header */
		req: { operation: string; caller: string; key: string; body: unknown; meta?: object },
		execute: (nonce: string) => Promise<T>,
	): Promise<T> {
		// One record per caller and key, whatever the endpoint: the operation is in the fingerprint.
		const id = `${req.caller}|${req.key}`;
		const fingerprint = fingerprintOf(req.operation, req.body);
		const lease = `${LEASE_HOST}:${process.pid}:${newId()}`;
		// Live before it is written: a twin of this process that reads the record while the write
		// is still on its way back (a networked store) must see a running holder, not a dead one.
		running.add(lease);
		try {
			return await this.claimAndRun(id, fingerprint, lease, req.meta, execute);
		} finally {
			running.delete(lease);
		}
	}

	private async claimAndRun<T>(id: string, fingerprint: string, lease: string, meta: object | undefined, execute: (nonce: string) => Promise<T>): Promise<T> {
		let record = await this.store.findById(id);
		let mine = false;
		if (!record) {
			const t = now();
			const fresh: IdempotencyDoc = {
				_id: id,
				fingerprint,
				nonce: newId(),
				state: "open",
				lease,
				leaseUntil: leaseUntil(),
				createdAt: t,
				expiresAt: addMs(t, IDEMPOTENCY_TTL_MS),
			};
			try {
				record = await this.store.insert(fresh);
				mine = true;
			} catch (err) {
				if (!(err instanceof DuplicateKeyError)) throw err;
				record = await this.store.findById(id);
				if (!record) throw err;
			}
		}
		if (record.fingerprint !== fingerprint) throw keyReused();
		const done = this.replay<T>(record, meta);
		if (done) return done.answer;
		if (!mine && !(await this.takeOver(record, lease))) throw keyInUse();

		// Ours: the first time, or a retry after a crash or a failure — the nonce makes the ledger
		// entry (and a refill's invoice) the same one in every case.
		let answer: T;
		try {
			answer = await execute(record.nonce);
		} catch (err) {
			const stored = storable(err);
			if (stored) {
				const kept = await this.store.updateOne({ _id: id, state: "open" }, { $set: { state: "failed", error: stored } });
				if (!kept) return this.stored<T>(id, meta);
			} else {
				// Nothing to replay: let a retry run at once rather than wait for the lease.
				await this.store.updateOne({ _id: id, state: "open", lease }, { $set: { leaseUntil: new Date(0) } });
			}
			throw err;
		}
		const kept = await this.store.updateOne({ _id: id, state: "open" }, { $set: { state: "answered", answer } });
		// A twin that took over a lapsed lease answered first: its answer is the first one.
		return kept ? answer : this.stored<T>(id, meta);
	}

	/** An open record whose holder is gone, failed or gave up (its lease lapsed) becomes ours, once. */
	private async takeOver(record: IdempotencyDoc, lease: string): Promise<boolean> {
		const lapsed = !record.leaseUntil || new Date(record.leaseUntil).getTime() <= Date.now();
		if (!lapsed && !leaseIsDead(record.lease)) return false;
		// Compare-and-set on the lease we saw: of two retries, one takes it.
		const seen = record.lease ? { lease: record.lease } : { lease: { $exists: false } };
		const taken = await this.store.updateOne({ _id: record._id, state: "open", ...seen }, { $set: { lease, leaseUntil: leaseUntil() } });
		return !!taken;
	}

	private replay<T>(record: IdempotencyDoc, meta?: object): { answer: T } | null {
		const answered = record.state === "answered";
		if (!answered && !(record.state === "failed" && record.error)) return null;
		const m = meta as ReplayMeta | undefined;
		if (m) m.$responseHeaders = { ...m.$responseHeaders, "Idempotent-Replayed": "true" };
		if (answered) return { answer: record.answer as T };
		const e = record.error!;
		throw new MoleculerClientError(e.message, e.code, e.type, e.data);
	}

	private async stored<T>(id: string, meta?: object): Promise<T> {
		const record = await this.store.findById(id);
		const done = record && this.replay<T>(record, meta);
		if (!done) throw new Error(`Idempotency record ${id} has no answer`);
		return done.answer;
	}
}
