// billing's payment actions (PAY-1…PAY-5, BIL-6, BIL-8), mixed into the billing service: saved
// cards, refills with an Idempotency-Key, invoices (JSON and PDF), the providers' webhooks and
// 3-D Secure step, tax rates, and the reconciliation job's work. A thin shell over
// services/billing/payments.ts, which holds the rules.
import Big from "big.js";
import type { Context, Service } from "moleculer";
import { now } from "../../lib/clock";
import { envString, publicUrl } from "../../lib/config";
import { invalidState, notFound, validationError } from "../../lib/errors";
import { formatExact, formatMoney, parseMoney, type Micros } from "../../lib/money";
import { pageOf, pageParams, skipOf } from "../../lib/pagination";
import { defineService } from "../../lib/service-schema";
import type { Store } from "../../mixins/db.mixin";
import type { BillingInfo } from "../accounts/billing-info";
import { quotaValues } from "./calls";
import type { CardInput } from "./cards";
import { requireIdempotencyKey, type Idempotency } from "./idempotency";
import type { CounterDoc } from "./invoice-numbers";
import { renderInvoicePdf } from "./invoice-pdf";
import type { EntryDoc, Ledger, NewEntry } from "./ledger-store";
import { amountDue, invoiceItems } from "./payment-docs";
import {
	invoiceView,
	Payments,
	type Customer,
	type InvoiceDoc,
	type PaymentDoc,
	type PaymentMethodDoc,
	type TaxRateDoc,
	type WebhookEventDoc,
} from "./payments";
import { cardProviders, providerWarning } from "./providers";
import { idRule, amountRule } from "./rules";
import { actingAccountId, ownerIdParam } from "../../lib/acting-for";
import { moneyQuota } from "./terms";
import type { BalanceView } from "./views";

type Meta = {
	user?: { id: string; role?: string };
	onBehalfOf?: { accountId: string };
	idempotencyKey?: string;
	$responseType?: string;
	$responseEncoding?: string;
};

/** The stores of payments, methods, invoices, tax rates and webhook events (models/billing.ts). */
export interface PaymentStores {
	payment_methods: Store<PaymentMethodDoc>;
	payments: Store<PaymentDoc>;
	invoices: Store<InvoiceDoc>;
	invoice_counters: Store<CounterDoc>;
	tax_rates: Store<TaxRateDoc>;
	webhook_events: Store<WebhookEventDoc>;
}

type Self = Service & {
	db: PaymentStores;
	payments: Payments;
	ledger: Ledger;
	idempotency: Idempotency;
	postEntry(ctx: Context, input: NewEntry): Promise<EntryDoc>;
	balanceAnswer(ctx: Context, accountId: string, b: { main: Micros; bonus: Micros }): Promise<BalanceView>;
};

const cardRule = {
	type: { type: "enum", values: ["card"] },
	number: { type: "string", min: 1, max: 40 },
	expMonth: { type: "number", integer: true },
	expYear: { type: "number", integer: true },
	cvc: { type: "string", min: 1, max: 8 },
	holder: { type: "string", optional: true, max: 200 },
} as const;
const countryRule = { type: "string", pattern: /^[A-Z]{2}$/, messages: { stringPattern: "must be an ISO 3166-1 alpha-2 country code such as DE" } } as const;
const rateRule = {
	type: "string",
	pattern: /^0(\.\d{1,4})?$|^1(\.0{1,4})?$/,
	messages: { stringPattern: "must be a decimal fraction from 0 to 1 with at most 4 decimals, such as 0.19" },
} as const;

/** A refill's amount: a decimal amount of cents within the group's `billing.refill.min`/`max` (PAY-1). */
export function refillAmount(input: string, values: Record<string, number | string>): Micros {
	const amount = parseMoney(input, "amount");
	if (amount % 10_000 !== 0) throw validationError({ field: "amount", message: "must be whole cents (at most 2 decimals)" });
	const [min, max] = [moneyQuota(values, "billing.refill.min"), moneyQuota(values, "billing.refill.max")];
	if (amount < min || amount > max) throw validationError({ field: "amount", message: `must be from ${formatMoney(min)} to ${formatMoney(max)}` });
	return amount;
}

/** A rate as a decimal fraction ("0.0725") as the percentage an invoice prints ("7.25%"), exactly. */
export const percent = (rate: string) => `${new Big(rate).times(100).toFixed()}%`;

/** The "invoice to" of an account: its billing information from the upgrade, else its name and email. */
export function customerOf(a: { email: string; name?: string; billingInfo?: BillingInfo | null }): Customer {
	const b = a.billingInfo;
	if (!b) return { name: a.name || a.email, email: a.email, lines: [] };
	return {
		name: `${b.firstName} ${b.lastName}`,
		...(b.company ? { company: b.company } : {}),
		email: a.email,
		country: b.country,
		lines: [b.address, `${b.postalCode} ${b.city}`, ...(b.state ? [b.state] : []), b.country],
	};
}

/** The service's Payments, made in billing's own `created` (the stores exist only once every mixin's `created` ran). */
export function createPayments(
	svc: Pick<Self, "db" | "broker" | "logger" | "postEntry"> & { autoRefills?: { finished(p: PaymentDoc): Promise<void> } },
): Payments {
	return new Payments({
		methods: svc.db.payment_methods,
		payments: svc.db.payments,
		invoices: svc.db.invoices,
		counters: svc.db.invoice_counters,
		taxRates: svc.db.tax_rates,
		events: svc.db.webhook_events,
		providers: cardProviders(),
		credit: async e => void (await svc.postEntry(svc.broker as unknown as Context, { ...e, kind: "refill" })),
		customer: async accountId => customerOf(await svc.broker.call("accounts.billingContact", { id: accountId })),
		receipt: async (invoice, payment) => {
			await svc.broker.call("notifications.send", {
				template: "refill-receipt",
				to: invoice.customer.email,
				accountId: invoice.accountId,
				dedupKey: `refill-receipt:${invoice._id}`,
				data: {
					number: invoice.number,
					amount: formatExact(invoice.net),
					tax: formatExact(invoice.tax),
					total: formatExact(amountDue(invoice)),
					currency: invoice.currency,
					provider: payment.provider,
					invoiceLink: `${publicUrl()}/account/billing/invoices/${invoice._id}`,
				},
			});
		},
		// PAY-4: an automatic refill's rule learns how its payment ended (made after Payments, in billing's `created`).
		finished: async p => void (await svc.autoRefills?.finished(p)),
		announce: (event, payload) => void svc.broker.emit(event, payload),
		log: message => svc.logger.warn(message),
	});
}

/** The payments' job (billing.service.ts spreads it into its own: a mixin's `jobs` would be overwritten). */
export const paymentJobs = {
	/** PAY-1/BIL-8: payments without an answer asked about, 3-D Secure left 24 h failed, crashed steps finished (payments.ts). */
	"payments-reconcile": {
		cron: "*/5 * * * *",
		handler(this: Self) {
			return this.payments.reconcile();
		},
	},
};

const PaymentActions = defineService<Self>({
	name: "billing",

	actions: {
		/** GET /billing/payment-methods */
		paymentMethods: {
			params: {},
			handler(this: Self, ctx: Context<Record<string, never>, Meta>) {
				return this.payments.listMethods(ctx.meta.user!.id);
			},
		},
		/** POST /billing/payment-methods — a card, checked and handed to the provider; only brand, last 4 and expiry are kept (PAY-3). */
		addPaymentMethod: {
			params: cardRule,
			handler(this: Self, ctx: Context<CardInput, Meta>) {
				return this.payments.addMethod(ctx.meta.user!.id, ctx.params);
			},
		},
		/** DELETE /billing/payment-methods/{id} */
		removePaymentMethod: {
			params: { id: idRule },
			handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				return this.payments.removeMethod(ctx.meta.user!.id, ctx.params.id);
			},
		},
		/** POST /billing/payment-methods/{id}/default */
		defaultPaymentMethod: {
			params: { id: idRule },
			handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				return this.payments.makeDefault(ctx.meta.user!.id, ctx.params.id);
			},
		},

		/** POST /billing/refill {amount, paymentMethodId} — Idempotency-Key required (PAY-1). */
		refill: {
			params: { amount: amountRule, paymentMethodId: idRule },
			async handler(this: Self, ctx: Context<{ amount: string; paymentMethodId: string }, Meta>) {
				const key = requireIdempotencyKey(ctx.meta.idempotencyKey);
				const accountId = ctx.meta.user!.id;
				const amount = refillAmount(ctx.params.amount, await quotaValues(ctx, accountId));
				return this.idempotency.run({ operation: "refill", caller: accountId, key, body: ctx.params, meta: ctx.meta }, async nonce => {
					// Keyed by the request's nonce: a retry that takes over a crashed or lapsed twin finishes its invoice.
					const { invoice, payment } = await this.payments.refill(accountId, amount, ctx.params.paymentMethodId, `refill:${nonce}`);
					return { invoice: invoiceView(invoice, payment), balance: await this.balanceAnswer(ctx, accountId, await this.ledger.balanceOf(accountId)) };
				});
			},
		},

		/** GET /billing/invoices — newest first. */
		invoices: {
			params: { ...pageParams, ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ page: number; pageSize: number; ownerId?: string }, Meta>) {
				const { page, pageSize } = ctx.params;
				const query = { accountId: actingAccountId(ctx.meta, ctx.params.ownerId) }; // COL-7: a member, the owner's
				const [rows, total] = await Promise.all([
					this.db.invoices.find(query, { sort: { createdAt: -1 }, skip: skipOf(page, pageSize), limit: pageSize }),
					this.db.invoices.count(query),
				]);
				const payments = await this.db.payments.find({ _id: { $in: rows.flatMap(i => (i.paymentId ? [i.paymentId] : [])) } });
				return pageOf(
					rows.map(i => invoiceView(i, payments.find(p => p._id === i.paymentId) ?? null)),
					total,
					page,
					pageSize,
				);
			},
		},
		/** GET /billing/invoices/{id} (`?format=pdf`: the PDF). */
		invoice: {
			params: { id: idRule, format: { type: "enum", values: ["json", "pdf"], optional: true }, ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ id: string; format?: "json" | "pdf"; ownerId?: string }, Meta>) {
				const { invoice, payment } = await this.payments.invoice(actingAccountId(ctx.meta, ctx.params.ownerId), ctx.params.id); // COL-7
				if (ctx.params.format !== "pdf") return invoiceView(invoice, payment);
				if (!invoice.number) throw invalidState("The invoice has no number yet: ask again in a moment");
				const method = payment ? await this.db.payment_methods.findById(payment.methodId) : null;
				const pdf = await renderInvoicePdf({
					number: invoice.number,
					issuedAt: new Date(invoice.createdAt),
					status: invoice.status,
					seller: { name: envString("QM_PROVIDER_NAME", "Quartermaster hosting"), lines: [publicUrl()] },
					customer: invoice.customer,
					items: invoiceItems(invoice),
					...(invoice.period ? { period: invoice.period } : {}),
					...(invoice.dueAt ? { dueAt: new Date(invoice.dueAt) } : {}),
					net: formatExact(invoice.net),
					tax: formatExact(invoice.tax),
					taxRate: invoice.taxRate ? percent(invoice.taxRate) : null,
					total: formatExact(invoice.total),
					...(amountDue(invoice) !== invoice.total ? { due: formatExact(amountDue(invoice)) } : {}),
					currency: invoice.currency,
					...(payment
						? { payment: { provider: payment.provider, status: payment.status, ...(method ? { method: `${method.brand} •••• ${method.last4}` } : {}) } }
						: {}),
				});
				// Binary over any transporter: base64 here, bytes again at the gateway.
				ctx.meta.$responseType = "application/pdf";
				ctx.meta.$responseEncoding = "base64";
				return pdf.toString("base64");
			},
		},

		/** Internal: POST /billing/providers/{name}/webhook, with the raw body as the gateway read it (base64). */
		providerWebhook: {
			visibility: "public",
			params: { name: { type: "string", min: 1, max: 40 }, body: { type: "string", max: 1_500_000 }, headers: { type: "object" } },
			handler(this: Self, ctx: Context<{ name: string; body: string; headers: Record<string, string> }>) {
				return this.payments.webhook(ctx.params.name, Buffer.from(ctx.params.body, "base64"), ctx.params.headers);
			},
		},
		/** POST /billing/providers/{provider}/challenges/{token} {outcome} — the 3-D Secure step (the `test` provider's page). */
		paymentChallenge: {
			params: {
				provider: { type: "string", min: 1, max: 40 },
				token: { type: "string", min: 1, max: 100 },
				outcome: { type: "enum", values: ["approve", "decline"] },
			},
			handler(this: Self, ctx: Context<{ provider: string; token: string; outcome: "approve" | "decline" }>) {
				return this.payments.challenge(ctx.params.provider, ctx.params.token, ctx.params.outcome);
			},
		},

		/** GET /billing/providers/{provider}/challenges/{token} — back from a provider's own 3-D Secure page (Stripe adds its query). */
		paymentReturn: {
			params: {
				provider: { type: "string", min: 1, max: 40 },
				token: { type: "string", min: 1, max: 100 },
				payment_intent: { type: "string", max: 100, optional: true },
				payment_intent_client_secret: { type: "string", max: 200, optional: true },
				redirect_status: { type: "string", max: 40, optional: true },
			},
			handler(this: Self, ctx: Context<{ provider: string; token: string }>) {
				if (ctx.params.provider === "test")
					throw validationError({ field: "outcome", message: "the test provider's step is completed by POST with {outcome: approve|decline}" });
				return this.payments.challenge(ctx.params.provider, ctx.params.token, "approve");
			},
		},

		/* ---- admin ---- */

		/** GET /admin/tax-rates */
		adminTaxRates: {
			params: {},
			async handler(this: Self) {
				return (await this.db.tax_rates.find({}, { sort: { _id: 1 } })).map(r => ({
					country: r._id,
					rate: r.rate,
					updatedAt: new Date(r.updatedAt).toISOString(),
				}));
			},
		},
		/** PUT /admin/tax-rates/{country} {rate} */
		adminSetTaxRate: {
			params: { country: countryRule, rate: rateRule },
			async handler(this: Self, ctx: Context<{ country: string; rate: string }, Meta>) {
				const saved = await this.db.tax_rates.updateOne(
					{ _id: ctx.params.country },
					{ $set: { rate: ctx.params.rate, actor: ctx.meta.user!.id, updatedAt: now() } },
					{ upsert: true },
				);
				return { country: saved!._id, rate: saved!.rate, updatedAt: new Date(saved!.updatedAt).toISOString() };
			},
		},
		/** DELETE /admin/tax-rates/{country} */
		adminDeleteTaxRate: {
			params: { country: countryRule },
			async handler(this: Self, ctx: Context<{ country: string }>) {
				if (!(await this.db.tax_rates.remove({ _id: ctx.params.country }))) throw notFound(`Tax rate of ${ctx.params.country}`);
			},
		},
		/** POST /admin/invoices/{id}/void */
		adminVoidInvoice: {
			params: { id: idRule },
			handler(this: Self, ctx: Context<{ id: string }>) {
				return this.payments.voidInvoice(ctx.params.id);
			},
		},
	},

	started(this: Self) {
		const warning = providerWarning();
		if (warning) this.logger.warn(warning);
	},
});

export default PaymentActions;
