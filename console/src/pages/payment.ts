// What a payment answered (a refill or a post-paid invoice): paid, failed with the reason, or
// waiting for 3-D Secure. The `test` provider's step is answered here (Approve / Decline, as a
// bank's page would); another provider's step is its own page, opened from the link.
import { useState } from "preact/hooks";
import { post } from "../api";
import { Banner, html, messageOf, Money } from "../ui";

export interface Invoice {
	id: string;
	kind: string;
	number: string;
	status: string;
	amount: string;
	tax: string;
	total: string;
	amountDue?: string;
	currency: string;
	description: string;
	createdAt: string;
	paidAt?: string;
	dueAt?: string;
	period?: string;
	actionUrl?: string;
	lines?: { description: string; amount: string }[];
	payment?: { id: string; provider: string; status: string; failure?: string };
}

/** The API path of a 3-D Secure step (the link is absolute, on the platform's public address). */
function stepPath(actionUrl: string): string {
	return new URL(actionUrl, window.location.origin).pathname.replace(/^\/api\/v1/, "");
}

export function PaymentResult(props: { invoice: Invoice; onDone: (invoice: Invoice) => void }) {
	const [invoice, setInvoice] = useState(props.invoice);
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState<string | null>(null);
	const answer = async (outcome: "approve" | "decline") => {
		setBusy(true);
		setError(null);
		try {
			const done = await post<Invoice>(stepPath(invoice.actionUrl!), { outcome });
			setInvoice(done);
			props.onDone(done);
		} catch (err) {
			setError(messageOf(err));
		} finally {
			setBusy(false);
		}
	};
	if (invoice.status === "paid")
		return html`<${Banner} kind="ok">Paid: invoice ${invoice.number}, <${Money} amount=${invoice.total} currency=${invoice.currency} />. Thank you!<//>`;
	if (invoice.status === "failed")
		return html`<${Banner} kind="bad" alert>The payment failed${invoice.payment?.failure ? `: ${invoice.payment.failure}` : ""}. Nothing was charged.<//>`;
	if (invoice.actionUrl)
		return html`<section class="card" aria-labelledby="tds-h" data-testid="three-d-secure">
			<h2 id="tds-h">Confirm the payment with your bank</h2>
			<p>Your bank asks you to confirm the payment of <${Money} amount=${invoice.total} currency=${invoice.currency} /> (3-D Secure).</p>
			${error && html`<${Banner} kind="bad" alert>${error}<//>`}
			${
				invoice.payment?.provider === "test"
					? html`<p class="muted">Test provider: no real bank is asked.</p>
							<div class="actions">
								<button type="button" disabled=${busy} onClick=${() => answer("approve")}>Approve the payment</button>
								<button type="button" class="secondary" disabled=${busy} onClick=${() => answer("decline")}>Decline</button>
							</div>`
					: html`<p><a href=${invoice.actionUrl}>Continue to your bank</a></p>`
			}
		</section>`;
	return html`<${Banner} kind="info"
		>The payment of invoice ${invoice.number} is ${invoice.payment?.status ?? invoice.status}: the balance is credited as soon as the provider confirms it.<//
	>`;
}
