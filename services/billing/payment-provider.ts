// PAY-2: the one interface every payment provider adapter implements (providers.ts: manual and
// test; stripe-provider.ts: Stripe), and what they hand back.
import type { Micros } from "../../lib/money";
import type { PaymentStatus } from "./payment-states";

/** A saved method as a provider sees it. */
export interface MethodRef {
	provider: string;
	providerRef: string;
}

export interface PaymentRequest {
	/** our payment id (the test provider uses it as its own) */
	paymentId: string;
	amount: Micros;
	currency: string;
	method: MethodRef;
	/** where the customer completes 3-D Secure, when the provider hosts no page of its own */
	challengeUrl: string;
}

/** A payment as the provider reports it. */
export interface ProviderPayment {
	status: PaymentStatus;
	providerId?: string;
	actionUrl?: string;
	failure?: string;
}

/** A verified webhook event about a payment. */
export interface WebhookEvent {
	id: string;
	type: "payment.succeeded" | "payment.failed";
	providerId: string;
	amount: Micros;
	currency: string;
	failure?: string;
}

/** A card as the customer typed it, checked: handed to the provider once, never stored. */
export interface CardDetails {
	digits: string;
	expMonth: number;
	expYear: number;
	cvc: string;
	holder?: string;
}

export interface PaymentProvider {
	name: string;
	/** the provider's token for the card (what charging it again needs); the number is not kept */
	saveCard(card: CardDetails, owner: { accountId: string; email: string }): Promise<string>;
	canChargeUnattended(method: MethodRef): boolean;
	createPayment(p: PaymentRequest): Promise<ProviderPayment>;
	/** 3-D Secure completed (or refused) by the customer */
	confirmPayment(payment: { providerId: string; method: MethodRef }, outcome: "approve" | "decline"): Promise<ProviderPayment>;
	/** reconciliation: what the provider knows of a payment */
	getPayment(payment: { providerId: string; method: MethodRef }): Promise<ProviderPayment>;
	/** the event of a webhook, verified on its raw body; throws 400 for anything not signed right */
	verifyWebhook(rawBody: Buffer, headers: Record<string, string | string[] | undefined>, nowSec: number): WebhookEvent;
}

/** A provider that did not answer in time: the payment is `unknown` until it is asked. */
export class ProviderTimeout extends Error {}
