// Ingestion cut short by a crash (MTR-1, NFR-3). An accepted batch is stored, with its samples,
// before the request is answered; its samples reach their hours a moment later. A batch that died
// before that, and one that died after its hours took it but before it was marked done, are
// folded again: each sample counts exactly once — the first is not lost (a resend only finds
// duplicates), the second is not counted twice. Both ways metering stores batches: in its log
// when the process owns its files (NeDB), as documents when replicas share a store.
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { BatchLog } from "../../services/metering/batch-log";
import { encodeRows, PendingHours, type NodeBucket } from "../../services/metering/pending";
import type { Sample } from "../../services/metering/samples";
import { waitUntil } from "../helpers/http";
import { startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "recovery-ops@example.com", password: "Recover-the-batch-7!" };
const T0 = Date.parse("2026-12-03T10:00:00Z");

interface MeteringInternals {
	db: {
		ingest_batches: { insert(d: object): Promise<unknown>; findById(id: string): Promise<{ open?: boolean } | null> };
		samples: { insertMany(d: object[]): Promise<number[]> };
		env_hours: { findById(id: string): Promise<{ batches?: Record<string, 1> } | null> };
	};
	fold(batch: string, samples: Sample[]): Promise<void>;
	addToHour(batches: string[], envId: string, hour: number, nodes: Map<string, NodeBucket>): Promise<void>;
	writeHours(hours: ReturnType<PendingHours["take"]>): Promise<void>;
}

async function start(dataDir: string) {
	const p = await startPlatform({ env: { DATA_DIR: dataDir, QM_TEST_CLOCK: "1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
	await p.broker.call("gateway.setClock", { now: new Date(T0 + 20 * 60_000).toISOString() });
	const admin = await waitUntil(async () => {
		const r = await p.http.post("/auth/signin", ADMIN);
		return r.status === 200 && (r.body.session as string);
	});
	return { p, admin, m: p.broker.getLocalService("metering") as unknown as MeteringInternals };
}

async function newEnv(p: Platform, admin: string, name = "recovered") {
	const r = await p.http.post("/environments", { name, nodes: [{ layer: "cp", type: "x", reservedCloudlets: 1, scalingLimit: 4 }] }, { token: admin });
	return r.body as { id: string; nodes: { nodeIds: string[] }[] };
}

const sampleOf =
	(env: { id: string; nodes: { nodeIds: string[] }[] }) =>
	(id: string, minute: number): Sample => ({
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

const asPosted = (list: Sample[]) => list.map(s => ({ ...s, time: new Date(s.time).toISOString() }));

async function samplesInHour(p: Platform, admin: string, envId: string) {
	const r = await p.http.get(`/environments/${envId}/usage?from=${new Date(T0).toISOString()}&to=${new Date(T0 + 3_600_000).toISOString()}`, { token: admin });
	return (r.body.hours[0]?.nodes ?? []).reduce((a: number, n: { samples: number }) => a + n.samples, 0) as number;
}

describe("metering that owns its files recovers, when it starts again, the batches a crash left open", () => {
	const dir = mkdtempSync(join(tmpdir(), "qm-metering-recovery-"));
	afterAll(() => rmSync(dir, { recursive: true, force: true }));

	it("folds a batch that died before its hours took it, once, and one that died after, not again; resent samples are duplicates", async () => {
		let { p, admin, m } = await start(dir);
		const env = await newEnv(p, admin);
		const sample = sampleOf(env);
		const early = [sample("r-1", 1), sample("r-2", 2)];
		const late = [sample("r-3", 3), sample("r-4", 4), sample("r-5", 5)];
		await m.fold("crashed-late", late); // its hour took it; the process died before marking it done
		expect(await samplesInHour(p, admin, env.id)).toBe(3);
		await p.stop();
		// What the log held when the process died: both batches, neither marked done.
		const log = new BatchLog(join(dir, "metering-log"));
		log.load();
		for (const [batch, list] of [
			["crashed-early", early],
			["crashed-late", late],
		] as const) {
			await log.append({ batch, createdAt: T0 + 20 * 60_000, ids: list.map(s => s.id).join(","), rows: encodeRows(list) });
		}
		await log.close();

		({ p, admin, m } = await start(dir));
		try {
			expect(await samplesInHour(p, admin, env.id)).toBe(5);
			const resend = await p.http.post("/metering/usage", { samples: asPosted([...early, ...late]) }, { token: admin });
			expect(resend.body).toEqual({ accepted: 0, duplicates: 5, rejected: [] });

			// Accepted samples are on disk before the answer: a process stopped at once keeps them.
			const fresh = await p.http.post("/metering/usage", { samples: asPosted([sample("r-6", 6)]) }, { token: admin });
			expect(fresh.body).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
		} finally {
			await p.stop();
		}
		({ p, admin, m } = await start(dir));
		try {
			expect(await samplesInHour(p, admin, env.id)).toBe(6);
			const again = await p.http.post("/metering/usage", { samples: asPosted([sample("r-6", 6), sample("r-1", 1)]) }, { token: admin });
			expect(again.body).toEqual({ accepted: 0, duplicates: 2, rejected: [] });
		} finally {
			await p.stop();
		}
	});
});

describe("metering replicas sharing a store recover the batches a crash left open", () => {
	let p: Platform;
	let admin: string;
	let m: MeteringInternals;
	let sample: (id: string, minute: number) => Sample;
	let envId: string;

	const setClock = (ms: number) => p.broker.call("gateway.setClock", { now: new Date(ms).toISOString() });
	// What a batch has written when the process dies: itself, with its samples, and their claimed ids.
	const crashedBatch = async (batch: string, list: Sample[]) => {
		await m.db.ingest_batches.insert({
			_id: batch,
			open: true,
			ids: list.map(s => s.id).join(","),
			rows: encodeRows(list).toString("base64"),
			createdAt: new Date(T0 + 20 * 60_000),
			expiresAt: new Date(T0 + 7 * 86_400_000),
		});
		await m.db.samples.insertMany(list.map(s => ({ _id: s.id, batch, expiresAt: new Date(T0 + 40 * 86_400_000) })));
	};

	beforeAll(async () => {
		({ p, admin, m } = await start(":memory:shared"));
		const env = await newEnv(p, admin);
		envId = env.id;
		sample = sampleOf(env);
	});
	afterAll(() => p?.stop());

	it("folds a batch that died before folding, once, after a minute; a resend meanwhile finds only duplicates", async () => {
		await crashedBatch("crashed-early", [sample("s-1", 1), sample("s-2", 2)]);
		const resend = await p.http.post("/metering/usage", { samples: asPosted([sample("s-1", 1), sample("s-2", 2)]) }, { token: admin });
		expect(resend.body).toEqual({ accepted: 0, duplicates: 2, rejected: [] });
		expect(await samplesInHour(p, admin, envId)).toBe(0);

		// Within a minute the batch may still be running on another replica: left alone. After it, folded.
		await p.broker.call("gateway.runJob", { name: "metering.close-hours" });
		expect(await samplesInHour(p, admin, envId)).toBe(0);
		await setClock(T0 + 22 * 60_000);
		await p.broker.call("gateway.runJob", { name: "metering.close-hours" });
		await p.broker.call("gateway.runJob", { name: "metering.close-hours" });
		expect(await samplesInHour(p, admin, envId)).toBe(2);
		expect((await m.db.ingest_batches.findById("crashed-early"))?.open).toBeUndefined();
	});

	it("does not count twice a batch that died after folding", async () => {
		const list = [sample("s-3", 3), sample("s-4", 4), sample("s-5", 5)];
		await crashedBatch("crashed-late", list);
		await m.fold("crashed-late", list);
		expect(await samplesInHour(p, admin, envId)).toBe(5);
		await setClock(T0 + 25 * 60_000);
		await p.broker.call("gateway.runJob", { name: "metering.close-hours" });
		expect(await samplesInHour(p, admin, envId)).toBe(5);
		expect((await m.db.ingest_batches.findById("crashed-late"))?.open).toBeUndefined();
	});

	it("writes an hour that a recovery on another replica partly took batch by batch, each once", async () => {
		const first = [sample("s-6", 6), sample("s-7", 7)];
		const second = [sample("s-8", 8)];
		await crashedBatch("raced-1", first);
		await crashedBatch("raced-2", second);
		// Another replica's recovery folded raced-1 into the hour; this replica still holds both in memory.
		await m.fold("raced-1", first);
		const pending = new PendingHours();
		pending.add("raced-1", first);
		pending.add("raced-2", second);
		const hours = pending.take();
		expect(hours.map(h => h.batches)).toEqual([["raced-1", "raced-2"]]);
		await expect(m.addToHour(hours[0].batches, hours[0].envId, hours[0].hour, hours[0].nodes)).rejects.toThrow(/took 1 of 2 batches/);
		await m.writeHours(hours);
		expect(await samplesInHour(p, admin, envId)).toBe(8);
		expect((await m.db.ingest_batches.findById("raced-2"))?.open).toBeUndefined();
		await m.writeHours(pending.take()); // nothing left
		expect(await samplesInHour(p, admin, envId)).toBe(8);
	});
});

describe.each([
	["owns its store", ":memory:"],
	["shares a store with replicas", ":memory:shared"],
])("metering that %s", (_name, dataDir) => {
	it("drops from an hour the keys of batches that can never be folded again, at the hour's next write", async () => {
		const { p, admin, m } = await start(dataDir);
		try {
			const env = await newEnv(p, admin, "many-batches");
			const sample = sampleOf(env);
			const keysOfHour = async () => Object.keys((await m.db.env_hours.findById(`${env.id}:${T0}`))?.batches ?? {});
			// Reading the usage writes what is waiting first: one write of the hour per batch here.
			for (let i = 1; i <= 5; i++) {
				const r = await p.http.post("/metering/usage", { samples: asPosted([sample(`k-${dataDir}-${i}`, i)]) }, { token: admin });
				expect(r.body.accepted).toBe(1);
				expect(await samplesInHour(p, admin, env.id)).toBe(i);
				// The batch just written stays recorded (it is retired only once written); the ones before are gone.
				expect(await keysOfHour()).toHaveLength(1);
			}
		} finally {
			await p.stop();
		}
	});
});
