// PAY-2: which payment providers are on (QM_PAYMENT_PROVIDERS), in order, and what each needs;
// and, only when STRIPE_SECRET_KEY holds a Stripe test key, the Stripe adapter against Stripe's
// own test mode (this machine has no network: skipped here, with the reason printed).
import { cardProviders, enabledProviders, providerWarning } from "../../services/billing/providers";

const saved = { ...process.env };
afterEach(() => {
	process.env = { ...saved };
});

describe("enabled providers", () => {
	it.each<[string | undefined, string[], string[]]>([
		[undefined, ["manual"], []],
		["manual,test", ["manual", "test"], ["test"]],
		["stripe, test", ["stripe", "test"], ["stripe", "test"]], // new cards go to the first
	])("QM_PAYMENT_PROVIDERS=%s → %j, card providers %j", (value, enabled, cards) => {
		if (value === undefined) delete process.env.QM_PAYMENT_PROVIDERS;
		else process.env.QM_PAYMENT_PROVIDERS = value;
		Object.assign(process.env, { STRIPE_SECRET_KEY: "sk_test_x", STRIPE_WEBHOOK_SECRET: "whsec_x" });
		expect(enabledProviders()).toEqual(enabled);
		expect([...cardProviders().keys()]).toEqual(cards);
	});

	test("an unknown provider, or stripe without its keys, refuses to start with what is missing", () => {
		process.env.QM_PAYMENT_PROVIDERS = "manual,paypal";
		expect(() => enabledProviders()).toThrow(/unknown providers: paypal/);
		process.env.QM_PAYMENT_PROVIDERS = "stripe";
		delete process.env.STRIPE_SECRET_KEY;
		expect(() => cardProviders()).toThrow(/STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET/);
	});

	test("the start log's warning names the test provider while it is on, and only then", () => {
		process.env.QM_PAYMENT_PROVIDERS = "manual,test";
		expect(providerWarning()).toMatch(/`test` payment provider is ON/);
		process.env.QM_PAYMENT_PROVIDERS = "manual";
		expect(providerWarning()).toBeNull();
	});
});

const stripeKey = process.env.STRIPE_SECRET_KEY ?? "";
const liveTest = stripeKey.startsWith("sk_test_");
if (!liveTest)
	console.warn(
		"SKIPPED: Stripe's test mode — STRIPE_SECRET_KEY holds no Stripe test key (sk_test_…) here; the adapter is tested against a local fake in stripe-provider.test.ts",
	);

(liveTest ? describe : describe.skip)("the stripe adapter against Stripe's test mode", () => {
	test("saves 4242… for an account and a refill's payment succeeds", async () => {
		const { createStripeProvider } = await import("../../services/billing/stripe-provider");
		const stripe = createStripeProvider({ secretKey: stripeKey, webhookSecrets: ["whsec_unused"] });
		const ref = await stripe.saveCard(
			{ digits: "4242424242424242", expMonth: 12, expYear: new Date().getUTCFullYear() + 2, cvc: "123" },
			{ accountId: `qm-test-${Date.now()}`, email: "stripe-test@example.com" },
		);
		const paid = await stripe.createPayment({
			paymentId: `qm-${Date.now()}`,
			amount: 5_000_000,
			currency: "USD",
			method: { provider: "stripe", providerRef: ref },
			challengeUrl: "https://example.com/return",
		});
		expect(paid.status).toBe("succeeded");
	});
});
