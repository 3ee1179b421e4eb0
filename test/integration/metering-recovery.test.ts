// Ingestion cut short by a crash (MTR-1, NFR-3). An accepted batch is stored open, with its
// samples, and has claimed their ids before the request is answered; its samples reach their
// hours a moment later, and then it is closed. A batch that died before its hours took it, and
// one that died after but before it was closed, are folded again: each sample counts exactly
// once — the first is not lost (a resend only finds duplicates), the second is not counted twice.
// One way on every store: at start, the batches a previous run left open; while running, those
// open for over a minute (another replica died).
//
// Clocks: a batch is stale at once when it was created before this process started (real time
// here, until a test sets the clock), so the restarts run in an hour before now, and the tests of
// the minute's wait in an hour after it.
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { claims, openBatch } from "../../services/metering/batches";
import { PendingHours, type PendingHour } from "../../services/metering/pending";
import type { Sample } from "../../services/metering/samples";
import { addToHour, fold, type MeteringStores } from "../../services/metering/store";
import { signInWhenReady } from "../helpers/http";
import { ownDatabase, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "recovery-ops@example.com", password: "Recover-the-batch-7!" };
const HOUR = 3_600_000;
const PAST = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;
const FUTURE = Math.floor(Date.now() / HOUR) * HOUR + 24 * HOUR;

interface MeteringInternals {
	db: MeteringStores;
	writeHours(hours: PendingHour[]): Promise<void>;
}

/** `part`: the describe's own database on the MongoDB leg, where DATA_DIR is not used. */
async function start(dataDir: string, T0: number, part: string) {
	const p = await startPlatform({
		env: { DATA_DIR: dataDir, QM_TEST_CLOCK: "1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password, ...ownDatabase(part) },
	});
	await p.broker.call("gateway.setClock", { now: new Date(T0 + 20 * 60_000).toISOString() });
	const admin = await signInWhenReady(p.http, ADMIN);
	return { p, admin, m: p.broker.getLocalService("metering") as unknown as MeteringInternals };
}

async function newEnv(p: Platform, admin: string, name = "recovered") {
	const r = await p.http.post("/environments", { name, nodes: [{ layer: "cp", type: "x", reservedCloudlets: 1, scalingLimit: 4 }] }, { token: admin });
	return r.body as { id: string; nodes: { nodeIds: string[] }[] };
}

const sampleOf =
	(env: { id: string; nodes: { nodeIds: string[] }[] }, T0: number) =>
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

async function samplesInHour(p: Platform, admin: string, envId: string, T0: number) {
	const r = await p.http.get(`/environments/${envId}/usage?from=${new Date(T0).toISOString()}&to=${new Date(T0 + 3_600_000).toISOString()}`, { token: admin });
	if (!r.body.hours) throw new Error(`usage answered ${r.status}: ${r.text.slice(0, 300)}`);
	return (r.body.hours[0]?.nodes ?? []).reduce((a: number, n: { samples: number }) => a + n.samples, 0) as number;
}

describe("metering started again folds, once, the batches a crash left open", () => {
	const dir = mkdtempSync(join(tmpdir(), "qm-metering-recovery-"));
	afterAll(() => rmSync(dir, { recursive: true, force: true }));
	const T0 = PAST;

	it("folds a batch that died before its hours took it, once, and one that died after, not again; resent samples are duplicates", async () => {
		let { p, admin, m } = await start(dir, T0, "restarts");
		const env = await newEnv(p, admin);
		const sample = sampleOf(env, T0);
		const inHour = () => samplesInHour(p, admin, env.id, T0);
		const early = [sample("r-1", 1), sample("r-2", 2)];
		const late = [sample("r-3", 3), sample("r-4", 4), sample("r-5", 5)];
		// The process dies after the hours took this batch, before closing it...
		m.writeHours = hours => Promise.all(hours.map(h => addToHour(m.db.env_hours, h.batches, h.envId, h.hour, h.nodes))).then(() => undefined);
		expect((await p.http.post("/metering/usage", { samples: asPosted(late) }, { token: admin })).body.accepted).toBe(3);
		expect(await inHour()).toBe(3);
		// ...and before the hours took this one.
		m.writeHours = async () => undefined;
		expect((await p.http.post("/metering/usage", { samples: asPosted(early) }, { token: admin })).body.accepted).toBe(2);
		const open = (await m.db.ingest_batches.find({ open: true })).map(b => b._id);
		expect(open).toHaveLength(2);
		await p.stop();

		({ p, admin, m } = await start(dir, T0, "restarts")); // no job runs: the start folds them
		try {
			expect(await inHour()).toBe(5);
			for (const id of open) expect((await m.db.ingest_batches.findById(id))?.open).toBeUndefined();
			const resend = await p.http.post("/metering/usage", { samples: asPosted([...early, ...late]) }, { token: admin });
			expect(resend.body).toEqual({ accepted: 0, duplicates: 5, rejected: [] });

			// Accepted samples are stored before the answer: a process stopped at once keeps them.
			const fresh = await p.http.post("/metering/usage", { samples: asPosted([sample("r-6", 6)]) }, { token: admin });
			expect(fresh.body).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
		} finally {
			await p.stop();
		}
		({ p, admin, m } = await start(dir, T0, "restarts"));
		try {
			expect(await inHour()).toBe(6);
			const again = await p.http.post("/metering/usage", { samples: asPosted([sample("r-6", 6), sample("r-1", 1)]) }, { token: admin });
			expect(again.body).toEqual({ accepted: 0, duplicates: 2, rejected: [] });
		} finally {
			await p.stop();
		}
	});
});

describe("metering folds the batches another replica left open, after a minute", () => {
	const T0 = FUTURE;
	let p: Platform;
	let admin: string;
	let m: MeteringInternals;
	let sample: (id: string, minute: number) => Sample;
	let envId: string;

	const setClock = (ms: number) => p.broker.call("gateway.setClock", { now: new Date(ms).toISOString() });
	// What a batch has written when the process dies: itself, with its samples, and their claimed ids.
	const crashedBatch = async (batch: string, list: Sample[]) => {
		await m.db.ingest_batches.insert(openBatch(batch, list, new Date(T0 + 20 * 60_000)));
		await m.db.samples.insertMany(claims(batch, list, new Date(T0 + 20 * 60_000)));
	};

	beforeAll(async () => {
		({ p, admin, m } = await start(":memory:shared", T0, "replicas"));
		const env = await newEnv(p, admin);
		envId = env.id;
		sample = sampleOf(env, T0);
	});
	afterAll(() => p?.stop());

	it("folds a batch that died before folding, once, after a minute; a resend meanwhile finds only duplicates", async () => {
		await crashedBatch("crashed-early", [sample("s-1", 1), sample("s-2", 2)]);
		const resend = await p.http.post("/metering/usage", { samples: asPosted([sample("s-1", 1), sample("s-2", 2)]) }, { token: admin });
		expect(resend.body).toEqual({ accepted: 0, duplicates: 2, rejected: [] });
		expect(await samplesInHour(p, admin, envId, T0)).toBe(0);

		// Within a minute the batch may still be running on another replica: left alone. After it, folded.
		await p.broker.call("gateway.runJob", { name: "metering.close-hours" });
		expect(await samplesInHour(p, admin, envId, T0)).toBe(0);
		await setClock(T0 + 22 * 60_000);
		await p.broker.call("gateway.runJob", { name: "metering.close-hours" });
		await p.broker.call("gateway.runJob", { name: "metering.close-hours" });
		expect(await samplesInHour(p, admin, envId, T0)).toBe(2);
		expect((await m.db.ingest_batches.findById("crashed-early"))?.open).toBeUndefined();
	});

	it("does not count twice a batch that died after folding", async () => {
		const list = [sample("s-3", 3), sample("s-4", 4), sample("s-5", 5)];
		await crashedBatch("crashed-late", list);
		await fold(m.db, "crashed-late", list);
		expect(await samplesInHour(p, admin, envId, T0)).toBe(5);
		await setClock(T0 + 25 * 60_000);
		await p.broker.call("gateway.runJob", { name: "metering.close-hours" });
		expect(await samplesInHour(p, admin, envId, T0)).toBe(5);
		expect((await m.db.ingest_batches.findById("crashed-late"))?.open).toBeUndefined();
	});

	it("writes an hour that a recovery on another replica partly took batch by batch, each once", async () => {
		const first = [sample("s-6", 6), sample("s-7", 7)];
		const second = [sample("s-8", 8)];
		await crashedBatch("raced-1", first);
		await crashedBatch("raced-2", second);
		// Another replica's recovery folded raced-1 into the hour; this replica still holds both in memory.
		await fold(m.db, "raced-1", first);
		const pending = new PendingHours();
		pending.add("raced-1", first);
		pending.add("raced-2", second);
		const hours = pending.take();
		expect(hours.map(h => h.batches)).toEqual([["raced-1", "raced-2"]]);
		await expect(addToHour(m.db.env_hours, hours[0].batches, hours[0].envId, hours[0].hour, hours[0].nodes)).rejects.toThrow(/took 1 of 2 batches/);
		await m.writeHours(hours);
		expect(await samplesInHour(p, admin, envId, T0)).toBe(8);
		expect((await m.db.ingest_batches.findById("raced-2"))?.open).toBeUndefined();
		await m.writeHours(pending.take()); // nothing left
		expect(await samplesInHour(p, admin, envId, T0)).toBe(8);
	});
});

describe("metering", () => {
	const T0 = FUTURE;
	it("drops from an hour the keys of batches that can never be folded again, at the hour's next write", async () => {
		const { p, admin, m } = await start(":memory:", T0, "hours");
		try {
			const env = await newEnv(p, admin, "many-batches");
			const sample = sampleOf(env, T0);
			const keysOfHour = async () => Object.keys((await m.db.env_hours.findById(`${env.id}:${T0}`))?.batches ?? {});
			// Reading the usage writes what is waiting first: one write of the hour per batch here.
			for (let i = 1; i <= 5; i++) {
				const r = await p.http.post("/metering/usage", { samples: asPosted([sample(`k-${i}`, i)]) }, { token: admin });
				expect(r.body.accepted).toBe(1);
				expect(await samplesInHour(p, admin, env.id, T0)).toBe(i);
				// The batch just written stays recorded (it is retired only once written); the ones before are gone.
				expect(await keysOfHour()).toHaveLength(1);
			}
		} finally {
			await p.stop();
		}
	});
});
