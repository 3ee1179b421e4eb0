// Post-paid monthly invoices (BIL-6, STS-2/STS-3), mixed into the billing service: POST
// /billing/invoices/{id}/pay, what accounts asks (`overdueInvoices`), and the job
// `billing.post-paid-invoices` (spread into the service's jobs). A thin shell over
// services/billing/postpaid-invoices.ts, which does the work, and postpaid.ts, its rules.
import type { Context, Service } from "moleculer";
import { defineService } from "../../lib/service-schema";
import type { Store } from "../../mixins/db.mixin";
import { tell } from "./balance-actions";
import { quotaValues } from "./calls";
import type { ChargeDoc } from "./charging";
import { requireIdempotencyKey, type Idempotency } from "./idempotency";
import type { EntryDoc, Ledger } from "./ledger-store";
import { customerOf } from "./payment-actions";
import { invoiceView, type InvoiceDoc, type PaymentMethodDoc, type Payments } from "./payments";
import { PostPaidInvoices, type PostPaidAccount } from "./postpaid-invoices";
import { idRule } from "./rules";
import type { BalanceView } from "./views";

type Meta = { user?: { id: string }; idempotencyKey?: string };

type Self = Service & {
	db: { invoices: Store<InvoiceDoc>; ledger: Store<EntryDoc>; payment_methods: Store<PaymentMethodDoc>; env_charges: Store<ChargeDoc> };
	payments: Payments;
	postPaid: PostPaidInvoices;
	ledger: Ledger;
	idempotency: Idempotency;
	balanceAnswer(ctx: Context, accountId: string, b: { main: number; bonus: number }): Promise<BalanceView>;
};

/** The days from an invoice to its due date when the quota is missing (`account.post.invoice.due.days`). */
const DUE_DAYS = 14;

/** The service's PostPaidInvoices, made in billing's own `created` (after Payments). */
export function createPostPaid(svc: Pick<Self, "db" | "broker" | "logger" | "payments">): PostPaidInvoices {
	const caller = svc.broker as unknown as Context;
	return new PostPaidInvoices({
		invoices: svc.db.invoices,
		entries: svc.db.ledger,
		methods: svc.db.payment_methods,
		payments: () => svc.payments,
		accounts: (after, limit, leftAfter) =>
			svc.broker.call<PostPaidAccount[], object>("accounts.customersOfType", { type: "post", limit, leftAfter, ...(after ? { after } : {}) }),
		envNames: async envIds => {
			const names = new Map<string, string>();
			for (const envId of envIds) {
				const [last] = await svc.db.env_charges.find({ envId }, { sort: { hour: -1 }, limit: 1, fields: ["envId", "name", "hour"] });
				if (last?.name) names.set(envId, last.name);
			}
			return names;
		},
		customer: async accountId => customerOf(await svc.broker.call("accounts.billingContact", { id: accountId })),
		terms: async (accountId, group) => {
			const values = group
				? (await caller.call<{ values: Record<string, unknown> }, object>("quotas.effective", { accountId, group })).values
				: await quotaValues(caller, accountId);
			const days = Number(values["account.post.invoice.due.days"] ?? DUE_DAYS);
			return { enabled: Number(values["account.post.invoice.generation.enabled"] ?? 0) === 1, dueDays: Number.isFinite(days) ? days : DUE_DAYS };
		},
		tell: (accountId, template, data, dedupKey) => tell(svc, accountId, template, data, dedupKey),
		log: message => svc.logger.warn(message),
	});
}

/** The job (billing.service.ts spreads it into its own: a mixin's `jobs` would be overwritten). */
export const postPaidJobs = {
	/** BIL-6: on the 1st in each post-paid account's time zone, the month before's invoice — made once, paid, told. */
	"post-paid-invoices": {
		cron: "5 * * * *",
		handler(this: Self) {
			return this.postPaid.run();
		},
	},
};

const PostPaidActions = defineService<Self>({
	name: "billing",

	actions: {
		/**
		 * POST /billing/invoices/{id}/pay {paymentMethodId} — my pending or failed post-paid invoice
		 * paid with a saved method (3-D Secure as a refill's); Idempotency-Key required (BIL-6).
		 */
		payInvoice: {
			params: { id: idRule, paymentMethodId: idRule },
			async handler(this: Self, ctx: Context<{ id: string; paymentMethodId: string }, Meta>) {
				const accountId = ctx.meta.user!.id;
				await this.payments.invoice(accountId, ctx.params.id); // another account's: 404, whatever else is wrong
				const key = requireIdempotencyKey(ctx.meta.idempotencyKey);
				return this.idempotency.run({ operation: "payInvoice", caller: accountId, key, body: ctx.params, meta: ctx.meta }, async nonce => {
					// Keyed by the request's nonce: a retry that takes over a crashed or lapsed twin finishes its payment.
					const { invoice, payment } = await this.payments.payInvoice(accountId, ctx.params.id, ctx.params.paymentMethodId, `invoice-pay:${nonce}`);
					return { invoice: invoiceView(invoice, payment), balance: await this.balanceAnswer(ctx, accountId, await this.ledger.balanceOf(accountId)) };
				});
			},
		},

		/** Internal (STS-2): the account's post-paid invoices unpaid past their due date — accounts deactivates for them. */
		overdueInvoices: {
			visibility: "public",
			params: { accountId: idRule },
			async handler(this: Self, ctx: Context<{ accountId: string }>) {
				return { invoices: await this.postPaid.overdue(ctx.params.accountId) };
			},
		},
	},
});

export default PostPaidActions;
