// The usage stream over real NATS JetStream (MTR-2, BIL-2, NFR-3): metering publishes closed
// environment-hours; billing, in a process of its own, is killed with SIGKILL in the middle of
// charging them and started again; every batch of samples is sent three times, once while
// billing is down. The ledger must come out exactly as if everything had been sent once: one
// entry per environment-hour that costs anything, and the total the rating gives for the hours.
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import type { UsageRecord } from "../../lib/usage-record";
import { rateEnvHour } from "../../services/billing/rating";
import { DEFAULT_PRICES } from "../../services/billing/tariffs";
import { waitUntil } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";
import { assertNatsListening, deleteUsageStream, natsUrl, spawnQm, type QmProcess } from "../helpers/processes";

const ADMIN = { email: "stream-ops@example.com", password: "Stream-adm1n-pass!" };
const USER = { email: "streamed@example.com", password: "Charged-by-the-hour-9!" };
const HOUR = 3_600_000;
const T0 = Date.parse("2026-12-07T00:00:00Z");
const ENVS = 10;
const HOURS = 48;

jest.setTimeout(120_000);

describe("usage stream over JetStream, billing killed mid-stream", () => {
	let p: Platform;
	let billing: QmProcess;
	let dataDir: string;
	let namespace: string;
	let billingEnv: Record<string, string>;
	let userId: string;
	const envs: { id: string; nodes: { nodeIds: string[] }[] }[] = [];

	const setClock = (ms: number) => p.broker.call("gateway.setClock", { now: new Date(ms).toISOString() });
	let starts = 0;
	const startBilling = async () => {
		const nodeID = `billing-${++starts}`;
		billing = spawnQm("billing", { ...billingEnv, NODE_ID: nodeID });
		await waitUntil(async () => p.broker.registry.getServiceList({ onlyAvailable: true }).some(s => s.name === "billing" && s.nodeID === nodeID), 20_000, 50);
		await setClock(T0 + HOURS * HOUR + 10 * 60_000); // the new process starts on the wall clock
	};
	const ledger = () =>
		p.broker.call<{ ledger: { main: number; bonus: number }; ok: boolean; pending: number }[], { accountId: string }>("billing.reconcile", {
			accountId: userId,
		});
	const entries = (kind: string) =>
		p.broker
			.call<{ total: number }, Record<string, unknown>>("billing.transactions", { kind, page: 1, pageSize: 1 }, { meta: { user: { id: userId } } })
			.then(r => r.total);

	beforeAll(async () => {
		await assertNatsListening();
		namespace = `qm-stream-${process.pid}-${Date.now()}`;
		dataDir = mkdtempSync(join(tmpdir(), "qm-stream-"));
		const shared = {
			TRANSPORTER: natsUrl(),
			NAMESPACE: namespace,
			QM_TEST_CLOCK: "1",
			USAGE_ACK_WAIT_MS: "2000",
			QM_MASTER_KEY: Buffer.alloc(32, 7).toString("base64"),
		};
		billingEnv = { ...shared, DATA_DIR: dataDir, SERVICES: "billing", QM_JOBS: "off", LOG_LEVEL: "warn", HEALTH_PORT: "0", METRICS_PORT: "" };
		p = await startPlatform({
			env: { ...shared, QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password },
			services: ["gateway", "accounts", "auth", "notifications", "tokens", "quotas", "environments", "metering"],
			nodeID: "main",
		});
		await startBilling();
		await setClock(T0 - 10 * 60_000);
		const admin = (await p.http.post("/auth/signin", ADMIN)).body.session;
		userId = (await createAccount(p, USER.email, USER.password)).id;
		expect((await p.http.post(`/admin/accounts/${userId}/group`, { group: "billing" }, { token: admin })).status).toBe(200);
		const session = (await p.http.post("/auth/signin", USER)).body.session;
		await p.broker.call("gateway.runJob", { name: "metering.close-hours" }); // metering starts with this hour
		for (let i = 0; i < ENVS; i++) {
			const r = await p.http.post(
				"/environments",
				{
					name: `app-${i}`,
					nodes: [
						{ layer: "cp", type: "tomcat", reservedCloudlets: 1 + (i % 3), scalingLimit: 20 },
						{ layer: "sqldb", type: "mysql", reservedCloudlets: 2, scalingLimit: 12, publicIPv4: i % 2 },
					],
				},
				{ token: session },
			);
			expect(r.status).toBe(201);
			envs.push(r.body);
		}
	});

	afterAll(async () => {
		await billing?.stop("SIGKILL");
		await p?.stop();
		rmSync(dataDir, { recursive: true, force: true });
		// The stream belongs to this run's namespace: leave the shared NATS as it was.
		await deleteUsageStream(namespace);
	});

	it("charges every environment-hour exactly once through a SIGKILL and restart of billing", async () => {
		await setClock(T0 + HOURS * HOUR + 10 * 60_000);
		// One sample per node and hour; RAM varies so the dynamic tiers vary too.
		const samples = envs.flatMap((e, i) =>
			e.nodes.flatMap((n, j) =>
				Array.from({ length: HOURS }, (_, h) => ({
					id: `${e.id}-${j}-${h}`,
					envId: e.id,
					nodeId: n.nodeIds[0],
					time: new Date(T0 + h * HOUR + 17 * 60_000).toISOString(),
					ramMiB: ((i * 7 + j * 5 + h * 3) % 18) * 128,
					cpuMHz: ((i + h) % 5) * 400,
					diskMB: 1000 + 100 * i,
					trafficInMB: 10,
					trafficOutMB: 5,
				})),
			),
		);
		const send = async () => {
			for (let i = 0; i < samples.length; i += 1000) await p.broker.call("metering.ingest", { samples: samples.slice(i, i + 1000) });
		};
		await send();
		await p.broker.call("gateway.runJob", { name: "metering.close-hours" }); // publishes ENVS × (HOURS + 1) hours
		await send();

		// Kill billing while it is charging: some hours charged, not all.
		const expectedHours = ENVS * (HOURS + 1);
		const charged = await waitUntil(
			async () => {
				const n = await entries("charge");
				return n > 20 && n;
			},
			30_000,
			5,
		);
		await billing.stop("SIGKILL");
		// Tell the main broker now rather than after the heartbeat timeout (its clock broadcast would wait for the dead node).
		(p.broker.registry as unknown as { nodes: { disconnected(id: string, unexpected: boolean): void } }).nodes.disconnected(`billing-${starts}`, true);
		expect(charged).toBeLessThan(expectedHours);
		await send(); // and a third time, while billing is down

		await startBilling();
		await waitUntil(async () => (await entries("charge")) === expectedHours, 60_000, 100);
		await p.broker.call("gateway.runJob", { name: "metering.close-hours" });
		await p.broker.call("gateway.runJob", { name: "billing.charge" });

		// What the hours cost, rated from metering's own records.
		const metering = p.broker.getLocalService("metering") as unknown as { db: { env_hours: { find(q: object): Promise<{ record?: UsageRecord }[]> } } };
		const records = (await metering.db.env_hours.find({ closed: true })).map(d => d.record as UsageRecord);
		expect(records).toHaveLength(expectedHours);
		const expected = records.reduce(
			(a, r) =>
				a +
				rateEnvHour(
					{
						running: r.running,
						subscription: r.subscription,
						ssl: r.ssl,
						previousMonthTrafficGB: "0",
						nodes: r.nodes.map(n => ({ ...n, trafficMB: n.trafficInMB + n.trafficOutMB })),
					},
					DEFAULT_PRICES,
				).total,
			0,
		);
		expect(expected).toBeGreaterThan(0);
		const [rec] = await ledger();
		expect(rec.ok).toBe(true);
		expect(rec.pending).toBe(0);
		// 10.00 trial bonus, minus exactly what the hours cost.
		expect(rec.ledger.main + rec.ledger.bonus).toBe(10_000_000 - expected);
		expect(await entries("charge")).toBe(expectedHours);
		expect(await entries("correction")).toBe(0);
	});
});
