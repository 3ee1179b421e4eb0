// The ledger protocol (ARCHITECTURE "Ledger", BIL-2): balance = Σ applied ledger at all times,
// also after a crash at any step, on MongoDB (no transactions across documents). The embedded
// SQLite store does better (issue 12): a post is one transaction (`postAtOnce`) — the entry
// written applied with its balance, nothing for a crash to split; entries a protocol step left
// pending (a crash of an earlier version, the protocol's tests) are finished by it as below.
//
//   1. insert the entry `pending` under its unique key — a duplicate key is a replay: the
//      existing entry is settled and returned, nothing new is inserted;
//   2. apply it with ONE conditional atomic update of the balance document: `$inc` main/bonus,
//      `$inc` seq, and record the entry as `lastEntry` with what it moved — conditioned on
//      `seq` being the one read (nothing was applied since), `main` and `bonus` being the ones
//      read (no repair since, see below) and `lastEntry ≠ entry`;
//   3. mark the entry `applied` (amounts, balanceAfter, seq) from that record.
//
// Why an entry can never be applied twice, without a lock: before step 2 the applier reads the
// balance (B), marks B's last entry from B's record, and only then reads the entry and finds it
// still pending. So every entry the balance has taken, other than its current last one, is
// already marked. If the entry had been taken before B was read it would be B's last (and now
// marked) or marked already — it is neither, so it was not; and the seq condition means nothing
// was taken between reading B and the update. The same reasoning makes the split of a charge
// (decided against B) exact. A crash after step 1 leaves a pending entry; after step 2, a
// balance whose `lastEntry` is still pending — both are finished by the next movement of the
// account or by the recovery job, which runs the very same `settle`. Appliers of one account
// simply retry when another won the update (optimistic, lock-free: nothing to expire or take over).
//
// Repair (BIL-2, `repair`): should a balance ever differ from Σ its applied ledger anyway (a torn
// or lost write, a hand edit), it is set from the ledger — the ledger is the truth — by one
// conditional update of `main` and `bonus` only, on the document exactly as read (seq, balances,
// last entry): a movement taken meanwhile is never overwritten, the account is checked again on
// the next run. The repair leaves `seq` alone (entries keep one gapless running order), which is
// why step 2 also conditions on the balances: an applier that planned against the drifted
// balance (a charge's split) retries against the repaired one.
import { now } from "../../lib/clock";
import { newId } from "../../lib/crypto";
import { conflict } from "../../lib/errors";
import { groupBy } from "../../lib/group-by";
import { assertMicros, type Micros } from "../../lib/money";
import type { Initiator } from "../../lib/usage-record";
import { DuplicateKeyError, type Doc, type Store } from "../../mixins/db.mixin";
import { planEntry, targetOf, type Balance, type EntryKind, type Outcome, type Target } from "./ledger";
import { balanceDrift } from "./reconcile";

export type EntryState = "pending" | "applied" | "refused";

export interface EntryDoc extends Doc {
	accountId: string;
	key: string;
	kind: EntryKind;
	/** signed micros asked for */
	requested: Micros;
	target: Target;
	/** charges only: `account.charge.balance.first` = 1 when the entry was posted (BIL-3) */
	mainFirst: boolean;
	/** signed micros actually moved on each balance (0 until applied) */
	amountMain: Micros;
	amountBonus: Micros;
	state: EntryState;
	/** true while pending, absent after: a sparse index holds only the few pending entries (recovery finds them without a scan) */
	pending?: true;
	/** position in the account's application order (0 until applied) */
	seq: number;
	createdAt: Date;
	/** epoch 0 until applied (never null: it is range-compared) */
	appliedAt: Date;
	balanceAfter: Balance;
	description: string;
	envId?: string;
	/** COL-8: the member whose environment a charge is for (carried, never priced) */
	initiator?: Initiator;
	/** who asked for it (an admin's account id), for the audit */
	actor?: string;
	idempotencyKey?: string;
	/** refused entries: the balance that could not take it */
	refusal: string;
}

export interface BalanceDoc extends Doc {
	main: Micros;
	bonus: Micros;
	/** how many entries this balance has taken (applied or refused): its version */
	seq: number;
	/** the entry taken last ("" for none) and what it did, until and after it is marked */
	lastEntry: string;
	lastMain: Micros;
	lastBonus: Micros;
	lastRefused: string;
	/** when the last entry was taken: its `appliedAt` */
	updatedAt: Date;
}

export interface NewEntry {
	accountId: string;
	key: string;
	kind: EntryKind;
	amount: Micros;
	description: string;
	envId?: string;
	initiator?: Initiator;
	toBonus?: boolean;
	mainFirst?: boolean;
	actor?: string;
	idempotencyKey?: string;
}

export interface Reconciliation {
	accountId: string;
	balance: Balance;
	ledger: Balance;
	ok: boolean;
	pending: number;
}

/** A reconciliation that may have repaired: `repaired` only where the balance differed (false: it moved meanwhile, or is missing). */
export interface Repair extends Reconciliation {
	repaired?: boolean;
}

/** One account's balance document and applied ledger, read at one version of the balance. */
interface AccountFacts {
	doc: BalanceDoc | null;
	applied: EntryDoc[];
	pending: number;
	/** false when the balance kept moving while the ledger was read: not a view to repair from */
	consistent: boolean;
}

/** The balance document's version: anything an applier or a repair changes. */
const sameVersion = (a: BalanceDoc | null, b: BalanceDoc | null) =>
	a === null || b === null ? a === b : a.seq === b.seq && a.main === b.main && a.bonus === b.bonus && a.lastEntry === b.lastEntry;

const EPOCH = new Date(0);
// Contention on one account only means another applier won: retry soon, with jitter.
const MAX_ATTEMPTS = 500;

/** After a conditional write lost to another writer: wait a little, with jitter, longer as attempts add up (at most 20 ms). */
export const backoff = (attempt: number) => new Promise(r => setTimeout(r, Math.random() * Math.min(20, attempt)));

/** An account's balance before its first entry. */
const newBalance = (accountId: string): BalanceDoc => ({
	_id: accountId,
	main: 0,
	bonus: 0,
	seq: 0,
	lastEntry: "",
	lastMain: 0,
	lastBonus: 0,
	lastRefused: "",
	updatedAt: now(),
});

/** Step 2's update: the balance takes entry `id` with `outcome`, recording it as its last. */
const balanceMove = (id: string, outcome: Outcome, at: Date) => ({
	$inc: { main: outcome.main, bonus: outcome.bonus, seq: 1 },
	$set: { lastEntry: id, lastMain: outcome.main, lastBonus: outcome.bonus, lastRefused: outcome.refused ?? "", updatedAt: at },
});

/** The balance document after it took entry `id` with `outcome` (what step 2 writes). */
const applied = (b: BalanceDoc, id: string, outcome: Outcome): BalanceDoc => ({
	...b,
	main: b.main + outcome.main,
	bonus: b.bonus + outcome.bonus,
	seq: b.seq + 1,
	...balanceMove(id, outcome, now()).$set,
});

/**
 * Step 3's update: the balance's last entry marked from the balance's own record of it — what it
 * moved, the balances after it, its place in the order, when the balance took it. `pending: true`
 * exactly while the state is pending (both change in this one update), and indexed: a balance
 * whose last entry is marked already (most calls) reads no entry at all. Null for a new balance.
 */
function markOf(b: BalanceDoc) {
	if (!b.lastEntry) return null;
	const common = { seq: b.seq, appliedAt: b.updatedAt, balanceAfter: { main: b.main, bonus: b.bonus } };
	const set = b.lastRefused
		? { ...common, state: "refused" as const, refusal: b.lastRefused, amountMain: 0, amountBonus: 0 }
		: { ...common, state: "applied" as const, amountMain: b.lastMain, amountBonus: b.lastBonus };
	return { query: { _id: b.lastEntry, pending: true }, update: { $set: set, $unset: { pending: true as const } } };
}

export class Ledger {
	/**
	 * Posts in one transaction (embedded SQLite: `postAtOnce`); MongoDB, which has none across
	 * documents here, runs the protocol of the header. Tests of the protocol's crash steps turn it off.
	 */
	atOnce: boolean;

	constructor(
		private entries: Store<EntryDoc>,
		private balances: Store<BalanceDoc>,
		/** called once per entry, by whoever marks it (a request, another request, or recovery) */
		private onSettled: (entry: EntryDoc) => void = () => undefined,
	) {
		this.atOnce = !!(entries.atomic && entries.sync && balances.sync);
	}

	/** Records and applies one movement; idempotent by `key`. Answers the entry, applied or refused. */
	async post(input: NewEntry): Promise<{ entry: EntryDoc; replay: boolean }> {
		if (this.atOnce) {
			const { entry, replay, marked } = await this.entries.atomic!(() => this.postAtOnce(input), this.balances);
			for (const m of marked) this.onSettled(m);
			// A replay of an entry the protocol left pending (a crash before this store, a test's): settled as ever.
			return { entry: entry.state === "pending" ? await this.settle(entry) : entry, replay };
		}
		const { entry, replay } = await this.insertPending(input);
		return { entry: await this.settle(entry), replay };
	}

	/**
	 * The embedded store's post: steps 1–3 in ONE transaction — the balance's last entry marked if a
	 * crash left it pending, the entry inserted already applied (or refused), the balance moved —
	 * so no crash can fall between them, and the entry is written once instead of twice.
	 */
	private postAtOnce(input: NewEntry): { entry: EntryDoc; replay: boolean; marked: EntryDoc[] } {
		const entries = this.entries.sync!;
		const balances = this.balances.sync!;
		const fresh = this.entryOf(input);
		const existing = entries.findOne({ key: input.key });
		if (existing) return { entry: this.replayOf(existing, input), replay: true, marked: [] };
		const before = balances.findById(input.accountId) ?? balances.insert(newBalance(input.accountId));
		const mark = markOf(before);
		const last = mark && entries.updateOne(mark.query, mark.update);
		const outcome = planEntry(fresh, before);
		const after = applied(before, fresh._id, outcome);
		const entry: EntryDoc = { ...fresh, ...markOf(after)!.update.$set };
		delete entry.pending;
		entries.insert(entry);
		balances.replace(after);
		return { entry, replay: false, marked: last ? [last, entry] : [entry] };
	}

	/** Step 1: the pending entry, or the one already under this key (a replay). */
	async insertPending(input: NewEntry): Promise<{ entry: EntryDoc; replay: boolean }> {
		const doc = this.entryOf(input);
		try {
			await this.entries.insert(doc);
			return { entry: doc, replay: false };
		} catch (err) {
			if (!(err instanceof DuplicateKeyError)) throw err;
		}
		const existing = await this.entries.findOne({ key: input.key });
		if (!existing) throw new Error(`Ledger key ${input.key} is taken but its entry cannot be read`);
		return { entry: this.replayOf(existing, input), replay: true };
	}

	/** The entry under an existing key, if it is this account's. */
	private replayOf(existing: EntryDoc, input: NewEntry): EntryDoc {
		if (existing.accountId !== input.accountId) throw conflict("This ledger key belongs to another account", { key: input.key });
		return existing;
	}

	/** A new entry, pending. */
	private entryOf(input: NewEntry): EntryDoc {
		assertMicros(input.amount);
		const doc: EntryDoc = {
			_id: newId(),
			accountId: input.accountId,
			key: input.key,
			kind: input.kind,
			requested: input.amount,
			target: targetOf(input.kind, input.amount, input.toBonus),
			mainFirst: !!input.mainFirst,
			amountMain: 0,
			amountBonus: 0,
			state: "pending",
			pending: true,
			seq: 0,
			createdAt: now(),
			appliedAt: EPOCH,
			balanceAfter: { main: 0, bonus: 0 },
			description: input.description,
			refusal: "",
			...(input.envId ? { envId: input.envId } : {}),
			...(input.initiator ? { initiator: input.initiator } : {}),
			...(input.actor ? { actor: input.actor } : {}),
			...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}),
		};
		return doc;
	}

	/** Steps 2 and 3 until the entry is applied or refused; safe to run any number of times, concurrently. */
	async settle(entry: Pick<EntryDoc, "_id" | "accountId">): Promise<EntryDoc> {
		for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
			// Order matters (see the header): the balance first, its last entry marked, then the entry.
			const before = await this.ensureBalance(entry.accountId);
			await this.markLast(before);
			const e = await this.entries.findById(entry._id);
			if (!e) throw new Error(`Ledger entry ${entry._id} not found`);
			if (e.state !== "pending") return e;
			if (before.lastEntry === e._id) throw new Error(`Ledger entry ${e._id} was taken by the balance but could not be marked`);
			const after = await this.applyToBalance(before, e, planEntry(e, before));
			if (after) return (await this.markLast(after)) ?? (await this.entries.findById(e._id))!;
			await backoff(attempt);
		}
		throw new Error(`Ledger entry ${entry._id} could not be applied: the account's balance kept changing`);
	}

	/** Step 2: the one conditional atomic update; null when another entry was applied first. */
	async applyToBalance(before: BalanceDoc, e: EntryDoc, outcome: Outcome): Promise<BalanceDoc | null> {
		return this.balances.updateOne(
			{ _id: before._id, seq: before.seq, main: before.main, bonus: before.bonus, lastEntry: { $ne: e._id } },
			balanceMove(e._id, outcome, now()),
		);
	}

	/**
	 * Step 3: marks the balance's last entry from the balance's own record of it: what it moved,
	 * the balances after it, its place in the order and when the balance took it. Answers the
	 * entry if this call marked it, null if there was nothing left to mark.
	 */
	async markLast(b: BalanceDoc): Promise<EntryDoc | null> {
		const mark = markOf(b);
		if (!mark) return null; // a new account: nothing taken yet
		const marked = await this.entries.updateOne(mark.query, mark.update);
		if (marked) this.onSettled(marked);
		return marked;
	}

	/** The balance document, created on first use. */
	async ensureBalance(accountId: string): Promise<BalanceDoc> {
		const found = await this.balances.findById(accountId);
		if (found) return found;
		try {
			return await this.balances.insert(newBalance(accountId));
		} catch (err) {
			if (!(err instanceof DuplicateKeyError)) throw err;
			return (await this.balances.findById(accountId))!;
		}
	}

	async balanceOf(accountId: string): Promise<Balance> {
		const b = await this.balances.findById(accountId);
		return { main: b?.main ?? 0, bonus: b?.bonus ?? 0 };
	}

	/**
	 * The recovery job: settles entries left pending (a crash, a lost request) that were posted at
	 * least `olderThanMs` ago, in creation order per account. Settling beside a live request is
	 * harmless, the age only spares it the work.
	 */
	async recover(olderThanMs: number | "all", limit = 5000): Promise<number> {
		// "all": at start, whatever the clock says (a restored backup's entries may carry a later time).
		const query = olderThanMs === "all" ? { pending: true } : { pending: true, createdAt: { $lte: new Date(now().getTime() - olderThanMs) } };
		const pending = await this.entries.find(query, { sort: { createdAt: 1 }, limit });
		let settled = 0;
		for (const list of groupBy(pending, e => e.accountId).values()) {
			for (const e of list) {
				await this.settle(e);
				settled++;
			}
		}
		return settled;
	}

	/**
	 * BIL-2: proves balance = Σ applied ledger, per account (all accounts when none is given), and
	 * sets every balance that differs from the ledger (see the header). Rows are as found; a
	 * differing one says whether it was repaired.
	 */
	async repair(accountId?: string): Promise<Repair[]> {
		const out: Repair[] = [];
		for (const id of await this.accountIds(accountId)) {
			const facts = await this.factsOf(id);
			const row: Repair = reconciliation(id, facts);
			if (!row.ok) row.repaired = facts.consistent && !!facts.doc && !!(await this.restoreBalance(facts.doc, row.ledger));
			out.push(row);
		}
		return out;
	}

	/** The repair's one conditional update: only the document as read, only its balances. Null when it moved meanwhile. */
	async restoreBalance(seen: BalanceDoc, to: Balance): Promise<BalanceDoc | null> {
		assertMicros(to.main);
		assertMicros(to.bonus);
		return this.balances.updateOne(
			{ _id: seen._id, seq: seen.seq, main: seen.main, bonus: seen.bonus, lastEntry: seen.lastEntry },
			{ $set: { main: to.main, bonus: to.bonus } },
		);
	}

	private async accountIds(accountId?: string): Promise<string[]> {
		if (accountId) return [accountId];
		const withBalance = (await this.balances.find({})).map(b => b._id);
		const withPending = (await this.entries.find({ pending: true })).map(e => e.accountId);
		return [...new Set([...withBalance, ...withPending])].sort();
	}

	private async factsOf(accountId: string): Promise<AccountFacts> {
		// A consistent view without transactions: the balance did not move while the ledger was read.
		for (let attempt = 1; ; attempt++) {
			const b1 = await this.balances.findById(accountId);
			const applied = await this.entries.find({ accountId, state: "applied" });
			const pending = await this.entries.count({ accountId, state: "pending" });
			const b2 = await this.balances.findById(accountId);
			const consistent = sameVersion(b1, b2);
			if (!consistent && attempt < 20) {
				await backoff(attempt);
				continue;
			}
			return { doc: b2, applied, pending, consistent };
		}
	}
}

function reconciliation(accountId: string, facts: AccountFacts): Reconciliation {
	const { balance, ledger, differs } = balanceDrift(facts.applied, facts.doc);
	return { accountId, balance, ledger, ok: !differs, pending: facts.pending };
}
