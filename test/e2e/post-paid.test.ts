// BIL-6, STS-2/STS-3, BIL-3 through HTTP: post-paid accounts (group `post`) with environments
// charged hour by hour through metering and billing's jobs over the end of January 2027. Their
// balance goes negative and they stay active. On 1 February in each account's own time zone —
// Los Angeles: at 07:59 UTC nothing, at 08:00 UTC the invoice; UTC: at midnight — the job
// `billing.post-paid-invoices` issues ONE invoice of January's charges (run again, and twice in
// parallel: still one), its lines per environment summing to its net and equal to the month's
// charges in that zone to the micro-unit (a card is charged the total to whole cents); a pre-paid account and one with the switch off get none. With a default
// card that can be charged unattended it is paid at once (balance up by the net, a receipt, "paid
// automatically"); without one the email carries the pay link, and after the due date
// `accounts.deactivation` deactivates the account and stops its environments, until
// POST /billing/invoices/{id}/pay (3-D Secure as a refill's; one payment at a time) brings it back.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { nowMs } from "../../lib/clock";
import { testWebhookBody } from "../../services/billing/providers";
import { signPayload } from "../../services/billing/webhook-signature";
import { micros, type Row } from "../helpers/metered";
import { sendRaw, signInWhenReady, waitUntil } from "../helpers/http";
import { invoicePdfText } from "../helpers/pdf";
import { billingEnv, createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "ledger-keeper@example.com", password: "Bills-monthly-1!" };
const PASSWORD = "Pays-at-month-end-1!";
const SECRET = "whsec_test_postpaid";
const CARD = { type: "card", expMonth: 12, expYear: 2031, cvc: "737" };
const NODE = { layer: "cp", type: "tomcat", reservedCloudlets: 2, scalingLimit: 4 };
const INFO = {
	firstName: "Grace",
	lastName: "Hopper",
	country: "DE",
	address: "Unter den Linden 1",
	city: "Berlin",
	postalCode: "10117",
	phone: "+49 30 5550100",
};
const LA_FEB = Date.parse("2027-02-01T08:00:00Z"); // 1 February 00:00 in Los Angeles
const UTC_FEB = Date.parse("2027-02-01T00:00:00Z");

interface Invoice {
	id: string;
	kind: string;
	number: string;
	status: string;
	amount: string;
	tax: string;
	total: string;
	period: string;
	dueAt: string;
	actionUrl?: string;
	amountDue: string;
	lines: { envId?: string; description: string; amount: string }[];
	payment?: { status: string };
}

describe("post-paid monthly invoices", () => {
	let p: Platform;
	let n = 0;
	let adminSession = "";
	const received: { type: string; data: { invoiceId: string; number: string } }[] = [];
	let receiver: http.Server;

	type Customer = Awaited<ReturnType<typeof customer>>;
	const c: Record<"auto" | "manual" | "utc" | "prepaid" | "off", Customer> = {} as never;
	const envs: Record<string, string[]> = {};

	const admin = async () => (adminSession = await signInWhenReady(p.http, ADMIN));
	/** The admin's credentials as the http helper takes them, always the latest session. */
	const asAdmin = {
		get token() {
			return adminSession;
		},
	};
	const setClock = async (iso: string) => {
		expect((await p.http.post("/admin/clock", { now: iso }, asAdmin)).status).toBe(200);
		await admin(); // sessions end after 24 h of the platform's clock
	};
	const runJob = (name: string) => p.http.post(`/admin/jobs/${name}/run`, {}, asAdmin);
	const chargeHours = async () => {
		expect((await runJob("metering.close-hours")).status).toBe(200);
		expect((await runJob("billing.charge")).status).toBe(200);
	};

	/**
	 * A customer signed up and activated from an address of their own, moved to `group` (the trial
	 * bonus reset), in Los Angeles' time zone if given one (any spelling: it is kept canonical), with
	 * billing information from an immediate upgrade if asked.
	 */
	async function customer(label: string, group: string, o: { timeZone?: string; upgrade?: boolean } = {}) {
		const email = `${label}-${++n}@example.com`;
		const from = { "x-forwarded-for": `10.17.0.${n}` };
		const account = await createAccount(p, email, PASSWORD, from);
		const signIn = async () => (await p.http.post("/auth/signin", { email, password: PASSWORD }, { headers: from })).body.session as string;
		const me = { id: account.id, email, signIn, session: await signIn() };
		if (o.upgrade) {
			// Billing information (the invoice's tax comes from its country), upgraded at once.
			await p.http.call("PUT", `/admin/accounts/${me.id}/quotas/account.convert.after.first.fund.enabled`, { ...asAdmin, body: { value: 0 } });
			expect((await p.http.post("/account/upgrade", { billingInfo: INFO, acceptTerms: true }, { token: me.session })).status).toBe(200);
		}
		expect((await p.http.post(`/admin/accounts/${me.id}/group`, { group, resetBonus: true }, asAdmin)).status).toBe(200);
		if (o.timeZone) expect((await p.http.patch("/account", { timeZone: o.timeZone }, { token: me.session })).body.timeZone).toBe("America/Los_Angeles");
		return me;
	}
	const get = async <T>(who: Customer, url: string): Promise<T> => {
		const r = await p.http.get(url, { token: (who.session = await who.signIn()) });
		expect(r.status).toBe(200);
		return r.body as T;
	};
	const invoices = async (who: Customer) => (await get<{ rows: Invoice[] }>(who, "/billing/invoices?pageSize=100")).rows;
	const balance = async (who: Customer) => micros((await get<{ main: string }>(who, "/billing/balance")).main);
	const account = (who: Customer) => get<{ status: string; timeZone: string }>(who, "/account");
	const envStatus = async (who: Customer) => Promise.all(envs[who.id].map(async id => (await get<{ status: string }>(who, `/environments/${id}`)).status));
	const mails = async (who: Customer, template: string) =>
		(
			(await p.http.get(`/admin/outbox?to=${encodeURIComponent(who.email)}&pageSize=100`, asAdmin)).body.rows as {
				template: string;
				text: string;
				links: string[];
			}[]
		).filter(m => m.template === template);
	const ledger = async (who: Customer) => (await get<{ rows: (Row & { time: string })[] }>(who, "/billing/transactions?pageSize=100")).rows;
	/** Σ per environment of the charges and corrections applied before `before` (all of them are the main balance's: no bonus). */
	const chargedBefore = async (who: Customer, before: number) => {
		const per = new Map<string, number>();
		for (const r of await ledger(who))
			if ((r.kind === "charge" || r.kind === "correction") && Date.parse(r.time) < before)
				per.set(r.envId ?? "", (per.get(r.envId ?? "") ?? 0) - micros(r.amount));
		return per;
	};
	/** The lines are the month's charges: each the exact sum of its environment's, to the micro-unit; together the net; the card pays the total to whole cents. */
	const expectLinesOf = (invoice: Invoice, charged: Map<string, number>) => {
		expect(invoice.lines.map(l => l.envId).sort()).toEqual([...charged.keys()].sort());
		for (const l of invoice.lines) expect(micros(l.amount)).toBe(charged.get(l.envId!));
		expect(invoice.lines.reduce((a, l) => a + micros(l.amount), 0)).toBe(micros(invoice.amount));
		expect(micros(invoice.amount)).toBe([...charged.values()].reduce((a, b) => a + b, 0));
		expect(micros(invoice.amount)).toBeGreaterThan(0);
		expect(micros(invoice.amountDue)).toBe(Math.round(micros(invoice.total) / 10_000) * 10_000);
	};

	beforeAll(async () => {
		receiver = http.createServer((req, res) => {
			let body = "";
			req.on("data", chunk => (body += chunk));
			req.on("end", () => {
				received.push(JSON.parse(body));
				res.writeHead(200).end();
			});
		});
		await new Promise<void>(resolve => receiver.listen(0, "127.0.0.1", resolve));
		p = await startPlatform({
			env: billingEnv(ADMIN, { QM_WEBHOOKS_ALLOW_PRIVATE: "1", QM_TEST_PROVIDER_WEBHOOK_SECRET: SECRET }),
		});
		await admin();
		await setClock("2027-01-31T10:00:00Z");
		const hook = await p.http.post(
			"/admin/webhooks",
			{ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, events: ["invoice.created"] },
			asAdmin,
		);
		expect(hook.status).toBe(201);
		expect((await p.http.call("PUT", "/admin/tax-rates/DE", { ...asAdmin, body: { rate: "0.19" } })).status).toBe(200);

		c.auto = await customer("auto", "post", { timeZone: "America/Los_Angeles", upgrade: true });
		c.manual = await customer("manual", "post", { timeZone: "america/los_angeles" });
		c.utc = await customer("utc", "post");
		c.prepaid = await customer("prepaid", "billing", { timeZone: "America/Los_Angeles" });
		c.off = await customer("off", "post", { timeZone: "America/Los_Angeles" });
		await p.http.call("PUT", `/admin/accounts/${c.off.id}/quotas/account.post.invoice.generation.enabled`, { ...asAdmin, body: { value: 0 } });
		const fund = await p.http.post(
			`/admin/accounts/${c.prepaid.id}/fund`,
			{ amount: "100", note: "prepaid" },
			{ ...asAdmin, headers: { "idempotency-key": "prepaid-fund" } },
		);
		expect(fund.status).toBe(201);
		// `auto` pays by a card that can be charged unattended; `manual` only by one that asks for 3-D Secure every time.
		const card = async (who: Customer, number: string) =>
			(await p.http.post("/billing/payment-methods", { ...CARD, number }, { token: who.session })).body.id as string;
		await card(c.auto, "4242424242424242");
		await card(c.manual, "4000002500003155");
		for (const [who, count] of [
			[c.auto, 2],
			[c.manual, 1],
			[c.utc, 1],
			[c.prepaid, 1],
			[c.off, 1],
		] as const) {
			envs[who.id] = [];
			for (let i = 0; i < count; i++) {
				const env = await p.http.post("/environments", { name: `app-${i}`, nodes: [NODE] }, { token: who.session });
				expect(env.status).toBe(201);
				envs[who.id].push(env.body.id);
			}
		}
	}, 60_000);
	afterAll(async () => {
		await p?.stop();
		await new Promise(resolve => receiver?.close(resolve));
	});

	test("the time zone is a known IANA zone, or 422 naming it", async () => {
		const r = await p.http.patch("/account", { timeZone: "Mars/Olympus_Mons" }, { token: (c.utc.session = await c.utc.signIn()) });
		expect(r.status).toBe(422);
		expect(r.body.data).toEqual([expect.objectContaining({ field: "timeZone" })]);
		expect((await account(c.utc)).timeZone).toBe("UTC");
		expect((await account(c.manual)).timeZone).toBe("America/Los_Angeles");
	});

	test("charged through the end of January: the balance goes negative, and the account stays active", async () => {
		await setClock("2027-01-31T20:10:00Z");
		await chargeHours();
		await setClock("2027-02-01T03:10:00Z"); // 19:10 on 31 January in Los Angeles, February in UTC
		await chargeHours();
		expect((await runJob("accounts.deactivation")).status).toBe(200);
		for (const who of [c.auto, c.manual, c.utc]) {
			expect(await balance(who)).toBeLessThan(0);
			expect(await account(who)).toMatchObject({ status: "active" });
			expect(new Set(await envStatus(who))).toEqual(new Set(["running"]));
		}
	});

	test("on 1 February in each account's zone, one invoice of January: lines per environment summing to the net, the month's charges in that zone", async () => {
		await setClock("2027-02-01T07:59:00Z"); // midnight passed in UTC, not yet in Los Angeles
		await chargeHours(); // the hours to 07:00 UTC, still 31 January in Los Angeles
		expect((await runJob("billing.post-paid-invoices")).body).toEqual({ job: "billing.post-paid-invoices", processed: 1 });
		for (const who of [c.auto, c.manual, c.prepaid, c.off]) expect(await invoices(who)).toEqual([]);
		const [utc, ...moreUtc] = await invoices(c.utc);
		expect(moreUtc).toEqual([]);
		expectLinesOf(utc, await chargedBefore(c.utc, UTC_FEB)); // what was charged at 03:10 and 07:59 UTC is February's there
		expect(micros(utc.amount)).toBeLessThan([...(await chargedBefore(c.utc, LA_FEB)).values()].reduce((a, b) => a + b, 0));

		await setClock("2027-02-01T08:00:00Z");
		const before = await balance(c.auto);
		// Twice at once, and once more: one invoice each (one of the twins may be told the job is running).
		const twins = await Promise.all([runJob("billing.post-paid-invoices"), runJob("billing.post-paid-invoices")]);
		expect(twins.map(r => r.status).sort()).toEqual(expect.arrayContaining([200]));
		for (const r of twins) expect([200, 409]).toContain(r.status);
		expect((await runJob("billing.post-paid-invoices")).body.processed).toBe(0);
		for (const who of [c.prepaid, c.off]) expect(await invoices(who)).toEqual([]);

		// Paid at once with the card that can be charged unattended: the balance up by the net, a receipt.
		const [auto, ...moreAuto] = await invoices(c.auto);
		expect(moreAuto).toEqual([]);
		expect(auto).toMatchObject({
			kind: "postpaid",
			status: "paid",
			period: "2027-01",
			dueAt: expect.stringMatching(/^2027-02-15T08:00:00/),
			payment: { status: "succeeded" },
		});
		expectLinesOf(auto, await chargedBefore(c.auto, LA_FEB));
		expect(auto.lines).toHaveLength(2);
		expect(micros(auto.tax)).toBe(Math.round((micros(auto.amount) * 0.19) / 10_000) * 10_000); // DE, 19%
		expect(micros(auto.total)).toBe(micros(auto.amount) + micros(auto.tax));
		expect(await balance(c.auto)).toBe(before + micros(auto.amount));
		expect((await ledger(c.auto)).filter(r => r.kind === "refill")).toEqual([
			expect.objectContaining({ amount: auto.amount, description: `Post-paid invoice ${auto.number}` }),
		]);
		expect((await mails(c.auto, "refill-receipt"))[0].text).toContain(auto.number);
		const [told, ...toldTwice] = await mails(c.auto, "postpaid-invoice");
		expect(toldTwice).toEqual([]);
		expect(told.text).toContain(`Invoice ${auto.number} for your usage in January 2027: ${auto.amountDue} USD.`);
		expect(told.text).toContain("paid automatically with card •••• 4242");

		// Without such a card: pending, due in 14 days, the email says how much, by when, and where to pay.
		const [manual, ...moreManual] = await invoices(c.manual);
		expect(moreManual).toEqual([]);
		expect(manual).toMatchObject({ kind: "postpaid", status: "pending", period: "2027-01", dueAt: expect.stringMatching(/^2027-02-15T08:00:00/) });
		expect(manual.payment).toBeUndefined();
		expectLinesOf(manual, await chargedBefore(c.manual, LA_FEB));
		const [due] = await mails(c.manual, "postpaid-invoice");
		expect(due.text).toContain(`${manual.amountDue} USD`);
		expect(due.text).toContain("due by 2027-02-15");
		expect(due.links).toEqual([expect.stringMatching(new RegExp(`/account/billing/invoices/${manual.id}/pay$`))]);

		// The hour that closes after 08:00 UTC is February's in Los Angeles: on no January invoice.
		await setClock("2027-02-01T08:10:00Z");
		await chargeHours();
		await runJob("billing.post-paid-invoices");
		expect(await invoices(c.auto)).toEqual([auto]);

		// Webhooks hear each invoice once.
		await waitUntil(async () => received.length >= 3);
		expect(
			received
				.filter(e => e.type === "invoice.created")
				.map(e => e.data.invoiceId)
				.sort(),
		).toEqual([auto.id, manual.id, utc.id].sort());

		// The PDF shows the month, the due date and the lines.
		const text = await invoicePdfText(p.url, auto.id, c.auto.session);
		for (const s of [auto.number, "Period: 2027-01", "Due: 2027-02-15", "Environment app-0", "Environment app-1", ...auto.lines.map(l => l.amount), auto.total])
			expect(text).toContain(s);
	}, 60_000);

	test("unpaid past its due date: deactivated and its environments stopped; paying it (3-D Secure) brings it back", async () => {
		const [invoice] = await invoices(c.manual);
		await setClock("2027-02-15T07:59:00Z");
		await runJob("accounts.deactivation");
		expect(await account(c.manual)).toMatchObject({ status: "active" });

		await setClock("2027-02-15T08:01:00Z");
		await runJob("accounts.deactivation");
		expect(await account(c.manual)).toMatchObject({ status: "deactivated" });
		expect(await envStatus(c.manual)).toEqual(["stopped"]);
		expect(await account(c.auto)).toMatchObject({ status: "active" }); // paid
		const history = await get<{ rows: { to: string; reason: string }[] }>(c.manual, "/account/status-history");
		expect(history.rows[0]).toMatchObject({ to: "deactivated", reason: "post-paid invoice overdue" });
		const [overdue] = await mails(c.manual, "postpaid-overdue");
		expect(overdue.text).toContain(`invoice ${invoice.number} of ${invoice.amountDue} USD was due on 2027-02-15`);

		// What is refused, and how.
		const session = (c.manual.session = await c.manual.signIn());
		const methodId = (await get<{ id: string }[]>(c.manual, "/billing/payment-methods"))[0].id;
		const pay = (id: string, body: unknown, token = session, key: string | null = `pay-${++n}`) =>
			p.http.post(`/billing/invoices/${id}/pay`, body, { token, headers: key ? { "idempotency-key": key } : {} });
		for (const [body, key, field] of [
			[{ paymentMethodId: methodId }, null, "Idempotency-Key"],
			[{ paymentMethodId: 42 }, "k", "paymentMethodId"],
			[{}, "k", "paymentMethodId"],
			[{ paymentMethodId: "not-mine" }, undefined, "paymentMethodId"],
			[{ paymentMethodId: methodId, amount: "1.00" }, undefined, "amount"],
		] as const) {
			const r = await pay(invoice.id, body, session, key === undefined ? `pay-${++n}` : key);
			expect([400, 422]).toContain(r.status);
			expect(JSON.stringify(r.body.data)).toContain(field);
		}
		// Another account's invoice is not there; a paid one has nothing to pay.
		const [autoInvoice] = await invoices(c.auto);
		expect((await pay(invoice.id, { paymentMethodId: methodId }, (c.auto.session = await c.auto.signIn()))).status).toBe(404);
		expect((await pay(autoInvoice.id, { paymentMethodId: methodId })).status).toBe(404);
		const again = await pay(autoInvoice.id, { paymentMethodId: (await get<{ id: string }[]>(c.auto, "/billing/payment-methods"))[0].id }, c.auto.session);
		expect(again.status).toBe(422);
		expect(again.body.data).toEqual([expect.objectContaining({ field: "id", message: expect.stringContaining("paid") })]);

		// One payment at a time: while one waits for its provider's word, another is refused; it fails, and the invoice can be paid again.
		const slowCard = (await p.http.post("/billing/payment-methods", { ...CARD, number: "4000000000000077" }, { token: session })).body.id as string;
		const waiting = await pay(invoice.id, { paymentMethodId: slowCard });
		expect(waiting.body.invoice).toMatchObject({ status: "pending", payment: { status: "processing" } });
		const refused = await pay(invoice.id, { paymentMethodId: methodId });
		expect(refused.status).toBe(422);
		expect(refused.body.data).toEqual([expect.objectContaining({ field: "id", message: expect.stringContaining("under way") })]);
		const failed = testWebhookBody(`evt-${n}`, "payment.failed", waiting.body.invoice.payment.id, micros(invoice.amountDue), "USD", Math.floor(nowMs() / 1000));
		const hook = await sendRaw(p.url, "POST", "/billing/providers/test/webhook", failed, {
			"content-type": "application/json",
			"qm-signature": signPayload(SECRET, failed, Math.floor(nowMs() / 1000)),
		});
		expect(hook.status).toBe(200);
		expect(await account(c.manual)).toMatchObject({ status: "deactivated" });

		// The card asks for 3-D Secure: pending with its step. Asked again, a new payment replaces the
		// waiting one, whose step no longer pays; the new one approved, the invoice is paid and the account back.
		const before = await balance(c.manual);
		const first = await pay(invoice.id, { paymentMethodId: methodId });
		expect(first.status).toBe(200);
		expect(first.body.invoice).toMatchObject({ id: invoice.id, status: "failed", actionUrl: expect.any(String), payment: { status: "requires_action" } });
		const r = await pay(invoice.id, { paymentMethodId: methodId });
		expect(r.body.invoice).toMatchObject({ status: "failed", actionUrl: expect.any(String), payment: { status: "requires_action" } }); // the tries before failed
		expect(r.body.invoice.actionUrl).not.toBe(first.body.invoice.actionUrl);
		const stepOf = (url: string) => new URL(url).pathname.replace(/^\/api\/v1/, "");
		expect((await p.http.post(stepOf(first.body.invoice.actionUrl), { outcome: "approve" })).status).toBe(422);
		expect(await account(c.manual)).toMatchObject({ status: "deactivated" });
		const step = await p.http.post(stepOf(r.body.invoice.actionUrl), { outcome: "approve" });
		expect(step.status).toBe(200);
		expect(step.body).toMatchObject({ status: "paid" });
		await waitUntil(async () => (await account(c.manual)).status === "active");
		expect((await get<{ rows: { to: string; reason: string }[] }>(c.manual, "/account/status-history")).rows[0]).toMatchObject({
			to: "active",
			reason: "post-paid invoice paid",
		});
		expect(await envStatus(c.manual)).toEqual(["running"]);
		expect(await balance(c.manual)).toBe(before + micros(invoice.amount));
		expect(await invoices(c.manual)).toEqual([expect.objectContaining({ id: invoice.id, status: "paid" })]);
		expect((await mails(c.manual, "refill-receipt"))[0].text).toContain(invoice.number);
	}, 60_000);
});
