// Metering to money, over HTTP in embedded mode (MTR-1…MTR-4, DSC-1…DSC-3, BIL-2, BIL-4): the
// orchestrator posts samples with an admin's token holding metering.usage.Ingest; the hour
// closes after its grace period; billing charges each environment-hour once at the right tier;
// a sample a day late produces one correction for the difference; the history adds up to the
// ledger to the micro-unit, in JSON and CSV, for every interval.
import { signInWhenReady, type Reply } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "operator@example.com", password: "Meter-0perator-pass!" };
const USER = { email: "tenant@example.com", password: "Hourly-payer-pass-1!" };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// A Tuesday, 10:00 UTC: hour 10 is the hour charged, hour 11 the next.
const T0 = Date.parse("2026-12-01T10:00:00Z");

type Node = { layer: string; nodeIds: string[] };
type Env = { id: string; nodes: Node[] };

describe("metering and hourly charging", () => {
	let p: Platform;
	let admin: string;
	let ingestToken: string;
	let user: { id: string; session: string };
	let dsc: Env; // the DSC-3 environment: reserved 2+2+4
	let parked: Env; // stopped all hour: disk and IPs only
	let seq = 0;

	const setClock = (ms: number) => p.broker.call("gateway.setClock", { now: new Date(ms).toISOString() });
	const runJob = (name: string) => p.broker.call<{ processed: number }, { name: string }>("gateway.runJob", { name });
	const signIn = async () => (user.session = (await p.http.post("/auth/signin", USER)).body.session);
	const ingest = (samples: unknown[], token = ingestToken) => p.http.post("/metering/usage", { samples }, { token });
	const sample = (
		env: Env,
		node: number,
		at: number,
		usage: Partial<Record<"ramMiB" | "cpuMHz" | "diskMB" | "trafficInMB" | "trafficOutMB", number>> = {},
		id = `s-${++seq}`,
	) => ({
		id,
		envId: env.id,
		nodeId: env.nodes[node].nodeIds[0],
		time: new Date(at).toISOString(),
		ramMiB: 0,
		cpuMHz: 0,
		diskMB: 0,
		trafficInMB: 0,
		trafficOutMB: 0,
		...usage,
	});
	const ledger = async () => {
		const r = await p.http.get("/billing/transactions?pageSize=100", { token: user.session });
		return r.body.rows as { kind: string; amount: string; envId?: string; description: string }[];
	};
	const usageEntries = async () => (await ledger()).filter(e => e.kind === "charge" || e.kind === "correction");
	// Usage entries name their hour: "Usage: dsc3, 2026-12-01 10:00 UTC".
	const entriesOf = async (hour: number) =>
		(await usageEntries()).filter(e => e.description.includes(new Date(hour).toISOString().slice(0, 13).replace("T", " ")));
	const micros = (s: string) => Math.round(Number(s) * 1e6); // exact for 6-decimal strings of this size
	const closeAndCharge = async () => {
		await runJob("metering.close-hours");
		await runJob("billing.charge");
	};

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_TEST_CLOCK: "1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		await setClock(T0 - 10 * 60_000);
		admin = await signInWhenReady(p.http, ADMIN);
		const t = await p.http.post("/tokens", { password: ADMIN.password, description: "orchestrator", apiList: ["metering.usage.Ingest"] }, { token: admin });
		expect(t.status).toBe(201);
		ingestToken = t.body.token;
		const account = await createAccount(p, USER.email, USER.password);
		user = { id: account.id, session: "" };
		await p.http.post(`/admin/accounts/${user.id}/group`, { group: "billing" }, { token: admin });
		const funded = await p.http.post(
			`/admin/accounts/${user.id}/fund`,
			{ amount: "20", note: "prepaid" },
			{ token: admin, headers: { "Idempotency-Key": "m-fund-1" } },
		);
		expect(funded.status).toBe(201);
		await signIn();
		// Metering starts closing with the hour it first runs in.
		await runJob("metering.close-hours");
		const create = async (body: Record<string, unknown>) => {
			const r = await p.http.post("/environments", body, { token: user.session });
			expect(r.status).toBe(201);
			return r.body as Env;
		};
		dsc = await create({
			name: "dsc3",
			nodes: [
				{ layer: "cp", type: "tomcat", reservedCloudlets: 2, scalingLimit: 16 },
				{ layer: "bl", type: "nginx", reservedCloudlets: 2, scalingLimit: 16 },
				{ layer: "sqldb", type: "mysql", reservedCloudlets: 4, scalingLimit: 16 },
			],
		});
		parked = await create({ name: "parked", nodes: [{ layer: "cp", type: "php", reservedCloudlets: 4, scalingLimit: 6, publicIPv4: 1 }], ssl: true });
		expect((await p.http.post(`/environments/${parked.id}/stop`, undefined, { token: user.session })).status).toBe(200);
		await setClock(T0 + 20 * 60_000);
	});
	afterAll(() => p?.stop());

	it("accepts a batch, rejecting bad samples one by one with a reason and keeping the rest (MTR-1)", async () => {
		const good = sample(dsc, 0, T0 + 60_000, { ramMiB: 100 });
		const r = await ingest([
			good,
			{ ...sample(dsc, 0, T0), envId: "no-such-env" },
			{ ...sample(dsc, 0, T0), nodeId: "no-such-node" },
			{ ...sample(dsc, 0, T0), ramMiB: -1 },
			{ ...sample(dsc, 0, T0), cpuMHz: "lots" },
			sample(dsc, 0, T0 + 30 * 60_000), // 10 minutes ahead of the clock: more than 5
			sample(dsc, 0, T0 - 36 * DAY),
			{ ...sample(dsc, 0, T0), colour: "blue" },
			good, // the same id twice in one batch
		]);
		expect(r.status).toBe(200);
		expect(r.body.accepted).toBe(1);
		expect(r.body.duplicates).toBe(1);
		expect(r.body.rejected).toEqual([
			{ index: 1, type: "UNKNOWN_ENVIRONMENT", field: "envId", message: expect.stringContaining("no-such-env") },
			{ index: 2, type: "UNKNOWN_NODE", field: "nodeId", message: expect.stringContaining("no-such-node") },
			{ index: 3, type: "INVALID_SAMPLE", field: "ramMiB", message: "must not be negative" },
			{ index: 4, type: "INVALID_SAMPLE", field: "cpuMHz", message: "must be a number" },
			{ index: 5, type: "TIME_IN_FUTURE", field: "time", message: expect.any(String) },
			{ index: 6, type: "TOO_OLD", field: "time", message: expect.any(String) },
			{ index: 7, type: "INVALID_SAMPLE", field: "colour", message: expect.any(String) },
		]);
	});

	it("refuses a batch over 1,000 samples and callers without the ingest method", async () => {
		const big = Array.from({ length: 1001 }, (_, i) => sample(dsc, 0, T0, {}, `big-${i}`));
		const r = await ingest(big);
		expect(r.status).toBe(422);
		expect(r.body.data[0].field).toBe("samples");
		expect((await ingest([sample(dsc, 0, T0)], user.session)).status).toBe(403);
	});

	it("charges the DSC-3 hour exactly 0.077 for cloudlets, once, however often the batch is sent", async () => {
		// Reserved 2+2+4; used 5 / 2 / 11 cloudlets (RAM) → dynamic 3+0+7 = 10.
		const batch = [
			sample(dsc, 0, T0 + 5 * 60_000, { ramMiB: 5 * 128 }),
			sample(dsc, 1, T0 + 5 * 60_000, { ramMiB: 2 * 128 }),
			sample(dsc, 2, T0 + 5 * 60_000, { ramMiB: 11 * 128 - 50 }),
			sample(dsc, 2, T0 + 6 * 60_000, { ramMiB: 11 * 128 }),
		];
		const first = await ingest(batch);
		expect(first.body).toEqual({ accepted: 4, duplicates: 0, rejected: [] });
		for (let i = 0; i < 2; i++) expect((await ingest(batch)).body).toEqual({ accepted: 0, duplicates: 4, rejected: [] });
		// The parked environment reports RAM too; stopped, it pays none of it.
		expect((await ingest([sample(parked, 0, T0 + 5 * 60_000, { ramMiB: 6 * 128, diskMB: 2000, trafficOutMB: 500 })])).body.accepted).toBe(1);

		// Before the grace period is over nothing is charged.
		await setClock(T0 + HOUR + 4 * 60_000);
		await closeAndCharge();
		await signIn();
		expect(await entriesOf(T0)).toEqual([]);

		await setClock(T0 + HOUR + 6 * 60_000);
		await closeAndCharge();
		await closeAndCharge(); // again: nothing more
		await signIn();
		const charges = await entriesOf(T0);
		const dscCharge = charges.filter(c => c.envId === dsc.id);
		expect(dscCharge).toEqual([expect.objectContaining({ kind: "charge", amount: "-0.077" })]);
		// MTR-3: stopped → disk 2 GB × 0.00015 + one IPv4 × 0.005 + SSL (free); no cloudlets, no traffic.
		expect(charges.filter(c => c.envId === parked.id)).toEqual([expect.objectContaining({ kind: "charge", amount: "-0.0053" })]);
	});

	it("shows the hourly buckets of an environment to its owner only", async () => {
		const r = await p.http.get(`/environments/${dsc.id}/usage?from=${new Date(T0).toISOString()}&to=${new Date(T0 + HOUR).toISOString()}`, {
			token: user.session,
		});
		expect(r.status).toBe(200);
		expect(r.body.hours).toHaveLength(1);
		const c = r.body.hours[0].nodes.find((n: { nodeId: string }) => n.nodeId === dsc.nodes[2].nodeIds[0]);
		expect(c).toMatchObject({ peakRamMiB: 11 * 128, samples: 2 });
		expect((await p.http.get(`/environments/${dsc.id}/usage`, { token: admin })).status).toBe(404);
	});

	it("charges an hour without samples from the inventory: reserved cloudlets and the last known disk (MTR-3)", async () => {
		await setClock(T0 + 2 * HOUR + 6 * 60_000);
		await closeAndCharge();
		await signIn();
		const hour11 = await entriesOf(T0 + HOUR);
		// dsc: 8 reserved × 0.004 = 0.032; parked: 2 GB disk + one IPv4 = 0.0053.
		expect(hour11.map(c => [c.envId, c.amount]).sort()).toEqual(
			[
				[dsc.id, "-0.032"],
				[parked.id, "-0.0053"],
			].sort(),
		);
	});

	it("charges a day-late sample as one correction for the difference; charging again adds nothing (MTR-2, BIL-2)", async () => {
		await setClock(T0 + DAY + 3 * HOUR);
		await signIn();
		const before = await entriesOf(T0);
		// Node C peaked at 13 cloudlets in hour 10 after all: dynamic 3+0+9 = 12 → 12 × 0.0045 = 0.054 (was 0.045).
		expect((await ingest([sample(dsc, 2, T0 + 40 * 60_000, { ramMiB: 13 * 128 })])).body.accepted).toBe(1);
		await closeAndCharge();
		await closeAndCharge();
		await signIn();
		const after = await entriesOf(T0);
		expect(after.length).toBe(before.length + 1);
		expect(after.filter(e => e.kind === "correction")).toEqual([expect.objectContaining({ envId: dsc.id, amount: "-0.009" })]);
	});

	it("adds up: the history of every interval, JSON and CSV, equals the ledger's usage charges to the micro-unit (BIL-4)", async () => {
		const ledgerTotal = (await usageEntries()).reduce((a, e) => a - micros(e.amount), 0);
		const from = new Date(T0 - DAY).toISOString();
		const to = new Date(T0 + 3 * DAY).toISOString();
		for (const interval of ["HOUR", "DAY", "WEEK", "MONTH", "YEAR", "ALL"]) {
			for (const tz of ["", "&tzOffset=%2B05:30", "&tzOffset=-08:00"]) {
				const r = await p.http.get(`/billing/history?from=${from}&to=${to}&interval=${interval}${tz}`, { token: user.session });
				expect(r.status).toBe(200);
				expect(micros(r.body.total)).toBe(ledgerTotal);
				const sumIntervals = r.body.intervals.reduce((a: number, i: { cost: string }) => a + micros(i.cost), 0);
				expect(sumIntervals).toBe(ledgerTotal);
				const csv = await p.http.get(`/billing/history?from=${from}&to=${to}&interval=${interval}${tz}&format=csv`, { token: user.session });
				expect(csv.headers.get("content-type")).toMatch(/text\/csv/);
				const lines = csv.text.trim().split("\n");
				const costCol = lines[0].split(",").indexOf("cost");
				const rows = lines.slice(1, -1).reduce((a, l) => a + micros(l.split(",")[costCol]), 0);
				expect(rows).toBe(ledgerTotal);
				expect(micros(lines[lines.length - 1].split(",")[costCol])).toBe(ledgerTotal);
			}
		}
		// Hourly, per node: the DSC-3 hour's node rows after the correction (reserved 2/2/4, dynamic 3/0/9).
		const hourly = await p.http.get(
			`/billing/history?from=${new Date(T0).toISOString()}&to=${new Date(T0 + HOUR).toISOString()}&interval=HOUR&envId=${dsc.id}`,
			{
				token: user.session,
			},
		);
		const env = hourly.body.intervals[0].environments[0];
		expect(env.cost).toBe("0.086");
		expect(
			env.nodes.map((n: { reservedCloudletHours: number; dynamicCloudletHours: number }) => [n.reservedCloudletHours, n.dynamicCloudletHours]).sort(),
		).toEqual(
			[
				[2, 3],
				[2, 0],
				[4, 9],
			].sort(),
		);
		const byLayer = await p.http.get(`/billing/history?from=${from}&to=${to}&interval=ALL&groupByLayer=true&envId=${parked.id}`, { token: user.session });
		expect(byLayer.body.intervals[0].environments[0].options).toEqual([
			{ name: "ip.v4", quantity: expect.any(Number), cost: expect.any(String) },
			{ name: "ssl", quantity: expect.any(Number), cost: "0.00" },
		]);
		const bad = await p.http.get(`/billing/history?interval=FORTNIGHT&tzOffset=+99:00`, { token: user.session });
		expect(bad.status).toBe(422);
		expect((bad.body.data as { field: string }[]).map(d => d.field).sort()).toEqual(["interval", "tzOffset"]);
	});

	it("summarises a period: debited equals the usage charges", async () => {
		const r: Reply = await p.http.get(`/billing/summary?from=${new Date(T0 - DAY).toISOString()}&to=${new Date(T0 + 3 * DAY).toISOString()}`, {
			token: user.session,
		});
		expect(r.status).toBe(200);
		const charged = (await usageEntries()).reduce((a, e) => a - micros(e.amount), 0);
		expect(micros(r.body.debited)).toBe(charged);
		expect(r.body.refilled).toBe("20.00");
		// 20.00 funded, 10.00 trial bonus from signing up.
		expect(micros(r.body.balance.total)).toBe(30_000_000 - charged);
	});
});
