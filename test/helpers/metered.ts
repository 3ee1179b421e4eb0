// Paying customers with running environments, for tests that drive a real platform process over
// HTTP (the crash test, the backup under load): set up through the API as a customer would be, and
// their ledgers read and checked the same way — balance = Σ ledger, each entry's balance-after = the
// one before + its amount, at most one charge per environment-hour, no balance set from its ledger.
import { waitUntil, type Api } from "./http";

export interface Sample {
	id: string;
	envId: string;
	nodeId: string;
	time: string;
	ramMiB: number;
	cpuMHz: number;
	diskMB: number;
	trafficInMB: number;
	trafficOutMB: number;
}

export const rand = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

/**
 * A sample of a random node of `env` at most 30 minutes before `now` (not before `t0`): some land
 * in an hour closed already after a clock move — a late sample, a new revision of the hour (MTR-2).
 */
export function randomSample(id: string, env: { id: string; nodeIds: string[] }, now: number, t0: number): Sample {
	return {
		id,
		envId: env.id,
		nodeId: env.nodeIds[rand(0, env.nodeIds.length - 1)],
		time: new Date(Math.max(t0, now - rand(0, 30 * 60_000))).toISOString(),
		ramMiB: rand(0, 2048),
		cpuMHz: rand(0, 2000),
		diskMB: 1000,
		trafficInMB: rand(0, 5),
		trafficOutMB: rand(0, 5),
	};
}

/** How services/billing/repair.ts logs a balance set from its ledger (or one it could not check): it must never happen. */
export const REPAIRED = /differed from its ledger|were set from their ledger|Ledger mismatch/;

export interface Customer {
	id: string;
	email: string;
	/** a PAT reading the account's balance, ledger and usage */
	reader: string;
	envs: { id: string; nodeIds: string[] }[];
}

/** A row of GET /billing/transactions. */
export interface Row {
	id: string;
	kind: string;
	amount: string;
	balanceAfter: { main: string; bonus: string };
	description: string;
	envId?: string;
}

/** Exact decimal string → integer micros (API.md: money as exact decimal strings). */
export function micros(s: string): number {
	const m = /^(-?)(\d+)(?:\.(\d{1,6}))?$/.exec(s);
	if (!m) throw new Error(`not a money amount: ${s}`);
	const v = Number(m[2]) * 1e6 + Number((m[3] ?? "").padEnd(6, "0"));
	return m[1] ? -v : v;
}

/**
 * Signs up and activates `email` (the link from the admin outbox), puts the account in the
 * "billing" group, gives it a reader PAT and `envs` environments of 3 nodes each (2 tomcat, 1 mysql).
 */
export async function addCustomer(http: Api, admin: string, email: string, password: string, envs: number, label = email.split("@")[0]): Promise<Customer> {
	const expectStatus = (what: string, r: { status: number; text: string }, status: number) => {
		if (r.status !== status) throw new Error(`${what} for ${email} answered ${r.status}: ${r.text.slice(0, 300)}`);
	};
	expectStatus("sign-up", await http.post("/auth/signup", { email, acceptTerms: true }), 202);
	const link = await waitUntil(
		async () => {
			const mail = await http.get(`/admin/outbox?to=${encodeURIComponent(email)}`, { token: admin });
			return (mail.body?.rows as { template: string; links: string[] }[] | undefined)?.find(m => m.template === "activation")?.links[0];
		},
		5000,
		20,
	).catch(() => {
		throw new Error(`no activation email for ${email}`);
	});
	const activated = await http.post("/auth/activate", { token: new URL(link).searchParams.get("token"), password });
	expectStatus("activation", activated, 200);
	const id = activated.body.account.id as string;
	expectStatus("joining the billing group", await http.post(`/admin/accounts/${id}/group`, { group: "billing" }, { token: admin }), 200);
	const session = (await http.post("/auth/signin", { email, password })).body.session;
	const reader = await http.post(
		"/tokens",
		{
			password,
			description: `${label} reader`,
			apiList: ["billing.account.GetAccount", "billing.account.GetFundAccountHistory", "environment.control.GetStats"],
		},
		{ token: session },
	);
	expectStatus("the reader token", reader, 201);
	const c: Customer = { id, email, reader: reader.body.token, envs: [] };
	for (let j = 0; j < envs; j++) {
		const r = await http.post(
			"/environments",
			{
				name: `${label}-${j}`,
				nodes: [
					{ layer: "cp", type: "tomcat", count: 2, reservedCloudlets: 1, scalingLimit: 16 },
					{ layer: "sqldb", type: "mysql", reservedCloudlets: 2, scalingLimit: 16 },
				],
			},
			{ token: session },
		);
		expectStatus("an environment", r, 201);
		c.envs.push({ id: r.body.id, nodeIds: (r.body.nodes as { nodeIds: string[] }[]).flatMap(n => n.nodeIds) });
	}
	return c;
}

/** Every applied ledger row of an account, oldest first. */
export async function ledgerOf(http: Api, c: Customer): Promise<Row[]> {
	const rows: Row[] = [];
	for (let page = 1; ; page++) {
		const r = await http.get(`/billing/transactions?page=${page}&pageSize=100`, { token: c.reader });
		if (r.status !== 200) throw new Error(`ledger of ${c.email} answered ${r.status}: ${r.text}`);
		rows.push(...r.body.rows);
		if (page >= r.body.totalPages) break;
	}
	return rows.reverse();
}

/**
 * The ledger of an account against its balance: balance = Σ ledger, each entry's balance-after =
 * the one before + what it moved, the last one's = the balance, and at most one charge per
 * environment-hour. Answers what is wrong, the charges counted, and the ledger.
 */
export async function checkLedger(http: Api, c: Customer): Promise<{ problems: string[]; charges: number; rows: Row[] }> {
	const problems: string[] = [];
	const rows = await ledgerOf(http, c);
	const reply = await http.get("/billing/balance", { token: c.reader });
	if (reply.status !== 200) throw new Error(`balance of ${c.email} answered ${reply.status}: ${reply.text}`);
	const balance = reply.body as { main: string; bonus: string };
	let total = 0;
	for (const row of rows) {
		total += micros(row.amount);
		const after = micros(row.balanceAfter.main) + micros(row.balanceAfter.bonus);
		if (after !== total) {
			problems.push(
				`${c.email}: entry ${row.id} (${row.kind} ${row.amount}) has balance-after ${after / 1e6}, the ledger before it + its amount is ${total / 1e6}`,
			);
			total = after; // one report per break
		}
	}
	const sum = rows.reduce((a, row) => a + micros(row.amount), 0);
	if (micros(balance.main) + micros(balance.bonus) !== sum)
		problems.push(`${c.email}: balance ${balance.main} + bonus ${balance.bonus} ≠ Σ ledger ${sum / 1e6} (${rows.length} entries)`);
	const last = rows[rows.length - 1];
	if (last && (last.balanceAfter.main !== balance.main || last.balanceAfter.bonus !== balance.bonus))
		problems.push(`${c.email}: balance ${JSON.stringify(balance)} ≠ the last entry's balance-after ${JSON.stringify(last.balanceAfter)}`);
	let charges = 0;
	const perHour = new Map<string, number>();
	for (const row of rows.filter(x => x.kind === "charge" && x.envId)) {
		charges++;
		perHour.set(`${row.envId} ${row.description}`, (perHour.get(`${row.envId} ${row.description}`) ?? 0) + 1);
	}
	for (const [hour, n] of perHour) if (n > 1) problems.push(`${c.email}: ${n} charges for ${hour}`);
	return { problems, charges, rows };
}

/**
 * No balance was set from its ledger: no line of the processes' `outputs` logs a repair, and no
 * administrator got the `balance-repaired` notice (the outbox of `adminEmail`).
 */
export async function repairProblems(http: Api, admin: string, adminEmail: string, outputs: string[]): Promise<string[]> {
	const problems: string[] = [];
	for (const l of outputs.flatMap(o => o.split("\n")).filter(l => REPAIRED.test(l))) problems.push(`billing repaired a balance: ${l.slice(0, 400)}`);
	const notices = await http.get(`/admin/outbox?to=${encodeURIComponent(adminEmail)}&pageSize=100`, { token: admin });
	if (notices.status !== 200) throw new Error(`the outbox answered ${notices.status}: ${notices.text}`);
	for (const m of (notices.body.rows as { template: string; text: string }[]).filter(m => m.template === "balance-repaired"))
		problems.push(`administrators were told of a repaired balance: ${m.text.slice(0, 300)}`);
	return problems;
}
