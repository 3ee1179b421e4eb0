// BIL-6: the monthly invoices of post-paid accounts, issued and followed (the rules: postpaid.ts).
// The job `billing.post-paid-invoices` walks the accounts of `post` groups, and those that left one
// lately (their post-paid part of a month until the move is invoiced too); once the 1st has begun
// in an account's time zone it makes the month before's invoice under the key
// `postpaid:<account>:<YYYY-MM>` — stored once under an id made from the key, so a second run, a
// second replica or a run after a crash finds it and finishes it: numbered (BIL-8), paid with the
// default card when that card can be charged unattended (the payment keyed the same, once), and
// told to the customer once (`notifiedAt`). A payment the provider is still deciding on is waited
// for: the next run tells the outcome. Paying credits the balance the net through Payments'
// one credit path; an invoice unpaid past its due date deactivates the account (accounts asks
// `overdue`), paid it brings it back (accounts hears `billing.invoice.paid`).
import { now } from "../../lib/clock";
import { publicUrl } from "../../lib/config";
import { CURRENCY, formatExact, type Micros } from "../../lib/money";
import type { Store } from "../../mixins/db.mixin";
import type { EntryDoc } from "./ledger-store";
import { amountDue } from "./payment-docs";
import { isFinal } from "./payment-states";
import { keyedId, type Customer, type InvoiceDoc, type PaymentDoc, type PaymentMethodDoc, type Payments } from "./payments";
import { BILLED_KINDS, billedMonth, billedSpans, dueAt, invoiceLines, leftPostAfter, monthName, postpaidKey, type PostPaidPeriods } from "./postpaid";

/** A customer of a `post` group, or one that left one lately, as accounts lists them. */
export interface PostPaidAccount extends PostPaidPeriods {
	id: string;
	timeZone: string;
}

export interface PostPaidDeps {
	invoices: Store<InvoiceDoc>;
	entries: Store<EntryDoc>;
	methods: Store<PaymentMethodDoc>;
	payments: () => Payments;
	/** a page of the customers of `post` groups and of those that left one after `leftAfter`, by id after `after` */
	accounts(after: string | undefined, limit: number, leftAfter: Date): Promise<PostPaidAccount[]>;
	/** the environments' names (as last charged) */
	envNames(envIds: string[]): Promise<Map<string, string>>;
	customer(accountId: string): Promise<Customer>;
	/** `account.post.invoice.generation.enabled` and `account.post.invoice.due.days` of the account (as in `group`, when given) */
	terms(accountId: string, group?: string): Promise<{ enabled: boolean; dueDays: number }>;
	/** an email (and in-app notice) to the account, deduplicated by `dedupKey` */
	tell(accountId: string, template: "postpaid-invoice", data: Record<string, string>, dedupKey: string): Promise<void>;
	log(message: string): void;
}

const PAGE = 200;

/** Where the customer pays an invoice (the console's page over POST /billing/invoices/{id}/pay). */
export const payLink = (invoiceId: string) => `${publicUrl()}/account/billing/invoices/${invoiceId}/pay`;

export class PostPaidInvoices {
	constructor(private d: PostPaidDeps) {}

	/** The job: every post-paid account's invoice for its previous month, made or finished. Answers how many were issued. */
	async run(at = now()): Promise<number> {
		let issued = 0;
		for (let after: string | undefined; ;) {
			const page = await this.d.accounts(after, PAGE, leftPostAfter(at));
			for (const a of page) {
				try {
					if (await this.invoiceMonth(a, at)) issued++;
				} catch (err) {
					this.d.log(`Post-paid invoice of ${a.id}: ${(err as Error).message}`);
				}
			}
			if (page.length < PAGE) return issued;
			after = page[page.length - 1].id;
		}
	}

	/**
	 * The account's invoice of the month before `at` (in its zone), made once, then paid and told
	 * as far as it can be now. True when this call stored it.
	 */
	async invoiceMonth(a: PostPaidAccount, at: Date): Promise<boolean> {
		const month = billedMonth(at, a.timeZone);
		const key = postpaidKey(a.id, month.period);
		let invoice = await this.d.invoices.findById(keyedId("inv", key));
		if (invoice?.notifiedAt) return false; // this month is done (the usual case, every hour of the month)
		let found = true;
		if (!invoice) {
			const spans = billedSpans(month, a);
			if (!spans.length) return false; // not post-paid in that month
			// One that left post is invoiced under the terms of the post group it left (its overrides over them).
			const { enabled, dueDays } = await this.d.terms(a.id, a.inType === false ? a.left?.group : undefined);
			if (!enabled) return false;
			const entries: Pick<EntryDoc, "envId" | "amountMain">[] = [];
			for (const { from, to } of spans) {
				entries.push(
					...(await this.d.entries.find(
						{ accountId: a.id, state: "applied", kind: { $in: [...BILLED_KINDS] }, appliedAt: { $gte: from, $lt: to } },
						{ fields: ["envId", "amountMain"] },
					)),
				);
			}
			const envIds = [...new Set(entries.flatMap(e => (e.envId ? [e.envId] : [])))];
			const { lines, net } = invoiceLines(entries, await this.d.envNames(envIds));
			if (net <= 0) return false; // nothing charged (or only credits): no invoice
			({ invoice, found } = await this.fresh(a.id, key, month.period, lines, net, dueAt(at, dueDays)));
		}
		if (!invoice.number) ({ invoice } = await this.d.payments().issue(invoice)); // a crash before its number
		await this.settle(invoice, key);
		return !found;
	}

	/** The invoice stored once under `key` and numbered: the one a twin stored first, if any (`found`). */
	private async fresh(accountId: string, key: string, period: string, lines: InvoiceDoc["lines"], net: Micros, due: Date) {
		const payments = this.d.payments();
		const customer = await this.d.customer(accountId);
		const method = await payments.unattendedMethod(accountId);
		const at = now();
		return payments.issue({
			_id: keyedId("inv", key),
			accountId,
			kind: "postpaid",
			year: at.getUTCFullYear(),
			unnumbered: true,
			status: "pending",
			...payments.amounts(net, await payments.taxRateOf(customer)),
			currency: CURRENCY,
			customer,
			description: `Post-paid charges, ${monthName(period)}`,
			period,
			lines,
			dueAt: due,
			autoPayMethodId: method?._id ?? "",
			createdAt: at,
			updatedAt: at,
		});
	}

	/** Pays it with the card chosen at issue (once: the payment is keyed), then tells the customer once its outcome is known. */
	private async settle(invoice: InvoiceDoc, key: string): Promise<void> {
		if (invoice.notifiedAt) return;
		let payment: PaymentDoc | null = null;
		if (invoice.autoPayMethodId && (invoice.status === "pending" || invoice.status === "failed")) {
			try {
				({ invoice, payment } = await this.d.payments().payInvoice(invoice.accountId, invoice._id, invoice.autoPayMethodId, key));
			} catch (err) {
				// A twin run took the payment a moment ago: it (or the next run) tells the outcome.
				const current = await this.d.invoices.findById(invoice._id);
				if (current?.paymentId === keyedId("pay", key)) return;
				// The card was removed or expired since, or the customer is paying it themselves: told to pay.
				this.d.log(`Post-paid invoice ${invoice.number}: not paid unattended (${(err as Error).message})`);
				invoice = current ?? invoice;
			}
		}
		// The provider is still deciding (a webhook, a timeout): the next run tells the outcome.
		if (payment && !isFinal(payment.status) && payment.status !== "requires_action") return;
		const paidWith = payment?.status === "succeeded" ? await this.d.methods.findById(payment.methodId) : null;
		// Paid by the customer before we told them (their receipt says it all), or voided: nothing to tell.
		if (paidWith || invoice.status === "pending" || invoice.status === "failed") {
			await this.d.tell(
				invoice.accountId,
				"postpaid-invoice",
				{
					number: invoice.number!,
					period: monthName(invoice.period!),
					total: formatExact(amountDue(invoice)),
					currency: invoice.currency,
					dueAt: new Date(invoice.dueAt!).toISOString().slice(0, 10),
					invoiceLink: `${publicUrl()}/account/billing/invoices/${invoice._id}`,
					...(paidWith ? { paidWith: `card •••• ${paidWith.last4}` } : { payLink: payLink(invoice._id) }),
				},
				`postpaid-invoice:${invoice._id}`,
			);
		}
		await this.d.invoices.updateOne({ _id: invoice._id }, { $set: { notifiedAt: now() } });
	}

	/** STS-2: the account's post-paid invoices unpaid past their due date, oldest first, as accounts asks for them. */
	async overdue(accountId: string, at = now()) {
		const rows = await this.d.invoices.find(
			{ accountId, kind: "postpaid", status: { $in: ["pending", "failed"] }, dueAt: { $lte: at } },
			{ sort: { dueAt: 1 } },
		);
		return rows.map(i => ({
			id: i._id,
			number: i.number ?? "",
			total: formatExact(amountDue(i)),
			currency: i.currency,
			dueAt: new Date(i.dueAt!).toISOString().slice(0, 10),
			payLink: payLink(i._id),
		}));
	}
}
