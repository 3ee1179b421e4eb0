// Ingestion cut short by a crash (MTR-1, NFR-3): a batch that stored its samples and claimed their
// ids but died before folding them, and one that died after folding but before it was marked
// done. The close-hours job folds both again: each sample counts exactly once — the first is not
// lost (a resend only finds duplicates), the second is not counted twice.
import type { Sample } from "../../services/metering/samples";
import { waitUntil } from "../helpers/http";
import { startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "recovery-ops@example.com", password: "Recover-the-batch-7!" };
const T0 = Date.parse("2026-12-03T10:00:00Z");

interface MeteringInternals {
	db: {
		ingest_batches: { insert(d: object): Promise<unknown>; findById(id: string): Promise<{ state: string } | null> };
		samples: { insertMany(d: object[]): Promise<number[]> };
	};
	fold(batch: string, samples: Sample[]): Promise<void>;
}

describe("metering recovers batches a crash left open", () => {
	let p: Platform;
	let admin: string;
	let env: { id: string; nodes: { nodeIds: string[] }[] };
	let m: MeteringInternals;

	const setClock = (ms: number) => p.broker.call("gateway.setClock", { now: new Date(ms).toISOString() });
	const samplesInHour = async () => {
		const r = await p.http.get(`/environments/${env.id}/usage?from=${new Date(T0).toISOString()}&to=${new Date(T0 + 3_600_000).toISOString()}`, {
			token: admin,
		});
		return (r.body.hours[0]?.nodes ?? []).reduce((a: number, n: { samples: number }) => a + n.samples, 0);
	};
	const sample = (id: string, minute: number): Sample => ({
		id,
		envId: env.id,
		nodeId: env.nodes[0].nodeIds[0],
		time: T0 + minute * 60_000,
		ramMiB: 256,
		cpuMHz: 100,
		diskMB: 10,
		trafficInMB: 1,
		trafficOutMB: 1,
	});
	// What a batch has written when the process dies: itself, with its samples, and their claimed ids.
	const crashedBatch = async (batch: string, list: Sample[]) => {
		await m.db.ingest_batches.insert({
			_id: batch,
			state: "open",
			samples: list,
			createdAt: new Date(T0 + 20 * 60_000),
			expiresAt: new Date(T0 + 7 * 86_400_000),
		});
		await m.db.samples.insertMany(list.map(s => ({ _id: s.id, batch, expiresAt: new Date(T0 + 40 * 86_400_000) })));
	};

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_TEST_CLOCK: "1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		await setClock(T0 + 20 * 60_000);
		admin = await waitUntil(async () => {
			const r = await p.http.post("/auth/signin", ADMIN);
			return r.status === 200 && (r.body.session as string);
		});
		env = (
			await p.http.post("/environments", { name: "recovered", nodes: [{ layer: "cp", type: "x", reservedCloudlets: 1, scalingLimit: 4 }] }, { token: admin })
		).body;
		m = p.broker.getLocalService("metering") as unknown as MeteringInternals;
	});
	afterAll(() => p?.stop());

	it("folds a batch that died before folding, once; a resend meanwhile finds only duplicates", async () => {
		await crashedBatch("crashed-early", [sample("r-1", 1), sample("r-2", 2)]);
		const resend = await p.http.post(
			"/metering/usage",
			{ samples: [sample("r-1", 1), sample("r-2", 2)].map(s => ({ ...s, time: new Date(s.time).toISOString() })) },
			{ token: admin },
		);
		expect(resend.body).toEqual({ accepted: 0, duplicates: 2, rejected: [] });
		expect(await samplesInHour()).toBe(0);

		// Within a minute the batch may still be running: left alone. After it, folded.
		await p.broker.call("gateway.runJob", { name: "metering.close-hours" });
		expect(await samplesInHour()).toBe(0);
		await setClock(T0 + 22 * 60_000);
		await p.broker.call("gateway.runJob", { name: "metering.close-hours" });
		await p.broker.call("gateway.runJob", { name: "metering.close-hours" });
		expect(await samplesInHour()).toBe(2);
		expect((await m.db.ingest_batches.findById("crashed-early"))?.state).toBe("done");
	});

	it("does not count twice a batch that died after folding", async () => {
		const list = [sample("r-3", 3), sample("r-4", 4), sample("r-5", 5)];
		await crashedBatch("crashed-late", list);
		await m.fold("crashed-late", list); // folded, then the process died before marking it done
		expect(await samplesInHour()).toBe(5);
		await setClock(T0 + 25 * 60_000);
		await p.broker.call("gateway.runJob", { name: "metering.close-hours" });
		expect(await samplesInHour()).toBe(5);
		expect((await m.db.ingest_batches.findById("crashed-late"))?.state).toBe("done");
	});
});
