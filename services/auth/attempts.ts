// Sign-in attempts (REG-5, REG-6, TFA-4): every lockout counter of auth and its key.
// - A (kind, subject, IP) pair — `pw` for passwords, `2fa` for codes, each on its own counter
//   (TFA-4) — takes a slot atomically *before* the secret is compared, so parallel attempts can
//   never exceed the limit; a failure keeps its slot, a success frees the pair.
// - An account-wide hourly cap counts failures of a subject from any IP, in `auth_counters`.
// - Unknown emails are subjects too (`email:<address>`), counted and locked like accounts.
// - The keys are built here and only here: the admin reset finds a subject's caps by the same
//   function that names them.
// The numbers and the arithmetic live in ./lockout (pure).
import { DAY, now, nowMs } from "../../lib/clock";
import { rateLimited } from "../../lib/errors";
import { bumpCounter, DuplicateKeyError, type Doc, type Store } from "../../mixins/db.mixin";
import { hourBucket, LOCKOUT, secondsUntil } from "./lockout";

export type AttemptKind = "pw" | "2fa";

/** Who tries what from where: one lockout counter. */
export interface AttemptPair {
	kind: AttemptKind;
	subject: string;
	email: string;
	ip: string;
}

export interface AttemptDoc extends Doc, AttemptPair {
	failures: number;
	/** epoch 0 when not locked (never null: see Attempts.take) */
	lockedUntil: Date;
	lastFailureAt?: Date;
	expiresAt: Date;
}

/** The admin's filter (REG-6): by normalised address, by IP, or both; nothing matches every pair. */
export interface AttemptFilter {
	email?: string;
	ip?: string;
}

const NOT_LOCKED = new Date(0);
const WAIT_FOR_SLOT_MS = 3000;
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** `pw|<subject>|<ip>` or `2fa|<subject>|<ip>`: one counter per kind, subject and client IP. */
export function pairKey(kind: AttemptKind, subject: string, ip: string): string {
	return `${kind}|${subject}|${ip}`;
}

/** Unknown emails are counted and locked like accounts (REG-5), under their normalised address. */
export function subjectOf(account: { id: string } | null, email: string): string {
	return account ? account.id : `email:${email}`;
}

function capPrefix(subject: string): string {
	return `cap|${subject}|`;
}

/** `cap|<subject>|<hour>`: the subject's failures in one hour, from any IP, of either kind. */
export function capKey(subject: string, hour: number): string {
	return capPrefix(subject) + hour;
}

/** Matches every hour's cap key of one subject, and no other subject's (REG-6 reset). */
export function capKeysOf(subject: string): RegExp {
	return new RegExp(`^${escapeRegExp(capPrefix(subject))}`);
}

function escapeRegExp(s: string): string {
	return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Addresses are compared trimmed and lower-cased, as sign-in stores them. */
export function normaliseEmail(email: string): string {
	return email.trim().toLowerCase();
}

/** The store query of an admin filter. */
export function attemptQuery(filter: AttemptFilter): Record<string, unknown> {
	const query: Record<string, unknown> = {};
	if (filter.email) query.email = normaliseEmail(filter.email);
	if (filter.ip) query.ip = filter.ip;
	return query;
}

/** A pair as GET /admin/signin-attempts shows it. */
export function attemptView(r: AttemptDoc, t: Date) {
	const locked = r.lockedUntil > t;
	return {
		kind: r.kind === "pw" ? "password" : "2fa",
		email: r.email,
		ip: r.ip,
		failures: r.failures,
		locked,
		lockedUntil: locked ? r.lockedUntil : null,
		lastFailureAt: r.lastFailureAt ?? null,
	};
}

export interface AttemptsParams {
	attempts: Store<AttemptDoc>;
	/** shared with other counters of auth (reset-link limits): only `cap|…` keys are ours */
	counters: Store;
}

export class Attempts {
	private attempts: Store<AttemptDoc>;
	private counters: Store;

	constructor({ attempts, counters }: AttemptsParams) {
		this.attempts = attempts;
		this.counters = counters;
	}

	/**
	 * One guarded comparison: takes a slot, runs `check`, and counts a falsy answer as a failure,
	 * a truthy one as a success. Answers what `check` answered; the caller chooses the error.
	 */
	async guarded<T>(pair: AttemptPair, check: () => Promise<T>): Promise<T> {
		const key = await this.take(pair);
		const result = await check();
		if (result) await this.succeeded(key);
		else await this.failed(key, pair.subject);
		return result;
	}

	/**
	 * REG-5: takes one of the pair's slots before the secret is compared; a pair with 5 failures
	 * (or 5 attempts in flight) has none left, so 200 parallel wrong passwords compare at most 5.
	 * Waits briefly while the slots are held by attempts in flight; refuses once the pair is locked.
	 */
	async take({ kind, subject, email, ip }: AttemptPair): Promise<string> {
		const key = pairKey(kind, subject, ip);
		const deadline = Date.now() + WAIT_FOR_SLOT_MS;
		for (;;) {
			const t = nowMs();
			const hour = hourBucket(t);
			const cap = await this.counters.findById(capKey(subject, hour.key));
			if (cap && (cap.count as number) >= LOCKOUT.accountCapPerHour) throw rateLimited(secondsUntil(t, hour.endsAt), "TOO_MANY_ATTEMPTS");
			// A lock that has run out frees the pair. (`lockedUntil` is never null: NeDB orders null
			// before every date while MongoDB compares nothing with it; epoch 0 means "not locked".)
			const nowDate = new Date(t);
			await this.attempts.updateOne({ _id: key, lockedUntil: { $gt: NOT_LOCKED, $lte: nowDate } }, { $set: { failures: 0, lockedUntil: NOT_LOCKED } });
			const expiresAt = new Date(t + LOCKOUT.lockMs + DAY);
			let taken: AttemptDoc | null = null;
			try {
				taken = await this.attempts.updateOne(
					{ _id: key, failures: { $lt: LOCKOUT.maxFailures }, lockedUntil: { $lte: nowDate } },
					{ $inc: { failures: 1 }, $set: { expiresAt } },
				);
				if (!taken && !(await this.attempts.findById(key))) {
					taken = await this.attempts.insert({ _id: key, kind, subject, email, ip, failures: 1, lockedUntil: NOT_LOCKED, expiresAt });
				}
			} catch (err) {
				if (!(err instanceof DuplicateKeyError)) throw err; // a parallel first attempt created it: try again
			}
			if (taken) return key;
			const doc = await this.attempts.findById(key);
			if (doc && doc.lockedUntil > nowDate) throw rateLimited(secondsUntil(t, doc.lockedUntil), "TOO_MANY_ATTEMPTS");
			if (Date.now() > deadline) throw rateLimited(1, "TOO_MANY_ATTEMPTS");
			await sleep(20);
		}
	}

	/** The slot stays counted as a failure; the fifth locks the pair for 15 minutes. */
	async failed(key: string, subject: string): Promise<void> {
		const t = nowMs();
		await this.attempts.updateOne({ _id: key }, { $set: { lastFailureAt: new Date(t) } });
		await this.attempts.updateOne(
			{ _id: key, failures: { $gte: LOCKOUT.maxFailures }, lockedUntil: { $lte: new Date(t) } },
			{ $set: { lockedUntil: new Date(t + LOCKOUT.lockMs) } },
		);
		const hour = hourBucket(t);
		await bumpCounter(this.counters, capKey(subject, hour.key), new Date(hour.endsAt));
	}

	/** A success frees the pair (REG-5). */
	async succeeded(key: string): Promise<void> {
		await this.attempts.updateOne({ _id: key, lockedUntil: { $lte: now() } }, { $set: { failures: 0 } });
	}

	/** PWD-4: a forgotten password also clears the password lockouts it caused. */
	clearPasswordLockouts(subject: string): Promise<number> {
		return this.attempts.remove({ subject, kind: "pw" });
	}

	/** REG-6: failing and locked pairs, the latest failure first. */
	async list(filter: AttemptFilter) {
		const t = now();
		const rows = await this.attempts.find({ ...attemptQuery(filter), failures: { $gt: 0 } }, { sort: { lastFailureAt: -1 }, limit: 500 });
		return rows.map(r => attemptView(r, t));
	}

	/** REG-6: lifts the matching lockouts; with a subject, its hourly caps too. Answers the pairs removed. */
	async reset(filter: AttemptFilter, subject?: string): Promise<number> {
		const reset = await this.attempts.remove(attemptQuery(filter));
		if (subject) await this.counters.remove({ _id: { $regex: capKeysOf(subject) } });
		return reset;
	}
}
