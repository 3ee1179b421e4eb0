// PAY-2: payment providers behind one adapter interface. `QM_PAYMENT_PROVIDERS` lists the enabled
// ones (default `manual`: the administrators' fund route). `test` is a built-in card simulator whose
// behaviour the card number chooses; it credits anyone who types a test card, so it is on only
// when listed (and the start log warns); `stripe` is the adapter of services/billing/stripe-provider.ts.
// A provider keeps its own token for a saved card (`providerRef`): the number and the CVC stay with
// the provider, never here. The interface: payment-provider.ts.
import { badRequest } from "../../lib/errors";
import { envList, envString } from "../../lib/config";
import { formatMoney, parseMoney, type Micros } from "../../lib/money";
import { ProviderTimeout, type MethodRef, type PaymentProvider, type WebhookEvent } from "./payment-provider";
import { createStripeProvider } from "./stripe-provider";
import { verifySignature } from "./webhook-signature";

/** The `test` provider's cards and what each does. */
export const TEST_CARDS: Record<string, "approve" | "decline" | "challenge" | "webhook" | "timeout"> = {
	"4242424242424242": "approve",
	"4000000000000002": "decline",
	"4000002500003155": "challenge",
	"4000000000000077": "webhook",
	"4000000000000119": "timeout",
};

const behaviourOf = (m: MethodRef) => m.providerRef.replace(/^tok_test_/, "");

export const testProvider: PaymentProvider = {
	name: "test",
	// Any other valid card approves, as 4242… does.
	saveCard: async card => `tok_test_${TEST_CARDS[card.digits] ?? "approve"}`,
	canChargeUnattended: m => behaviourOf(m) !== "challenge",
	async createPayment(p) {
		const providerId = p.paymentId;
		switch (behaviourOf(p.method)) {
			case "decline":
				return { status: "failed", providerId, failure: "card_declined: the card was declined" };
			case "challenge":
				return { status: "requires_action", providerId, actionUrl: p.challengeUrl };
			case "webhook":
				return { status: "processing", providerId };
			case "timeout":
				throw new ProviderTimeout("the test provider did not answer in time");
			default:
				return { status: "succeeded", providerId };
		}
	},
	async confirmPayment(p, outcome) {
		if (behaviourOf(p.method) !== "challenge") return this.getPayment(p);
		return outcome === "approve"
			? { status: "succeeded", providerId: p.providerId }
			: { status: "failed", providerId: p.providerId, failure: "authentication_failed: 3-D Secure was declined" };
	},
	async getPayment(p) {
		const b = behaviourOf(p.method);
		// The card that timed out did go through: the provider says so when asked.
		if (b === "timeout" || b === "approve") return { status: "succeeded", providerId: p.providerId };
		if (b === "decline") return { status: "failed", providerId: p.providerId, failure: "card_declined: the card was declined" };
		return { status: b === "challenge" ? "requires_action" : "processing", providerId: p.providerId };
	},
	verifyWebhook(rawBody, headers, nowSec) {
		const header = headers["qm-signature"];
		const secrets = envList("QM_TEST_PROVIDER_WEBHOOK_SECRET");
		const verdict = verifySignature(rawBody, Array.isArray(header) ? header[0] : header, secrets, nowSec);
		if (!verdict.ok) throw badRequest(`Webhook refused: ${verdict.reason} signature`, { reason: verdict.reason });
		return testEvent(rawBody);
	},
};

/** The test provider's event body, read only after its signature held. */
function testEvent(rawBody: Buffer): WebhookEvent {
	let body: { id?: unknown; type?: unknown; data?: { paymentId?: unknown; amount?: unknown; currency?: unknown } };
	try {
		body = JSON.parse(rawBody.toString("utf8"));
	} catch {
		throw badRequest("Webhook refused: the body is not JSON");
	}
	const { id, type, data } = body ?? {};
	if (typeof id !== "string" || !id || id.length > 200) throw badRequest("Webhook refused: id is missing");
	if (type !== "payment.succeeded" && type !== "payment.failed") throw badRequest(`Webhook refused: unknown event type ${JSON.stringify(type)}`);
	if (
		!data ||
		typeof data.paymentId !== "string" ||
		typeof data.currency !== "string" ||
		(typeof data.amount !== "string" && typeof data.amount !== "number")
	) {
		throw badRequest("Webhook refused: data must hold paymentId, amount and currency");
	}
	let amount: Micros;
	try {
		amount = parseMoney(data.amount, "data.amount");
	} catch {
		throw badRequest("Webhook refused: data.amount is not an amount");
	}
	return {
		id,
		type,
		providerId: data.paymentId,
		amount,
		currency: data.currency.toUpperCase(),
		...(type === "payment.failed" ? { failure: "payment_failed: the provider reported a failure" } : {}),
	};
}

/** The test provider's webhook body for a payment (tests, and the README's example). */
export function testWebhookBody(id: string, type: WebhookEvent["type"], paymentId: string, amount: Micros, currency: string, createdSec: number): string {
	return JSON.stringify({ id, type, created: createdSec, data: { paymentId, amount: formatMoney(amount), currency } });
}

export {
	ProviderTimeout,
	type CardDetails,
	type MethodRef,
	type PaymentProvider,
	type PaymentRequest,
	type ProviderPayment,
	type WebhookEvent,
} from "./payment-provider";

const KNOWN = ["manual", "test", "stripe"] as const;

/** The enabled providers (QM_PAYMENT_PROVIDERS, default `manual`); an unknown name refuses to start. */
export function enabledProviders(): string[] {
	const names = envList("QM_PAYMENT_PROVIDERS");
	const list = names.length ? names : ["manual"];
	const unknown = list.filter(n => !(KNOWN as readonly string[]).includes(n));
	if (unknown.length) throw new Error(`QM_PAYMENT_PROVIDERS names unknown providers: ${unknown.join(", ")} (known: ${KNOWN.join(", ")})`);
	return list;
}

/**
 * The card providers that are on, by name, in QM_PAYMENT_PROVIDERS' order (new cards go to the
 * first); `manual` takes no cards. `stripe` needs STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET
 * (comma-separated while rotating): without them the platform refuses to start.
 */
export function cardProviders(): Map<string, PaymentProvider> {
	const make: Record<string, () => PaymentProvider> = {
		test: () => testProvider,
		stripe: () => {
			const secretKey = envString("STRIPE_SECRET_KEY");
			const webhookSecrets = envList("STRIPE_WEBHOOK_SECRET");
			if (!secretKey || !webhookSecrets.length) throw new Error("QM_PAYMENT_PROVIDERS names stripe: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET");
			return createStripeProvider({ secretKey, webhookSecrets });
		},
	};
	return new Map(enabledProviders().flatMap(name => (make[name] ? [[name, make[name]()] as const] : [])));
}

/** The start log's warning while the test provider is on. */
export function providerWarning(): string | null {
	return enabledProviders().includes("test")
		? "The `test` payment provider is ON: anyone who types a test card gets credit. Never enable it on a production platform."
		: null;
}
