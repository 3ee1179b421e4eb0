// BIL-8: invoice numbers are sequential and gap-free per year with two billing replicas: 50
// accounts refill at once, their refills split between the replicas (joined over NATS, sharing
// one store as replicas share MongoDB), and the 50 invoices get 50 consecutive numbers — and a
// crash between the counter and the invoice is finished by whoever numbers next.
import { startReplicaPair, type Platform } from "../helpers/platform";
import type { Store } from "../../mixins/db.mixin";

const CARD = { type: "card", number: "4242424242424242", expMonth: 12, expYear: 2031, cvc: "123" };

describe("invoice numbers on two billing replicas", () => {
	let main: Platform;
	let pair: Awaited<ReturnType<typeof startReplicaPair>>;

	beforeAll(async () => {
		pair = await startReplicaPair("invoices", ["billing"], { QM_PAYMENT_PROVIDERS: "manual,test" });
		main = pair.main;
	});
	afterAll(() => pair?.stop());

	const asUser = (id: string, more: Record<string, unknown> = {}) => ({ meta: { user: { id, role: "user" }, ...more } });

	it("gives 50 parallel refills of 50 accounts, on both replicas, 50 consecutive numbers", async () => {
		const ids = await Promise.all(
			Array.from({ length: 50 }, async (_, i) => {
				const email = `numbered-${i}@example.com`;
				await main.broker.call("accounts.signup", { email, acceptTerms: true });
				const mail = (await main.broker.call("notifications.adminOutbox", { to: email })) as { rows: { links: string[] }[] };
				const token = new URL(mail.rows[0].links[0]).searchParams.get("token");
				return ((await main.broker.call("accounts.activate", { token, password: "Numbered-invoices-1!" })) as { account: { id: string } }).account.id;
			}),
		);
		const methods = await Promise.all(ids.map(id => main.broker.call("billing.addPaymentMethod", CARD, asUser(id)) as Promise<{ id: string }>));
		const answers = (await Promise.all(
			ids.map((id, i) =>
				main.broker.call(
					"billing.refill",
					{ amount: "3.00", paymentMethodId: methods[i].id },
					{ ...asUser(id, { idempotencyKey: `n-${i}` }), nodeID: i % 2 ? "main" : "replica" },
				),
			),
		)) as { invoice: { number: string; status: string } }[];
		expect(new Set(answers.map(a => a.invoice.status))).toEqual(new Set(["paid"]));
		const numbers = answers.map(a => a.invoice.number).sort();
		const [year, first] = [numbers[0].slice(0, 4), Number(numbers[0].slice(5))];
		expect(numbers).toEqual(numbers.map((_, i) => `${year}-${String(first + i).padStart(6, "0")}`));
		// FerretDB 1.24 (the MongoDB leg) reads every document of a collection for each lookup: minutes, not seconds.
	}, 300_000);

	it("finishes a number a crash left between the counter and the invoice", async () => {
		const billing = main.broker.getLocalService("billing") as unknown as {
			db: {
				invoices: Store<{ _id: string; year: number; number?: string; unnumbered?: boolean }>;
				invoice_counters: Store<{ _id: string; last: number; lastInvoice: string }>;
			};
			payments: { numbers: { number(id: string, year: number): Promise<string>; recover(): Promise<number> } };
		};
		const year = new Date().getUTCFullYear();
		const counter = (await billing.db.invoice_counters.findById(String(year)))!;
		// The crash: the counter took invoice A's number, A never got it.
		await billing.db.invoices.insert({ _id: "crashed-a", year, unnumbered: true });
		await billing.db.invoice_counters.updateOne({ _id: String(year) }, { $set: { last: counter.last + 1, lastInvoice: "crashed-a" } });
		await billing.db.invoices.insert({ _id: "next-b", year, unnumbered: true });
		const b = await billing.payments.numbers.number("next-b", year);
		const a = (await billing.db.invoices.findById("crashed-a"))!.number;
		const pad = (n: number) => `${year}-${String(n).padStart(6, "0")}`;
		expect([a, b]).toEqual([pad(counter.last + 1), pad(counter.last + 2)]);
		expect(await billing.payments.numbers.recover()).toBe(0); // nothing left unnumbered
	});
});
