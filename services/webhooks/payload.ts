// What a webhook says: the platform events it follows, the body `{id, type, created, data}` made
// from each, and the headers that sign it. Pure (no Moleculer, no I/O).
// - The id is derived from the event's type and its subject (the invoice, the payment, the
//   account), never drawn at random: every replica that hears the event, every retry and every
//   redelivery carries the same id, so receivers can deduplicate (delivery is at-least-once).
// - Money goes out as exact decimal strings with the currency beside it (API.md), never a number.
// - Signed as the test payment provider's incoming webhooks are (billing/webhook-signature.ts).
import { createHash } from "node:crypto";
import { CURRENCY, formatExact } from "../../lib/money";
import { signPayload } from "../billing/webhook-signature";

import { WEBHOOK_EVENTS, type WebhookEventType } from "../../lib/webhook-events";
export { WEBHOOK_EVENTS, type WebhookEventType };

/** The platform (Moleculer) event each webhook event follows. */
export const EVENT_SOURCES = {
	"accounts.created": "account.created",
	"accounts.status.changed": "account.status.changed",
	"accounts.upgraded": "account.upgraded",
	"billing.invoice.created": "invoice.created",
	"billing.invoice.paid": "invoice.paid",
	"billing.payment.failed": "payment.failed",
	"billing.balance.low": "balance.low",
	"billing.autorefill.failed": "autorefill.failed",
} as const satisfies Record<string, WebhookEventType>;
export type EventSource = keyof typeof EVENT_SOURCES;

/**
 * Integer fields of the events passed through as they come (balance.low, autorefill.failed) that
 * are money in micros, as everywhere inside the platform: they go out as decimal strings.
 */
export const MONEY_FIELDS = new Set(["amount", "balance", "main", "bonus", "threshold", "minBalance"]);

export interface WebhookEvent {
	id: string;
	type: WebhookEventType;
	/** unix seconds */
	created: number;
	data: Record<string, unknown>;
}

type Params = Record<string, unknown>;
type Shape = (p: Params, requestId: string) => { data: Params; subject: unknown[] };

const text = (v: unknown) => (typeof v === "string" ? v : undefined);
const money = (v: unknown) => (Number.isSafeInteger(v) ? formatExact(v as number) : undefined);

/** Invoice and payment events: `{accountId, invoiceId, paymentId?, number?, amount?, currency, reason?}`. */
function billingData(p: Params): Params {
	const amount = money(p.amount);
	return {
		accountId: p.accountId,
		invoiceId: p.invoiceId,
		paymentId: text(p.paymentId),
		number: text(p.number),
		...(amount === undefined ? {} : { amount, currency: CURRENCY }),
		reason: text(p.reason),
	};
}

/** An event passed through as it comes: its fields, micros as decimal strings. */
function passedThrough(p: Params): Params {
	const data: Params = {};
	for (const [k, v] of Object.entries(p)) data[k] = MONEY_FIELDS.has(k) && Number.isSafeInteger(v) ? formatExact(v as number) : v;
	if (Object.keys(p).some(k => MONEY_FIELDS.has(k))) data.currency = CURRENCY;
	return data;
}

/**
 * Each type's data and its subject: what tells this occurrence from every other one. Where the
 * payload names no occurrence of its own (a status can change the same way twice), the request
 * that caused it does: every copy of one broadcast carries the same request id.
 */
const SHAPES: Record<WebhookEventType, Shape> = {
	"account.created": p => ({ data: { accountId: p.id, email: text(p.email), group: text(p.group) }, subject: [p.id] }),
	"account.status.changed": (p, requestId) => ({
		data: { accountId: p.id, from: text(p.from), to: text(p.to), reason: text(p.reason) },
		subject: [p.id, p.from, p.to, requestId],
	}),
	"account.upgraded": p => ({ data: { accountId: p.id, from: text(p.from), to: text(p.to) }, subject: [p.id, p.from, p.to] }),
	"invoice.created": p => ({ data: billingData(p), subject: [p.invoiceId] }),
	"invoice.paid": p => ({ data: billingData(p), subject: [p.invoiceId] }),
	"payment.failed": (p, requestId) => ({ data: billingData(p), subject: p.paymentId ? [p.paymentId] : [p.invoiceId, requestId] }),
	"balance.low": (p, requestId) => ({ data: passedThrough(p), subject: [canonical(p), requestId] }),
	"autorefill.failed": (p, requestId) => ({ data: passedThrough(p), subject: [canonical(p), requestId] }),
};

/** JSON with keys sorted at every level: the same object always gives the same text. */
export function canonical(v: unknown): string {
	if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
	if (v && typeof v === "object" && !(v instanceof Date)) {
		const entries = Object.entries(v as Params)
			.filter(([, x]) => x !== undefined)
			.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
		return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(",")}}`;
	}
	return JSON.stringify(v) ?? "null";
}

/** `evt_` and 32 hex digits of SHA-256 over the type and the subject. */
export function eventId(type: WebhookEventType, subject: unknown[]): string {
	return `evt_${createHash("sha256")
		.update(canonical([type, ...subject]))
		.digest("hex")
		.slice(0, 32)}`;
}

/** The webhook event for a platform event (null: not one webhooks follow). */
export function webhookEvent(source: string, params: Params, requestId: string, at: Date): WebhookEvent | null {
	const type = (EVENT_SOURCES as Record<string, WebhookEventType>)[source];
	if (!type) return null;
	const { data, subject } = SHAPES[type](params, requestId);
	return { id: eventId(type, subject), type, created: Math.floor(at.getTime() / 1000), data: JSON.parse(JSON.stringify(data)) };
}

/** The body as sent and signed; kept with the delivery, so every try sends the same bytes. */
export function eventBody(e: WebhookEvent): string {
	return JSON.stringify({ id: e.id, type: e.type, created: e.created, data: e.data });
}

/** The headers of one try: signed at the moment of sending (receivers refuse old signatures). */
export function deliveryHeaders(secret: string, body: string, event: { id: string; type: string }, nowSec: number): Record<string, string> {
	return {
		"Content-Type": "application/json",
		"Qm-Signature": signPayload(secret, body, nowSec),
		"Qm-Event-Id": event.id,
		"Qm-Event-Type": event.type,
	};
}
