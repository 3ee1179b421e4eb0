// BIL-5: low-balance and forecast notices, driven by the clock and the job `billing.low-balance`:
// an email and an in-app notice when the balance is under the account's threshold, "about N days
// left" when the last week's average spend empties it within three days — each once a day, not
// again while the balance stays low, again after a refill brought it back and it fell once more,
// never with auto-refill on; GET /billing/balance tells the days left.
import { nowMs } from "../../lib/clock";
import { parseMoney } from "../../lib/money";
import { waitUntil } from "../helpers/http";
import { billingEnv, createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "watchful@example.com", password: "Watches-balances-1!" };

describe("low-balance and forecast notices", () => {
	let p: Platform;
	let n = 0;
	const asUser = (id: string) => ({ meta: { user: { id, role: "user" } } });

	/** An account with 20.00 in all and a warning threshold of 5.00. */
	async function customer(label: string) {
		const email = `${label}-${++n}@example.com`;
		const password = "Watches-balances-1!";
		const account = await createAccount(p, email, password, { "x-forwarded-for": `10.7.0.${n}` });
		const { total } = (await p.broker.call("billing.balance", {}, asUser(account.id))) as { total: string };
		await post(account.id, `fund:${account.id}`, "refill", 20_000_000 - parseMoney(total, "total"));
		await p.broker.call("quotas.adminSetOverride", { id: account.id, key: "account.personal.min.threshold", value: "5.00" });
		return { id: account.id, email };
	}
	const post = (accountId: string, key: string, kind: string, amount: number) =>
		p.broker.call("billing.post", { accountId, key, kind, amount, description: `test ${kind}` });
	const runJob = () => p.broker.call("billing.runJob", { job: "low-balance" });
	const setClock = (ms: number) => p.broker.call("clock.set", { now: new Date(ms).toISOString() });
	const mails = async (email: string, template: string) =>
		((await p.broker.call("notifications.adminOutbox", { to: email })) as { rows: { template: string; text: string }[] }).rows.filter(
			r => r.template === template,
		);

	beforeAll(async () => {
		p = await startPlatform({
			env: billingEnv(ADMIN),
		});
		await waitUntil(async () => (await p.http.post("/auth/signin", ADMIN)).status === 200);
	});
	afterAll(() => p?.stop());

	test("under the threshold: once (email and in-app), not again while low, again after a refill and a new fall; the forecast says about 2 days", async () => {
		const c = await customer("low");
		await runJob();
		expect(await mails(c.email, "low-balance")).toHaveLength(0);
		// 16.00 spent now: 4.00 left, lasting 4.00 / (16.00 / 7 days) = 1.75 days.
		for (let i = 0; i < 4; i++) await post(c.id, `charge:${c.id}:${i}`, "charge", -4_000_000);
		const view = (await p.broker.call("billing.balance", {}, asUser(c.id))) as { daysLeft: number | null; total: string };
		expect(view).toMatchObject({ total: "4.00", daysLeft: 1.7 });

		await runJob();
		await runJob();
		const [low] = await mails(c.email, "low-balance");
		expect(await mails(c.email, "low-balance")).toHaveLength(1);
		expect(low.text).toContain("Your balance is 4.00 USD, under your warning threshold of 5.00 USD");
		const [forecast, ...more] = await mails(c.email, "balance-forecast");
		expect(more).toEqual([]);
		expect(forecast.text).toContain("lasts about 2 more days");
		const feed = (await p.broker.call("notifications.list", {}, asUser(c.id))) as { rows: { title: string }[] };
		expect(feed.rows.map(r => r.title)).toEqual(expect.arrayContaining(["Low balance", "About 2 days left"]));

		// The next day, still low: the episode was told already.
		await setClock(nowMs() + 86_400_000);
		await runJob();
		expect(await mails(c.email, "low-balance")).toHaveLength(1);

		// A refill brings it back (re-armed); a fall the same day is told once more.
		await post(c.id, `refill:${c.id}`, "refill", 10_000_000); // 14.00
		await runJob();
		expect(await mails(c.email, "low-balance")).toHaveLength(1);
		await post(c.id, `charge:${c.id}:again`, "charge", -10_000_000); // 4.00
		await runJob();
		await runJob();
		expect(await mails(c.email, "low-balance")).toHaveLength(2);
	});

	test("with auto-refill on, no notice at all", async () => {
		const c = await customer("autopilot");
		const method = (await p.broker.call(
			"billing.addPaymentMethod",
			{ type: "card", number: "4242424242424242", expMonth: 12, expYear: 2031, cvc: "737" },
			asUser(c.id),
		)) as {
			id: string;
		};
		await p.broker.call("billing.setAutoRefill", { amount: "20.00", paymentMethodId: method.id, condition: { type: "monthly" } }, asUser(c.id));
		for (let i = 0; i < 4; i++) await post(c.id, `charge:${c.id}:${i}`, "charge", -4_000_000);
		await runJob();
		expect(await mails(c.email, "low-balance")).toEqual([]);
		expect(await mails(c.email, "balance-forecast")).toEqual([]);
	});
});
