// BIL-2 on the in-process platform: balance = Σ applied ledger after a crash at any step of the
// protocol (fault injection: the step after the ledger insert, the step after the balance update,
// the store itself failing once), and after 10,000 random funds, unfunds and charges across a
// few accounts — many concurrent, some replayed with the same key, some crashing half-way —
// each entry taken by the balance exactly once, in one running order per account.
import type { ServiceSchema } from "moleculer";
import { nowMs } from "../../lib/clock";
import type { Store } from "../../mixins/db.mixin";
import QuotasService from "../../services/quotas.service";
import { Ledger, type BalanceDoc, type EntryDoc, type Reconciliation } from "../../services/billing/ledger-store";
import { waitUntil } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const U = 1_000_000;

type BillingInternals = { ledger: Ledger; db: { ledger: Store<EntryDoc>; balances: Store<BalanceDoc> } };
interface EntryView {
	id: string;
	key: string;
	state: string;
	requested: number;
	amountMain: number;
	amountBonus: number;
	balanceAfter: { main: number; bonus: number };
	seq: number;
}

// Prefer the real quotas service; while it is still a placeholder, a stand-in answers the same contract.
const quotasIsReal = !!(QuotasService as { actions?: Record<string, unknown> }).actions?.effective;
const quotasStandIn: ServiceSchema = {
	name: "quotas",
	actions: {
		effective: {
			visibility: "public",
			handler: () => ({ group: "trial", values: { "account.trial.bonus": "10.00", "account.minbalance": "0", "account.charge.balance.first": 0 } }),
		},
	},
};

/** Deterministic randomness, so a failure can be replayed (mulberry32). */
function prng(seed: number) {
	let a = seed >>> 0;
	const next = () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)), pick: <T>(xs: T[]) => xs[Math.floor(next() * xs.length)] };
}

describe("the ledger protocol", () => {
	let p: Platform;
	let billing: BillingInternals;
	const accounts: string[] = [];
	const changed: { accountId: string; main: number; bonus: number }[] = [];

	const post = (params: Record<string, unknown>) => p.broker.call<EntryView, Record<string, unknown>>("billing.post", params);
	const reconcile = (accountId?: string) => p.broker.call<Reconciliation[], { accountId?: string }>("billing.reconcile", accountId ? { accountId } : {});
	const entryByKey = (key: string) => billing.db.ledger.findOne({ key });
	const balance = async (accountId: string) => {
		const b = await billing.db.balances.findById(accountId);
		return { main: b?.main ?? 0, bonus: b?.bonus ?? 0 };
	};
	/** The recovery job as cron runs it: pending entries older than its threshold (the test clock moves past it). */
	async function runRecovery() {
		await p.broker.call("clock.set", { now: new Date(nowMs() + 60_000).toISOString() });
		return (await p.broker.call<{ processed: number }, { job: string }>("billing.runJob", { job: "recover-ledger" })).processed;
	}
	const crash = () => new Error("simulated crash");

	beforeAll(async () => {
		if (!quotasIsReal) console.warn("quotas is still a placeholder: the ledger test uses a stand-in answering quotas.effective");
		p = await startPlatform({
			env: { QM_TEST_CLOCK: "1" },
			services: ["gateway", "accounts", "auth", "notifications", "quotas", "billing"],
			...(quotasIsReal ? {} : { replace: { quotas: quotasStandIn } }),
			extra: [
				{
					name: "balance-listener",
					events: {
						"billing.balance.changed": { handler: (ctx: { params: { accountId: string; main: number; bonus: number } }) => void changed.push(ctx.params) },
					},
				} as unknown as ServiceSchema,
			],
		});
		billing = p.broker.getLocalService("billing") as unknown as BillingInternals;
		for (let i = 0; i < 4; i++) accounts.push((await createAccount(p, `ledger${i}@example.com`, `Ledger-pass-${i}-xyz!`)).id);
		// Their trial bonus arrives by event: let it land so that the figures below are exact.
		await waitUntil(async () => (await Promise.all(accounts.map(balance))).every(b => b.bonus === 10 * U));
	});
	afterAll(() => p?.stop());
	afterEach(() => jest.restoreAllMocks());

	describe("fault injection", () => {
		// The protocol's steps, as MongoDB runs them: the embedded store posts in one transaction
		// (below), so it is turned off here to reach the crash points between the steps.
		let atOnce = false;
		beforeAll(() => {
			atOnce = billing.ledger.atOnce;
			billing.ledger.atOnce = false;
		});
		afterAll(() => {
			billing.ledger.atOnce = atOnce;
		});

		it("credited each new trial account its bonus once, and announced it", async () => {
			for (const id of accounts) {
				expect(await balance(id)).toEqual({ main: 0, bonus: 10 * U });
				const trial = await entryByKey(`bonus:trial:${id}`);
				expect(trial).toMatchObject({ state: "applied", kind: "bonus", amountBonus: 10 * U, amountMain: 0, seq: 1 });
				expect(changed).toContainEqual({ accountId: id, main: 0, bonus: 10 * U });
			}
		});

		it("a crash between the ledger insert and the balance update: pending, then applied once by recovery", async () => {
			const id = accounts[0];
			const before = await balance(id);
			jest.spyOn(billing.ledger, "applyToBalance").mockRejectedValueOnce(crash());
			await expect(post({ accountId: id, key: "t:crash-before", kind: "refill", amount: 5 * U, description: "x" })).rejects.toThrow("simulated crash");

			expect(await entryByKey("t:crash-before")).toMatchObject({ state: "pending", amountMain: 0 });
			expect(await balance(id)).toEqual(before);
			expect(await reconcile(id)).toEqual([{ accountId: id, balance: before, ledger: before, ok: true, pending: 1 }]);

			expect(await runRecovery()).toBe(1);
			const after = { main: before.main + 5 * U, bonus: before.bonus };
			expect(await entryByKey("t:crash-before")).toMatchObject({ state: "applied", amountMain: 5 * U, balanceAfter: after });
			expect(await balance(id)).toEqual(after);
			expect(await reconcile(id)).toEqual([{ accountId: id, balance: after, ledger: after, ok: true, pending: 0 }]);

			// The client's retry with the same key: the same entry, nothing moved again.
			const replay = await post({ accountId: id, key: "t:crash-before", kind: "refill", amount: 5 * U, description: "x" });
			expect(replay).toMatchObject({ key: "t:crash-before", state: "applied", amountMain: 5 * U });
			expect(await balance(id)).toEqual(after);
			expect(await runRecovery()).toBe(0);
		});

		it("an entry left pending at a later time than the clock now shows (a restored backup) is settled by the start's recovery", async () => {
			const id = accounts[2];
			const before = await balance(id);
			jest.spyOn(billing.ledger, "applyToBalance").mockRejectedValueOnce(crash());
			await expect(post({ accountId: id, key: "t:from-later", kind: "refill", amount: 3 * U, description: "x" })).rejects.toThrow("simulated crash");
			// The platform restarts on a clock two hours behind the one the entry was posted on.
			await p.broker.call("clock.set", { now: new Date(nowMs() - 2 * 3_600_000).toISOString() });
			expect(await p.broker.call("billing.runJob", { job: "recover-ledger" })).toMatchObject({ processed: 0 }); // the job waits for its age
			await billing.ledger.recover("all"); // what billing's started() runs before its first answer
			const after = { main: before.main + 3 * U, bonus: before.bonus };
			expect(await entryByKey("t:from-later")).toMatchObject({ state: "applied", amountMain: 3 * U, balanceAfter: after });
			expect(await reconcile(id)).toEqual([{ accountId: id, balance: after, ledger: after, ok: true, pending: 0 }]);
		});

		it("a crash between the balance update and marking the entry: Σ ledger still holds, recovery only marks it", async () => {
			const id = accounts[1];
			const before = await balance(id); // main 0, bonus 10
			jest.spyOn(billing.ledger, "applyToBalance").mockImplementationOnce(async function (this: Ledger, ...args) {
				await Ledger.prototype.applyToBalance.apply(billing.ledger, args);
				throw crash();
			});
			// A charge of 12: bonus first, so 10 from bonus and 2 from main — decided once, at the update.
			await expect(post({ accountId: id, key: "t:crash-after", kind: "charge", amount: -12 * U, description: "hour" })).rejects.toThrow("simulated crash");

			const taken = { main: before.main - 2 * U, bonus: 0 };
			expect(await entryByKey("t:crash-after")).toMatchObject({ state: "pending" });
			expect(await balance(id)).toEqual(taken);
			// The balance's record of its last entry counts the in-flight one: balance = Σ ledger even now.
			expect(await reconcile(id)).toEqual([{ accountId: id, balance: taken, ledger: taken, ok: true, pending: 1 }]);

			expect(await runRecovery()).toBe(1);
			expect(await entryByKey("t:crash-after")).toMatchObject({ state: "applied", amountMain: -2 * U, amountBonus: -10 * U, balanceAfter: taken });
			expect(await balance(id)).toEqual(taken); // not applied a second time
			expect(await reconcile(id)).toEqual([{ accountId: id, balance: taken, ledger: taken, ok: true, pending: 0 }]);
		});

		it("the account's next movement finishes an entry left half-done, before taking its own", async () => {
			const id = accounts[1];
			const before = await balance(id);
			jest.spyOn(billing.ledger, "applyToBalance").mockImplementationOnce(async function (...args) {
				await Ledger.prototype.applyToBalance.apply(billing.ledger, args);
				throw crash();
			});
			await expect(post({ accountId: id, key: "t:half-1", kind: "refill", amount: 3 * U, description: "a" })).rejects.toThrow("simulated crash");
			const next = await post({ accountId: id, key: "t:half-2", kind: "refill", amount: 4 * U, description: "b" });

			const first = (await entryByKey("t:half-1"))!;
			expect(first).toMatchObject({ state: "applied", amountMain: 3 * U, balanceAfter: { main: before.main + 3 * U, bonus: before.bonus } });
			expect(next).toMatchObject({ state: "applied", amountMain: 4 * U, seq: first.seq + 1, balanceAfter: { main: before.main + 7 * U, bonus: before.bonus } });
			expect(await balance(id)).toEqual({ main: before.main + 7 * U, bonus: before.bonus });
			expect((await reconcile(id))[0]).toMatchObject({ ok: true, pending: 0 });
		});

		it("the store failing once, at the balance update and at the marking, loses and doubles nothing", async () => {
			const id = accounts[2];
			const before = await balance(id);
			// The conditional $inc itself fails (the database went away): nothing moved.
			jest.spyOn(billing.db.balances, "updateOne").mockRejectedValueOnce(crash());
			await expect(post({ accountId: id, key: "t:store-1", kind: "refill", amount: 1 * U, description: "a" })).rejects.toThrow("simulated crash");
			expect(await balance(id)).toEqual(before);
			// The marking fails after the $inc went through.
			jest.spyOn(billing.db.ledger, "updateOne").mockRejectedValueOnce(crash());
			await expect(post({ accountId: id, key: "t:store-2", kind: "refill", amount: 2 * U, description: "b" })).rejects.toThrow("simulated crash");
			jest.restoreAllMocks();

			expect(await reconcile(id)).toEqual([expect.objectContaining({ ok: true, pending: 2 })]);
			expect(await runRecovery()).toBe(2);
			const after = { main: before.main + 3 * U, bonus: before.bonus };
			expect(await balance(id)).toEqual(after);
			expect(await entryByKey("t:store-1")).toMatchObject({ state: "applied", amountMain: 1 * U });
			expect(await entryByKey("t:store-2")).toMatchObject({ state: "applied", amountMain: 2 * U });
			expect(await reconcile(id)).toEqual([{ accountId: id, balance: after, ledger: after, ok: true, pending: 0 }]);
		});

		it("twenty appliers of one pending entry at once apply it once", async () => {
			const id = accounts[3];
			const before = await balance(id);
			const { entry } = await billing.ledger.insertPending({ accountId: id, key: "t:race", kind: "refill", amount: 9 * U, description: "race" });
			const results = await Promise.all(Array.from({ length: 20 }, () => billing.ledger.settle(entry)));
			expect(new Set(results.map(r => `${r._id}|${r.state}|${r.seq}`)).size).toBe(1);
			expect(await balance(id)).toEqual({ main: before.main + 9 * U, bonus: before.bonus });
			expect((await reconcile(id))[0]).toMatchObject({ ok: true, pending: 0 });
		});

		it("refuses an unfund that would take the bonus below zero, moves nothing, and answers the same on a replay", async () => {
			const id = accounts[3];
			const before = await balance(id);
			const unfund = { accountId: id, key: "t:unfund-bonus", kind: "adjustment", amount: -(before.bonus + 1), toBonus: true, description: "too much" };
			await expect(post(unfund)).rejects.toMatchObject({ code: 422, type: "INSUFFICIENT_BALANCE", data: { field: "amount", balance: "bonus" } });
			await expect(post(unfund)).rejects.toMatchObject({ code: 422, type: "INSUFFICIENT_BALANCE" });
			expect(await entryByKey("t:unfund-bonus")).toMatchObject({ state: "refused", amountBonus: 0, amountMain: 0 });
			expect(await balance(id)).toEqual(before);
			// Main may go negative: an unfund of main is never refused.
			await post({ accountId: id, key: "t:unfund-main", kind: "adjustment", amount: -(before.main + 50 * U), description: "below zero" });
			expect((await balance(id)).main).toBe(-50 * U);
			expect((await reconcile(id))[0]).toMatchObject({ ok: true, pending: 0 });
		});

		it("refuses a positive charge (charges take money)", async () => {
			await expect(post({ accountId: accounts[0], key: "t:bad", kind: "charge", amount: 1, description: "x" })).rejects.toMatchObject({
				code: 422,
				data: [{ field: "amount", message: expect.stringMatching(/negative/) }],
			});
		});
	});

	describe("the embedded store's one transaction", () => {
		const embedded = () => {
			if (billing.ledger.atOnce) return true;
			console.log("skipped: the store has no transaction across documents (MongoDB): posts run the protocol, tested above");
			return false;
		};

		it("the store failing inside a post undoes all of it: no entry, no movement, and the retry applies it once", async () => {
			if (!embedded()) return;
			const id = accounts[1];
			const before = await balance(id);
			jest.spyOn(billing.db.balances.sync!, "replace").mockImplementationOnce(() => {
				throw crash();
			});
			await expect(post({ accountId: id, key: "t:tx-1", kind: "refill", amount: 4 * U, description: "a" })).rejects.toThrow("simulated crash");
			expect(await entryByKey("t:tx-1")).toBeNull();
			expect(await balance(id)).toEqual(before);
			expect(await post({ accountId: id, key: "t:tx-1", kind: "refill", amount: 4 * U, description: "a" })).toMatchObject({
				state: "applied",
				amountMain: 4 * U,
			});
			expect(await balance(id)).toEqual({ main: before.main + 4 * U, bonus: before.bonus });
			expect((await reconcile(id))[0]).toMatchObject({ ok: true, pending: 0 });
		});

		it("a post marks the entry a crash of the protocol left half-done, in its own transaction, and takes its own after it", async () => {
			if (!embedded()) return;
			const id = accounts[1];
			const before = await balance(id);
			billing.ledger.atOnce = false;
			jest.spyOn(billing.ledger, "applyToBalance").mockImplementationOnce(async function (...args) {
				await Ledger.prototype.applyToBalance.apply(billing.ledger, args);
				throw crash();
			});
			await expect(post({ accountId: id, key: "t:tx-half", kind: "refill", amount: 3 * U, description: "a" })).rejects.toThrow("simulated crash");
			billing.ledger.atOnce = true;
			expect(await entryByKey("t:tx-half")).toMatchObject({ state: "pending" });
			const next = await post({ accountId: id, key: "t:tx-next", kind: "refill", amount: 1 * U, description: "b" });
			const half = await entryByKey("t:tx-half");
			expect(half).toMatchObject({ state: "applied", amountMain: 3 * U, balanceAfter: { main: before.main + 3 * U, bonus: before.bonus } });
			expect(next).toMatchObject({ state: "applied", seq: half!.seq + 1, balanceAfter: { main: before.main + 4 * U, bonus: before.bonus } });
			expect(await reconcile(id)).toEqual([expect.objectContaining({ ok: true, pending: 0 })]);
		});
	});

	describe.each([
		["the protocol (MongoDB's; on SQLite with the transaction off)", "p", false],
		["one transaction a post (SQLite)", "t", true],
	])("random movements (10,000; 2,000 on the MongoDB leg): %s", (_name, prefix, atOnce) => {
		let was = false;
		beforeAll(() => {
			was = billing.ledger.atOnce;
			billing.ledger.atOnce = atOnce && was;
		});
		afterAll(() => {
			billing.ledger.atOnce = was;
		});

		it("keep balance = Σ applied ledger, apply every entry exactly once, and leave nothing pending", async () => {
			if (atOnce && !was) {
				console.log("skipped: the store has no transaction across documents (MongoDB): posts run the protocol, tested above");
				return;
			}
			const rnd = prng(20300101);
			// Faults draw from their own sequence: how often the update runs depends on contention, the operations must not.
			const faults = prng(42);
			// On the MongoDB leg 2,000: FerretDB 1.x scans a table for every conditional query, and
			// 10,000 took ~280 s there; the properties checked are the same.
			const TOTAL = process.env.MONGO_URI ? 2_000 : 10_000;
			const ops: Record<string, unknown>[] = [];
			const firstAnswer = new Map<string, EntryView | string>();
			let replays = 0;
			let crashes = 0;
			let refused = 0;
			const t0 = Date.now();

			// 1% of updates crash, half of them before the $inc, half after it: recovery must mend them.
			// In one transaction, the balance's write fails (1%) and takes the whole post with it.
			if (atOnce) {
				const sync = billing.db.balances.sync!;
				const replace = sync.replace;
				jest.spyOn(sync, "replace").mockImplementation(doc => {
					if (faults.next() < 0.01) {
						crashes++;
						throw crash();
					}
					replace(doc);
				});
			} else
				jest.spyOn(billing.ledger, "applyToBalance").mockImplementation(async function (...args) {
					const r = faults.next();
					if (r < 0.005) {
						crashes++;
						throw crash();
					}
					const res = await Ledger.prototype.applyToBalance.apply(billing.ledger, args);
					if (r < 0.01 && res) {
						crashes++;
						throw crash();
					}
					return res;
				});

			function newOp(n: number): Record<string, unknown> {
				const accountId = rnd.pick(accounts);
				const amount = rnd.int(1, 50 * U);
				const kind = rnd.pick(["fund", "fund", "bonus", "unfund", "unfund-bonus", "charge", "charge", "charge", "charge"]);
				const base = { accountId, key: `r:${prefix}:${n}`, description: `op ${n}` };
				switch (kind) {
					case "fund":
						return { ...base, kind: "refill", amount };
					case "bonus":
						return { ...base, kind: "bonus", amount, toBonus: true };
					case "unfund":
						return { ...base, kind: "adjustment", amount: -amount };
					case "unfund-bonus":
						return { ...base, kind: "adjustment", amount: -rnd.int(1, 20 * U), toBonus: true };
					default: {
						// Most charges say their order; a few ask the account's quotas (bonus first by default).
						const order = rnd.next();
						return { ...base, kind: "charge", amount: -rnd.int(1, 5 * U), ...(order < 0.45 ? { mainFirst: true } : order < 0.9 ? { mainFirst: false } : {}) };
					}
				}
			}

			async function run(op: Record<string, unknown>) {
				try {
					const e = await post(op);
					return e as EntryView | string;
				} catch (err) {
					const e = err as { type?: string; message: string };
					if (e.type === "INSUFFICIENT_BALANCE") return "refused";
					if (e.message === "simulated crash") return "crash";
					throw err;
				}
			}

			let done = 0;
			while (done < TOTAL) {
				const size = Math.min(TOTAL - done, rnd.int(1, 24));
				const batch: Record<string, unknown>[] = [];
				for (let i = 0; i < size; i++) {
					// About 10% replays of an earlier request (same key, same body), some of them within the batch itself.
					if (ops.length && rnd.next() < 0.1) {
						batch.push(rnd.pick(ops.slice(-200)));
						replays++;
					} else {
						const op = newOp(ops.length);
						ops.push(op);
						batch.push(op);
					}
				}
				const answers = await Promise.all(batch.map(run));
				answers.forEach((a, i) => {
					const key = batch[i].key as string;
					if (a === "crash") return;
					if (a === "refused") refused++;
					const first = firstAnswer.get(key);
					if (first === undefined) firstAnswer.set(key, a);
					// A replay answers what the first answer said: the same entry with the same amounts, or the same refusal.
					else if (typeof first === "string" || typeof a === "string") expect(a).toEqual(first);
					else
						expect({ id: a.id, main: a.amountMain, bonus: a.amountBonus, seq: a.seq }).toEqual({
							id: first.id,
							main: first.amountMain,
							bonus: first.amountBonus,
							seq: first.seq,
						});
				});
				done += size;
			}
			jest.restoreAllMocks();
			const runMs = Date.now() - t0;

			const recovered = await runRecovery();
			const rows = await reconcile();
			expect(rows.filter(r => accounts.includes(r.accountId))).toHaveLength(accounts.length);
			expect(rows.filter(r => !r.ok || r.pending)).toEqual([]);
			expect(await billing.db.ledger.count({ state: "pending" })).toBe(0);

			// Every key answered has exactly one entry, applied or refused; one that only ever crashed
			// has one too under the protocol (recovered), none in one transaction (undone whole).
			const keys = new Set(ops.map(o => o.key as string));
			const entries = await billing.db.ledger.find({ key: { $in: [...keys] } });
			const unanswered = [...keys].filter(k => !firstAnswer.has(k));
			expect(entries).toHaveLength(atOnce ? keys.size - unanswered.length : keys.size);
			expect(new Set(entries.map(e => e.key)).size).toBe(entries.length);
			if (atOnce) expect(entries.filter(e => unanswered.includes(e.key))).toEqual([]);
			expect(entries.every(e => e.state === "applied" || e.state === "refused")).toBe(true);

			for (const id of accounts) {
				const mine = (await billing.db.ledger.find({ accountId: id })).sort((a, b) => a.seq - b.seq);
				const b = (await billing.db.balances.findById(id))!;
				// One running order: seq 1..n, each entry taken once, each balanceAfter = the previous one + what it moved.
				expect(mine.map(e => e.seq)).toEqual(mine.map((_, i) => i + 1));
				expect(b.seq).toBe(mine.length);
				let running = { main: 0, bonus: 0 };
				for (const e of mine) {
					running = { main: running.main + e.amountMain, bonus: running.bonus + e.amountBonus };
					expect({ key: e.key, after: e.balanceAfter }).toEqual({ key: e.key, after: running });
					expect(e.balanceAfter.bonus).toBeGreaterThanOrEqual(0); // bonus never below zero
					if (e.state === "applied") expect(e.amountMain + e.amountBonus).toBe(e.requested); // a charge is taken whole
				}
				expect({ main: b.main, bonus: b.bonus }).toEqual(running);
			}
			console.log(
				`ledger stress: ${TOTAL} operations (${ops.length} distinct keys, ${replays} replays, ${crashes} injected crashes, ${refused} refused) in ${runMs} ms; recovery settled ${recovered}`,
			);
		}, 120_000);
	});
});
