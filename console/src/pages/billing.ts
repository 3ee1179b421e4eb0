// Billing (/account/billing): the balance, a refill with a saved or a new card (3-D Secure
// included), and the invoices with their PDFs. Amounts are the server's decimal strings.
import { useState } from "preact/hooks";
import { get, idempotencyKey, post } from "../api";
import { location$ } from "../router";
import { Banner, Check, Failed, Field, Form, html, Loading, Page, SubNav, useLoad } from "../ui";
import { BILLING_NAV } from "./billing-history";
import { BalanceFigures, type Balance } from "./dashboard";
import { InvoiceTable } from "./invoices";
import { PaymentResult, type Invoice } from "./payment";

export interface Method {
	id: string;
	brand: string;
	last4: string;
	expMonth: number;
	expYear: number;
	default: boolean;
}

export function methodLabel(m: Method) {
	return `${m.brand} •••• ${m.last4}, expires ${String(m.expMonth).padStart(2, "0")}/${m.expYear}${m.default ? " (default)" : ""}`;
}

/** A card's fields (`card.*` in the form's values), as the refill and the payment methods ask for one. */
export function CardFields() {
	return html`<${Field} label="Card number" name="card.number" inputmode="numeric" autocomplete="cc-number" />
		<div class="row">
			<${Field} label="Expiry month" name="card.expMonth" inputmode="numeric" autocomplete="cc-exp-month" placeholder="MM" />
			<${Field} label="Expiry year" name="card.expYear" inputmode="numeric" autocomplete="cc-exp-year" placeholder="YYYY" />
			<${Field} label="Security code (CVC)" name="card.cvc" inputmode="numeric" autocomplete="cc-csc" />
		</div>
		<${Field} label="Name on the card" name="card.holder" autocomplete="cc-name" />`;
}

/** Saves the card of CardFields' values as a payment method. */
export function saveCard(c: Record<string, string>): Promise<Method> {
	return post<Method>("/billing/payment-methods", {
		type: "card",
		number: (c.number ?? "").replace(/\s+/g, ""),
		expMonth: Number(c.expMonth),
		expYear: Number(c.expYear),
		cvc: c.cvc,
		...(c.holder ? { holder: c.holder } : {}),
	});
}

function NewCard() {
	return html`<fieldset>
		<legend>New card</legend>
		<${CardFields} />
	</fieldset>`;
}

function Refill(props: { methods: Method[]; onPaid: () => void }) {
	const [choice, setChoice] = useState(props.methods.find(m => m.default)?.id ?? props.methods[0]?.id ?? "new");
	const [key, setKey] = useState(idempotencyKey);
	const [result, setResult] = useState<Invoice | null>(null);
	const pay = async (v: { amount: string; method: string; card?: Record<string, string> }) => {
		let methodId = v.method;
		if (methodId === "new") {
			methodId = (await saveCard(v.card ?? {})).id;
		}
		const r = await post<{ invoice: Invoice }>("/billing/refill", { amount: v.amount.trim(), paymentMethodId: methodId }, { idempotencyKey: key });
		setChoice(methodId);
		setKey(idempotencyKey()); // a new Form below: the card's fields are emptied
		setResult(r.invoice);
		props.onPaid();
	};
	return html`<section class="card" aria-labelledby="refill-h">
		<h2 id="refill-h">Refill the balance</h2>
		${result && html`<${PaymentResult} key=${result.id} invoice=${result} onDone=${props.onPaid} />`}
		<${Form} key=${key} submit="Pay" label="Refill" onSubmit=${pay}>
			<${Field} label="Amount" name="amount" inputmode="decimal" hint="For example 25.00" required />
			<fieldset>
				<legend>Pay with</legend>
				${props.methods.map(
					m =>
						html`<div class="check" key=${m.id}>
							<input type="radio" id=${`m-${m.id}`} name="method" value=${m.id} checked=${choice === m.id} onChange=${() => setChoice(m.id)} />
							<label for=${`m-${m.id}`}>${methodLabel(m)}</label>
						</div>`,
				)}
				<div class="check">
					<input type="radio" id="m-new" name="method" value="new" checked=${choice === "new"} onChange=${() => setChoice("new")} />
					<label for="m-new">A new card</label>
				</div>
			</fieldset>
			${choice === "new" && html`<${NewCard} />`}
		<//>
	</section>`;
}

export function Billing() {
	const data = useLoad(() =>
		Promise.all([get<Balance>("/billing/balance"), get<Method[]>("/billing/payment-methods"), get<{ rows: Invoice[] }>("/billing/invoices?pageSize=50")]),
	);
	if (data.loading) return html`<${Page} title="Billing"><${Loading} what="billing" /><//>`;
	if (!data.data) return html`<${Page} title="Billing"><${Failed} error=${data.error} /><//>`;
	const [balance, methods, invoices] = data.data;
	return html`<${Page} title="Billing">
		<${SubNav} label="Billing" links=${BILLING_NAV} />
		<${BalanceFigures} balance=${balance} />
		<p><a href="/account/upgrade">Upgrade to a commercial account</a></p>
		<${Refill} methods=${methods} onPaid=${() => void data.reload()} />
		<section class="card" aria-labelledby="invoices-h">
			<h2 id="invoices-h">Invoices</h2>
			<${InvoiceTable} invoices=${invoices.rows} />
		</section>
	<//>`;
}

const COUNTRY_HINT = "Two letters, for example DE, US, GB.";

export function Upgrade() {
	const [done, setDone] = useState(location$.value.query.get("done") === "1");
	const account = useLoad(() => get<{ type: string; upgrade: { state: string } }>("/account"));
	if (account.loading) return html`<${Page} title="Upgrade"><${Loading} what="your account" /><//>`;
	if (done || account.data?.upgrade?.state === "pending")
		return html`<${Page} title="Upgrade">
			<${Banner} kind="ok">Your upgrade is requested: it completes with your first refill. <a href="/account/billing">Refill now</a><//>
		<//>`;
	if (account.data && account.data.type !== "trial")
		return html`<${Page} title="Upgrade"><${Banner} kind="info">Your account is already a commercial one.<//><//>`;
	return html`<${Page} title="Upgrade to a commercial account" narrow>
		<p>Your billing information goes on your invoices. Your trial's limits are lifted once the first refill is paid.</p>
		<${Form}
			submit="Upgrade"
			onSubmit=${async (v: { billingInfo: Record<string, string>; acceptTerms: boolean }) => {
				const info = Object.fromEntries(Object.entries(v.billingInfo).filter(([, value]) => value.trim() !== ""));
				await post("/account/upgrade", { billingInfo: { ...info, country: (info.country ?? "").toUpperCase() }, acceptTerms: v.acceptTerms });
				setDone(true);
			}}
		>
			<div class="row">
				<${Field} label="First name" name="billingInfo.firstName" autocomplete="given-name" required />
				<${Field} label="Last name" name="billingInfo.lastName" autocomplete="family-name" required />
			</div>
			<${Field} label="Company (optional)" name="billingInfo.company" autocomplete="organization" />
			<${Field} label="Address" name="billingInfo.address" autocomplete="street-address" required />
			<div class="row">
				<${Field} label="Postal code" name="billingInfo.postalCode" autocomplete="postal-code" required />
				<${Field} label="City" name="billingInfo.city" autocomplete="address-level2" required />
			</div>
			<div class="row">
				<${Field} label="Country" name="billingInfo.country" autocomplete="country" hint=${COUNTRY_HINT} maxlength="2" required />
				<${Field} label="State (optional)" name="billingInfo.state" autocomplete="address-level1" />
			</div>
			<${Field} label="Phone" name="billingInfo.phone" type="tel" autocomplete="tel" required />
			<${Check} label="I accept the terms of service" name="acceptTerms" />
		<//>
	<//>`;
}
