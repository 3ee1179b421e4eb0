// PAY-1: payment statuses move forward only; the invoice follows the payment's end.
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
