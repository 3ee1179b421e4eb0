// Invoices: the list with PDF downloads, one invoice (/account/billing/invoices/{id}, the receipt
// email's link) and paying a post-paid one (/account/billing/invoices/{id}/pay, its email's link).
import { useState } from "preact/hooks";
import { call, get, idempotencyKey, post } from "../api";
import { Banner, date, Failed, Form, html, Loading, messageOf, Money, Page, useLoad } from "../ui";
import { methodLabel, type Method } from "./billing";
import { PaymentResult, type Invoice } from "./payment";

/** Fetches the PDF with the session (a link cannot carry the Authorization header) and saves it. */
async function downloadPdf(invoice: Invoice) {
	const res = await call<Response>("GET", `/billing/invoices/${encodeURIComponent(invoice.id)}?format=pdf`, undefined, { raw: true });
	const url = URL.createObjectURL(await res.blob());
	const a = document.createElement("a");
	a.href = url;
	a.download = `invoice-${invoice.number}.pdf`;
	document.body.appendChild(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function PdfButton(props: { invoice: Invoice }) {
	const [error, setError] = useState<string | null>(null);
	return html`<button type="button" class="link" onClick=${() => downloadPdf(props.invoice).catch(err => setError(messageOf(err)))}>
			PDF<span class="skip"> of invoice ${props.invoice.number}</span>
		</button>
		${error && html`<span role="alert" class="error"> ${error}</span>`}`;
}

export function InvoiceTable(props: { invoices: Invoice[] }) {
	if (!props.invoices.length) return html`<p>No invoices yet.</p>`;
	return html`<div class="table-wrap" tabindex="0" role="region" aria-label="Invoices">
		<table>
			<thead>
				<tr>
					<th scope="col">Number</th>
					<th scope="col">Date</th>
					<th scope="col">Description</th>
					<th scope="col" class="num">Total</th>
					<th scope="col">Status</th>
					<th scope="col">Download</th>
				</tr>
			</thead>
			<tbody>
				${props.invoices.map(
					i =>
						html`<tr key=${i.id}>
							<td><a href=${`/account/billing/invoices/${encodeURIComponent(i.id)}`}>${i.number}</a></td>
							<td>${date(i.createdAt)}</td>
							<td>${i.description}</td>
							<td class="num"><${Money} amount=${i.total} currency=${i.currency} /></td>
							<td>${i.status}</td>
							<td><${PdfButton} invoice=${i} /></td>
						</tr>`,
				)}
			</tbody>
		</table>
	</div>`;
}

const payable = (i: Invoice) => i.kind === "postpaid" && (i.status === "pending" || i.status === "failed");

export function InvoicePage(props: { id: string }) {
	const load = useLoad(() => get<Invoice>(`/billing/invoices/${encodeURIComponent(props.id)}`), [props.id]);
	if (load.loading) return html`<${Page} title="Invoice"><${Loading} what="the invoice" /><//>`;
	if (!load.data) return html`<${Page} title="Invoice"><${Failed} error=${load.error} /><//>`;
	const i = load.data;
	return html`<${Page} title=${`Invoice ${i.number}`}>
		<section class="card">
			<dl class="figures">
				<div>
					<dt>Status</dt>
					<dd>${i.status}</dd>
				</div>
				<div>
					<dt>Net</dt>
					<dd><${Money} amount=${i.amount} currency=${i.currency} /></dd>
				</div>
				<div>
					<dt>Tax</dt>
					<dd><${Money} amount=${i.tax} currency=${i.currency} /></dd>
				</div>
				<div>
					<dt>Total</dt>
					<dd><${Money} amount=${i.amountDue ?? i.total} currency=${i.currency} /></dd>
				</div>
			</dl>
			<p>${i.description} · issued ${date(i.createdAt)}${i.dueAt ? ` · due ${date(i.dueAt)}` : ""}${i.paidAt ? ` · paid ${date(i.paidAt)}` : ""}</p>
			${
				i.lines?.length
					? html`<div class="table-wrap" tabindex="0" role="region" aria-label="Invoice lines">
							<table>
								<thead>
									<tr>
										<th scope="col">Line</th>
										<th scope="col" class="num">Amount</th>
									</tr>
								</thead>
								<tbody>
									${i.lines.map(
										(l, n) =>
											html`<tr key=${n}>
												<td>${l.description}</td>
												<td class="num"><${Money} amount=${l.amount} /></td>
											</tr>`,
									)}
								</tbody>
							</table>
						</div>`
					: null
			}
			<div class="actions">
				<${PdfButton} invoice=${i} />
				${payable(i) && html`<a href=${`/account/billing/invoices/${encodeURIComponent(i.id)}/pay`}>Pay this invoice</a>`}
			</div>
		</section>
		<p><a href="/account/billing">All invoices</a></p>
	<//>`;
}

export function PayInvoice(props: { id: string }) {
	const load = useLoad(
		() => Promise.all([get<Invoice>(`/billing/invoices/${encodeURIComponent(props.id)}`), get<Method[]>("/billing/payment-methods")]),
		[props.id],
	);
	const [key] = useState(idempotencyKey);
	const [result, setResult] = useState<Invoice | null>(null);
	if (load.loading) return html`<${Page} title="Pay an invoice"><${Loading} what="the invoice" /><//>`;
	if (!load.data) return html`<${Page} title="Pay an invoice"><${Failed} error=${load.error} /><//>`;
	const [invoice, methods] = load.data;
	return html`<${Page} title=${`Pay invoice ${invoice.number}`} narrow>
		<p>
			Amount due: <strong><${Money} amount=${invoice.amountDue ?? invoice.total} currency=${invoice.currency} /></strong>
		</p>
		${
			result
				? html`<${PaymentResult} invoice=${result} onDone=${() => undefined} />`
				: !payable(invoice)
					? html`<${Banner} kind="info">This invoice is ${invoice.status}: there is nothing to pay.<//>`
					: !methods.length
						? html`<${Banner} kind="warn">Add a card first: <a href="/account/billing">Billing</a>.<//>`
						: html`<${Form}
								submit="Pay"
								onSubmit=${async (v: { method: string }) =>
									setResult(
										(
											await post<{ invoice: Invoice }>(
												`/billing/invoices/${encodeURIComponent(invoice.id)}/pay`,
												{ paymentMethodId: v.method },
												{ idempotencyKey: key },
											)
										).invoice,
									)}
							>
								<fieldset>
									<legend>Pay with</legend>
									${methods.map(
										(m, n) =>
											html`<div class="check" key=${m.id}>
												<input type="radio" id=${`pm-${m.id}`} name="method" value=${m.id} checked=${m.default || (n === 0 && !methods.some(x => x.default))} />
												<label for=${`pm-${m.id}`}>${methodLabel(m)}</label>
											</div>`,
									)}
								</fieldset>
							<//>`
		}
	<//>`;
}
