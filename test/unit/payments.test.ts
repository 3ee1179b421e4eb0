// PAY-1: payment statuses move forward only; the invoice follows the payment's end. BIL-8: the
// tax of an invoice, rounded half-up to cents, and its rate as printed.
import { percent } from "../../services/billing/payment-actions";
import { taxOf } from "../../services/billing/payments";
import { canMove, invoiceStatusOf, PAYMENT_STATUSES, type PaymentStatus } from "../../services/billing/payment-states";

describe("a payment's status moves forward only", () => {
	it.each<[PaymentStatus, PaymentStatus, boolean]>([
		["created", "requires_action", true],
		["created", "succeeded", true],
		["requires_action", "succeeded", true],
		["requires_action", "failed", true],
		["processing", "unknown", true],
		["unknown", "succeeded", true],
		["unknown", "failed", true],
		["processing", "requires_action", false], // back
		["unknown", "processing", false],
		["succeeded", "failed", false], // a late failure after a success
		["failed", "succeeded", false],
		["canceled", "succeeded", false],
		["succeeded", "succeeded", false], // the same again: nothing to do
	])("%s → %s: %s", (from, to, expected) => {
		expect(canMove(from, to)).toBe(expected);
	});

	test("no status moves out of succeeded, failed or canceled", () => {
		for (const end of ["succeeded", "failed", "canceled"] as const) for (const to of PAYMENT_STATUSES) expect(canMove(end, to)).toBe(false);
	});

	it.each<[PaymentStatus, string]>([
		["succeeded", "paid"],
		["failed", "failed"],
		["canceled", "failed"],
		["requires_action", "pending"],
		["unknown", "pending"],
	])("a payment %s leaves its invoice %s", (s, invoice) => {
		expect(invoiceStatusOf(s)).toBe(invoice);
	});
});

describe("tax on an invoice (BIL-8)", () => {
	it.each<[number, string, number]>([
		[100_000_000, "0.19", 19_000_000], // 100.00 at 19 %: 19.00
		[10_000_000, "0.0725", 730_000], // 10.00 at 7.25 %: 0.725 → 0.73 (half-up to cents)
		[10_000, "0.07", 0], // 0.01 at 7 %: 0.0007 → 0.00
		[50_000, "0.1", 10_000], // 0.05 at 10 %: 0.005 → 0.01
		[25_000_000, "", 0], // no rate, no tax
	])("%i micros at %s → %i micros of tax", (net, rate, tax) => {
		expect(taxOf(net, rate)).toBe(tax);
	});

	it.each([
		["0.19", "19%"],
		["0.07", "7%"],
		["0.0725", "7.25%"],
		["1", "100%"],
	])("rate %s prints as %s (no float on the way: 0.07 × 100 is 7.000000000000001 in floats)", (rate, shown) => {
		expect(percent(rate)).toBe(shown);
	});
});
