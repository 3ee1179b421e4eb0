// PAY-4: auto-refill through the front door with the `test` card provider — the rule's checks,
// balanceBelow firing once per crossing (100 parallel charges; none while its refill is pending;
// one more after it succeeded and the balance fell again past the gap), weekly and monthly rules
// once per period in UTC and Europe/Berlin across the March daylight-saving change with the job
// run twice, and three failed payments in a row turning the rule off and telling the user.
import { nowMs } from "../../lib/clock";
import { parseMoney } from "../../lib/money";
import { signPayload } from "../../services/billing/webhook-signature";
import { sendRaw, waitUntil } from "../helpers/http";
import { billingEnv, createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "autopilot@example.com", password: "Refills-itself-1!" };
const SECRET = "whsec_test_autorefill";
const CARD = { type: "card", expMonth: 12, expYear: 2031, cvc: "737" };
const CARDS = { approve: "4242424242424242", decline: "4000000000000002", challenge: "4000002500003155", webhook: "4000000000000077" };

// On the MongoDB leg, FerretDB 1.24 scans a collection for every lookup: 100 charges contending
// for one balance take minutes there, so that leg crosses with 30 (the same 15.00 in all).
const PARALLEL = process.env.MONGO_URI ? 30 : 100;

describe("auto-refill", () => {
	let p: Platform;
	let n = 0;
	const asUser = (id: string) => ({ meta: { user: { id, role: "user" } } });

	async function customer(label: string, card: keyof typeof CARDS) {
		const email = `${label}-${++n}@example.com`;
		const password = "Refills-itself-1!";
		const from = { "x-forwarded-for": `10.8.${Math.floor(n / 250)}.${n % 250}` };
		const account = await createAccount(p, email, password, from);
		const session = (await p.http.post("/auth/signin", { email, password }, { headers: from })).body.session as string;
		const method = (await p.http.post("/billing/payment-methods", { ...CARD, number: CARDS[card] }, { token: session })).body as { id: string };
		return { id: account.id, email, session, method: method.id };
	}
	const post = (accountId: string, key: string, kind: string, amount: number) =>
		p.broker.call("billing.post", { accountId, key, kind, amount, description: `test ${kind}` }, { timeout: 0 });
	const refills = async (id: string) =>
		((await p.broker.call("billing.transactions", { kind: "refill" }, asUser(id))) as { rows: { amount: string; description: string }[] }).rows.filter(r =>
			r.description.startsWith("Refill, invoice"),
		);
	const invoices = async (id: string) =>
		((await p.broker.call("billing.invoices", {}, asUser(id))) as { rows: { status: string; total: string; payment?: { id: string } }[] }).rows;
	const rule = (id: string) => p.broker.call("billing.autoRefill", {}, asUser(id)) as Promise<Record<string, unknown>>;
	const setClock = (iso: string) => p.broker.call("clock.set", { now: iso });
	const runJob = () => p.broker.call("billing.runJob", { job: "auto-refill" });
	const put = (id: string, body: Record<string, unknown>) => p.broker.call("billing.setAutoRefill", body, asUser(id)) as Promise<Record<string, unknown>>;

	beforeAll(async () => {
		p = await startPlatform({
			env: billingEnv(ADMIN, { QM_TEST_PROVIDER_WEBHOOK_SECRET: SECRET }),
		});
		await waitUntil(async () => (await p.http.post("/auth/signin", ADMIN)).status === 200);
	});
	afterAll(() => p?.stop());

	test("a rule is checked field by field; only a card that can be charged unattended; shown back, and deleted", async () => {
		const c = await customer("checks", "approve");
		const put = (body: Record<string, unknown>) => p.http.put("/billing/auto-refill", body, { token: c.session });
		expect((await p.http.get("/billing/auto-refill", { token: c.session })).status).toBe(404);
		const ok = { amount: "25.00", paymentMethodId: c.method, condition: { type: "balanceBelow", threshold: "10.00" } };
		for (const [body, field] of [
			[{ ...ok, condition: { type: "balanceBelow" } }, "condition.threshold"],
			[{ ...ok, condition: { type: "weekly", threshold: "1.00" } }, "condition.threshold"],
			[{ ...ok, condition: { type: "daily" } }, "condition.type"],
			[{ ...ok, timeZone: "Mars/Olympus_Mons" }, "timeZone"],
			[{ ...ok, amount: "0.50" }, "amount"],
			[{ ...ok, amount: "25.001" }, "amount"],
			[{ ...ok, paymentMethodId: "not-mine" }, "paymentMethodId"],
			[{ ...ok, surprise: true }, "surprise"],
		] as const) {
			const res = await put(body);
			expect([400, 422]).toContain(res.status);
			expect(JSON.stringify(res.body)).toContain(field);
		}
		// 3-D Secure on every payment: it cannot be charged while the customer is away.
		const challenge = (await p.http.post("/billing/payment-methods", { ...CARD, number: CARDS.challenge }, { token: c.session })).body as { id: string };
		const refused = await put({ ...ok, paymentMethodId: challenge.id });
		expect(refused.status).toBe(422);
		expect(JSON.stringify(refused.body)).toMatch(/paymentMethodId.*cannot be charged without you/);

		const saved = await put({ ...ok, timeZone: "Europe/Berlin" });
		expect(saved.status).toBe(200);
		expect(saved.body).toEqual({
			amount: "25.00",
			paymentMethodId: c.method,
			condition: { type: "balanceBelow", threshold: "10.00" },
			timeZone: "Europe/Berlin",
			enabled: true,
			pending: false,
			failures: 0,
			lastFiredAt: null,
		});
		expect((await p.http.get("/billing/auto-refill", { token: c.session })).body).toEqual(saved.body);
		expect((await p.http.del("/billing/auto-refill", { token: c.session })).status).toBe(204);
		expect((await p.http.get("/billing/auto-refill", { token: c.session })).status).toBe(404);
	});

	test("balanceBelow: 100 parallel charges (30 on FerretDB) crossing fire one refill; none while it is pending; one more after it succeeded and the balance fell past the gap", async () => {
		const c = await customer("below", "webhook"); // pending until its signed webhook
		// 20.00 in all, the trial bonus included.
		const start = (await p.broker.call("billing.balance", {}, asUser(c.id))) as { total: string };
		await post(c.id, `fund:${c.id}`, "refill", 20_000_000 - parseMoney(start.total, "total"));
		await put(c.id, { amount: "25.00", paymentMethodId: c.method, condition: { type: "balanceBelow", threshold: "10.00" } });
		await Promise.all(Array.from({ length: PARALLEL }, (_, i) => post(c.id, `charge:${c.id}:${i}`, "charge", -15_000_000 / PARALLEL))); // 20.00 → 5.00
		await waitUntil(async () => (await invoices(c.id)).length > 0, 120_000);
		await new Promise(r => setTimeout(r, 300)); // any second firing would be on its way by now
		const [first, ...others] = await invoices(c.id);
		expect(others).toEqual([]);
		expect(first).toMatchObject({ status: "pending", total: "25.00" });
		expect(await rule(c.id)).toMatchObject({ pending: true });

		// Up above the threshold and down again, with the refill still pending: no second one.
		await post(c.id, `bonus:${c.id}`, "bonus", 10_000_000); // 15.00
		await Promise.all(Array.from({ length: 6 }, (_, i) => post(c.id, `charge:${c.id}:b${i}`, "charge", -1_000_000))); // 9.00
		await runJob();
		expect(await invoices(c.id)).toHaveLength(1);

		// The refill succeeds (its webhook): 34.00, above the threshold again.
		const paymentId = first.payment!.id;
		const body = JSON.stringify({
			id: `evt-${paymentId}`,
			type: "payment.succeeded",
			created: Math.floor(nowMs() / 1000),
			data: { paymentId, amount: "25.00", currency: "USD" },
		});
		const hook = await sendRaw(p.url, "POST", "/billing/providers/test/webhook", body, {
			"content-type": "application/json",
			"qm-signature": signPayload(SECRET, body, Math.floor(nowMs() / 1000)),
		});
		expect(hook.status).toBe(200);
		expect((await refills(c.id)).map(r => r.amount)).toEqual(["25.00"]);
		expect(await rule(c.id)).toMatchObject({ pending: false, failures: 0 });

		// Below again within the hour since it fired: not yet; past the gap, the job fires it once.
		await post(c.id, `charge:${c.id}:c`, "charge", -25_000_000); // 9.00
		await runJob();
		expect(await invoices(c.id)).toHaveLength(1);
		await setClock(new Date(nowMs() + 61 * 60_000).toISOString());
		await runJob();
		await runJob();
		expect(await invoices(c.id)).toHaveLength(2);
	}, 300_000);

	test("weekly and monthly rules fire once per period in their zone, across the March daylight-saving change, with the job run twice", async () => {
		const berlin = await customer("weekly-berlin", "approve");
		const utc = await customer("weekly-utc", "approve");
		const monthly = await customer("monthly-berlin", "approve");
		await setClock("2027-03-24T10:00:00Z"); // a Wednesday: the rules start with the next period
		await put(berlin.id, { amount: "5.00", paymentMethodId: berlin.method, condition: { type: "weekly" }, timeZone: "Europe/Berlin" });
		await put(utc.id, { amount: "5.00", paymentMethodId: utc.method, condition: { type: "weekly" } });
		await put(monthly.id, { amount: "7.00", paymentMethodId: monthly.method, condition: { type: "monthly" }, timeZone: "Europe/Berlin" });
		const counts = async () => [(await refills(berlin.id)).length, (await refills(utc.id)).length, (await refills(monthly.id)).length];

		await runJob();
		expect(await counts()).toEqual([0, 0, 0]);
		// Sunday 28 March, 23:30 in Berlin (the clocks went forward at 02:00): still the old week.
		await setClock("2027-03-28T21:30:00Z");
		await runJob();
		expect(await counts()).toEqual([0, 0, 0]);
		// Monday 00:05 in Berlin, Sunday 22:05 in UTC.
		await setClock("2027-03-28T22:05:00Z");
		await runJob();
		await runJob();
		expect(await counts()).toEqual([1, 0, 0]);
		// Monday in UTC too; the Berlin rule had its week.
		await setClock("2027-03-29T00:05:00Z");
		await runJob();
		await runJob();
		expect(await counts()).toEqual([1, 1, 0]);
		// 1 April 00:30 in Berlin (31 March 22:30 UTC): the month.
		await setClock("2027-03-31T22:30:00Z");
		await runJob();
		await runJob();
		expect(await counts()).toEqual([1, 1, 1]);
		// The next Monday: each weekly rule once more.
		await setClock("2027-04-05T08:00:00Z");
		await runJob();
		await runJob();
		expect(await counts()).toEqual([2, 2, 1]);
		expect((await refills(monthly.id)).map(r => r.amount)).toEqual(["7.00"]);
	});

	test("three failed payments in a row turn the rule off and tell the user", async () => {
		const c = await customer("declined", "decline");
		await setClock("2027-05-05T10:00:00Z"); // a Wednesday
		await put(c.id, { amount: "5.00", paymentMethodId: c.method, condition: { type: "weekly" } });
		for (const [i, monday] of ["2027-05-10", "2027-05-17", "2027-05-24"].entries()) {
			await setClock(`${monday}T09:00:00Z`);
			await runJob();
			expect(await rule(c.id)).toMatchObject({ failures: i + 1, enabled: i < 2 });
		}
		expect(((await rule(c.id)) as { disabledReason: string }).disabledReason).toMatch(/3 payments in a row failed/);
		// Off: the next Monday fires nothing.
		await setClock("2027-05-31T09:00:00Z");
		await runJob();
		expect((await invoices(c.id)).filter(i => i.status === "failed")).toHaveLength(3);
		const mail = (await p.broker.call("notifications.adminOutbox", { to: c.email })) as { rows: { template: string; text: string }[] };
		expect(mail.rows.filter(r => r.template === "autorefill-disabled")).toHaveLength(1);
	});
});
