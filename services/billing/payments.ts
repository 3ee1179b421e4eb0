// PAY-1…PAY-5, BIL-6, BIL-8: customers pay. A refill is an invoice (numbered gap-free, with the
// country's tax) and a payment through a provider (services/billing/providers.ts); the payment's
// status moves forward only (payment-states.ts) whoever reports it — the provider's answer, the
// 3-D Secure step, a webhook, the reconciliation job — and its success credits the balance the
// invoice's net through ONE ledger entry keyed `refill:<paymentId>`, so reported three times it
// credits once. A crash at any step is finished by the reconciliation job: a payment stays `open`
// until nothing is left to do for it (its end reached and, for a success, the credit posted).
// Cards are checked here (cards.ts) and handed to the provider; only its token, the brand, the
// last four digits and the expiry are kept.
import { addMs, DAY, HOUR, MINUTE, now } from "../../lib/clock";
import { publicUrl } from "../../lib/config";
import { digest, newId, randomToken } from "../../lib/crypto";
import { badRequest, invalidState, notFound, validationError } from "../../lib/errors";
import { CURRENCY, type Micros } from "../../lib/money";
import { DuplicateKeyError, type Doc, type Store } from "../../mixins/db.mixin";
import { checkCard, type CardInput } from "./cards";
import { InvoiceNumbers, type CounterDoc, type NumberedDoc } from "./invoice-numbers";
import { canMove, invoiceStatusOf, isFinal, type PaymentStatus } from "./payment-states";
import {
	amountDue,
	defaultOf,
	invoiceView,
	methodView,
	taxOf,
	type Customer,
	type InvoiceDoc,
	type PaymentDoc,
	type PaymentMethodDoc,
	type TaxRateDoc,
	type WebhookEventDoc,
} from "./payment-docs";
import { ProviderTimeout, type MethodRef, type PaymentProvider, type ProviderPayment } from "./providers";

export { invoiceView, methodView, taxOf };
export type { Customer, InvoiceDoc, PaymentDoc, PaymentMethodDoc, TaxRateDoc, WebhookEventDoc };

export type BillingEvent = "billing.invoice.created" | "billing.invoice.paid" | "billing.payment.failed";

export interface PaymentsDeps {
	methods: Store<PaymentMethodDoc>;
	payments: Store<PaymentDoc>;
	invoices: Store<InvoiceDoc>;
	counters: Store<CounterDoc>;
	taxRates: Store<TaxRateDoc>;
	events: Store<WebhookEventDoc>;
	/** the card providers that are on */
	providers: Map<string, PaymentProvider>;
	/** posts the refill's ledger entry (idempotent by key) */
	credit(e: { accountId: string; key: string; amount: Micros; description: string }): Promise<void>;
	customer(accountId: string): Promise<Customer>;
	/** the receipt email (deduplicated by the invoice) */
	receipt(invoice: InvoiceDoc, payment: PaymentDoc): Promise<void>;
	/** a payment reached its end (succeeded, failed or canceled); called again for each report of it */
	finished(payment: PaymentDoc): Promise<void>;
	/** tells the platform (outgoing webhooks): `billing.invoice.created`, `billing.invoice.paid`, `billing.payment.failed` */
	announce(event: BillingEvent, payload: { accountId: string; invoiceId: string; paymentId?: string; amount?: Micros; number?: string; reason?: string }): void;
	log(message: string): void;
}

/** Reconciliation asks a provider 5 minutes after the payment, then after an hour, then daily. */
const CHECK_AFTER = [5 * MINUTE, HOUR, DAY];
/** Unfinished 3-D Secure fails after this; the invoice can be paid again by a new refill. */
export const CHALLENGE_TTL_MS = DAY;
const EVENT_TTL_MS = 30 * DAY;

export const challengeUrl = (provider: string, token: string) => `${publicUrl()}/api/v1/billing/providers/${provider}/challenges/${token}`;

/** The id of a document made once for a key (an automatic refill's firing). */
export const keyedId = (kind: string, key: string) => `${kind}_${digest(key).slice(0, 32)}`;

/** `doc` inserted, or (`found`) the document already under its `_id`. */
async function insertOrFind<T extends Doc>(store: Store<T>, doc: T): Promise<{ doc: T; found: boolean }> {
	try {
		return { doc: await store.insert(doc), found: false };
	} catch (err) {
		if (!(err instanceof DuplicateKeyError)) throw err;
		return { doc: (await store.findById(doc._id))!, found: true };
	}
}

export class Payments {
	readonly numbers: InvoiceNumbers;

	constructor(private d: PaymentsDeps) {
		this.numbers = new InvoiceNumbers(d.invoices as Store<NumberedDoc>, d.counters);
	}

	/* ---- payment methods (PAY-3) ---- */

	async listMethods(accountId: string) {
		const all = await this.d.methods.find({ accountId }, { sort: { createdAt: 1 } });
		const def = defaultOf(all)?._id ?? null;
		return all.map(m => methodView(m, def));
	}

	async addMethod(accountId: string, input: CardInput) {
		const card = checkCard(input, now());
		const provider = [...this.d.providers.values()][0];
		if (!provider) throw validationError({ field: "type", message: "no card payment provider is enabled on this platform (QM_PAYMENT_PROVIDERS)" });
		const first = !(await this.d.methods.findOne({ accountId }));
		const { email } = await this.d.customer(accountId);
		const digits = input.number.replace(/[\s-]/g, "");
		const providerRef = await provider.saveCard(
			{ digits, expMonth: card.expMonth, expYear: card.expYear, cvc: input.cvc, ...(card.holder ? { holder: card.holder } : {}) },
			{ accountId, email },
		);
		const at = now();
		const doc = await this.d.methods.insert({
			_id: newId(),
			accountId,
			type: "card",
			provider: provider.name,
			providerRef,
			brand: card.brand,
			last4: card.last4,
			expMonth: card.expMonth,
			expYear: card.expYear,
			...(card.holder ? { holder: card.holder } : {}),
			// The first method is the default; later ones are not until made so.
			defaultAt: first ? at : new Date(0),
			createdAt: at,
		});
		return methodView(doc, first ? doc._id : (defaultOf(await this.d.methods.find({ accountId }))?._id ?? null));
	}

	async removeMethod(accountId: string, id: string): Promise<void> {
		if (!(await this.d.methods.remove({ _id: id, accountId }))) throw notFound("Payment method");
	}

	async makeDefault(accountId: string, id: string) {
		const m = await this.d.methods.updateOne({ _id: id, accountId }, { $set: { defaultAt: now() } });
		if (!m) throw notFound("Payment method");
		return methodView(m, m._id);
	}

	/* ---- refill (PAY-1), paying an invoice (BIL-6) ---- */

	/**
	 * A refill of `net` with the account's method: the invoice and its payment, as far as the
	 * provider got. With `key` (an automatic refill's firing, or a refill request's nonce) it is
	 * done once: the invoice and the payment are named by the key, so a second call finds them and
	 * finishes what a crash left.
	 */
	async refill(accountId: string, net: Micros, methodId: string, key?: string): Promise<{ invoice: InvoiceDoc; payment: PaymentDoc }> {
		const { method, provider } = await this.chargeable(accountId, methodId);
		const customer = await this.d.customer(accountId);
		const at = now();
		const { invoice } = await this.issue({
			_id: key ? keyedId("inv", key) : newId(),
			accountId,
			kind: "refill",
			year: at.getUTCFullYear(),
			unnumbered: true,
			status: "pending",
			...this.amounts(net, await this.taxRateOf(customer)),
			currency: CURRENCY,
			customer,
			description: `Balance refill, ${method.brand} •••• ${method.last4}`,
			createdAt: at,
			updatedAt: at,
		});
		return this.pay(invoice, method, provider, key);
	}

	/**
	 * BIL-6: the account's own pending or failed post-paid invoice paid with one of its methods,
	 * once per `key` (the job's unattended payment, or a request's nonce). One payment at a time:
	 * the invoice is claimed for this payment in one conditional update, so a second payer while
	 * one is under way is refused (422) and an invoice is never paid twice by two requests.
	 */
	async payInvoice(accountId: string, invoiceId: string, methodId: string, key: string): Promise<{ invoice: InvoiceDoc; payment: PaymentDoc }> {
		const invoice = await this.d.invoices.findOne({ _id: invoiceId, accountId });
		if (!invoice) throw notFound("Invoice");
		const paymentId = keyedId("pay", key);
		// Asked again for a payment that went to the provider already: where it is, whatever became of the card since.
		const asked = invoice.paymentId === paymentId ? await this.d.payments.findById(paymentId) : null;
		if (asked && asked.status !== "created") return { invoice, payment: asked };
		if (invoice.paymentId !== paymentId) {
			if (invoice.kind !== "postpaid")
				throw validationError({ field: "id", message: "only a post-paid invoice is paid this way (a refill's invoice is paid by its refill)" });
			if (invoice.status !== "pending" && invoice.status !== "failed")
				throw validationError({ field: "id", message: `the invoice is ${invoice.status}: nothing to pay` });
			const current = invoice.paymentId ? await this.d.payments.findById(invoice.paymentId) : null;
			if (current && !isFinal(current.status)) {
				if (current.status !== "requires_action") throw validationError({ field: "id", message: `a payment of this invoice is under way (${current.status})` });
				// A 3-D Secure step left waiting (the unattended payment's, or an earlier try): the new payment replaces it, and its link stops working.
				await this.apply(current._id, { status: "canceled", failure: "canceled: replaced by a new payment of the invoice" });
			}
		}
		const { method, provider } = await this.chargeable(accountId, methodId);
		if (invoice.paymentId !== paymentId) {
			const claimed = await this.d.invoices.updateOne(
				{ _id: invoice._id, status: { $in: ["pending", "failed"] }, paymentId: invoice.paymentId ?? { $exists: false } },
				{ $set: { paymentId, updatedAt: now() } },
			);
			if (!claimed) throw validationError({ field: "id", message: "the invoice was paid or is being paid meanwhile" });
		}
		return this.pay(invoice, method, provider, key);
	}

	/** The account's method `methodId` and its provider, if they can be charged now (422 naming paymentMethodId otherwise). */
	async chargeable(accountId: string, methodId: string): Promise<{ method: PaymentMethodDoc; provider: PaymentProvider }> {
		const method = await this.d.methods.findOne({ _id: methodId, accountId });
		if (!method) throw validationError({ field: "paymentMethodId", message: "no such payment method of this account" });
		const provider = this.d.providers.get(method.provider);
		if (!provider) throw validationError({ field: "paymentMethodId", message: `its provider "${method.provider}" is not enabled on this platform` });
		const expiry = Date.UTC(method.expYear, method.expMonth); // the first instant after its month
		if (expiry <= +now()) throw validationError({ field: "paymentMethodId", message: "the card has expired" });
		return { method, provider };
	}

	/** The account's default method, if its provider can charge it without the customer present (PAY-4's rule), else null. */
	async unattendedMethod(accountId: string): Promise<PaymentMethodDoc | null> {
		const method = defaultOf(await this.d.methods.find({ accountId }));
		return method && this.d.providers.get(method.provider)?.canChargeUnattended(method) ? method : null;
	}

	/** Net, tax at `taxRate` and total (BIL-8: the tax of the customer's country; the balance gets the net). */
	amounts(net: Micros, taxRate: string): Pick<InvoiceDoc, "net" | "tax" | "taxRate" | "total"> {
		const tax = taxOf(net, taxRate);
		return { net, tax, taxRate, total: net + tax };
	}

	/** The admin-set tax rate of the customer's country ("" for none). */
	async taxRateOf(customer: Customer): Promise<string> {
		return customer.country ? ((await this.d.taxRates.findById(customer.country))?.rate ?? "") : "";
	}

	/**
	 * An invoice stored once under its `_id` (the one already there, if any: `found`) and numbered
	 * (BIL-8); `billing.invoice.created` is announced by whoever numbers it.
	 */
	async issue(doc: InvoiceDoc): Promise<{ invoice: InvoiceDoc; found: boolean }> {
		const { doc: invoice, found } = await insertOrFind(this.d.invoices, doc);
		if (invoice.number) return { invoice, found };
		invoice.number = await this.numbers.number(invoice._id, invoice.year);
		this.d.announce("billing.invoice.created", { accountId: invoice.accountId, invoiceId: invoice._id, number: invoice.number, amount: invoice.total });
		return { invoice, found };
	}

	/** A payment of `invoice` through the method's provider (keyed: the one already under `key`, finished), then what it reported, applied. */
	private async pay(
		invoice: InvoiceDoc,
		method: PaymentMethodDoc,
		provider: PaymentProvider,
		key?: string,
	): Promise<{ invoice: InvoiceDoc; payment: PaymentDoc }> {
		const token = randomToken(24);
		const at = now();
		const fresh: PaymentDoc = {
			_id: key ? keyedId("pay", key) : newId(),
			accountId: invoice.accountId,
			invoiceId: invoice._id,
			provider: provider.name,
			methodId: method._id,
			amount: amountDue(invoice),
			currency: CURRENCY,
			status: "created",
			challenge: digest(token),
			open: true,
			checks: 0,
			nextCheckAt: addMs(at, CHECK_AFTER[0]),
			createdAt: at,
			updatedAt: at,
		};
		const { doc: payment, found } = await insertOrFind(this.d.payments, fresh);
		if (found) {
			// A keyed payment asked again: past the provider already, or stopped just before it.
			if (payment.status !== "created") return { invoice: (await this.d.invoices.findById(invoice._id))!, payment };
			await this.d.payments.updateOne({ _id: payment._id }, { $set: { challenge: fresh.challenge } });
		}
		await this.d.invoices.updateOne({ _id: invoice._id }, { $set: { paymentId: payment._id } });
		let reported: ProviderPayment;
		try {
			reported = await provider.createPayment({
				paymentId: payment._id,
				amount: payment.amount,
				currency: CURRENCY,
				method,
				challengeUrl: challengeUrl(provider.name, token),
			});
		} catch (err) {
			// No answer is not a failure: the money may have moved. Reconciliation asks later.
			this.d.log(`Payment ${payment._id} via ${provider.name}: ${err instanceof ProviderTimeout ? "timed out" : (err as Error).message}; left unknown`);
			reported = { status: "unknown" };
		}
		const settled = await this.apply(payment._id, reported);
		return { invoice: (await this.d.invoices.findById(invoice._id))!, payment: settled };
	}

	/**
	 * What a provider reported of a payment, applied if it moves the status forward; then what
	 * follows from where the payment is (the credit, the invoice's status). Safe to run again.
	 */
	async apply(paymentId: string, reported: ProviderPayment): Promise<PaymentDoc> {
		for (let attempt = 0; attempt < 20; attempt++) {
			const p = await this.d.payments.findById(paymentId);
			if (!p) throw new Error(`Payment ${paymentId} not found`);
			if (!canMove(p.status, reported.status)) break;
			const set: Partial<PaymentDoc> = { status: reported.status, updatedAt: now() };
			if (reported.providerId) set.providerId = reported.providerId;
			if (reported.actionUrl) set.actionUrl = reported.actionUrl;
			if (reported.failure) set.failure = reported.failure;
			// A failure or cancellation leaves nothing to do; a success still has its credit to post.
			const done = isFinal(reported.status) && reported.status !== "succeeded";
			if (await this.d.payments.updateOne({ _id: p._id, status: p.status }, { $set: set, ...(done ? { $unset: { open: true } } : {}) })) break;
		}
		return this.follow((await this.d.payments.findById(paymentId))!);
	}

	/** What a payment's status asks for: the invoice's status, and for a success the one credit and the receipt. */
	private async follow(p: PaymentDoc): Promise<PaymentDoc> {
		const status = invoiceStatusOf(p.status);
		if (status === "pending") return p;
		const invoice = await this.d.invoices.findById(p.invoiceId);
		if (!invoice) throw new Error(`Invoice ${p.invoiceId} of payment ${p._id} not found`);
		if (status === "paid" && !p.credited) {
			const description = invoice.kind === "postpaid" ? `Post-paid invoice ${invoice.number}` : `Refill, invoice ${invoice.number}`;
			await this.d.credit({ accountId: p.accountId, key: `refill:${p._id}`, amount: invoice.net, description });
			const paid = await this.d.invoices.updateOne(
				{ _id: invoice._id, status: { $in: ["pending", "failed"] } },
				{ $set: { status: "paid", paidAt: now(), updatedAt: now() } },
			);
			if (paid)
				this.d.announce("billing.invoice.paid", {
					accountId: p.accountId,
					invoiceId: invoice._id,
					paymentId: p._id,
					number: invoice.number,
					amount: invoice.total,
				});
			await this.d.receipt(paid ?? invoice, p);
			const credited = (await this.d.payments.updateOne({ _id: p._id }, { $set: { credited: true, updatedAt: now() }, $unset: { open: true } }))!;
			await this.d.finished(credited);
			return credited;
		}
		if (status === "failed" && (await this.d.invoices.updateOne({ _id: invoice._id, status: "pending" }, { $set: { status: "failed", updatedAt: now() } }))) {
			this.d.announce("billing.payment.failed", {
				accountId: p.accountId,
				invoiceId: invoice._id,
				paymentId: p._id,
				amount: p.amount,
				reason: p.failure ?? p.status,
			});
		}
		if (isFinal(p.status)) await this.d.finished(p);
		return p;
	}

	/* ---- 3-D Secure, webhooks, reconciliation ---- */

	/** The customer's answer at the 3-D Secure link. */
	async challenge(providerName: string, token: string, outcome: "approve" | "decline") {
		const provider = this.d.providers.get(providerName);
		const p = provider ? await this.d.payments.findOne({ challenge: digest(token), provider: providerName }) : null;
		if (!provider || !p) throw notFound("Payment step");
		if (p.status !== "requires_action") throw invalidState(`This payment is ${p.status}: there is nothing to confirm`, { status: p.status });
		const method = await this.methodOf(p);
		const settled = await this.apply(p._id, await provider.confirmPayment({ providerId: p.providerId ?? p._id, method }, outcome));
		return invoiceView((await this.d.invoices.findById(p.invoiceId))!, settled);
	}

	/** A provider's webhook: verified on the raw body, each event once, then applied. */
	async webhook(providerName: string, rawBody: Buffer, headers: Record<string, string | string[] | undefined>) {
		const provider = this.d.providers.get(providerName);
		if (!provider) throw notFound(`Payment provider ${providerName}`);
		const event = provider.verifyWebhook(rawBody, headers, Math.floor(+now() / 1000));
		const p = await this.d.payments.findOne({ provider: providerName, providerId: event.providerId });
		if (!p) throw badRequest("Webhook refused: no such payment");
		if (event.amount !== p.amount || event.currency !== p.currency) throw badRequest("Webhook refused: the amount or currency is not the payment's");
		const id = `${providerName}:${event.id}`;
		try {
			await this.d.events.insert({
				_id: id,
				provider: providerName,
				type: event.type,
				paymentId: p._id,
				receivedAt: now(),
				expiresAt: addMs(now(), EVENT_TTL_MS),
			});
		} catch (err) {
			if (err instanceof DuplicateKeyError) return { received: true, duplicate: true };
			throw err;
		}
		try {
			const status: PaymentStatus = event.type === "payment.succeeded" ? "succeeded" : "failed";
			await this.apply(p._id, { status, ...(event.failure ? { failure: event.failure } : {}) });
		} catch (err) {
			// Not processed: the provider's retry must be able to try again.
			await this.d.events.remove({ _id: id });
			throw err;
		}
		return { received: true, duplicate: false };
	}

	/**
	 * The job `billing.payments-reconcile`: numbers invoices a crash left unnumbered, asks the
	 * provider about payments without an answer (5 min, 1 h, then daily), fails 3-D Secure left
	 * unfinished for 24 h, and credits successes a crash kept from their credit. Answers how many it moved.
	 */
	async reconcile(): Promise<number> {
		let moved = await this.numbers.recover();
		const t = +now();
		for (const p of await this.d.payments.find({ open: true })) {
			const before = p.status;
			if (p.status === "requires_action" && t - +new Date(p.createdAt) >= CHALLENGE_TTL_MS) {
				await this.apply(p._id, { status: "failed", failure: "authentication_expired: 3-D Secure was not completed within 24 hours" });
			} else if (!isFinal(p.status) && p.status !== "requires_action" && +new Date(p.nextCheckAt) <= t) {
				const provider = this.d.providers.get(p.provider);
				if (!provider) continue;
				const checks = p.checks + 1;
				await this.d.payments.updateOne({ _id: p._id }, { $set: { checks, nextCheckAt: new Date(t + CHECK_AFTER[Math.min(checks, CHECK_AFTER.length - 1)]) } });
				try {
					await this.apply(p._id, await provider.getPayment({ providerId: p.providerId ?? p._id, method: await this.methodOf(p) }));
				} catch (err) {
					this.d.log(`Payment ${p._id}: asking ${p.provider} failed (${(err as Error).message}); asked again later`);
				}
			} else if (p.status === "succeeded") await this.follow(p);
			const after = await this.d.payments.findById(p._id);
			if (after && (after.status !== before || !after.open)) moved++;
		}
		return moved;
	}

	private async methodOf(p: PaymentDoc): Promise<MethodRef> {
		const m = await this.d.methods.findById(p.methodId);
		// A method deleted since: the provider still knows the payment by its id.
		return m ?? { provider: p.provider, providerRef: "" };
	}

	/* ---- invoices (BIL-6) ---- */

	async invoice(accountId: string | null, id: string): Promise<{ invoice: InvoiceDoc; payment: PaymentDoc | null }> {
		const invoice = await this.d.invoices.findOne(accountId ? { _id: id, accountId } : { _id: id });
		if (!invoice) throw notFound("Invoice");
		return { invoice, payment: invoice.paymentId ? await this.d.payments.findById(invoice.paymentId) : null };
	}

	/** An administrator voids a pending invoice; its payment, if still under way, is canceled. */
	async voidInvoice(id: string) {
		const { invoice, payment } = await this.invoice(null, id);
		if (invoice.status !== "pending") throw invalidState(`Only a pending invoice can be voided; this one is ${invoice.status}`, { status: invoice.status });
		if (payment) await this.apply(payment._id, { status: "canceled", failure: "canceled: the invoice was voided" });
		const voided = await this.d.invoices.updateOne({ _id: id, status: { $in: ["pending", "failed"] } }, { $set: { status: "void", updatedAt: now() } });
		if (!voided) throw invalidState("The invoice was paid meanwhile");
		return invoiceView(voided, payment && (await this.d.payments.findById(payment._id)));
	}
}
