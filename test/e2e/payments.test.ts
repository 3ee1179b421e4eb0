// Customers pay (PAY-1…PAY-5, BIL-6, BIL-8), through HTTP with the `test` provider: each test
// card's behaviour, the 3-D Secure step, signed webhooks (tampered, stale, unsigned, replayed,
// twice, out of order), the reconciliation job, Idempotency-Keys under 20 parallel twins, gap-free
// invoice numbers under parallel refills, tax, the invoice PDF, the upgrade completed by the first
// refill, and a deactivated account brought back by one. The card number and CVC are in no answer,
// no log line and no stored document.
import { nowMs } from "../../lib/clock";
import { signPayload } from "../../services/billing/webhook-signature";
import { sendRaw, waitUntil } from "../helpers/http";
import { invoicePdfText } from "../helpers/pdf";
import { billingEnv, createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "cashier@example.com", password: "Takes-the-money-1!" };
const SECRET = "whsec_test_payments";
const OLD_SECRET = "whsec_test_rotated_out";
const CARD = { type: "card", number: "4242 4242 4242 4242", expMonth: 12, expYear: 2031, cvc: "737" };
const CARDS = {
	approve: "4242424242424242",
	decline: "4000000000000002",
	challenge: "4000002500003155",
	webhook: "4000000000000077",
	timeout: "4000000000000119",
};
const INFO = {
	firstName: "Ada",
	lastName: "Lovelace",
	company: "Analytical Engines Ltd",
	country: "DE",
	address: "Unter den Linden 1",
	city: "Berlin",
	postalCode: "10117",
	phone: "+49 30 5550100",
};

describe("customers pay", () => {
	let p: Platform;
	let n = 0;
	const key = () => `refill-${++n}`;
	const admin = () => p.http.post("/auth/signin", ADMIN).then(r => r.body.session as string);

	/** A customer signed up, activated and signed in from an address of their own (the public routes are limited per address). */
	async function customer(label: string) {
		const email = `${label}-${++n}@example.com`;
		const password = "Pays-by-card-1!";
		const from = { "x-forwarded-for": `10.9.${Math.floor(n / 250)}.${n % 250}` };
		const account = await createAccount(p, email, password, from);
		const session = (await p.http.post("/auth/signin", { email, password }, { headers: from })).body.session as string;
		return {
			id: account.id,
			email,
			session,
			signIn: async () => (await p.http.post("/auth/signin", { email, password }, { headers: from })).body.session as string,
		};
	}
	const addCard = (session: string, number: string, more: Record<string, unknown> = {}) =>
		p.http.post("/billing/payment-methods", { ...CARD, number, ...more }, { token: session });
	const refill = (session: string, body: Record<string, unknown>, k = key()) =>
		p.http.post("/billing/refill", body, { token: session, headers: { "idempotency-key": k } });
	const balance = (session: string) => p.http.get("/billing/balance", { token: session }).then(r => r.body.main as string);
	const refills = (session: string) => p.http.get("/billing/transactions?kind=refill", { token: session }).then(r => r.body.rows as { amount: string }[]);
	const webhook = (body: string, headers: Record<string, string>) =>
		sendRaw(p.url, "POST", "/billing/providers/test/webhook", body, { "content-type": "application/json", ...headers });
	const signed = (body: string, t = Math.floor(nowMs() / 1000), secret = SECRET) => ({ "qm-signature": signPayload(secret, body, t) });
	const event = (id: string, type: string, paymentId: string, amount: string) =>
		JSON.stringify({ id, type, created: Math.floor(nowMs() / 1000), data: { paymentId, amount, currency: "USD" } });
	const runJob = async (name: string) => (await p.http.post(`/admin/jobs/${name}/run`, {}, { token: await admin() })).body;

	beforeAll(async () => {
		p = await startPlatform({
			captureLogs: true,
			env: billingEnv(ADMIN, { QM_TEST_PROVIDER_WEBHOOK_SECRET: `${SECRET},${OLD_SECRET}`, LOG_LEVEL: "info" }),
		});
		await waitUntil(async () => (await p.http.post("/auth/signin", ADMIN)).status === 200);
	});
	afterAll(() => p?.stop());

	test("the start log warns while the test provider is on", () => {
		expect(p.logs.join("\n")).toMatch(/`test` payment provider is ON/);
	});

	test("a saved card is its brand, last 4 digits and expiry; the first is the default; one default at a time", async () => {
		const c = await customer("cards");
		const first = await addCard(c.session, CARD.number, { holder: "Ada Lovelace" });
		expect(first.status).toBe(201);
		expect(first.body).toEqual({
			id: expect.any(String),
			type: "card",
			provider: "test",
			brand: "visa",
			last4: "4242",
			expMonth: 12,
			expYear: 2031,
			holder: "Ada Lovelace",
			default: true,
		});
		const second = await addCard(c.session, "5555555555554444", { cvc: "123" });
		expect(second.body).toMatchObject({ brand: "mastercard", last4: "4444", default: false });
		expect((await p.http.post(`/billing/payment-methods/${second.body.id}/default`, undefined, { token: c.session })).body.default).toBe(true);
		const list = (await p.http.get("/billing/payment-methods", { token: c.session })).body as { id: string; default: boolean }[];
		expect(list.map(m => [m.id, m.default])).toEqual([
			[first.body.id, false],
			[second.body.id, true],
		]);
		// Another account's method is not there for them.
		const other = await customer("other");
		expect((await p.http.del(`/billing/payment-methods/${first.body.id}`, { token: other.session })).status).toBe(404);
		expect((await p.http.post(`/billing/payment-methods/${first.body.id}/default`, undefined, { token: other.session })).status).toBe(404);
		expect((await p.http.del(`/billing/payment-methods/${first.body.id}`, { token: c.session })).status).toBe(204);
		expect((await p.http.get("/billing/payment-methods", { token: c.session })).body).toHaveLength(1);
	});

	test.each([
		["a bad Luhn digit", { number: "4242424242424241" }, "number"],
		["an expired card", { expMonth: 1, expYear: 2020 }, "expYear"],
		["a 2-digit CVC", { cvc: "12" }, "cvc"],
		["a month 13", { expMonth: 13 }, "expMonth"],
	])("a card with %s → 422 naming %s, nothing saved", async (_what, change, field) => {
		const c = await customer("badcard");
		const r = await p.http.post("/billing/payment-methods", { ...CARD, ...change }, { token: c.session });
		expect(r.status).toBe(422);
		expect(r.body.data.map((e: { field: string }) => e.field)).toContain(field);
		expect((await p.http.get("/billing/payment-methods", { token: c.session })).body).toEqual([]);
	});

	test("4242… approves: the invoice is paid, the balance credited its net, a receipt sent", async () => {
		const c = await customer("approve");
		const m = (await addCard(c.session, CARDS.approve)).body;
		const r = await refill(c.session, { amount: "25.00", paymentMethodId: m.id });
		expect(r.status).toBe(201);
		expect(r.body.invoice).toMatchObject({
			number: expect.stringMatching(/^\d{4}-\d{6}$/),
			status: "paid",
			amount: "25.00",
			tax: "0.00",
			total: "25.00",
			currency: "USD",
			payment: { provider: "test", status: "succeeded" },
		});
		expect(r.body.balance.main).toBe("25.00");
		expect(await refills(c.session)).toEqual([expect.objectContaining({ amount: "25.00" })]);
		const mail = (await p.broker.call("notifications.adminOutbox", { to: c.email })) as { rows: { template: string; text: string }[] };
		expect(mail.rows.find(x => x.template === "refill-receipt")?.text).toContain(r.body.invoice.number);
		// The invoice, by id and in the list; not for another account.
		expect((await p.http.get(`/billing/invoices/${r.body.invoice.id}`, { token: c.session })).body).toMatchObject({ id: r.body.invoice.id, status: "paid" });
		expect((await p.http.get("/billing/invoices", { token: c.session })).body).toMatchObject({ total: 1, rows: [{ id: r.body.invoice.id }] });
		const other = await customer("snoop");
		expect((await p.http.get(`/billing/invoices/${r.body.invoice.id}`, { token: other.session })).status).toBe(404);
	});

	test("4000…0002 declines: the invoice fails and says why, the balance is untouched", async () => {
		const c = await customer("decline");
		const m = (await addCard(c.session, CARDS.decline)).body;
		const r = await refill(c.session, { amount: "10.00", paymentMethodId: m.id });
		expect(r.status).toBe(201);
		expect(r.body.invoice).toMatchObject({ status: "failed", payment: { status: "failed", failure: expect.stringContaining("declined") } });
		expect(await balance(c.session)).toBe("0.00");
		expect(await refills(c.session)).toEqual([]);
	});

	test("4000…3155 needs 3-D Secure: pending with an actionUrl; approve pays, decline fails, a second answer changes nothing", async () => {
		const c = await customer("challenge");
		const m = (await addCard(c.session, CARDS.challenge)).body;
		const r = await refill(c.session, { amount: "30.00", paymentMethodId: m.id });
		expect(r.body.invoice).toMatchObject({
			status: "pending",
			actionUrl: expect.stringContaining("/billing/providers/test/challenges/"),
			payment: { status: "requires_action" },
		});
		expect(await balance(c.session)).toBe("0.00");
		const step = new URL(r.body.invoice.actionUrl).pathname.replace(/^\/api\/v1/, "");
		// A GET (a provider's own page sending the customer back) does not answer the test provider's step.
		expect((await p.http.get(step)).status).toBe(422);
		const done = await p.http.post(step, { outcome: "approve" });
		expect(done.status).toBe(200);
		expect(done.body).toMatchObject({ status: "paid", payment: { status: "succeeded" } });
		expect(await balance(c.session)).toBe("30.00");
		expect((await p.http.post(step, { outcome: "decline" })).status).toBe(422);
		expect(await balance(c.session)).toBe("30.00");

		const declined = await refill(c.session, { amount: "5.00", paymentMethodId: m.id });
		const step2 = new URL(declined.body.invoice.actionUrl).pathname.replace(/^\/api\/v1/, "");
		expect((await p.http.post(step2, { outcome: "decline" })).body).toMatchObject({ status: "failed", payment: { status: "failed" } });
		expect(await balance(c.session)).toBe("30.00");
		expect((await p.http.post("/billing/providers/test/challenges/not-a-token", { outcome: "approve" })).status).toBe(404);
	});

	test("4000…0077 waits for its webhook: delivered twice, and a late failure after it, it credits once", async () => {
		const c = await customer("webhook");
		const m = (await addCard(c.session, CARDS.webhook)).body;
		const r = await refill(c.session, { amount: "12.00", paymentMethodId: m.id });
		expect(r.body.invoice).toMatchObject({ status: "pending", payment: { status: "processing" } });
		const paymentId = r.body.invoice.payment.id as string;
		const ok = event(`evt-${paymentId}-ok`, "payment.succeeded", paymentId, "12.00");
		expect((await webhook(ok, signed(ok))).status).toBe(200);
		expect((await webhook(ok, signed(ok))).body).toEqual({ received: true, duplicate: true });
		const late = event(`evt-${paymentId}-late`, "payment.failed", paymentId, "12.00");
		expect((await webhook(late, signed(late))).status).toBe(200);
		expect(await balance(c.session)).toBe("12.00");
		expect(await refills(c.session)).toHaveLength(1);
		expect((await p.http.get(`/billing/invoices/${r.body.invoice.id}`, { token: c.session })).body).toMatchObject({
			status: "paid",
			payment: { status: "succeeded" },
		});
		// The reconciliation job reporting the same success: still once.
		await runJob("billing.payments-reconcile");
		expect(await refills(c.session)).toHaveLength(1);
	});

	test("tampered, stale, unsigned, wrongly signed and mismatched webhooks → 400 and nothing changes; the rotated-out secret still verifies", async () => {
		const c = await customer("forged");
		const m = (await addCard(c.session, CARDS.webhook)).body;
		const r = await refill(c.session, { amount: "7.00", paymentMethodId: m.id });
		const paymentId = r.body.invoice.payment.id as string;
		const body = event(`evt-${paymentId}`, "payment.succeeded", paymentId, "7.00");
		const cases: [string, string, Record<string, string>][] = [
			["tampered", body.replace("7.00", "70.00"), signed(body)],
			["stale", body, signed(body, Math.floor(nowMs() / 1000) - 301)],
			["unsigned", body, {}],
			["wrong secret", body, signed(body, undefined, "whsec_guess")],
			["another amount, signed", event("evt-x", "payment.succeeded", paymentId, "700.00"), signed(event("evt-x", "payment.succeeded", paymentId, "700.00"))],
			["unknown payment, signed", event("evt-y", "payment.succeeded", "nope", "7.00"), signed(event("evt-y", "payment.succeeded", "nope", "7.00"))],
		];
		for (const [what, raw, headers] of cases) {
			const res = await webhook(raw, headers);
			expect([what, res.status]).toEqual([what, 400]);
		}
		expect(await balance(c.session)).toBe("0.00");
		// Signed with the secret being rotated out: accepted (both are listed).
		expect((await webhook(body, signed(body, undefined, OLD_SECRET))).status).toBe(200);
		expect(await balance(c.session)).toBe("7.00");
	});

	test("4000…0119 times out: the payment is unknown until reconciliation asks, 5 minutes on, and it credits once", async () => {
		const c = await customer("timeout");
		const m = (await addCard(c.session, CARDS.timeout)).body;
		const r = await refill(c.session, { amount: "40.00", paymentMethodId: m.id });
		expect(r.body.invoice).toMatchObject({ status: "pending", payment: { status: "unknown" } });
		await runJob("billing.payments-reconcile"); // too early: not asked yet
		expect(await balance(c.session)).toBe("0.00");
		expect((await p.http.post("/admin/clock", { now: new Date(nowMs() + 6 * 60_000).toISOString() }, { token: await admin() })).status).toBe(200);
		await runJob("billing.payments-reconcile");
		expect(await balance(c.session)).toBe("40.00");
		await runJob("billing.payments-reconcile");
		expect(await refills(c.session)).toHaveLength(1);
		expect((await p.http.get(`/billing/invoices/${r.body.invoice.id}`, { token: c.session })).body.status).toBe("paid");
	});

	test("3-D Secure left unfinished fails after 24 hours; an administrator voids a pending invoice and its payment is canceled", async () => {
		const c = await customer("abandoned");
		const m = (await addCard(c.session, CARDS.challenge)).body;
		const left = (await refill(c.session, { amount: "9.00", paymentMethodId: m.id })).body.invoice;
		const voided = (await refill(c.session, { amount: "8.00", paymentMethodId: m.id })).body.invoice;
		const token = await admin();
		expect((await p.http.post(`/admin/invoices/${voided.id}/void`, undefined, { token })).body).toMatchObject({
			status: "void",
			payment: { status: "canceled" },
		});
		expect((await p.http.post(`/admin/invoices/${voided.id}/void`, undefined, { token })).status).toBe(422); // only a pending one
		// Its 3-D Secure link no longer confirms anything.
		expect((await p.http.post(new URL(voided.actionUrl).pathname.replace(/^\/api\/v1/, ""), { outcome: "approve" })).status).toBe(422);
		expect((await p.http.post("/admin/clock", { now: new Date(nowMs() + 25 * 3_600_000).toISOString() }, { token })).status).toBe(200);
		await runJob("billing.payments-reconcile");
		const session = await c.signIn(); // a day on, the first session has expired
		expect((await p.http.get(`/billing/invoices/${left.id}`, { token: session })).body).toMatchObject({
			status: "failed",
			payment: { status: "failed", failure: expect.stringContaining("24 hours") },
		});
		expect(await balance(session)).toBe("0.00");
	});

	test("20 parallel refills with one Idempotency-Key: one invoice, one payment, one ledger entry; the key with another body → 409", async () => {
		const c = await customer("twins");
		const m = (await addCard(c.session, CARDS.approve)).body;
		const k = key();
		const body = { amount: "15.00", paymentMethodId: m.id };
		const answers = await Promise.all(
			Array.from({ length: 20 }, async () => {
				for (;;) {
					const r = await refill(c.session, body, k);
					if (r.status !== 409 || r.body.type === "IDEMPOTENCY_KEY_REUSED") return r;
					await new Promise(res => setTimeout(res, Number(r.headers.get("retry-after") ?? 1) * 50));
				}
			}),
		);
		expect(new Set(answers.map(a => a.status))).toEqual(new Set([201]));
		expect(new Set(answers.map(a => a.body.invoice.id)).size).toBe(1);
		expect((await p.http.get("/billing/invoices", { token: c.session })).body.total).toBe(1);
		expect(await refills(c.session)).toHaveLength(1);
		expect(await balance(c.session)).toBe("15.00");
		const other = await refill(c.session, { ...body, amount: "16.00" }, k);
		expect([other.status, other.body.type]).toEqual([409, "IDEMPOTENCY_KEY_REUSED"]);
	});

	test("bad refills → 422 naming the field, nothing charged or written", async () => {
		const c = await customer("badrefill");
		const m = (await addCard(c.session, CARDS.approve)).body;
		const stranger = await customer("stranger");
		const theirs = (await addCard(stranger.session, CARDS.approve)).body;
		const cases: [Record<string, unknown>, string][] = [
			[{ amount: "0.50", paymentMethodId: m.id }, "amount"],
			[{ amount: "10000.01", paymentMethodId: m.id }, "amount"],
			[{ amount: "10.001", paymentMethodId: m.id }, "amount"],
			[{ amount: "ten", paymentMethodId: m.id }, "amount"],
			[{ amount: "10.00", paymentMethodId: "no-such-method" }, "paymentMethodId"],
			[{ amount: "10.00", paymentMethodId: theirs.id }, "paymentMethodId"],
		];
		for (const [body, field] of cases) {
			const r = await refill(c.session, body);
			expect([r.status, r.body.data?.map((e: { field: string }) => e.field)]).toEqual([422, [field]]);
		}
		expect((await p.http.get("/billing/invoices", { token: c.session })).body.total).toBe(0);
		expect(await balance(c.session)).toBe("0.00");
		expect((await refill(c.session, { amount: "10.00", paymentMethodId: m.id }, "")).status).toBe(422); // no key
	});

	test("50 parallel refills by 50 accounts get 50 consecutive invoice numbers", async () => {
		const people = await Promise.all(Array.from({ length: 50 }, (_, i) => customer(`numbered${i}`)));
		const methods = await Promise.all(people.map(c => addCard(c.session, CARDS.approve).then(r => r.body.id as string)));
		const answers = await Promise.all(people.map((c, i) => refill(c.session, { amount: "2.00", paymentMethodId: methods[i] })));
		const numbers = answers.map(a => a.body.invoice.number as string).sort();
		const first = Number(numbers[0].slice(5));
		expect(numbers).toEqual(numbers.map((_, i) => `${numbers[0].slice(0, 4)}-${String(first + i).padStart(6, "0")}`));
	});

	test("tax by the billing country: the invoice shows net, tax and total, the balance gets the net; the PDF says so", async () => {
		const token = await admin();
		expect((await p.http.call("PUT", "/admin/tax-rates/DE", { body: { rate: "0.19" }, token })).body).toMatchObject({ country: "DE", rate: "0.19" });
		expect((await p.http.call("PUT", "/admin/tax-rates/XX1", { body: { rate: "0.19" }, token })).status).toBe(422);
		expect((await p.http.call("PUT", "/admin/tax-rates/FR", { body: { rate: "1.5" }, token })).status).toBe(422);
		const c = await customer("taxed");
		expect((await p.http.post("/account/upgrade", { billingInfo: INFO, acceptTerms: true }, { token: c.session })).status).toBe(200);
		const m = (await addCard(c.session, CARDS.approve)).body;
		const r = await refill(c.session, { amount: "100.00", paymentMethodId: m.id });
		expect(r.body.invoice).toMatchObject({ amount: "100.00", tax: "19.00", total: "119.00", taxRate: "0.19", status: "paid" });
		expect(r.body.balance.main).toBe("100.00");

		const text = await invoicePdfText(p.url, r.body.invoice.id, c.session);
		for (const s of [r.body.invoice.number, "Ada Lovelace", "Analytical Engines Ltd", "100.00", "19.00", "119.00", "USD"]) expect(text).toContain(s);
	});

	test("an upgraded trial becomes billing on its first refill; a deactivated account refilled above its minimum is active with its remembered environments", async () => {
		const c = await customer("upgrade");
		expect((await p.http.post("/account/upgrade", { billingInfo: INFO, acceptTerms: true }, { token: c.session })).status).toBe(200);
		const env = await p.http.post(
			"/environments",
			{ name: "keeper", nodes: [{ layer: "cp", type: "nginx", reservedCloudlets: 1, scalingLimit: 2 }] },
			{ token: c.session },
		);
		expect(env.status).toBe(201);
		const m = (await addCard(c.session, CARDS.approve)).body;
		await refill(c.session, { amount: "5.00", paymentMethodId: m.id });
		await waitUntil(async () => (await p.http.get("/account", { token: c.session })).body.type === "billing");

		// Charged below the minimum: deactivated, the running environment remembered and stopped.
		const token = await admin();
		await p.http.post(`/admin/accounts/${c.id}/charge`, { amount: "20.00", description: "usage" }, { token, headers: { "idempotency-key": key() } });
		await waitUntil(async () => (await p.http.get("/account", { token: c.session })).body.status === "deactivated");
		const refilled = await refill(c.session, { amount: "50.00", paymentMethodId: m.id });
		expect(refilled.body.invoice.status).toBe("paid");
		await waitUntil(async () => (await p.http.get("/account", { token: c.session })).body.status === "active");
		const envs = await waitUntil(async () => {
			const list = (await p.http.get("/environments", { token: c.session })).body;
			const rows = (list.rows ?? list) as { name: string; status: string }[];
			return rows.every(e => e.status === "running") && rows;
		});
		expect(envs.map(e => [e.name, e.status])).toEqual([["keeper", "running"]]);
	});

	test("the full card number and the CVC are in no answer, log line or stored document", async () => {
		const c = await customer("secret");
		const number = "4000000000000077";
		const cvc = "9371";
		const saved = await addCard(c.session, number, { cvc: "937" });
		const refused = await p.http.post("/billing/payment-methods", { ...CARD, number: "4000000000000078", cvc }, { token: c.session });
		const answers = [saved.text, refused.text, (await p.http.get("/billing/payment-methods", { token: c.session })).text];
		const stored: string[] = [];
		for (const svc of ["billing", "accounts", "notifications"]) {
			const s = p.broker.getLocalService(svc) as unknown as { db: Record<string, { find(q: object): Promise<unknown[]> }> };
			for (const store of Object.values(s.db)) stored.push(JSON.stringify(await store.find({})));
		}
		for (const haystack of [...answers, p.logs.join("\n"), ...stored]) {
			expect(haystack).not.toContain(number);
			expect(haystack).not.toContain("4000000000000078");
			// A field named cvc in an error is fine; its value anywhere, as JSON or as a logged key=value, is not.
			expect(haystack).not.toMatch(/"cvc":|"937"|"9371"|cvc\W{1,3}937/i);
		}
	});
});
