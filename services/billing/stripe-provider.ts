// PAY-2: the `stripe` payment provider, on Stripe's official SDK. A saved card is a Stripe
// Customer (one per account, found by metadata.accountId) with a PaymentMethod attached; its
// token is "<customerId>/<paymentMethodId>". A refill is a PaymentIntent confirmed at once,
// keyed `pay:<paymentId>` so a retry never charges twice. An answer that may hide a charge (no
// connection, a timeout, a 5xx) is a ProviderTimeout, never a failure: the payment stays
// `unknown` until reconciliation asks. Raw card numbers go to Stripe in test mode only; live
// mode takes cards through Stripe's own form (a later issue).
import { randomUUID } from "node:crypto";
import Stripe from "stripe";
import { badRequest, validationError } from "../../lib/errors";
import type { Micros } from "../../lib/money";
import { ProviderTimeout, type PaymentProvider, type ProviderPayment, type WebhookEvent } from "./payment-provider";

export interface StripeProviderOptions {
	secretKey: string;
	/** the endpoint's signing secrets (`whsec_…`), old and new both during a rotation */
	webhookSecrets: string[];
	/** tests point the client at a local fake */
	host?: string;
	port?: number;
	protocol?: "http" | "https";
}

/** Webhooks older (or further ahead) than this are refused as possible replays, as the test provider's. */
export const WEBHOOK_TOLERANCE_SEC = 300;

/* ---- minor units (pure) ---- */

// Stripe's currency table (docs "Supported currencies"): zero-decimal currencies; three-decimal
// ones whose amounts must end in 0; ISK, two-decimal in the API but whole krónur only.
const ZERO_DECIMAL = new Set(["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"]);
const THREE_DECIMAL = new Set(["BHD", "JOD", "KWD", "OMR", "TND"]);

/** Micros in one of Stripe's minor units of `currency`, and the smallest step (in micros) Stripe charges. */
export function minorUnitOf(currency: string): { micros: number; step: number } {
	const c = currency.toUpperCase();
	if (ZERO_DECIMAL.has(c)) return { micros: 1_000_000, step: 1_000_000 };
	if (THREE_DECIMAL.has(c)) return { micros: 1_000, step: 10_000 };
	return { micros: 10_000, step: c === "ISK" ? 1_000_000 : 10_000 };
}

/** Micros → Stripe's integer amount; a RangeError for an amount Stripe cannot charge exactly. */
export function toMinorUnits(amount: Micros, currency: string): number {
	const { micros, step } = minorUnitOf(currency);
	if (!Number.isSafeInteger(amount) || amount <= 0) throw new RangeError(`amount must be a positive whole number of micros, got ${amount}`);
	if (amount % step !== 0) throw new RangeError(`${currency.toUpperCase()} amounts must be whole multiples of ${step / 1_000_000} for Stripe`);
	return amount / micros;
}

/** Stripe's integer amount → micros. */
export function fromMinorUnits(minor: number, currency: string): Micros {
	const out = minor * minorUnitOf(currency).micros;
	if (!Number.isSafeInteger(out)) throw new RangeError(`Stripe amount ${minor} is outside the exact range`);
	return out;
}

/* ---- statuses (pure) ---- */

type IntentFacts = Pick<Stripe.PaymentIntent, "id" | "status" | "next_action" | "last_payment_error">;

const failureOf = (e: { code?: string; type?: string; message?: string } | null | undefined) =>
	e ? `${e.code ?? e.type ?? "payment_failed"}: ${e.message ?? "the payment failed"}` : "payment_failed: Stripe asks for another payment method";

/** A PaymentIntent as our payment sees it. `challengeUrl` stands in when Stripe wants its own SDK for 3-D Secure. */
export function paymentOfIntent(intent: IntentFacts, challengeUrl?: string): ProviderPayment {
	const providerId = intent.id;
	switch (intent.status) {
		case "succeeded":
			return { status: "succeeded", providerId };
		case "requires_action": {
			const actionUrl = intent.next_action?.redirect_to_url?.url ?? challengeUrl;
			return { status: "requires_action", providerId, ...(actionUrl ? { actionUrl } : {}) };
		}
		case "processing":
		case "requires_confirmation":
		case "requires_capture":
			return { status: "processing", providerId };
		case "requires_payment_method": // a decline: Stripe wants another card
			return { status: "failed", providerId, failure: failureOf(intent.last_payment_error) };
		case "canceled":
			return { status: "canceled", providerId, failure: "canceled: the PaymentIntent was canceled at Stripe" };
		default: // a status newer than this adapter: not an end, ask again later
			return { status: "unknown", providerId };
	}
}

/** Whether a Stripe error leaves open that the request went through: no answer, a timeout, a 5xx. */
export const isTransient = (err: unknown) =>
	err instanceof Stripe.errors.StripeConnectionError || (err instanceof Stripe.errors.StripeError && (err.statusCode ?? 0) >= 500);

/** Stripe's card parameters → our card fields. */
const CARD_FIELD: Record<string, string> = { number: "number", cvc: "cvc", exp_month: "expMonth", exp_year: "expYear" };

/* ---- the adapter ---- */

export function createStripeProvider(opts: StripeProviderOptions): PaymentProvider {
	// One retry (the SDK keys every POST; ours carry our own keys) and 15 s each: a refill
	// answers the customer within ~30 s even when Stripe does not.
	const stripe = new Stripe(opts.secretKey, {
		maxNetworkRetries: 1,
		timeout: 15_000,
		telemetry: false,
		...(opts.host ? { host: opts.host } : {}),
		...(opts.port ? { port: opts.port } : {}),
		...(opts.protocol ? { protocol: opts.protocol } : {}),
	});
	const live = /^(sk|rk)_live_/.test(opts.secretKey);
	const secrets = opts.webhookSecrets.filter(s => s.trim());

	/** Runs a Stripe call; whatever may have gone through becomes a ProviderTimeout. */
	async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
		try {
			return await fn();
		} catch (err) {
			if (isTransient(err)) throw new ProviderTimeout(`Stripe gave no sure answer to ${what}: ${(err as Error).message}`);
			throw err;
		}
	}

	async function customerOf(owner: { accountId: string; email: string }): Promise<string> {
		const query = `metadata['accountId']:'${owner.accountId.replace(/['\\]/g, "\\$&")}'`;
		const found = await call("the customer search", () => stripe.customers.search({ query, limit: 1 }));
		if (found.data[0]) return found.data[0].id;
		// Search lags writes by up to a minute; the key makes a second card saved meanwhile find the same customer.
		const created = await call("the customer creation", () =>
			stripe.customers.create({ email: owner.email, metadata: { accountId: owner.accountId } }, { idempotencyKey: `customer:${owner.accountId}` }),
		);
		return created.id;
	}

	/** The PaymentIntent of a payment: by its id, or by our payment id when the creation went unanswered. */
	async function intentOf(providerId: string): Promise<Stripe.PaymentIntent> {
		if (providerId.startsWith("pi_")) return call("the payment lookup", () => stripe.paymentIntents.retrieve(providerId));
		const query = `metadata['paymentId']:'${providerId.replace(/['\\]/g, "\\$&")}'`;
		const found = await call("the payment search", () => stripe.paymentIntents.search({ query, limit: 1 }));
		if (!found.data[0]) throw new Error(`Stripe has no PaymentIntent for payment ${providerId} (yet)`);
		return found.data[0];
	}

	return {
		name: "stripe",
		async saveCard(card, owner) {
			if (live) {
				throw validationError({
					field: "number",
					message: "live Stripe takes cards only through Stripe's own card form (Stripe Elements), which this platform does not offer yet",
				});
			}
			try {
				const customer = await customerOf(owner);
				const method = await call("the card", () =>
					stripe.paymentMethods.create(
						{
							type: "card",
							card: { number: card.digits, exp_month: card.expMonth, exp_year: card.expYear, cvc: card.cvc },
							billing_details: { email: owner.email, ...(card.holder ? { name: card.holder } : {}) },
						},
						// No id of ours names a card before it is saved: a fresh key still dedupes the SDK's retry.
						{ idempotencyKey: `card:${owner.accountId}:${randomUUID()}` },
					),
				);
				await call("the card attachment", () => stripe.paymentMethods.attach(method.id, { customer }, { idempotencyKey: `attach:${method.id}` }));
				return `${customer}/${method.id}`;
			} catch (err) {
				if (err instanceof Stripe.errors.StripeCardError)
					throw validationError({ field: CARD_FIELD[err.param ?? ""] ?? "number", message: err.message || "the card was refused" });
				// E.g. a Stripe account without raw card data enabled: the card cannot be saved here (not our failure: a 422, not a 500).
				if (err instanceof Stripe.errors.StripeInvalidRequestError)
					throw validationError({ field: "number", message: `Stripe refused the card: ${err.message}` });
				throw err;
			}
		},
		// The card was saved for off-session use (setup_future_usage), so a refill may charge it unattended.
		canChargeUnattended: () => true,
		async createPayment(p) {
			const [customer, paymentMethod] = p.method.providerRef.split("/");
			if (!customer?.startsWith("cus_") || !paymentMethod?.startsWith("pm_")) {
				return { status: "failed", failure: "method_invalid: the saved card is not a Stripe card" };
			}
			let amount: number;
			try {
				amount = toMinorUnits(p.amount, p.currency);
			} catch (err) {
				// Nothing reached Stripe: a sure failure, not an unknown.
				return { status: "failed", failure: `amount_invalid: ${(err as Error).message}` };
			}
			try {
				const intent = await call("the payment", () =>
					stripe.paymentIntents.create(
						{
							amount,
							currency: p.currency.toLowerCase(),
							customer,
							payment_method: paymentMethod,
							confirm: true,
							setup_future_usage: "off_session",
							return_url: p.challengeUrl,
							metadata: { paymentId: p.paymentId },
						},
						{ idempotencyKey: `pay:${p.paymentId}` },
					),
				);
				return paymentOfIntent(intent, p.challengeUrl);
			} catch (err) {
				if (!(err instanceof Stripe.errors.StripeCardError)) throw err;
				return { status: "failed", ...(err.payment_intent?.id ? { providerId: err.payment_intent.id } : {}), failure: failureOf(err) };
			}
		},
		// After the 3-D Secure redirect Stripe holds the outcome; the `outcome` argument is the test provider's.
		confirmPayment: async p => paymentOfIntent(await intentOf(p.providerId)),
		getPayment: async p => paymentOfIntent(await intentOf(p.providerId)),
		verifyWebhook(rawBody, headers, nowSec) {
			const raw = headers["stripe-signature"];
			const header = Array.isArray(raw) ? raw[0] : raw;
			if (!header) throw badRequest("Webhook refused: unsigned signature", { reason: "unsigned" });
			let event: Stripe.Event | undefined;
			let reason = "mismatch";
			for (const secret of secrets) {
				try {
					// receivedAt (ms) makes the age check use our clock, not the SDK's Date.now().
					event = stripe.webhooks.constructEvent(rawBody, header, secret, WEBHOOK_TOLERANCE_SEC, undefined, nowSec * 1000);
					break;
				} catch (err) {
					if (!(err instanceof Stripe.errors.StripeSignatureVerificationError)) throw badRequest("Webhook refused: the body is not JSON");
					// Stripe checks the signature before the age: "stale" means authentic but old.
					if (/tolerance/i.test(err.message)) reason = "stale";
					else if (/extract timestamp/i.test(err.message)) reason = "malformed";
				}
			}
			const signedAt = Number(/(?:^|,)\s*t=(\d+)/.exec(header)?.[1]);
			if (event && signedAt > nowSec + WEBHOOK_TOLERANCE_SEC) [event, reason] = [undefined, "stale"];
			if (!event) throw badRequest(`Webhook refused: ${reason} signature`, { reason });
			return webhookEventOf(event);
		},
	};
}

/** A verified Stripe event → ours: payment_intent.succeeded and payment_intent.payment_failed only. */
export function webhookEventOf(event: Pick<Stripe.Event, "id" | "type" | "data">): WebhookEvent {
	const type = event.type === "payment_intent.succeeded" ? "payment.succeeded" : event.type === "payment_intent.payment_failed" ? "payment.failed" : null;
	if (!type) throw badRequest(`Webhook refused: unsupported event type ${JSON.stringify(event.type)}`);
	const intent = event.data?.object as Partial<Stripe.PaymentIntent> | undefined;
	if (!intent || typeof intent.id !== "string" || typeof intent.amount !== "number" || typeof intent.currency !== "string") {
		throw badRequest("Webhook refused: the event holds no PaymentIntent");
	}
	let amount: Micros;
	try {
		amount = fromMinorUnits(intent.amount, intent.currency);
	} catch {
		throw badRequest("Webhook refused: the amount is not an amount");
	}
	return {
		id: event.id,
		type,
		providerId: intent.id,
		amount,
		currency: intent.currency.toUpperCase(),
		...(type === "payment.failed" ? { failure: failureOf(intent.last_payment_error) } : {}),
	};
}
