/**
 * The `stripe` provider (services/billing/stripe-provider.ts, PAY-2) against a local fake of the
 * Stripe endpoints it calls (node:http on 127.0.0.1, a random port; no network): payloads shaped
 * like Stripe's recorded responses, Stripe's idempotency replayed, every request recorded.
 * Saving a card (one customer per account, the method attached, the live-key refusal, card
 * errors), each PaymentIntent status, a 5xx or a closed port as ProviderTimeout, exact minor
 * units, and webhooks signed with the SDK's own test header.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Errors } from "moleculer";
import Stripe from "stripe";
import { ProviderTimeout, type CardDetails, type MethodRef, type PaymentProvider, type PaymentRequest } from "../../services/billing/providers";
import { createStripeProvider, fromMinorUnits, paymentOfIntent, toMinorUnits, webhookEventOf } from "../../services/billing/stripe-provider";

type Json = Record<string, unknown>;
interface Seen {
	method: string;
	path: string;
	query: URLSearchParams;
	headers: IncomingHttpHeaders;
	form: Record<string, string>;
}
interface Answer {
	status: number;
	body: Json;
}

const CREATED = 1761700000;
const OWNER = { accountId: "acc_7Hq2", email: "ada@example.com" };
const card = (digits: string, over: Partial<CardDetails> = {}): CardDetails => ({
	digits,
	expMonth: 12,
	expYear: 2034,
	cvc: "737",
	holder: "Ada Lovelace",
	...over,
});

/* ---- recorded-looking Stripe objects ---- */

const customerJson = (id: string, email: string, metadata: Json): Json => ({
	id,
	object: "customer",
	address: null,
	balance: 0,
	created: CREATED,
	currency: null,
	default_source: null,
	delinquent: false,
	description: null,
	email,
	invoice_prefix: "5F2D81A1",
	invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
	livemode: false,
	metadata,
	name: null,
	phone: null,
	preferred_locales: [],
	shipping: null,
	tax_exempt: "none",
	test_clock: null,
});

const methodJson = (id: string, digits: string, form: Record<string, string>, customer: string | null): Json => ({
	id,
	object: "payment_method",
	allow_redisplay: "unspecified",
	billing_details: {
		address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null },
		email: form["billing_details[email]"] ?? null,
		name: form["billing_details[name]"] ?? null,
		phone: null,
		tax_id: null,
	},
	card: {
		brand: "visa",
		checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: "unchecked" },
		country: "US",
		display_brand: "visa",
		exp_month: Number(form["card[exp_month]"]),
		exp_year: Number(form["card[exp_year]"]),
		fingerprint: "Xt5EWLLDS7FJjR1c",
		funding: "credit",
		generated_from: null,
		last4: digits.slice(-4),
		networks: { available: ["visa"], preferred: null },
		regulated_status: "unregulated",
		three_d_secure_usage: { supported: true },
		wallet: null,
	},
	created: CREATED,
	customer,
	livemode: false,
	metadata: {},
	type: "card",
});

const DECLINE = { code: "card_declined", decline_code: "generic_decline", message: "Your card was declined.", type: "card_error" };

function intentJson(id: string, f: Record<string, string>, status: string, extra: Json = {}): Json {
	return {
		id,
		object: "payment_intent",
		amount: Number(f.amount),
		amount_capturable: 0,
		amount_details: { tip: {} },
		amount_received: status === "succeeded" ? Number(f.amount) : 0,
		application: null,
		application_fee_amount: null,
		automatic_payment_methods: null,
		canceled_at: null,
		cancellation_reason: null,
		capture_method: "automatic_async",
		client_secret: `${id}_secret_mT3aYpB0gCq9rXkJ`,
		confirmation_method: "automatic",
		created: CREATED,
		currency: f.currency,
		customer: f.customer ?? null,
		description: null,
		last_payment_error: null,
		latest_charge: status === "succeeded" ? `ch_${id.slice(3)}` : null,
		livemode: false,
		metadata: { paymentId: f["metadata[paymentId]"] },
		next_action: null,
		on_behalf_of: null,
		payment_method: f.payment_method ?? null,
		payment_method_configuration_details: null,
		payment_method_options: { card: { installments: null, mandate_options: null, network: null, request_three_d_secure: "automatic" } },
		payment_method_types: ["card"],
		processing: null,
		receipt_email: null,
		review: null,
		setup_future_usage: f.setup_future_usage ?? null,
		shipping: null,
		source: null,
		statement_descriptor: null,
		statement_descriptor_suffix: null,
		status,
		transfer_data: null,
		transfer_group: null,
		...extra,
	};
}

const redirectAction = (id: string) => ({
	type: "redirect_to_url",
	redirect_to_url: {
		return_url: "https://qm.example.com/return",
		url: `https://hooks.stripe.com/3d_secure_2/hosted?merchant=acct_1Q2w3E4r5T6y7U8i&payment_intent=${id}&payment_intent_client_secret=${id}_secret_mT3aYpB0gCq9rXkJ&publishable_key=pk_test_51Q2w3E&source=src_1SNx8xLkdIwHu7ix`,
	},
});

/* ---- the fake ---- */

class FakeStripe {
	readonly seen: Seen[] = [];
	readonly customers = new Map<string, Json>();
	readonly methods = new Map<string, { json: Json; digits: string }>();
	readonly intents = new Map<string, Json>();
	private readonly replays = new Map<string, Answer>();
	private n = 0;
	/** search lags writes (as Stripe's does, by up to a minute) */
	searchLags = false;
	/** answers before the routes, for a test that needs an error */
	override: ((s: Seen) => Answer | undefined) | undefined;
	private server: Server = createServer((req, res) => {
		let raw = "";
		req.setEncoding("utf8");
		req.on("data", chunk => (raw += chunk));
		req.on("end", () => {
			const url = new URL(req.url ?? "/", "http://fake");
			const seen: Seen = {
				method: req.method ?? "",
				path: url.pathname,
				query: url.searchParams,
				headers: req.headers,
				form: Object.fromEntries(new URLSearchParams(raw)),
			};
			this.seen.push(seen);
			const key = req.method === "POST" ? (req.headers["idempotency-key"] as string | undefined) : undefined;
			const replay = key ? this.replays.get(key) : undefined;
			const answer = replay ?? this.override?.(seen) ?? this.route(seen);
			if (key && !replay && answer.status < 500) this.replays.set(key, answer);
			res.writeHead(answer.status, {
				"content-type": "application/json",
				"request-id": `req_${String(++this.n).padStart(14, "0")}`,
				...(replay ? { "idempotent-replayed": "true" } : {}),
			});
			res.end(JSON.stringify(answer.body));
		});
	});

	port = 0;
	async start() {
		await new Promise<void>(resolve => this.server.listen(0, "127.0.0.1", resolve));
		this.port = (this.server.address() as AddressInfo).port;
	}
	async stop() {
		this.server.closeAllConnections();
		await new Promise(resolve => this.server.close(resolve));
	}
	calls = (method: string, path: string | RegExp) =>
		this.seen.filter(s => s.method === method && (typeof path === "string" ? s.path === path : path.test(s.path)));
	private id = (prefix: string) => `${prefix}_3SNx8xLkdIwHu7ix${String(++this.n).padStart(4, "0")}`;

	private route(s: Seen): Answer {
		const ok = (body: Json) => ({ status: 200, body });
		const cardError = (error: Json) => ({
			status: 402,
			body: {
				error: {
					doc_url: `https://stripe.com/docs/error-codes/${String(error.code).replace(/_/g, "-")}`,
					request_log_url: "https://dashboard.stripe.com/test/logs/req_Qm7Xz1",
					...error,
				},
			},
		});
		const search = (all: Json[], field: string, url: string) => {
			const wanted = /metadata\['(\w+)'\]:'([^']*)'/.exec(s.query.get("query") ?? "");
			const data = this.searchLags || !wanted ? [] : all.filter(o => (o.metadata as Json)[wanted[1]] === wanted[2] && wanted[1] === field);
			return ok({ object: "search_result", data, has_more: false, next_page: null, url });
		};
		const at = `${s.method} ${s.path}`;
		if (at === "GET /v1/customers/search") return search([...this.customers.values()], "accountId", "/v1/customers/search");
		if (at === "GET /v1/payment_intents/search") return search([...this.intents.values()], "paymentId", "/v1/payment_intents/search");
		if (at === "POST /v1/customers") {
			const c = customerJson(this.id("cus").replace("_3SNx8x", "_T8kq"), s.form.email, { accountId: s.form["metadata[accountId]"] });
			this.customers.set(c.id as string, c);
			return ok(c);
		}
		if (at === "POST /v1/payment_methods") {
			const digits = s.form["card[number]"];
			if (digits === "4242424242424241")
				return cardError({ code: "incorrect_number", message: "Your card number is incorrect.", param: "number", type: "card_error" });
			const json = methodJson(this.id("pm").replace("_3SNx8x", "_1SNx8x"), digits, s.form, null);
			this.methods.set(json.id as string, { json, digits });
			return ok(json);
		}
		const attach = /^POST \/v1\/payment_methods\/(pm_\w+)\/attach$/.exec(at);
		if (attach) {
			const m = this.methods.get(attach[1]);
			if (!m)
				return {
					status: 404,
					body: {
						error: { code: "resource_missing", message: `No such PaymentMethod: '${attach[1]}'`, param: "payment_method", type: "invalid_request_error" },
					},
				};
			// Stripe checks the card when attaching: the generic decline card fails here.
			if (m.digits === "4000000000000002") return cardError({ ...DECLINE, payment_method: m.json });
			m.json.customer = s.form.customer;
			return ok(m.json);
		}
		if (at === "POST /v1/payment_intents") {
			const id = this.id("pi");
			const digits = this.methods.get(s.form.payment_method)?.digits;
			if (digits === "4000000000000341") {
				const last_payment_error = { ...DECLINE, charge: `ch_${id.slice(3)}`, payment_method: this.methods.get(s.form.payment_method)?.json };
				const intent = intentJson(id, s.form, "requires_payment_method", { last_payment_error, latest_charge: `ch_${id.slice(3)}`, payment_method: null });
				this.intents.set(id, intent);
				return cardError({ ...DECLINE, charge: `ch_${id.slice(3)}`, payment_intent: intent });
			}
			const intent =
				digits === "4000002500003155" ? intentJson(id, s.form, "requires_action", { next_action: redirectAction(id) }) : intentJson(id, s.form, "succeeded");
			this.intents.set(id, intent);
			return ok(intent);
		}
		const get = /^GET \/v1\/payment_intents\/(pi_\w+)$/.exec(at);
		if (get) {
			const intent = this.intents.get(get[1]);
			return intent
				? ok(intent)
				: {
						status: 404,
						body: { error: { code: "resource_missing", message: `No such payment_intent: '${get[1]}'`, param: "intent", type: "invalid_request_error" } },
					};
		}
		return { status: 404, body: { error: { message: `Unrecognized request URL (${at}).`, type: "invalid_request_error" } } };
	}
}

const fake = new FakeStripe();
let stripe: PaymentProvider;
const provider = (over: Partial<Parameters<typeof createStripeProvider>[0]> = {}) =>
	createStripeProvider({ secretKey: "sk_test_51Q2w3E4r5T6y7U8iFakeKey", webhookSecrets: [], host: "127.0.0.1", port: fake.port, protocol: "http", ...over });

beforeAll(async () => {
	await fake.start();
	stripe = provider();
});
afterAll(() => fake.stop());
afterEach(() => {
	fake.override = undefined;
	fake.searchLags = false;
});

/** What an async call threw; fails the test when it does not throw. */
async function rejection(p: Promise<unknown>): Promise<Error & { code?: number; type?: string; data?: unknown }> {
	try {
		await p;
	} catch (err) {
		return err as Error;
	}
	throw new Error("expected a rejection");
}

const method = (providerRef: string): MethodRef => ({ provider: "stripe", providerRef });
let paymentNo = 0;
const request = (providerRef: string, over: Partial<PaymentRequest> = {}): PaymentRequest => ({
	paymentId: `pay_${String(++paymentNo).padStart(6, "0")}`,
	amount: 25_000_000,
	currency: "USD",
	method: method(providerRef),
	challengeUrl: "https://qm.example.com/api/v1/billing/providers/stripe/challenges/tok_abc",
	...over,
});

describe("minor units", () => {
	it.each<[string, number, number]>([
		["USD", 25_000_000, 2500],
		["usd", 10_000, 1],
		["EUR", 1_234_560_000, 123456],
		["JPY", 500_000_000, 500],
		["KWD", 5_120_000, 5120],
		["ISK", 40_000_000, 4000],
	])("%s %d micros → %d", (currency, micros, minor) => {
		expect(toMinorUnits(micros, currency)).toBe(minor);
		expect(fromMinorUnits(minor, currency)).toBe(micros);
	});
	it.each<[string, number]>([
		["USD", 25_005_000], // 25.005: not whole cents
		["USD", 1],
		["JPY", 500_500_000], // half a yen
		["KWD", 5_124_000], // Stripe wants the last of three decimals 0
		["ISK", 40_100_000], // whole krónur only
		["USD", 0],
		["USD", -2_500_000],
		["USD", 2.5],
	])("refuses %s %d micros", (currency, micros) => {
		expect(() => toMinorUnits(micros, currency)).toThrow(RangeError);
	});
});

describe("statuses", () => {
	const base = { id: "pi_3SNx8xLkdIwHu7ix1Zq2", next_action: null, last_payment_error: null };
	it.each<[string, Json, Json]>([
		["succeeded", { status: "succeeded" }, { status: "succeeded" }],
		["processing", { status: "processing" }, { status: "processing" }],
		["requires_confirmation", { status: "requires_confirmation" }, { status: "processing" }],
		["requires_capture", { status: "requires_capture" }, { status: "processing" }],
		["canceled", { status: "canceled", cancellation_reason: "abandoned" }, { status: "canceled" }],
		[
			"requires_action, redirect",
			{ status: "requires_action", next_action: redirectAction(base.id) },
			{ status: "requires_action", actionUrl: expect.stringMatching(/^https:\/\/hooks\.stripe\.com\/3d_secure_2\//) },
		],
		[
			"requires_action, use_stripe_sdk",
			{ status: "requires_action", next_action: { type: "use_stripe_sdk", use_stripe_sdk: { type: "three_d_secure_redirect" } } },
			{ status: "requires_action", actionUrl: "https://qm/challenge" },
		],
		[
			"requires_payment_method, declined",
			{
				status: "requires_payment_method",
				last_payment_error: { ...DECLINE, decline_code: "insufficient_funds", message: "Your card has insufficient funds." },
			},
			{ status: "failed", failure: "card_declined: Your card has insufficient funds." },
		],
		["a status newer than the adapter", { status: "requires_reauthorization" }, { status: "unknown" }],
	])("%s", (_, intent, expected) => {
		expect(paymentOfIntent({ ...base, ...intent } as unknown as Stripe.PaymentIntent, "https://qm/challenge")).toEqual({
			providerId: base.id,
			...expected,
			...(expected.status === "canceled" ? { failure: expect.any(String) } : {}),
		});
	});
});

describe("saveCard", () => {
	it("creates one customer per account, attaches each card, and keys every creation", async () => {
		const before = fake.seen.length;
		const first = await stripe.saveCard(card("4242424242424242"), OWNER);
		const second = await stripe.saveCard(card("4000002500003155"), OWNER);
		const seen = fake.seen.slice(before);
		const customers = seen.filter(s => s.method === "POST" && s.path === "/v1/customers");
		expect(customers).toHaveLength(1);
		expect(customers[0].form).toMatchObject({ email: OWNER.email, "metadata[accountId]": OWNER.accountId });
		expect(customers[0].headers["idempotency-key"]).toBe(`customer:${OWNER.accountId}`);
		const [cus1, pm1] = first.split("/");
		const [cus2, pm2] = second.split("/");
		expect(cus1).toMatch(/^cus_/);
		expect(cus2).toBe(cus1);
		expect(pm1).toMatch(/^pm_/);
		expect(pm2).not.toBe(pm1);
		const created = seen.filter(s => s.method === "POST" && s.path === "/v1/payment_methods");
		expect(created[0].form).toMatchObject({
			type: "card",
			"card[number]": "4242424242424242",
			"card[exp_month]": "12",
			"card[exp_year]": "2034",
			"card[cvc]": "737",
			"billing_details[name]": "Ada Lovelace",
		});
		expect(created.every(s => String(s.headers["idempotency-key"]).startsWith(`card:${OWNER.accountId}:`))).toBe(true);
		const attached = seen.filter(s => s.method === "POST" && /\/attach$/.test(s.path));
		expect(attached.map(s => [s.path, s.form.customer, s.headers["idempotency-key"]])).toEqual([
			[`/v1/payment_methods/${pm1}/attach`, cus1, `attach:${pm1}`],
			[`/v1/payment_methods/${pm2}/attach`, cus1, `attach:${pm2}`],
		]);
		expect(fake.methods.get(pm1)?.json.customer).toBe(cus1);
	});

	it("finds the same customer through the idempotency key while search lags", async () => {
		const owner = { accountId: "acc_Lag9", email: "lag@example.com" };
		fake.searchLags = true;
		const a = await stripe.saveCard(card("4242424242424242"), owner);
		const b = await stripe.saveCard(card("4242424242424242"), owner);
		expect(b.split("/")[0]).toBe(a.split("/")[0]);
		expect([...fake.customers.values()].filter(c => (c.metadata as Json).accountId === owner.accountId)).toHaveLength(1);
	});

	it("keeps accounts apart", async () => {
		const a = await stripe.saveCard(card("4242424242424242"), { accountId: "acc_A1", email: "a@example.com" });
		const b = await stripe.saveCard(card("4242424242424242"), { accountId: "acc_B2", email: "b@example.com" });
		expect(a.split("/")[0]).not.toBe(b.split("/")[0]);
	});

	it.each<[string, string, string]>([
		["a decline on attach", "4000000000000002", "number"],
		["an incorrect number", "4242424242424241", "number"],
	])("turns %s into a 422 on the card's field", async (_, digits, field) => {
		const err = await rejection(stripe.saveCard(card(digits), OWNER));
		expect(err).toBeInstanceOf(Errors.MoleculerClientError);
		expect(err).toMatchObject({ code: 422, type: "VALIDATION_ERROR", data: [{ field, message: expect.stringMatching(/^Your card/) }] });
		expect(err.message).not.toContain(digits);
	});

	it("refuses raw card numbers with a live key, before any request", async () => {
		const before = fake.seen.length;
		const live = provider({ secretKey: "sk_live_51Q2w3E4r5T6y7U8iLiveKey" });
		const err = await rejection(live.saveCard(card("4242424242424242"), OWNER));
		expect(err).toMatchObject({ code: 422, data: [{ field: "number", message: expect.stringContaining("Stripe Elements") }] });
		expect(fake.seen.length).toBe(before);
	});
});

describe("createPayment", () => {
	let approve: string;
	let challenge: string;
	let decline: string;
	beforeAll(async () => {
		approve = await stripe.saveCard(card("4242424242424242"), OWNER);
		challenge = await stripe.saveCard(card("4000002500003155"), OWNER);
		decline = await stripe.saveCard(card("4000000000000341"), OWNER);
	});

	it("confirms a PaymentIntent in cents, keyed pay:<paymentId>, saved for off-session use", async () => {
		const p = request(approve);
		const out = await stripe.createPayment(p);
		const [sent] = fake.calls("POST", "/v1/payment_intents").slice(-1);
		const [customer, pm] = approve.split("/");
		expect(sent.headers["idempotency-key"]).toBe(`pay:${p.paymentId}`);
		expect(sent.form).toEqual({
			amount: "2500",
			currency: "usd",
			customer,
			payment_method: pm,
			confirm: "true",
			setup_future_usage: "off_session",
			return_url: p.challengeUrl,
			"metadata[paymentId]": p.paymentId,
		});
		expect(out).toEqual({ status: "succeeded", providerId: expect.stringMatching(/^pi_/) });
		expect(fake.intents.get(out.providerId!)?.metadata).toEqual({ paymentId: p.paymentId });
	});

	it("a retry of the same payment is Stripe's replay, not a second charge", async () => {
		const p = request(approve);
		const a = await stripe.createPayment(p);
		const b = await stripe.createPayment(p);
		expect(b.providerId).toBe(a.providerId);
	});

	it("3-D Secure: requires_action with Stripe's redirect URL", async () => {
		const out = await stripe.createPayment(request(challenge));
		expect(out).toEqual({
			status: "requires_action",
			providerId: expect.stringMatching(/^pi_/),
			actionUrl: expect.stringContaining("https://hooks.stripe.com/3d_secure_2/hosted?"),
		});
	});

	it("a decline (Stripe's 402 card_error) is failed, with the intent's id and the code", async () => {
		const out = await stripe.createPayment(request(decline));
		expect(out).toEqual({ status: "failed", providerId: expect.stringMatching(/^pi_/), failure: "card_declined: Your card was declined." });
	});

	it("an amount that is not whole cents is failed without a request", async () => {
		const before = fake.seen.length;
		const out = await stripe.createPayment(request(approve, { amount: 25_005_000 }));
		expect(out).toMatchObject({ status: "failed", failure: expect.stringMatching(/^amount_invalid: /) });
		expect(out.providerId).toBeUndefined();
		expect(fake.seen.length).toBe(before);
	});

	it("a token that is not Stripe's is failed without a request", async () => {
		const before = fake.seen.length;
		expect(await stripe.createPayment(request("tok_test_approve"))).toMatchObject({ status: "failed" });
		expect(fake.seen.length).toBe(before);
	});

	it("a 500 from Stripe is a ProviderTimeout (the payment stays unknown), after the SDK's one retry with the same key", async () => {
		fake.override = s =>
			s.method === "POST" && s.path === "/v1/payment_intents"
				? { status: 500, body: { error: { message: "An unknown error occurred", type: "api_error" } } }
				: undefined;
		const p = request(approve);
		const before = fake.seen.length;
		const err = await rejection(stripe.createPayment(p));
		expect(err).toBeInstanceOf(ProviderTimeout);
		const tries = fake.seen.slice(before);
		expect(tries).toHaveLength(2);
		expect(tries.map(s => s.headers["idempotency-key"])).toEqual([`pay:${p.paymentId}`, `pay:${p.paymentId}`]);
	});

	it("a closed port is a ProviderTimeout", async () => {
		const probe = createServer();
		await new Promise<void>(resolve => probe.listen(0, "127.0.0.1", resolve));
		const port = (probe.address() as AddressInfo).port;
		await new Promise(resolve => probe.close(resolve));
		const err = await rejection(provider({ port }).createPayment(request(approve)));
		expect(err).toBeInstanceOf(ProviderTimeout);
	});
});

describe("confirmPayment and getPayment", () => {
	let ref: string;
	beforeAll(async () => {
		ref = await stripe.saveCard(card("4000002500003155"), OWNER);
	});
	const setStatus = (id: string, over: Json) => Object.assign(fake.intents.get(id)!, over);

	it("after 3-D Secure, Stripe's outcome decides whatever the argument says", async () => {
		const { providerId } = await stripe.createPayment(request(ref));
		setStatus(providerId!, { status: "succeeded", next_action: null });
		expect(await stripe.confirmPayment({ providerId: providerId!, method: method(ref) }, "decline")).toEqual({ status: "succeeded", providerId });
		expect(fake.calls("GET", `/v1/payment_intents/${providerId}`)).toHaveLength(1);
	});

	it.each<[string, Json, Json]>([
		["processing", { status: "processing" }, { status: "processing" }],
		[
			"a failed authentication",
			{
				status: "requires_payment_method",
				next_action: null,
				last_payment_error: {
					code: "payment_intent_authentication_failure",
					message: "The provided PaymentMethod has failed authentication.",
					type: "invalid_request_error",
				},
			},
			{ status: "failed", failure: "payment_intent_authentication_failure: The provided PaymentMethod has failed authentication." },
		],
		[
			"canceled",
			{ status: "canceled", cancellation_reason: "automatic", next_action: null },
			{ status: "canceled", failure: expect.stringMatching(/^canceled: /) },
		],
		["still waiting for the customer", {}, { status: "requires_action", actionUrl: expect.stringContaining("hooks.stripe.com") }],
	])("reconciliation: %s", async (_, over, expected) => {
		const { providerId } = await stripe.createPayment(request(ref));
		setStatus(providerId!, over);
		expect(await stripe.getPayment({ providerId: providerId!, method: method("") })).toEqual({ providerId, ...expected });
	});

	it("a payment whose creation went unanswered is found by our payment id in the metadata", async () => {
		const p = request(ref);
		const { providerId } = await stripe.createPayment(p);
		expect(await stripe.getPayment({ providerId: p.paymentId, method: method(ref) })).toMatchObject({ status: "requires_action", providerId });
		const [search] = fake.calls("GET", "/v1/payment_intents/search").slice(-1);
		expect(search.query.get("query")).toBe(`metadata['paymentId']:'${p.paymentId}'`);
		await expect(stripe.getPayment({ providerId: "pay_never_sent", method: method(ref) })).rejects.toThrow(/no PaymentIntent/);
	});

	it("a 500 while asking is a ProviderTimeout", async () => {
		fake.override = s => (s.method === "GET" ? { status: 503, body: { error: { message: "Service unavailable", type: "api_error" } } } : undefined);
		expect(await rejection(stripe.getPayment({ providerId: "pi_3SNx8xLkdIwHu7ix9999", method: method(ref) }))).toBeInstanceOf(ProviderTimeout);
	});
});

describe("verifyWebhook", () => {
	const OLD = "whsec_old_8f3c1d2e4a5b6c7d8e9f0a1b2c3d4e5f";
	const NEW = "whsec_new_0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d";
	const NOW = 1761700300;
	const hooks = () => provider({ webhookSecrets: [OLD, NEW] });
	const intent = (status: string, extra: Json = {}) =>
		intentJson(
			"pi_3SNx8xLkdIwHu7ix0Zq1",
			{
				amount: "2500",
				currency: "eur",
				customer: "cus_T8kqHu7ix0001",
				payment_method: "pm_1SNx8xLkdIwHu7ix0002",
				"metadata[paymentId]": "pay_000001",
				setup_future_usage: "off_session",
			},
			status,
			extra,
		);
	const eventJson = (type: string, object: Json) =>
		JSON.stringify(
			{
				id: "evt_3SNx8xLkdIwHu7ix0jK1aB2c",
				object: "event",
				api_version: "2026-10-28.endive",
				created: NOW - 2,
				data: { object },
				livemode: false,
				pending_webhooks: 1,
				request: { id: "req_Qm7Xz1aB2cD3eF", idempotency_key: "pay:pay_000001" },
				type,
			},
			null,
			2,
		);
	const SUCCEEDED = eventJson("payment_intent.succeeded", intent("succeeded"));
	const sign = (payload: string, secret: string, timestamp = NOW) => Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
	const headers = (signature?: string) => ({ "content-type": "application/json", ...(signature ? { "stripe-signature": signature } : {}) });

	it.each([
		["the old secret", OLD],
		["the new secret", NEW],
	])("verifies a payload signed with %s: amount in micros, currency upper-case", (_, secret) => {
		expect(hooks().verifyWebhook(Buffer.from(SUCCEEDED), headers(sign(SUCCEEDED, secret)), NOW)).toEqual({
			id: "evt_3SNx8xLkdIwHu7ix0jK1aB2c",
			type: "payment.succeeded",
			providerId: "pi_3SNx8xLkdIwHu7ix0Zq1",
			amount: 25_000_000,
			currency: "EUR",
		});
	});

	it("payment_intent.payment_failed is payment.failed with the failure of last_payment_error", () => {
		const body = eventJson(
			"payment_intent.payment_failed",
			intent("requires_payment_method", {
				last_payment_error: { ...DECLINE, decline_code: "insufficient_funds", message: "Your card has insufficient funds." },
			}),
		);
		expect(hooks().verifyWebhook(Buffer.from(body), headers(sign(body, NEW)), NOW)).toMatchObject({
			type: "payment.failed",
			failure: "card_declined: Your card has insufficient funds.",
			amount: 25_000_000,
		});
	});

	it("accepts a signature exactly 300 s old", () => {
		expect(hooks().verifyWebhook(Buffer.from(SUCCEEDED), headers(sign(SUCCEEDED, NEW, NOW - 300)), NOW).type).toBe("payment.succeeded");
	});

	it.each<[string, () => [Buffer, Record<string, string>], string]>([
		["a tampered body", () => [Buffer.from(SUCCEEDED.replace('"amount": 2500', '"amount": 250000')), headers(sign(SUCCEEDED, NEW))], "mismatch"],
		["a wrong secret", () => [Buffer.from(SUCCEEDED), headers(sign(SUCCEEDED, "whsec_someone_elses"))], "mismatch"],
		["a signature 301 s old", () => [Buffer.from(SUCCEEDED), headers(sign(SUCCEEDED, NEW, NOW - 301))], "stale"],
		["a signature 301 s ahead", () => [Buffer.from(SUCCEEDED), headers(sign(SUCCEEDED, NEW, NOW + 301))], "stale"],
		["a missing header", () => [Buffer.from(SUCCEEDED), headers()], "unsigned"],
		["a malformed header", () => [Buffer.from(SUCCEEDED), headers("v1=abc")], "malformed"],
	])("refuses %s with a 400 that names no secret", (_, input, reason) => {
		const [body, h] = input();
		let err: (Error & { code?: number; data?: unknown }) | undefined;
		try {
			hooks().verifyWebhook(body, h, NOW);
		} catch (e) {
			err = e as Error;
		}
		expect(err).toBeInstanceOf(Errors.MoleculerClientError);
		expect(err).toMatchObject({ code: 400, type: "BAD_REQUEST", data: { reason } });
		expect(JSON.stringify({ m: err?.message, d: err?.data })).not.toMatch(/whsec_/);
	});

	it("refuses every webhook when no secret is configured", () => {
		expect(() => provider({ webhookSecrets: [] }).verifyWebhook(Buffer.from(SUCCEEDED), headers(sign(SUCCEEDED, NEW)), NOW)).toThrow(
			expect.objectContaining({ code: 400 }),
		);
	});

	it("refuses an unsupported event type with a 400", () => {
		const body = eventJson("payment_intent.created", intent("requires_payment_method"));
		expect(() => hooks().verifyWebhook(Buffer.from(body), headers(sign(body, NEW)), NOW)).toThrow(
			expect.objectContaining({ code: 400, message: expect.stringContaining("unsupported event type") }),
		);
	});

	it("refuses a signed body that is not JSON with a 400", () => {
		const body = "not json";
		expect(() => hooks().verifyWebhook(Buffer.from(body), headers(sign(body, NEW)), NOW)).toThrow(expect.objectContaining({ code: 400 }));
	});

	it("webhookEventOf converts zero-decimal amounts too", () => {
		const object = { ...intent("succeeded"), amount: 500, currency: "jpy" };
		expect(webhookEventOf({ id: "evt_1", type: "payment_intent.succeeded", data: { object } } as unknown as Stripe.Event)).toMatchObject({
			amount: 500_000_000,
			currency: "JPY",
		});
	});
});
