/**
 * BIL-2 reconciliation (services/billing/reconcile.ts): whether a balance document equals Σ its
 * applied ledger under the pending protocol of services/billing/ledger-store.ts, and what it must be when
 * it does not — the ledger is the truth.
 */
import { balanceDrift, repairNotice, type BalanceFacts } from "../../services/billing/reconcile";

const U = 1_000_000; // one unit in micros

const entry = (id: string, main: number, bonus = 0) => ({ _id: id, amountMain: main, amountBonus: bonus });
/** A balance document; by default its last entry is `e1`, already applied (and so in the applied list). */
const doc = (main: number, bonus: number, last: Partial<BalanceFacts> = {}): BalanceFacts => ({
	main,
	bonus,
	lastEntry: "e1",
	lastMain: 0,
	lastBonus: 10 * U,
	lastRefused: "",
	...last,
});
const trial = entry("e1", 0, 10 * U);

describe("balanceDrift", () => {
	test.each([
		// [case, applied entries, balance document, differs, the balance it must hold]
		["a new account: no document, no entries", [], null, false, { main: 0, bonus: 0 }],
		["a fresh document, nothing taken yet", [], doc(0, 0, { lastEntry: "", lastBonus: 0 }), false, { main: 0, bonus: 0 }],
		[
			"balance = Σ applied ledger",
			[trial, entry("e2", 25_500_000)],
			doc(25_500_000, 10 * U, { lastEntry: "e2", lastMain: 25_500_000, lastBonus: 0 }),
			false,
			{ main: 25_500_000, bonus: 10 * U },
		],
		[
			"a charge split across both, main below zero",
			[trial, entry("e2", -2 * U, -10 * U)],
			doc(-2 * U, 0, { lastEntry: "e2", lastMain: -2 * U, lastBonus: -10 * U }),
			false,
			{ main: -2 * U, bonus: 0 },
		],
		// The protocol's step 2 done, step 3 not yet: the balance took e2, the ledger still says pending.
		[
			"the last entry taken but not yet marked applied counts",
			[trial],
			doc(5 * U, 10 * U, { lastEntry: "e2", lastMain: 5 * U, lastBonus: 0 }),
			false,
			{ main: 5 * U, bonus: 10 * U },
		],
		[
			"… and once only when it is marked meanwhile",
			[trial, entry("e2", 5 * U)],
			doc(5 * U, 10 * U, { lastEntry: "e2", lastMain: 5 * U, lastBonus: 0 }),
			false,
			{ main: 5 * U, bonus: 10 * U },
		],
		[
			"a refused last entry moved nothing",
			[trial],
			doc(0, 10 * U, { lastEntry: "e2", lastBonus: -11 * U, lastRefused: "bonus" }),
			false,
			{ main: 0, bonus: 10 * U },
		],
		// Pending entries the balance has not taken are in neither: the recovery job applies them later.
		["pending entries not yet taken are in neither", [trial], doc(0, 10 * U), false, { main: 0, bonus: 10 * U }],
		// Drifts: the ledger wins.
		[
			"a lost write: the balance missed a refill",
			[trial, entry("e2", 25 * U)],
			doc(0, 10 * U, { lastEntry: "e2", lastMain: 25 * U, lastBonus: 0 }),
			true,
			{ main: 25 * U, bonus: 10 * U },
		],
		["a torn write: bonus off by a micro", [trial], doc(0, 10 * U + 1), true, { main: 0, bonus: 10 * U }],
		[
			"main and bonus both wrong",
			[trial, entry("e2", -3 * U, -1 * U)],
			doc(7 * U, 3 * U, { lastEntry: "e2", lastMain: -3 * U, lastBonus: -1 * U }),
			true,
			{ main: -3 * U, bonus: 9 * U },
		],
		[
			"a drift behind an entry in flight: its record still counts",
			[trial],
			doc(100 * U, 10 * U, { lastEntry: "e2", lastMain: 5 * U, lastBonus: 0 }),
			true,
			{ main: 5 * U, bonus: 10 * U },
		],
		[
			"a refused last entry whose balance moved anyway",
			[trial],
			doc(-1 * U, 10 * U, { lastEntry: "e2", lastMain: 0, lastBonus: 0, lastRefused: "bonus" }),
			true,
			{ main: 0, bonus: 10 * U },
		],
		["a lost document: the ledger still holds money", [trial], null, true, { main: 0, bonus: 10 * U }],
	] as const)("%s", (_name, applied, balance, differs, ledger) => {
		const drift = balanceDrift([...applied], balance);
		expect(drift).toEqual({ balance: { main: balance?.main ?? 0, bonus: balance?.bonus ?? 0 }, ledger, differs });
		expect(Number.isInteger(drift.ledger.main) && Number.isInteger(drift.ledger.bonus)).toBe(true);
	});
});

describe("repairNotice", () => {
	test("old and new balances as exact decimal strings (BIL-1)", () => {
		expect(repairNotice("acc-1", { main: 0, bonus: 10 * U + 1 }, { main: -2_500_000, bonus: 10 * U })).toEqual({
			accountId: "acc-1",
			oldMain: "0.00",
			oldBonus: "10.000001",
			newMain: "-2.50",
			newBonus: "10.00",
		});
	});
});
