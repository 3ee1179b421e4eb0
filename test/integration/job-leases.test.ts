// Job leases (mixins/jobs.mixin.ts) when their holder died: a lease left by a process of this host
// whose pid is gone is taken over at once, one left by another host once its heartbeat is older
// than the stale limit, and a run that goes on keeps its lease by its heartbeat. Timings are
// shrunk (heartbeat 50 ms, stale after 400 ms) so that minutes become a second.
import { spawn } from "child_process";
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { ServiceBroker } from "moleculer";
import type { Store } from "../../mixins/db.mixin";
import { createJobsMixin, holderIsDead, LEASE_HEARTBEAT_MS, LEASE_HOST, LEASE_STALE_MS } from "../../mixins/jobs.mixin";
import { startPlatform, type Platform } from "../helpers/platform";

const HEARTBEAT_MS = 50;
const STALE_MS = 400;
const LEASES = "leasetest_job_leases";
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

type Outcome = { job: string; processed: number; skipped?: boolean };
type Svc = { db: Record<string, Store>; runJob(name: string, tick?: Date): Promise<Outcome> };

/** The pid of a process of this host that has exited. */
async function deadPid(): Promise<number> {
	const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
	await new Promise(r => child.on("exit", r));
	return child.pid!;
}

const tmp = mkdtempSync(join(tmpdir(), "qm-leases-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.each([
	["SQLite in memory", ":memory:"],
	["SQLite files", join(tmp, "files")],
])("job leases of a dead holder, on %s", (_name, dataDir) => {
	let broker: ServiceBroker;
	let svc: Svc;
	let runs = 0;
	let runMs = 0;

	beforeAll(async () => {
		process.env.DATA_DIR = dataDir;
		delete process.env.MONGO_URI;
		process.env.QM_JOBS = "off";
		broker = new ServiceBroker({ logger: false });
		svc = broker.createService({
			name: "leasetest",
			mixins: [createJobsMixin("leasetest", { heartbeatMs: HEARTBEAT_MS, staleMs: STALE_MS })],
			jobs: {
				work: {
					cron: "0 0 1 1 *",
					async handler() {
						runs++;
						await sleep(runMs);
						return runs;
					},
				},
			},
		} as never) as unknown as Svc;
		await broker.start();
	});
	afterAll(() => broker?.stop());
	beforeEach(() => {
		runMs = 0;
	});

	/**
	 * The row a process killed in the middle of `work` leaves behind, written to the store here
	 * because a killed process leaves exactly this row: its holder, its last heartbeat, and an
	 * `until` ten minutes on that it never released.
	 */
	async function leftByKilledProcess(holder: string, heartbeatAgoMs: number) {
		const now = Date.now();
		const until = new Date(now + 10 * 60_000);
		await svc.db[LEASES].updateOne(
			{ _id: "work" },
			{ $set: { holder, heartbeatAt: new Date(now - heartbeatAgoMs), until, expiresAt: new Date(until.getTime() + 86_400_000) } },
			{ upsert: true },
		);
	}

	/** Two runs at once; the job lasts long enough that the loser's attempt falls inside the winner's run. */
	const runTwice = async () => {
		runMs = 100;
		const both = await Promise.allSettled([svc.runJob("work"), svc.runJob("work")]);
		return both.map(r => (r.status === "fulfilled" ? "ran" : (r.reason as { type?: string }).type)).sort();
	};

	it("takes over at once a lease whose holder on this host has a dead pid (a restart after kill -9)", async () => {
		const pid = await deadPid();
		const holder = `${LEASE_HOST}:${pid}:k9run`;
		expect(holderIsDead(holder)).toBe(true);
		await leftByKilledProcess(holder, 0); // its heartbeat is fresh: only the dead pid tells
		const before = runs;
		expect(await runTwice()).toEqual(["CONFLICT", "ran"]); // one taker wins
		expect(runs).toBe(before + 1);
		expect((await svc.runJob("work")).processed).toBe(before + 2); // and released it
	});

	it("two runs at once while the store answers its writes late (MongoDB over a network): one runs, the other is refused", async () => {
		// The lease is written before its answer comes back: the second run reads the first's holder
		// in that gap, and must see it alive (it was taken for dead, and both ran).
		const leases = svc.db[LEASES];
		await leases.remove({ _id: "work" }); // never run: both runs insert it, the second reads the first's
		const { updateOne, insert } = leases;
		const late =
			<A extends unknown[], R>(write: (...args: A) => Promise<R>) =>
			async (...args: A) => {
				const written = await write.apply(leases, args);
				await sleep(30);
				return written;
			};
		Object.assign(leases, { updateOne: late(updateOne), insert: late(insert) });
		try {
			const before = runs;
			expect(await runTwice()).toEqual(["CONFLICT", "ran"]);
			expect(runs).toBe(before + 1);
		} finally {
			Object.assign(leases, { updateOne, insert });
		}
	});

	it("does not take over a fresh lease of a live process of this host", async () => {
		const holder = `${LEASE_HOST}:${process.ppid}:alive1`;
		expect(holderIsDead(holder)).toBe(false);
		await leftByKilledProcess(holder, 0);
		await expect(svc.runJob("work")).rejects.toMatchObject({ type: "CONFLICT", code: 409 });
		expect((await svc.runJob("work", new Date("2026-06-01T00:00:00Z"))).skipped).toBe(true); // a scheduled tick skips it
	});

	it("takes over a lease of another host once its heartbeat is older than the stale limit, not before", async () => {
		const holder = "elsewhere.example:4242:other1";
		expect(holderIsDead(holder)).toBe(false); // another host's pid means nothing here
		await leftByKilledProcess(holder, STALE_MS / 4);
		await expect(svc.runJob("work")).rejects.toMatchObject({ type: "CONFLICT", code: 409 });

		await leftByKilledProcess(holder, STALE_MS + 50);
		const before = runs;
		expect(await runTwice()).toEqual(["CONFLICT", "ran"]);
		expect(runs).toBe(before + 1);
		const row = await svc.db[LEASES].findById("work");
		expect(row!.holder).not.toBe(holder);
		expect(new Date(row!.until as Date).getTime()).toBe(0); // released by its new holder
	});

	it("keeps the lease of a run longer than the stale limit by its heartbeat", async () => {
		runMs = 4 * STALE_MS;
		const before = runs;
		const long = svc.runJob("work");
		await sleep(50);
		const first = await svc.db[LEASES].findById("work");
		for (let waited = 0; waited < 3 * STALE_MS; waited += STALE_MS / 2) {
			await sleep(STALE_MS / 2);
			await expect(svc.runJob("work")).rejects.toMatchObject({ type: "CONFLICT" });
		}
		const renewed = await svc.db[LEASES].findById("work");
		expect(renewed!.holder).toBe(first!.holder);
		expect(new Date(renewed!.heartbeatAt as Date).getTime()).toBeGreaterThan(new Date(first!.heartbeatAt as Date).getTime() + STALE_MS);
		expect(Date.now() - new Date(renewed!.heartbeatAt as Date).getTime()).toBeLessThan(STALE_MS);
		expect((await long).processed).toBe(before + 1);
		expect(runs).toBe(before + 1);
	});
});

// Issue 14 item 8, with the deployment's own timings: after a kill -9 mid-job on another host,
// `billing.charge` answers 409 while the dead holder's last heartbeat is fresh, and runs again
// once it is LEASE_STALE_MS (30 s) old — the next minute's tick, not ten minutes on.
describe("a dead holder's lease of billing.charge, with the deployment's timings", () => {
	let p: Platform;
	beforeAll(async () => {
		p = await startPlatform();
	});
	afterAll(() => p?.stop());

	async function killedMidJob(heartbeatAgoMs: number) {
		const leases = (p.broker.getLocalService("billing") as unknown as { db: Record<string, Store> }).db.billing_job_leases;
		const now = Date.now();
		const until = new Date(now + 10 * 60_000); // the default leaseMs it never released
		const row = {
			holder: "crashed-host.example:77:run1",
			heartbeatAt: new Date(now - heartbeatAgoMs),
			until,
			expiresAt: new Date(until.getTime() + 86_400_000),
		};
		await leases.updateOne({ _id: "charge" }, { $set: row }, { upsert: true });
	}

	it("is taken over within 60 s: the stale limit is at most 30 s and a heartbeat beats well within it", async () => {
		expect(LEASE_STALE_MS).toBeLessThanOrEqual(30_000);
		expect(LEASE_HEARTBEAT_MS * 3).toBeLessThanOrEqual(LEASE_STALE_MS);
		await killedMidJob(5_000);
		await expect(p.broker.call("billing.runJob", { job: "charge" })).rejects.toMatchObject({ code: 409 });
		await killedMidJob(31_000); // half a minute after the kill
		expect(await p.broker.call("billing.runJob", { job: "charge" })).toMatchObject({ job: "billing.charge", processed: 0 });
	});
});
