// The documents of payments (methods, payments, invoices, tax rates, webhook events) and how the
// API shows them: pure, no I/O (payments.ts does the work).
import Big from "big.js";
import { formatMoney, type Micros } from "../../lib/money";
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

export interface InvoiceDoc extends NumberedDoc {
	accountId: string;
	kind: "refill";
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

export function invoiceView(i: InvoiceDoc, p: PaymentDoc | null) {
	return {
		id: i._id,
		number: i.number ?? null,
		status: i.status,
		amount: formatMoney(i.net),
		tax: formatMoney(i.tax),
		...(i.taxRate ? { taxRate: i.taxRate } : {}),
		total: formatMoney(i.total),
		currency: i.currency,
		description: i.description,
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
