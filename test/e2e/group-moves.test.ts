// Group moves and post-paid accounts through HTTP (ACC-4, ACC-5, BIL-6, QTA-3, STS-2): a post-paid
// account whose balance went negative by its hourly charges still creates environments, where a
// pre-paid one in the same state is refused; an administrator's move drops an upgrade pending its
// first refill, so that refill moves the account nowhere; an account moved into `post` on the
// 15th is invoiced for its charges from that instant only — the earlier ones it pre-paid; one
// moved out of `post` on the 20th is invoiced on the 1st for its charges until that instant only.
import { micros, type Row } from "../helpers/metered";
import { signInWhenReady } from "../helpers/http";
import { billingEnv, createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "group-mover@example.com", password: "Moves-groups-1!" };
const PASSWORD = "Moved-around-1!";
const NODE = { layer: "cp", type: "tomcat", reservedCloudlets: 2, scalingLimit: 4 };
const INFO = {
	firstName: "Ada",
	lastName: "Lovelace",
	country: "DE",
	address: "Unter den Linden 1",
	city: "Berlin",
	postalCode: "10117",
	phone: "+49 30 5550100",
};
const FEB = Date.parse("2027-02-01T00:00:00Z");
const MAR = Date.parse("2027-03-01T00:00:00Z");

interface Invoice {
	kind: string;
	period: string;
	amount: string;
	lines: { envId?: string; description: string; amount: string }[];
}

describe("group moves and post-paid accounts", () => {
	let p: Platform;
	let n = 0;
	let keys = 0;
	let adminSession = "";
	const asAdmin = {
		get token() {
			return adminSession;
		},
	};
	const setClock = async (iso: string) => {
		expect((await p.http.post("/admin/clock", { now: iso }, asAdmin)).status).toBe(200);
		adminSession = await signInWhenReady(p.http, ADMIN); // sessions end after 24 h of the platform's clock
	};
	const runJob = (name: string) => p.http.post(`/admin/jobs/${name}/run`, {}, asAdmin);
	const chargeHours = async () => {
		expect((await runJob("metering.close-hours")).status).toBe(200);
		expect((await runJob("billing.charge")).status).toBe(200);
	};
	const move = async (id: string, group: string, resetBonus = false) =>
		expect((await p.http.post(`/admin/accounts/${id}/group`, { group, resetBonus }, asAdmin)).status).toBe(200);
	const fund = async (id: string, amount: string) =>
		expect(
			(await p.http.post(`/admin/accounts/${id}/fund`, { amount, note: "test" }, { ...asAdmin, headers: { "idempotency-key": `fund-${++keys}` } })).status,
		).toBe(201);

	async function customer(label: string) {
		const email = `${label}-${++n}@example.com`;
		const from = { "x-forwarded-for": `10.18.0.${n}` };
		const { id } = await createAccount(p, email, PASSWORD, from);
		const signIn = async () => (await p.http.post("/auth/signin", { email, password: PASSWORD }, { headers: from })).body.session as string;
		return { id, signIn };
	}
	type Customer = Awaited<ReturnType<typeof customer>>;
	const get = async <T>(who: Customer, url: string): Promise<T> => {
		const r = await p.http.get(url, { token: await who.signIn() });
		expect(r.status).toBe(200);
		return r.body as T;
	};
	const createEnv = async (who: Customer, name: string) => p.http.post("/environments", { name, nodes: [NODE] }, { token: await who.signIn() });
	const balance = async (who: Customer) => micros((await get<{ main: string }>(who, "/billing/balance")).main);
	const ledger = async (who: Customer) => (await get<{ rows: (Row & { time: string })[] }>(who, "/billing/transactions?pageSize=100")).rows;

	beforeAll(async () => {
		p = await startPlatform({ env: billingEnv(ADMIN) });
		adminSession = await signInWhenReady(p.http, ADMIN);
		await setClock("2027-01-14T10:00:00Z");
	}, 60_000);
	afterAll(() => p?.stop());

	// Customers of the first and last tests, charged hour by hour together.
	const c: Record<"post" | "prepaid" | "midMonth", Customer> = {} as never;
	const envs: { who: Customer; id: string }[] = [];

	test("a post-paid account whose balance went negative by its hourly charges creates environments (201); a pre-paid one is still refused", async () => {
		c.post = await customer("post");
		await move(c.post.id, "post", true);
		c.prepaid = await customer("prepaid");
		await move(c.prepaid.id, "billing", true);
		c.midMonth = await customer("mid-month");
		await move(c.midMonth.id, "billing", true);
		await fund(c.midMonth.id, "100.00");
		for (const who of [c.post, c.prepaid, c.midMonth]) {
			const r = await createEnv(who, "first");
			expect(r.status).toBe(201);
			envs.push({ who, id: r.body.id });
		}
		// Twenty hours of charges from a balance of 0: both go negative.
		await setClock("2027-01-15T06:10:00Z");
		await chargeHours();
		expect(await balance(c.post)).toBeLessThan(0);
		expect(await balance(c.prepaid)).toBeLessThan(0);

		const post = await createEnv(c.post, "second");
		expect(post.status).toBe(201);
		envs.push({ who: c.post, id: post.body.id });
		expect(await get(c.post, "/account")).toMatchObject({ type: "post", status: "active" });

		const prepaid = await createEnv(c.prepaid, "second");
		expect(prepaid.status).toBeGreaterThanOrEqual(400);
		expect(prepaid.status).toBeLessThan(500);
		expect(["ACCOUNT_DEACTIVATED", "INSUFFICIENT_BALANCE"]).toContain(prepaid.body.type);
	});

	test("an administrator's move drops a pending upgrade: the first refill then moves the account nowhere", async () => {
		const who = await customer("upgrader");
		const up = await p.http.post("/account/upgrade", { billingInfo: INFO, acceptTerms: true }, { token: await who.signIn() });
		expect(up.status).toBe(200);
		expect(up.body.account).toMatchObject({ group: "trial", upgrade: { state: "pending" } });

		await move(who.id, "post");
		expect(await get(who, "/account")).toMatchObject({ group: "post", type: "post" });
		await fund(who.id, "20.00"); // the refill that would have completed the upgrade
		await new Promise(resolve => setTimeout(resolve, 500)); // billing.refilled is an event: give it time to (not) move the account
		expect(await get(who, "/account")).toMatchObject({ group: "post", type: "post", upgrade: { state: "none" } });
	});

	test("an account moved into post on the 15th is invoiced its charges from then only, to the micro-unit", async () => {
		const moved = Date.parse("2027-01-15T12:00:00Z");
		await setClock("2027-01-15T11:10:00Z");
		await chargeHours(); // pre-paid to 11:00
		await setClock("2027-01-15T12:00:00Z");
		await move(c.midMonth.id, "post");
		await setClock("2027-01-15T20:10:00Z");
		await chargeHours();
		for (const e of envs) expect((await p.http.del(`/environments/${e.id}`, { token: await e.who.signIn() })).status).toBeLessThan(300);
		await setClock("2027-02-01T00:10:00Z");
		await chargeHours();
		expect((await runJob("billing.post-paid-invoices")).status).toBe(200);

		const rows = (await ledger(c.midMonth)).filter(r => r.kind === "charge" || r.kind === "correction");
		const since = new Map<string, number>();
		let before = 0;
		for (const r of rows) {
			const t = Date.parse(r.time);
			if (t < moved) before -= micros(r.amount);
			else if (t < FEB) since.set(r.envId ?? "", (since.get(r.envId ?? "") ?? 0) - micros(r.amount));
		}
		expect(before).toBeGreaterThan(0); // it was charged as a pre-paid account before the move
		const sinceTotal = [...since.values()].reduce((a, b) => a + b, 0);
		expect(sinceTotal).toBeGreaterThan(0);

		const invoices = (await get<{ rows: Invoice[] }>(c.midMonth, "/billing/invoices?pageSize=100")).rows.filter(i => i.kind === "postpaid");
		expect(invoices).toHaveLength(1);
		const [invoice] = invoices;
		expect(invoice.period).toBe("2027-01");
		expect(invoice.lines.map(l => l.envId ?? "").sort()).toEqual([...since.keys()].sort());
		for (const l of invoice.lines) expect(micros(l.amount)).toBe(since.get(l.envId ?? ""));
		expect(invoice.lines.reduce((a, l) => a + micros(l.amount), 0)).toBe(micros(invoice.amount));
		expect(micros(invoice.amount)).toBe(sinceTotal);
	});

	test("an account moved out of post on the 20th is invoiced on the 1st for its charges until the move only, to the micro-unit", async () => {
		const who = await customer("left-post"); // the clock is at 1 February: post-paid from the month's start
		await move(who.id, "post", true);
		await setClock("2027-02-19T22:00:00Z");
		const env = await createEnv(who, "leaving");
		expect(env.status).toBe(201);
		await setClock("2027-02-20T11:10:00Z");
		await chargeHours(); // post-paid to 11:00: the balance goes negative
		expect(await balance(who)).toBeLessThan(0);
		const moved = Date.parse("2027-02-20T12:00:00Z");
		await setClock("2027-02-20T12:00:00Z");
		await move(who.id, "billing");
		await fund(who.id, "100.00"); // pre-paid from now, and funded to stay active
		await setClock("2027-02-20T20:10:00Z");
		await chargeHours();
		expect((await p.http.del(`/environments/${env.body.id}`, { token: await who.signIn() })).status).toBeLessThan(300);
		await setClock("2027-03-01T00:10:00Z");
		await chargeHours();
		expect((await runJob("billing.post-paid-invoices")).status).toBe(200);

		const rows = (await ledger(who)).filter(r => r.kind === "charge" || r.kind === "correction");
		const until = new Map<string, number>();
		let after = 0;
		for (const r of rows) {
			const t = Date.parse(r.time);
			if (t < moved) until.set(r.envId ?? "", (until.get(r.envId ?? "") ?? 0) - micros(r.amount));
			else if (t < MAR) after -= micros(r.amount);
		}
		const untilTotal = [...until.values()].reduce((a, b) => a + b, 0);
		expect(untilTotal).toBeGreaterThan(0);
		expect(after).toBeGreaterThan(0); // it was charged as a pre-paid account after the move

		const invoices = (await get<{ rows: Invoice[] }>(who, "/billing/invoices?pageSize=100")).rows.filter(i => i.kind === "postpaid");
		expect(invoices).toHaveLength(1);
		const [invoice] = invoices;
		expect(invoice.period).toBe("2027-02");
		expect(invoice.lines.map(l => l.envId ?? "").sort()).toEqual([...until.keys()].sort());
		for (const l of invoice.lines) expect(micros(l.amount)).toBe(until.get(l.envId ?? ""));
		expect(invoice.lines.reduce((a, l) => a + micros(l.amount), 0)).toBe(micros(invoice.amount));
		expect(micros(invoice.amount)).toBe(untilTotal);

		// Run again: still that one invoice (its key is the account's and the month's).
		expect((await runJob("billing.post-paid-invoices")).status).toBe(200);
		expect((await get<{ rows: Invoice[] }>(who, "/billing/invoices?pageSize=100")).rows.filter(i => i.kind === "postpaid")).toHaveLength(1);
	});
});
