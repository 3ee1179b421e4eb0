// BIL-6 on two billing replicas (joined over NATS, sharing one store as replicas share MongoDB):
// the post-paid invoices of a month made by both replicas at once, past the job's lease (as two
// replicas whose leases both lapsed would), are one invoice per account — one number, one
// payment, one credit, one email; and what a crash left half-done (an invoice stored but not
// numbered, a payment recorded but never sent to the provider) is finished with the same invoice
// and payment by the next run.
import type { Service } from "moleculer";
import type { PostPaidInvoices } from "../../services/billing/postpaid-invoices";
import { postpaidKey } from "../../services/billing/postpaid";
import { keyedId, type InvoiceDoc, type PaymentDoc } from "../../services/billing/payments";
import type { Store } from "../../mixins/db.mixin";
import { startReplicaPair, type Platform } from "../helpers/platform";

const CARD = { type: "card", number: "4242424242424242", expMonth: 12, expYear: 2031, cvc: "123" };

type Billing = Service & { postPaid: PostPaidInvoices; db: { invoices: Store<InvoiceDoc>; payments: Store<PaymentDoc> } };

describe("post-paid invoices on two billing replicas", () => {
	let main: Platform;
	let pair: Awaited<ReturnType<typeof startReplicaPair>>;
	const asUser = (id: string) => ({ meta: { user: { id, role: "user" } } });
	const billing = (p: Platform) => p.broker.getLocalService("billing") as unknown as Billing;

	beforeAll(async () => {
		pair = await startReplicaPair("postpaid", ["billing"], { QM_PAYMENT_PROVIDERS: "manual,test", QM_TEST_CLOCK: "1" });
		main = pair.main;
	});
	afterAll(() => pair?.stop());

	/** A post-paid customer (UTC) with a card that can be charged unattended and 12.345678 of March's charges on two environments: billed to the micro-unit, the card charged 12.35. */
	async function customer(label: string) {
		await main.broker.call("clock.set", { now: "2027-03-10T12:00:00Z" });
		const email = `${label}@example.com`;
		await main.broker.call("accounts.signup", { email, acceptTerms: true });
		const mail = (await main.broker.call("notifications.adminOutbox", { to: email })) as { rows: { links: string[] }[] };
		const token = new URL(mail.rows[0].links[0]).searchParams.get("token");
		const id = ((await main.broker.call("accounts.activate", { token, password: "Two-replicas-1!" })) as { account: { id: string } }).account.id;
		await main.broker.call("accounts.adminSetGroup", { id, group: "post", resetBonus: true });
		await main.broker.call("billing.addPaymentMethod", CARD, asUser(id));
		for (const [i, envId, amount] of [
			[1, "env-a", -10_000_000],
			[2, "env-a", -345_678],
			[3, "env-b", -2_000_000],
		] as const)
			await main.broker.call("billing.post", { accountId: id, key: `charge:${id}:${i}`, kind: "charge", amount, envId, description: "usage" });
		return { id, email };
	}
	const invoices = async (id: string) => ((await main.broker.call("billing.invoices", {}, asUser(id))) as { rows: Record<string, unknown>[] }).rows;
	const credits = async (id: string) =>
		((await main.broker.call("billing.transactions", { kind: "refill" }, asUser(id))) as { rows: { amount: string; description: string }[] }).rows;
	const told = async (email: string) =>
		((await main.broker.call("notifications.adminOutbox", { to: email })) as { rows: { template: string; text: string }[] }).rows.filter(
			m => m.template === "postpaid-invoice",
		);
	/** Both replicas make April's run at once, three times each. */
	const runOnBoth = () => Promise.all([main, pair.replica, main, pair.replica, main, pair.replica].map(p => billing(p).postPaid.run()));

	it("both replicas at once: one invoice, one number, one payment, one credit, one email", async () => {
		const c = await customer("twins");
		await main.broker.call("clock.set", { now: "2027-04-01T00:05:00Z" });
		const issued = await runOnBoth();
		expect(issued.reduce((a, b) => a + b, 0)).toBe(1);
		const [invoice, ...more] = await invoices(c.id);
		expect(more).toEqual([]);
		expect(invoice).toMatchObject({
			kind: "postpaid",
			period: "2027-03",
			status: "paid",
			amount: "12.345678",
			amountDue: "12.35",
			number: expect.stringMatching(/^2027-\d{6}$/),
		});
		expect(await credits(c.id)).toEqual([expect.objectContaining({ amount: "12.345678", description: `Post-paid invoice ${invoice.number}` })]);
		const [mail, ...twice] = await told(c.email);
		expect(twice).toEqual([]);
		expect(mail.text).toContain("paid automatically with card •••• 4242"); // not "due" from a twin that lost the payment to another
		expect(await billing(main).db.payments.count({ invoiceId: invoice.id })).toBe(1);
	});

	it("a crash after the invoice was stored, and one after its payment was recorded: finished with the same invoice and payment", async () => {
		const c = await customer("crashed");
		await main.broker.call("clock.set", { now: "2027-04-01T00:05:00Z" });
		const key = postpaidKey(c.id, "2027-03");
		// The first run: stored, numbered, paid and told — then taken back to what a crash would have left.
		await billing(main).postPaid.run();
		const db = billing(main).db;
		const done = (await db.invoices.findById(keyedId("inv", key)))!;
		const paymentId = keyedId("pay", key);
		await db.payments.remove({ _id: paymentId });
		await db.invoices.updateOne(
			{ _id: done._id },
			{ $set: { status: "pending", unnumbered: true, updatedAt: new Date() }, $unset: { number: true, notifiedAt: true, paymentId: true, paidAt: true } },
		);
		// Numbered again (its number taken back too: the counter named it, so it gets the same one).
		await runOnBoth();
		const [again, ...more] = await invoices(c.id);
		expect(more).toEqual([]);
		expect(again).toMatchObject({ id: done._id, number: done.number, status: "paid", payment: { id: paymentId, status: "succeeded" } });
		// The credit is keyed by the payment: posted once, however often the payment succeeds.
		expect(await credits(c.id)).toHaveLength(1);
		expect(await told(c.email)).toHaveLength(1);

		// A payment recorded but never sent (a crash before the provider call): the next run sends it.
		const d = await customer("crashed-before-provider");
		await main.broker.call("clock.set", { now: "2027-04-01T00:05:00Z" });
		const dKey = postpaidKey(d.id, "2027-03");
		await billing(main).postPaid.run();
		await db.payments.updateOne({ _id: keyedId("pay", dKey) }, { $set: { status: "created", open: true }, $unset: { credited: true, providerId: true } });
		await db.invoices.updateOne({ _id: keyedId("inv", dKey) }, { $set: { status: "pending" }, $unset: { notifiedAt: true, paidAt: true } });
		await runOnBoth();
		expect(await invoices(d.id)).toEqual([
			expect.objectContaining({ status: "paid", payment: expect.objectContaining({ id: keyedId("pay", dKey), status: "succeeded" }) }),
		]);
		expect(await credits(d.id)).toHaveLength(1); // keyed by the payment: the one credit it had
		expect(await told(d.email)).toHaveLength(1);
	});
});
