/**
 * The ledger's arithmetic (services/billing/ledger.ts): BIL-3's charge order (bonus first, main
 * first with `account.charge.balance.first` = 1, never refused for lack of money, bonus never
 * below zero), where funds and unfunds land, and Σ ledger counting the balance's in-flight entry.
 */
import fc from "fast-check";
import { ledgerTotals, planEntry, splitCharge, targetOf } from "../../services/billing/ledger";
import { canonicalJson, fingerprintOf, requireIdempotencyKey } from "../../services/billing/idempotency";
import { transactionRow, balanceView } from "../../services/billing/views";

const U = 1_000_000; // one unit in micros

describe("splitCharge (BIL-3)", () => {
	test.each([
		// [charge, main, bonus, mainFirst, fromMain, fromBonus, main after, bonus after]
		["bonus covers it", 3 * U, 10 * U, 5 * U, false, 0, 3 * U, 10 * U, 2 * U],
		["bonus covers exactly", 5 * U, 10 * U, 5 * U, false, 0, 5 * U, 10 * U, 0],
		["bonus first, the rest from main", 8 * U, 10 * U, 5 * U, false, 3 * U, 5 * U, 7 * U, 0],
		["bonus empty: all from main", 4 * U, 10 * U, 0, false, 4 * U, 0, 6 * U, 0],
		["more than both: main goes negative, bonus stops at 0", 20 * U, 10 * U, 5 * U, false, 15 * U, 5 * U, -5 * U, 0],
		["main already negative: bonus first still", 3 * U, -2 * U, 5 * U, false, 0, 3 * U, -2 * U, 2 * U],
		["nothing anywhere: main goes negative", 1, 0, 0, false, 1, 0, -1, 0],
		["main first: main covers it", 3 * U, 10 * U, 5 * U, true, 3 * U, 0, 7 * U, 5 * U],
		["main first: main covers exactly", 10 * U, 10 * U, 5 * U, true, 10 * U, 0, 0, 5 * U],
		["main first, the rest from bonus", 12 * U, 10 * U, 5 * U, true, 10 * U, 2 * U, 0, 3 * U],
		["main first, more than both: bonus emptied, main negative", 20 * U, 10 * U, 5 * U, true, 15 * U, 5 * U, -5 * U, 0],
		["main first, main negative already: bonus pays", 3 * U, -1 * U, 5 * U, true, 0, 3 * U, -1 * U, 2 * U],
		["main first, main negative, bonus short: rest to main", 8 * U, -1 * U, 5 * U, true, 3 * U, 5 * U, -4 * U, 0],
		["a micro from a micro of bonus", 1, 0, 1, false, 0, 1, 0, 0],
		["zero charge moves nothing", 0, 10 * U, 5 * U, false, 0, 0, 10 * U, 5 * U],
	])("%s", (_name, amount, main, bonus, mainFirst, fromMain, fromBonus, mainAfter, bonusAfter) => {
		const split = splitCharge(amount as number, { main: main as number, bonus: bonus as number }, mainFirst as boolean);
		expect(split).toEqual({ fromMain, fromBonus });
		// The balances the account is left with, stated on their own rather than summed from the row.
		expect({ main: (main as number) - split.fromMain, bonus: (bonus as number) - split.fromBonus }).toEqual({ main: mainAfter, bonus: bonusAfter });
	});

	// The rules hold for any charge and balance, not only for the rows above.
	test("takes any charge whole, never a negative part, and never takes bonus below zero", () => {
		const micros = fc.integer({ min: -1_000 * U, max: 1_000 * U });
		fc.assert(
			fc.property(fc.integer({ min: 0, max: 1_000 * U }), micros, fc.integer({ min: 0, max: 1_000 * U }), fc.boolean(), (amount, main, bonus, mainFirst) => {
				const { fromMain, fromBonus } = splitCharge(amount, { main, bonus }, mainFirst);
				expect(fromMain + fromBonus).toBe(amount);
				expect(fromMain).toBeGreaterThanOrEqual(0);
				expect(fromBonus).toBeGreaterThanOrEqual(0);
				expect(bonus - fromBonus).toBeGreaterThanOrEqual(0);
				// bonus first: main pays only what bonus cannot; main first: bonus pays only what positive main cannot
				if (!mainFirst) expect(fromBonus).toBe(Math.min(bonus, amount));
				else expect(fromMain).toBe(Math.max(Math.min(Math.max(0, main), amount), amount - bonus));
			}),
		);
	});
});

describe("targetOf", () => {
	test.each([
		["charge", -5, undefined, "charge"],
		["correction", -5, undefined, "charge"],
		["correction", 5, undefined, "main"], // a refund of an over-charge goes to main
		["refill", 5, undefined, "main"],
		["adjustment", -5, undefined, "main"],
		["bonus", 5, true, "bonus"],
		["adjustment", -5, true, "bonus"],
	] as const)("%s of %i (toBonus %p) → %s", (kind, amount, toBonus, target) => {
		expect(targetOf(kind, amount, toBonus)).toBe(target);
	});
});

describe("planEntry", () => {
	const balance = { main: 10 * U, bonus: 5 * U };
	test.each([
		["a refill lands on main", { requested: 7 * U, target: "main" }, { main: 7 * U, bonus: 0 }],
		["a bonus grant lands on bonus", { requested: 7 * U, target: "bonus" }, { main: 0, bonus: 7 * U }],
		["unfunding main may take it negative", { requested: -30 * U, target: "main" }, { main: -30 * U, bonus: 0 }],
		["unfunding bonus down to exactly zero", { requested: -5 * U, target: "bonus" }, { main: 0, bonus: -5 * U }],
		["unfunding bonus below zero is refused", { requested: -5 * U - 1, target: "bonus" }, { refused: "bonus", main: 0, bonus: 0 }],
		["a charge, bonus first", { requested: -8 * U, target: "charge" }, { main: -3 * U, bonus: -5 * U }],
		["a charge, main first", { requested: -8 * U, target: "charge", mainFirst: true }, { main: -8 * U, bonus: 0 }],
		["a charge larger than everything", { requested: -100 * U, target: "charge" }, { main: -95 * U, bonus: -5 * U }],
		["a zero charge", { requested: 0, target: "charge" }, { main: 0, bonus: 0 }],
	] as const)("%s", (_name, entry, outcome) => {
		expect(planEntry(entry, balance)).toEqual(outcome);
	});

	test("refuses amounts that are not whole micros", () => {
		expect(() => planEntry({ requested: 0.5, target: "main" }, balance)).toThrow(RangeError);
	});

	test("never yields -0", () => {
		const o = planEntry({ requested: -3 * U, target: "charge" }, balance);
		expect(Object.is(o.main, -0)).toBe(false);
	});
});

describe("ledgerTotals", () => {
	const applied = [
		{ _id: "a", amountMain: 10 * U, amountBonus: 0 },
		{ _id: "b", amountMain: -2 * U, amountBonus: -3 * U },
		{ _id: "c", amountMain: 0, amountBonus: 7 * U },
	];
	test.each([
		["no in-flight entry", undefined, { main: 8 * U, bonus: 4 * U }],
		["the last entry is marked already: counted once", { entry: "c", main: 0, bonus: 7 * U, refused: "" }, { main: 8 * U, bonus: 4 * U }],
		[
			"the last entry was taken but not yet marked: counted from the balance's record",
			{ entry: "d", main: -1 * U, bonus: 0, refused: "" },
			{ main: 7 * U, bonus: 4 * U },
		],
		["a refused last entry moved nothing", { entry: "d", main: 0, bonus: 0, refused: "bonus" }, { main: 8 * U, bonus: 4 * U }],
		["a new account", { entry: "", main: 0, bonus: 0, refused: "" }, { main: 8 * U, bonus: 4 * U }],
	])("%s", (_name, last, totals) => {
		expect(ledgerTotals(applied, last)).toEqual(totals);
	});
});

describe("idempotency fingerprints", () => {
	test("the same body in another key order is the same request; another value is not", () => {
		expect(canonicalJson({ b: 1, a: { y: [1, { d: 2, c: 3 }], x: "s" } })).toBe('{"a":{"x":"s","y":[1,{"c":3,"d":2}]},"b":1}');
		expect(fingerprintOf("adminFund", { id: "x", amount: "5", note: "n" })).toBe(fingerprintOf("adminFund", { note: "n", amount: "5", id: "x" }));
		expect(fingerprintOf("adminFund", { id: "x", amount: "5", note: "n" })).not.toBe(fingerprintOf("adminFund", { id: "x", amount: "5.00", note: "n" }));
		expect(fingerprintOf("adminFund", { id: "x", amount: "5" })).not.toBe(fingerprintOf("adminCharge", { id: "x", amount: "5" }));
		// an absent optional field and an undefined one are the same body
		expect(fingerprintOf("f", { a: 1, bonus: undefined })).toBe(fingerprintOf("f", { a: 1 }));
	});

	test.each([
		[undefined, /send an Idempotency-Key/],
		["", /send an Idempotency-Key/],
		["k".repeat(256), /at most 255/],
	])("refuses the key %p with 422 naming Idempotency-Key", (key, reason) => {
		expect(() => requireIdempotencyKey(key)).toThrow(
			expect.objectContaining({ code: 422, data: [{ field: "Idempotency-Key", message: expect.stringMatching(reason) }] }),
		);
	});

	test("accepts a key of 255 characters", () => {
		expect(requireIdempotencyKey("k".repeat(255))).toHaveLength(255);
	});
});

describe("views", () => {
	test("a transaction row: the amount moved and the balances after, as decimal strings", () => {
		const row = transactionRow({
			_id: "e1",
			kind: "charge",
			amountMain: -3 * U,
			amountBonus: -5 * U,
			appliedAt: new Date(Date.UTC(2030, 0, 1, 12)),
			balanceAfter: { main: -1_234_567, bonus: 0 },
			description: "Hour 12",
			envId: "env1",
		});
		expect(row).toEqual({
			id: "e1",
			time: "2030-01-01T12:00:00.000Z",
			kind: "charge",
			amount: "-8.00",
			balanceAfter: { main: "-1.234567", bonus: "0.00" },
			description: "Hour 12",
			envId: "env1",
		});
	});

	test("the balance view", () => {
		expect(balanceView({ main: 2_500_000, bonus: 10 * U }, -5 * U)).toEqual({
			main: "2.50",
			bonus: "10.00",
			total: "12.50",
			currency: "USD",
			minBalance: "-5.00",
			autoRefill: null,
			daysLeft: null,
		});
		expect(balanceView({ main: 1, bonus: 0 }, 0, { autoRefill: { enabled: true }, daysLeft: 0.5 })).toMatchObject({ autoRefill: { enabled: true }, daysLeft: 0.5 });
	});
});
