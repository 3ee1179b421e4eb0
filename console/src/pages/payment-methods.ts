// Payment methods (/account/billing/payment-methods: list, add, make default, delete) and the
// automatic refill (/account/billing/auto-refill: GET/PUT/DELETE /billing/auto-refill, PAY-4).
import { useState } from "preact/hooks";
import { ApiError, del, get, post, put } from "../api";
import { ActionButton, Banner, Failed, Field, Form, html, Loading, Money, Page, SubNav, useLoad } from "../ui";
import { CardFields, methodLabel, saveCard, type Method } from "./billing";
import { BILLING_NAV } from "./billing-history";

export function PaymentMethods() {
	const methods = useLoad(() => get<Method[]>("/billing/payment-methods"));
	const [formKey, setFormKey] = useState(0);
	const [added, setAdded] = useState<string | null>(null);
	const add = async (v: { card: Record<string, string> }) => {
		const saved = await saveCard(v.card);
		setAdded(methodLabel(saved));
		setFormKey(k => k + 1);
		await methods.reload();
	};
	return html`<${Page} title="Payment methods">
		<${SubNav} label="Billing" links=${BILLING_NAV} />
		${methods.loading && html`<${Loading} what="your payment methods" />`} ${!methods.loading && !methods.data && html`<${Failed} error=${methods.error} />`}
		${
			methods.data &&
			html`<section class="card" aria-labelledby="pm-h">
				<h2 id="pm-h">Saved cards</h2>
				${methods.data.length === 0 && html`<p>No saved cards yet.</p>`}
				<ul class="method-list" aria-label="Saved cards">
					${methods.data.map(
						m =>
							html`<li key=${m.id}>
								<span>${methodLabel(m)}</span>
								${
									!m.default &&
									html`<${ActionButton}
										secondary
										label=${`Make default: ${m.brand} •••• ${m.last4}`}
										onClick=${async () => {
											await post(`/billing/payment-methods/${encodeURIComponent(m.id)}/default`);
											await methods.reload();
										}}
										>Make default<//
									>`
								}
								<${ActionButton}
									secondary
									label=${`Delete ${m.brand} •••• ${m.last4}`}
									onClick=${async () => {
										if (!window.confirm(`Delete ${methodLabel(m)}?`)) return;
										await del(`/billing/payment-methods/${encodeURIComponent(m.id)}`);
										await methods.reload();
									}}
									>Delete<//
								>
							</li>`,
					)}
				</ul>
			</section>`
		}
		<section class="card" aria-labelledby="pm-add-h">
			<h2 id="pm-add-h">Add a card</h2>
			${added && html`<${Banner} kind="ok">Saved: ${added}.<//>`}
			<${Form} key=${formKey} submit="Save the card" label="Add a card" onSubmit=${add}>
				<${CardFields} />
			<//>
		</section>
	<//>`;
}

interface AutoRefillRule {
	amount: string;
	paymentMethodId: string;
	condition: { type: "weekly" | "monthly" | "balanceBelow"; threshold?: string };
	timeZone?: string;
	enabled: boolean;
	pending: boolean;
	failures: number;
	disabledReason?: string;
	lastFiredAt: string | null;
}

const CONDITIONS: [string, string][] = [
	["balanceBelow", "When the balance falls below a threshold"],
	["weekly", "Every week (Mondays)"],
	["monthly", "Every month (the 1st)"],
];

/** GET /billing/auto-refill: the rule, or null when there is none (404). */
async function loadRule(): Promise<AutoRefillRule | null> {
	try {
		return await get<AutoRefillRule>("/billing/auto-refill");
	} catch (err) {
		if (err instanceof ApiError && err.status === 404) return null;
		throw err;
	}
}

export function AutoRefill() {
	const data = useLoad(() => Promise.all([loadRule(), get<Method[]>("/billing/payment-methods"), get<{ currency: string }>("/billing/balance")]));
	const [type, setType] = useState<string | null>(null);
	const [saved, setSaved] = useState<string | null>(null);
	if (data.loading) return html`<${Page} title="Auto-refill"><${SubNav} label="Billing" links=${BILLING_NAV} /><${Loading} what="your auto-refill" /><//>`;
	if (!data.data) return html`<${Page} title="Auto-refill"><${SubNav} label="Billing" links=${BILLING_NAV} /><${Failed} error=${data.error} /><//>`;
	const [rule, methods, { currency }] = data.data;
	const condition = type ?? rule?.condition.type ?? "balanceBelow";
	const save = async (v: { amount: string; paymentMethodId: string; condition: { type: string; threshold?: string } }) => {
		const { type: when, threshold } = v.condition;
		await put("/billing/auto-refill", {
			amount: v.amount.trim(),
			paymentMethodId: v.paymentMethodId,
			condition: { type: when, ...(when === "balanceBelow" ? { threshold: (threshold ?? "").trim() } : {}) },
		});
		setSaved("The auto-refill is on.");
		await data.reload();
	};
	return html`<${Page} title="Auto-refill">
		<${SubNav} label="Billing" links=${BILLING_NAV} />
		${saved && html`<${Banner} kind="ok">${saved}<//>`}
		${
			rule
				? html`<section class="card" aria-labelledby="ar-now-h" data-testid="auto-refill-rule">
						<h2 id="ar-now-h">Your auto-refill</h2>
						<p>
							${rule.enabled ? "On" : `Off${rule.disabledReason ? `: ${rule.disabledReason}` : ""}`}: <${Money} amount=${rule.amount} currency=${currency} />
							${
								rule.condition.type === "balanceBelow"
									? html` when the balance falls below <${Money} amount=${rule.condition.threshold} currency=${currency} />`
									: rule.condition.type === "weekly"
										? " every week"
										: " every month"
							}
							with
							${methods.find(m => m.id === rule.paymentMethodId) ? methodLabel(methods.find(m => m.id === rule.paymentMethodId)!) : "a card no longer saved"}.
						</p>
						${rule.pending && html`<p class="muted">A refill is under way.</p>`}
						<${ActionButton}
							secondary
							onClick=${async () => {
								await del("/billing/auto-refill");
								setSaved("The auto-refill is off.");
								await data.reload();
							}}
							>Turn the auto-refill off<//
						>
					</section>`
				: html`<p>No auto-refill is set: the balance is refilled only when you pay.</p>`
		}
		<section class="card" aria-labelledby="ar-set-h">
			<h2 id="ar-set-h">${rule ? "Change the auto-refill" : "Set up an auto-refill"}</h2>
			${
				methods.length === 0
					? html`<p>Save a card first: <a href="/account/billing/payment-methods">payment methods</a>.</p>`
					: html`<${Form} submit="Save the auto-refill" label="Auto-refill" onSubmit=${save}>
							<${Field} label="Amount" name="amount" inputmode="decimal" hint="For example 25.00" value=${rule?.amount ?? ""} />
							<div class="field">
								<label for="f-paymentMethodId">Card</label>
								<select id="f-paymentMethodId" name="paymentMethodId" value=${rule?.paymentMethodId ?? methods.find(m => m.default)?.id ?? methods[0].id}>
									${methods.map(m => html`<option key=${m.id} value=${m.id}>${methodLabel(m)}</option>`)}
								</select>
							</div>
							<fieldset>
								<legend>When</legend>
								${CONDITIONS.map(
									([value, text]) =>
										html`<div class="check" key=${value}>
											<input
												type="radio"
												id=${`c-${value}`}
												name="condition.type"
												value=${value}
												checked=${condition === value}
												onChange=${() => setType(value)}
											/>
											<label for=${`c-${value}`}>${text}</label>
										</div>`,
								)}
							</fieldset>
							${condition === "balanceBelow" && html`<${Field} label="Threshold" name="condition.threshold" inputmode="decimal" hint="For example 5.00" value=${rule?.condition.threshold ?? ""} />`}
						<//>`
			}
		</section>
	<//>`;
}
