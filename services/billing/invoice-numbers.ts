// BIL-8: invoice numbers `YYYY-NNNNNN`, sequential and gap-free per year, also with several
// billing replicas and across a crash at any step. The protocol is the ledger's
// (services/billing/ledger-store.ts): an invoice is stored first without a number (`unnumbered`),
// then the year's counter takes it in one conditional update ({last: n} → {last: n + 1,
// lastInvoice: id}), then the invoice is given n + 1. A crash between the last two leaves the
// counter naming the invoice: whoever numbers next, or the reconciliation job, finishes it first.
// So every number goes to exactly one invoice and no invoice gets two.
import { now } from "../../lib/clock";
import { DuplicateKeyError, type Doc, type Store } from "../../mixins/db.mixin";
import { backoff } from "./ledger-store";

export interface NumberedDoc extends Doc {
	year: number;
	number?: string;
	unnumbered?: boolean;
}

export interface CounterDoc extends Doc {
	last: number;
	lastInvoice: string;
	updatedAt: Date;
}

export const invoiceNumber = (year: number, n: number) => `${year}-${String(n).padStart(6, "0")}`;

// Contention only means another invoice took the number: try again soon (the ledger's backoff).
const MAX_ATTEMPTS = 1000;

export class InvoiceNumbers {
	constructor(
		private invoices: Store<NumberedDoc>,
		private counters: Store<CounterDoc>,
	) {}

	/** The number of a stored invoice: the one it has, or the next of its year. */
	async number(invoiceId: string, year: number): Promise<string> {
		for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
			const counter = await this.counter(year);
			await this.finish(counter);
			const invoice = await this.invoices.findById(invoiceId);
			if (!invoice) throw new Error(`Invoice ${invoiceId} not found`);
			if (invoice.number) return invoice.number;
			const taken = await this.counters.updateOne(
				{ _id: counter._id, last: counter.last, lastInvoice: counter.lastInvoice },
				{ $set: { last: counter.last + 1, lastInvoice: invoiceId, updatedAt: now() } },
			);
			if (taken) {
				await this.finish(taken);
				return invoiceNumber(year, taken.last);
			}
			await backoff(attempt);
		}
		throw new Error(`Invoice ${invoiceId} could not be numbered: the counter of ${year} kept changing`);
	}

	/** Numbers the invoices a crash left without one (the reconciliation job). */
	async recover(): Promise<number> {
		const left = await this.invoices.find({ unnumbered: true }, { fields: ["year"] });
		for (const i of left) await this.number(i._id, i.year);
		return left.length;
	}

	/** Gives the counter's last invoice its number, if a crash kept it from it. */
	private async finish(c: CounterDoc) {
		if (!c.lastInvoice) return;
		await this.invoices.updateOne(
			{ _id: c.lastInvoice, unnumbered: true },
			{ $set: { number: invoiceNumber(Number(c._id), c.last) }, $unset: { unnumbered: true } },
		);
	}

	private async counter(year: number): Promise<CounterDoc> {
		const id = String(year);
		const found = await this.counters.findById(id);
		if (found) return found;
		try {
			return await this.counters.insert({ _id: id, last: 0, lastInvoice: "", updatedAt: now() });
		} catch (err) {
			if (!(err instanceof DuplicateKeyError)) throw err;
			return (await this.counters.findById(id))!;
		}
	}
}
