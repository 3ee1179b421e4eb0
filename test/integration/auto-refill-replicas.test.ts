// PAY-4 on two billing replicas (joined over NATS, sharing one store as replicas share MongoDB):
// 100 parallel charges crossing a balanceBelow threshold, split between the replicas, fire exactly
// one auto-refill; a weekly rule's job run on both replicas at once fires once in its period.
import { parseMoney } from "../../lib/money";
import { startReplicaPair, type Platform } from "../helpers/platform";

const CARD = { type: "card", number: "4242424242424242", expMonth: 12, expYear: 2031, cvc: "123" };

// On the MongoDB leg, FerretDB 1.24 scans a collection for every lookup: 100 charges contending
// for one balance take minutes there, so that leg crosses with 30 (the same 15.00 in all).
const PARALLEL = process.env.MONGO_URI ? 30 : 100;

describe("auto-refill on two billing replicas", () => {
	let main: Platform;
	let pair: Awaited<ReturnType<typeof startReplicaPair>>;
	const asUser = (id: string) => ({ meta: { user: { id, role: "user" } } });
	const node = (i: number) => (i % 2 ? "main" : "replica");

	beforeAll(async () => {
		pair = await startReplicaPair("autorefill", ["billing"], { QM_PAYMENT_PROVIDERS: "manual,test", QM_TEST_CLOCK: "1" });
		main = pair.main;
	});
	afterAll(() => pair?.stop());

	async function customer(label: string) {
		const email = `${label}@example.com`;
		await main.broker.call("accounts.signup", { email, acceptTerms: true });
		const mail = (await main.broker.call("notifications.adminOutbox", { to: email })) as { rows: { links: string[] }[] };
		const token = new URL(mail.rows[0].links[0]).searchParams.get("token");
		const id = ((await main.broker.call("accounts.activate", { token, password: "Two-replicas-1!" })) as { account: { id: string } }).account.id;
		const method = (await main.broker.call("billing.addPaymentMethod", CARD, asUser(id))) as { id: string };
		return { id, method: method.id };
	}
	const autoRefills = async (id: string) => ((await main.broker.call("billing.invoices", {}, asUser(id))) as { rows: { description: string }[] }).rows.length;

	it("fires one refill for 100 parallel charges (30 on FerretDB) crossing the threshold, split between the replicas", async () => {
		const c = await customer("crossing");
		const { total } = (await main.broker.call("billing.balance", {}, asUser(c.id))) as { total: string };
		// 20.00 in all (the trial bonus included), then 100 charges of 0.15 on both replicas: 5.00.
		await main.broker.call("billing.post", {
			accountId: c.id,
			key: `fund:${c.id}`,
			kind: "refill",
			amount: 20_000_000 - parseMoney(total, "total"),
			description: "fund",
		});
		await main.broker.call(
			"billing.setAutoRefill",
			{ amount: "25.00", paymentMethodId: c.method, condition: { type: "balanceBelow", threshold: "10.00" } },
			asUser(c.id),
		);
		await Promise.all(
			Array.from({ length: PARALLEL }, (_, i) =>
				main.broker.call(
					"billing.post",
					{ accountId: c.id, key: `charge:${c.id}:${i}`, kind: "charge", amount: -15_000_000 / PARALLEL, description: "charge" },
					{ nodeID: node(i), timeout: 0 },
				),
			),
		);
		const deadline = Date.now() + 120_000;
		while ((await autoRefills(c.id)) === 0 && Date.now() < deadline) await new Promise(r => setTimeout(r, 50));
		await new Promise(r => setTimeout(r, 500)); // a second firing would be on its way by now
		expect(await autoRefills(c.id)).toBe(1);
		// 5.00 + 25.00: the refill went through.
		expect(parseMoney(((await main.broker.call("billing.balance", {}, asUser(c.id))) as { total: string }).total, "total")).toBe(30_000_000);
	}, 300_000);

	it("fires a weekly rule once in its week with the job run on both replicas at once", async () => {
		const c = await customer("weekly");
		await main.broker.call("clock.set", { now: "2027-03-24T10:00:00Z" });
		await pair.replica.broker.call("clock.set", { now: "2027-03-24T10:00:00Z" });
		await main.broker.call(
			"billing.setAutoRefill",
			{ amount: "5.00", paymentMethodId: c.method, condition: { type: "weekly" }, timeZone: "Europe/Berlin" },
			asUser(c.id),
		);
		for (const b of [main.broker, pair.replica.broker]) await b.call("clock.set", { now: "2027-03-28T22:05:00Z" }); // Monday 00:05 in Berlin
		await Promise.all([0, 1, 2, 3].map(i => main.broker.call("billing.runJob", { job: "auto-refill" }, { nodeID: node(i) }).catch(() => null)));
		expect(await autoRefills(c.id)).toBe(1);
	}, 120_000);
});
