// The documents of payments (methods, payments, invoices, tax rates, webhook events) and how the
// API shows them: pure, no I/O (payments.ts does the work).
import Big from "big.js";
import { divideRound, formatExact, type Micros } from "../../lib/money";
import type { Doc } from "../../mixins/db.mixin";
import type { NumberedDoc } from "./invoice-numbers";
import type { PaymentStatus } from "./payment-states";
import type { MethodRef } from "./providers";

export interface PaymentMethodDoc extends Doc, MethodRef {
	accountId: string;
	type: "card";
	brand: string;
	last4: string;
	expMonth: number;
	expYear: number;
	holder?: string;
	defaultAt: Date;
	createdAt: Date;
}

export interface PaymentDoc extends Doc {
	accountId: string;
	invoiceId: string;
	provider: string;
	methodId: string;
	amount: Micros;
	currency: string;
	status: PaymentStatus;
	providerId?: string;
	actionUrl?: string;
	/** digest of the 3-D Secure link's token */
	challenge?: string;
	failure?: string;
	/** present while something is left to do: an end to reach, or a success to credit */
	open?: true;
	credited?: boolean;
	checks: number;
	nextCheckAt: Date;
	createdAt: Date;
	updatedAt: Date;
}

export interface Customer {
	name: string;
	company?: string;
	email: string;
	country?: string;
	lines: string[];
}

/** A post-paid invoice's line: one environment's charges of the month (BIL-6), or those of no environment. */
export interface InvoiceLine {
	/** the environment, or absent for charges of none (an administrator's) */
	envId?: string;
	description: string;
	/** what the line bills: the exact sum of the month's charges and corrections it covers */
	amount: Micros;
}

export interface InvoiceDoc extends NumberedDoc {
	accountId: string;
	/** refill: a payment the customer asked for (PAY-1); postpaid: a month of charges of a `post` account (BIL-6) */
	kind: "refill" | "postpaid";
	status: "pending" | "paid" | "failed" | "void";
	net: Micros;
	tax: Micros;
	/** the rate applied, a decimal fraction ("0.19"), or "" */
	taxRate: string;
	total: Micros;
	currency: string;
	customer: Customer;
	description: string;
	paymentId?: string;
	/** postpaid: the month billed in the account's time zone ("2027-01"), its lines (Σ amount = net), when it is due */
	period?: string;
	lines?: InvoiceLine[];
	dueAt?: Date;
	/** postpaid: the card it is paid with unattended when issued (the account's default then), "" for none */
	autoPayMethodId?: string;
	/** postpaid: when the customer was told of it */
	notifiedAt?: Date;
	createdAt: Date;
	paidAt?: Date;
	updatedAt: Date;
}

export interface TaxRateDoc extends Doc {
	rate: string;
	actor: string;
	updatedAt: Date;
}

export interface WebhookEventDoc extends Doc {
	provider: string;
	type: string;
	paymentId: string;
	receivedAt: Date;
	expiresAt: Date;
}

/** The tax of `net` at `rate` (a decimal fraction), rounded half-up to cents. */
export function taxOf(net: Micros, rate: string): Micros {
	if (!rate) return 0;
	return new Big(net).times(rate).div(10_000).round(0, Big.roundHalfUp).times(10_000).toNumber();
}

export function methodView(m: PaymentMethodDoc, defaultId: string | null) {
	return {
		id: m._id,
		type: m.type,
		provider: m.provider,
		brand: m.brand,
		last4: m.last4,
		expMonth: m.expMonth,
		expYear: m.expYear,
		...(m.holder ? { holder: m.holder } : {}),
		default: m._id === defaultId,
	};
}

/**
 * What a card is charged for an invoice: its total to whole cents, half-up (cards move cents). The
 * invoice keeps the exact amounts — Σ lines = net = the month's charges to the micro-unit — and
 * paying it credits the balance the exact net. A refill's total is whole cents already.
 */
export const amountDue = (i: Pick<InvoiceDoc, "total">): Micros => divideRound(i.total, CENT) * CENT;
const CENT = 10_000;

/** What an invoice bills, line by line, exact, as its view and PDF show it (a refill: one line, its description). */
export function invoiceItems(i: InvoiceDoc): { description: string; amount: string; envId?: string }[] {
	if (!i.lines) return [{ description: i.description, amount: formatExact(i.net) }];
	return i.lines.map(l => ({ description: l.description, amount: formatExact(l.amount), ...(l.envId ? { envId: l.envId } : {}) }));
}

export function invoiceView(i: InvoiceDoc, p: PaymentDoc | null) {
	return {
		id: i._id,
		kind: i.kind,
		number: i.number ?? null,
		status: i.status,
		amount: formatExact(i.net),
		tax: formatExact(i.tax),
		...(i.taxRate ? { taxRate: i.taxRate } : {}),
		total: formatExact(i.total),
		currency: i.currency,
		description: i.description,
		...(i.kind === "postpaid"
			? { period: i.period, dueAt: new Date(i.dueAt!).toISOString(), lines: invoiceItems(i), amountDue: formatExact(amountDue(i)) }
			: {}),
		createdAt: new Date(i.createdAt).toISOString(),
		...(i.paidAt ? { paidAt: new Date(i.paidAt).toISOString() } : {}),
		...(p?.status === "requires_action" && p.actionUrl ? { actionUrl: p.actionUrl } : {}),
		...(p ? { payment: { id: p._id, provider: p.provider, status: p.status, ...(p.failure ? { failure: p.failure } : {}) } } : {}),
	};
}

/** The account's default method: the one made default last. */
export const defaultOf = (methods: PaymentMethodDoc[]) =>
	methods.reduce<PaymentMethodDoc | null>(
		(best, m) =>
			!best || +new Date(m.defaultAt) > +new Date(best.defaultAt) || (+new Date(m.defaultAt) === +new Date(best.defaultAt) && m._id > best._id) ? m : best,
		null,
	);
