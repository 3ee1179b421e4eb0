// PAY-1: a payment's status moves forward only — created → requires_action → processing →
// succeeded | failed | canceled, with `unknown` (a provider that did not answer) before the three
// ends, settled by asking the provider. A late `failed` after `succeeded`, a webhook delivered
// twice or out of order, changes nothing. Pure.

export const PAYMENT_STATUSES = ["created", "requires_action", "processing", "unknown", "succeeded", "failed", "canceled"] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

const RANK: Record<PaymentStatus, number> = { created: 0, requires_action: 1, processing: 2, unknown: 3, succeeded: 4, failed: 4, canceled: 4 };

/** succeeded, failed and canceled: nothing moves a payment on from them. */
export const isFinal = (s: PaymentStatus) => RANK[s] === 4;

/** Whether a payment in `from` may move to `to` (never back, never out of an end, never to itself). */
export function canMove(from: PaymentStatus, to: PaymentStatus): boolean {
	return !isFinal(from) && RANK[to] > RANK[from];
}

/** The invoice a payment's status leaves (a payment still under way keeps it pending). */
export function invoiceStatusOf(s: PaymentStatus): "pending" | "paid" | "failed" {
	return s === "succeeded" ? "paid" : s === "failed" || s === "canceled" ? "failed" : "pending";
}
