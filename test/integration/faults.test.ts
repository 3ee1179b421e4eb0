// Faults on the production path (issue 13, NFR-3): two billing and two metering replicas, one
// process for the rest and a gateway, over a NATS server of this test's own (JetStream on, its
// store in a temporary directory) and one MongoDB store (MONGO_URI). Usage samples of several
// environments are streamed through the gateway, hour by simulated hour; mid-stream one metering
// replica is killed with SIGKILL and started again, then one billing replica right after the
// hours it charges are published, then the NATS server itself (SIGKILL, started again on the
// same port with the same store directory). Afterwards, read through the API (and the ledger's
// keys from the store): every sample counted once (none lost, none twice), every
// environment-hour charged once at revision 1 (no second charge, no correction), the total the
// samples sent rate to, and balance = Σ ledger. Then, without faults, an hour closed at once while
// the other metering replica still holds some of its samples in memory is charged once too.
import { spawn, spawnSync, type ChildProcess } from "child_process";
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { createConnection } from "net";
import { tmpdir } from "os";
import { join } from "path";
import { MongoClient } from "mongodb";
import { rateEnvHour } from "../../services/billing/rating";
import { DEFAULT_PRICES } from "../../services/billing/tariffs";
import { api, waitUntil, type Api } from "../helpers/http";
import { addCustomer, checkLedger, micros, type Customer, type Sample } from "../helpers/metered";
import { freePort, ROOT, spawnQm, type QmProcess } from "../helpers/processes";

const mongoUri = process.env.MONGO_URI;
const natsMissing = spawnSync("nats-server", ["--version"]).error !== undefined;
const skipReason = !mongoUri
	? "Fault test skipped: set MONGO_URI to run it (the replicas share a MongoDB store; npm run test:mongo starts FerretDB)"
	: natsMissing
		? "Fault test skipped: nats-server is not installed (the test starts and restarts a NATS server of its own)"
		: undefined;
if (skipReason) console.warn(skipReason);

const ADMIN = { email: "faults-ops@example.com", password: "Kill-dash-nine-adm1n!" };
const PASSWORD = "Survives-a-crash-pa55!";
const HOUR = 3_600_000;
const MINUTE = 60_000;
// The next hour, as in replicas.test.ts: metering starts with the hour it first closes in (wall
// time here), so the environments are created in the hour before T0 and the clock only moves on.
const T0 = Math.floor(Date.now() / HOUR) * HOUR + HOUR;
const ENVS = 6;
const HOURS = 4;
/** samples per node and hour (one every 5 minutes) */
const PER_HOUR = 12;
const BATCH = 8;
const SENDERS = 3;
/** A request the gateway sent to a killed replica is given up on (and sent again) after this. */
const REQUEST_TIMEOUT_MS = 6000;
// Metering keeps the samples a replica took in memory for up to 5 s (FLUSH_MS). Until close-hours
// waited for the other replicas' (metering.service.ts, othersFlushed), an hour closed at once missed
// the samples another replica still held: they came in after its record was built and made a second
// revision — a correction — though nothing was late. The second test closes that way. The first
// one's clock moves 5 minutes between an hour's samples and its close, so a close finds the other
// replica's batches open for over a minute (stale) and folds them itself, which hid the defect.
const CLOCK_FILE = join(ROOT, "test", "integration", "fixtures", "faults-clock.js");
const CHARGES_FILE = join(ROOT, "test", "integration", "fixtures", "replica-charges.js");
const STARTED = /ServiceBroker with \d+ service\(s\) started/;

jest.setTimeout(240_000);

interface Env {
	id: string;
	nodes: { layer: string; nodeIds: string[]; reservedCloudlets: number; scalingLimit: number; publicIPv4: number }[];
}
interface IngestReply {
	accepted: number;
	duplicates: number;
	rejected: { index: number; type: string }[];
}
/** One process of the platform, and every run of it (a killed one is started again under the same node id). */
interface Replica {
	name: string;
	env: Record<string, string>;
	nodeArgs: string[];
	runs: QmProcess[];
}

// Within an hour, RAM and traffic vary per sample (peak and sum); CPU is the node's for the hour
// (so its average is exact). A sample counted twice adds traffic, one lost takes some away.
function samplesOfHour(envs: Env[], h: number): Sample[] {
	return envs.flatMap((e, i) =>
		e.nodes.flatMap((n, j) =>
			Array.from({ length: PER_HOUR }, (_, k) => ({
				id: `${e.id}-${j}-${h}-${k}`,
				envId: e.id,
				nodeId: n.nodeIds[0],
				time: new Date(T0 + h * HOUR + (5 * k + 2) * MINUTE).toISOString(),
				ramMiB: ((i * 7 + j * 5 + h * 3 + k) % 18) * 128,
				cpuMHz: ((i + j + h) % 5) * 400,
				diskMB: 1000 + 100 * i,
				trafficInMB: 1 + ((i + k) % 4),
				trafficOutMB: 1 + ((j + k) % 3),
			})),
		),
	);
}

/** What the hours cost, from the topology created and the samples sent: the hour before T0 (created, no samples), then HOURS hours. */
function expectedTotal(envs: Env[]): number {
	let total = 0;
	const byNodeHour = new Map<string, Sample[]>();
	for (let h = 0; h < HOURS; h++)
		for (const s of samplesOfHour(envs, h)) byNodeHour.set(`${s.nodeId}@${h}`, [...(byNodeHour.get(`${s.nodeId}@${h}`) ?? []), s]);
	for (const e of envs) {
		for (let h = -1; h < HOURS; h++) {
			const nodes = e.nodes.map(n => {
				const list = byNodeHour.get(`${n.nodeIds[0]}@${h}`) ?? [];
				return {
					nodeId: n.nodeIds[0],
					layer: n.layer,
					reservedCloudlets: n.reservedCloudlets,
					scalingLimit: n.scalingLimit,
					publicIPv4: n.publicIPv4,
					publicIPv6: 0,
					peakRamMiB: Math.max(0, ...list.map(s => s.ramMiB)),
					avgCpuMHz: list.length ? list[0].cpuMHz : 0,
					peakDiskMB: Math.max(0, ...list.map(s => s.diskMB)),
					trafficMB: list.reduce((a, s) => a + s.trafficInMB + s.trafficOutMB, 0),
				};
			});
			total += rateEnvHour({ running: true, subscription: false, ssl: false, previousMonthTrafficGB: "0", nodes }, DEFAULT_PRICES).total;
		}
	}
	return total;
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

(skipReason ? describe.skip : describe)("kill -9 of a billing and a metering replica and a NATS restart, mid-stream, on MongoDB", () => {
	const run = `${process.pid}-${Date.now()}`;
	// A database of this run's own beside MONGO_URI's, dropped at the end (as in replicas.test.ts).
	const databaseUri = (() => {
		const u = new URL(mongoUri ?? "mongodb://127.0.0.1/qm");
		u.pathname = `/${u.pathname.slice(1) || "qm"}_f${Date.now().toString(36)}`;
		return u.toString();
	})();
	const replicas: Replica[] = [];
	const byName = (name: string) => replicas.find(r => r.name === name)!;
	const current = (r: Replica) => r.runs[r.runs.length - 1];
	let dataDir: string;
	let natsDir: string;
	let natsPort: number;
	let nats: ChildProcess | null = null;
	let natsLog = "";
	let natsStarts = 0;
	let gw: Api;
	let gwBase: string;
	let admin: string;
	/** the platform clock minus the wall clock, handed to a process started again (fixtures/faults-clock.js) */
	let clockOffset = 0;
	const events: string[] = [];
	const note = (what: string) => {
		events.push(`${new Date().toISOString().slice(11, 23)} ${what}`);
		console.info(`faults: ${what}`);
	};

	const signin = async () => {
		const r = await gw.post("/auth/signin", ADMIN);
		if (r.status !== 200) throw new Error(`sign-in of the administrator answered ${r.status}: ${r.text.slice(0, 200)}`);
		return r.body.session as string;
	};

	const startNats = async () => {
		natsStarts++;
		let out = "";
		const proc = spawn("nats-server", ["-js", "-a", "127.0.0.1", "-p", String(natsPort), "-sd", natsDir], { stdio: ["ignore", "pipe", "pipe"] });
		proc.stdout!.on("data", d => (out += d));
		proc.stderr!.on("data", d => (out += d));
		proc.once("exit", () => (natsLog += `--- nats-server run ${natsStarts}\n${out}`));
		nats = proc;
		await waitUntil(async () => proc.exitCode !== null || /Server is ready/.test(out), 20_000, 50);
		if (proc.exitCode !== null) throw new Error(`nats-server exited with ${proc.exitCode}:\n${out}`);
		await new Promise<void>((resolve, reject) => {
			const sock = createConnection({ host: "127.0.0.1", port: natsPort });
			sock.once("connect", () => {
				sock.destroy();
				resolve();
			});
			sock.once("error", reject);
		});
	};
	const killNats = async () => {
		const proc = nats!;
		const exited = new Promise(r => proc.once("exit", r));
		proc.kill("SIGKILL");
		await exited;
		nats = null;
	};

	/** Starts a run of `r` and waits for its broker to say it started. */
	const launch = async (r: Replica) => {
		const p = spawnQm(`${r.name}#${r.runs.length + 1}`, { ...r.env, FAULTS_CLOCK_OFFSET_MS: String(clockOffset) }, r.nodeArgs);
		r.runs.push(p);
		await waitUntil(async () => p.proc.exitCode !== null || STARTED.test(p.output()), 60_000, 100).catch(err => {
			throw new Error(`${p.name} did not start: ${err}\n${p.output().slice(-1500)}`);
		});
		if (p.proc.exitCode !== null) throw new Error(`${p.name} exited with ${p.proc.exitCode}:\n${p.output().slice(-2000)}`);
	};
	const killAndRestart = async (name: string) => {
		const r = byName(name);
		await current(r).stop("SIGKILL");
		note(`${name} killed (SIGKILL)`);
		await launch(r);
		note(`${name} started again`);
	};
	const restartNats = async () => {
		await killNats();
		note("nats-server killed (SIGKILL)");
		await sleep(500);
		await startNats();
		note("nats-server started again (same port, same store directory)");
	};

	/** Every process (each live run) answers; then the platform clock is set on each of them. */
	const setClock = async (ms: number) => {
		const iso = new Date(ms).toISOString();
		const reply = await waitUntil(
			async () => {
				const r = await gw.post("/admin/clock", { now: iso }, { token: admin });
				if (r.status === 401) admin = await signin();
				return r.status === 200 && r.body.nodes === replicas.length && r;
			},
			45_000,
			500,
		).catch(err => {
			throw new Error(`the clock could not be set on all ${replicas.length} processes: ${err}`);
		});
		expect(reply.body.nodes).toBe(replicas.length);
		clockOffset = ms - Date.now();
		admin = await signin(); // a session may not survive the jump
	};

	const stats = { requests: 0, accepted: 0, duplicates: 0, failed: 0, rejected: {} as Record<string, number> };
	/** POST /metering/usage as an orchestrator would: a request that fails or hangs is sent again, and so is a rejected sample. */
	const ingest = async (batch: Sample[]) => {
		let pending = batch;
		for (let attempt = 1; pending.length; attempt++) {
			if (attempt > 30) throw new Error(`a batch of ${batch.length} samples was not taken after 30 attempts`);
			stats.requests++;
			let status = 0;
			let body: IngestReply | null = null;
			try {
				const res = await fetch(`${gwBase}/metering/usage`, {
					method: "POST",
					headers: { "content-type": "application/json", authorization: `Bearer ${admin}` },
					body: JSON.stringify({ samples: pending }),
					signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
				});
				status = res.status;
				body = (await res.json().catch(() => null)) as IngestReply | null;
			} catch {
				status = 0; // timed out or refused
			}
			if (status !== 200 || !body) {
				stats.failed++;
				await sleep(250);
				continue;
			}
			stats.accepted += body.accepted;
			stats.duplicates += body.duplicates;
			for (const r of body.rejected) stats.rejected[r.type] = (stats.rejected[r.type] ?? 0) + 1;
			pending = body.rejected.map(r => pending[r.index]);
			if (pending.length) await sleep(250);
		}
	};
	/** The samples in batches over SENDERS parallel senders; `fault` starts when half the batches are sent. */
	const stream = async (samples: Sample[], fault?: () => Promise<void>) => {
		const batches: Sample[][] = [];
		for (let i = 0; i < samples.length; i += BATCH) batches.push(samples.slice(i, i + BATCH));
		let next = 0;
		let faulted: Promise<void> | undefined;
		const sender = async () => {
			while (next < batches.length) {
				const i = next++;
				if (fault && !faulted && i >= batches.length / 2) faulted = fault();
				await ingest(batches[i]);
			}
		};
		await Promise.all(Array.from({ length: SENDERS }, sender));
		await faulted;
	};
	const closeHours = async () => {
		// On demand, until a run that started after the clock moved has finished (409: a replica's
		// scheduled tick, or a killed holder's lease, runs it now).
		await waitUntil(async () => (await gw.post("/admin/jobs/metering.close-hours/run", {}, { token: admin })).status === 200, 60_000, 250);
	};

	beforeAll(async () => {
		dataDir = mkdtempSync(join(tmpdir(), "qm-faults-"));
		natsDir = mkdtempSync(join(tmpdir(), "qm-faults-nats-"));
		natsPort = await freePort();
		await startNats();
		const env = {
			TRANSPORTER: `nats://127.0.0.1:${natsPort}`,
			NAMESPACE: `qm-faults-${run}`,
			MONGO_URI: databaseUri,
			DATA_DIR: dataDir, // unused with MONGO_URI; never the repository's ./data
			QM_MASTER_KEY: Buffer.alloc(32, 7).toString("base64"),
			QM_ADMIN_EMAIL: ADMIN.email,
			QM_ADMIN_PASSWORD: ADMIN.password,
			QM_TEST_CLOCK: "1",
			USAGE_ACK_WAIT_MS: "2000",
			HOST: "127.0.0.1",
			LOG_LEVEL: "info",
		};
		const port = await freePort();
		const clock = ["--require", CLOCK_FILE];
		replicas.push({ name: "gateway", env: { ...env, SERVICES: "gateway", PORT: String(port), NODE_ID: `gateway-${run}` }, nodeArgs: clock, runs: [] });
		replicas.push({
			name: "rest",
			env: { ...env, SERVICES: "auth,accounts,environments,tokens,quotas,notifications,webhooks,collaboration,audit", NODE_ID: `rest-${run}` },
			nodeArgs: clock,
			runs: [],
		});
		for (const s of ["metering", "billing"]) {
			for (const i of [1, 2]) {
				const nodeArgs = s === "billing" ? [...clock, "--require", CHARGES_FILE] : clock;
				replicas.push({ name: `${s}-${i}`, env: { ...env, SERVICES: s, NODE_ID: `${s}-${i}-${run}` }, nodeArgs, runs: [] });
			}
		}
		const t = Date.now();
		await Promise.all(replicas.map(launch));
		gwBase = `http://127.0.0.1:${port}/api/v1`;
		gw = api(gwBase);
		await waitUntil(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200, 30_000, 100);
		admin = await waitUntil(() => signin().catch(() => undefined), 15_000, 200);
		note(`${replicas.length} processes and nats-server :${natsPort} ready in ${Date.now() - t} ms`);
	});

	afterAll(async () => {
		await Promise.all(replicas.map(r => current(r)?.stop()));
		const logDir = process.env.FAULTS_LOG_DIR; // each run's output, for a failure's post-mortem
		if (logDir) {
			for (const r of replicas) for (const p of r.runs) writeFileSync(join(logDir, `${p.name.replace("#", "-run")}.log`), p.output());
		}
		if (nats) await killNats();
		if (logDir) writeFileSync(join(logDir, "nats-server.log"), natsLog);
		if (mongoUri) {
			const client = await MongoClient.connect(databaseUri, { serverSelectionTimeoutMS: 5000 });
			await client.db().dropDatabase();
			await client.close();
		}
		for (const d of [dataDir, natsDir]) if (d) rmSync(d, { recursive: true, force: true });
	});

	/** A customer in the billing group with ENVS environments of 2 nodes, created now. */
	const newCustomer = async (label: string) => {
		const c = await addCustomer(gw, admin, `${label}-${run}@example.com`, PASSWORD, 0, label);
		const session = (await gw.post("/auth/signin", { email: c.email, password: PASSWORD })).body.session as string;
		const envs: Env[] = [];
		for (let i = 0; i < ENVS; i++) {
			const r = await gw.post(
				"/environments",
				{
					name: `${label}-${i}`,
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
		const total = async (kind: string) => (await gw.get(`/billing/transactions?kind=${kind}&page=1&pageSize=1`, { token: c.reader })).body.total as number;
		return { c, envs, charges: () => total("charge") };
	};
	/** Each node's sample count in each hour of [from, from + hours) with samples, by `nodeId@hour`. */
	const countedSamples = async (c: Customer, envs: Env[], from: number, hours: number) => {
		const counted = new Map<string, number>();
		for (const e of envs) {
			const r = await gw.get(`/environments/${e.id}/usage?from=${new Date(from).toISOString()}&to=${new Date(from + hours * HOUR).toISOString()}`, {
				token: c.reader,
			});
			expect(r.status).toBe(200);
			for (const hour of r.body.hours as { hour: string; nodes: { nodeId: string; samples: number }[] }[])
				for (const n of hour.nodes) counted.set(`${n.nodeId}@${hour.hour}`, n.samples);
		}
		return counted;
	};

	it("counts every sample once and charges every environment-hour once through the kills and the restart", async () => {
		const started = Date.now();
		await setClock(Math.max(Date.now() + 1000, T0 - 10 * MINUTE));
		await closeHours(); // metering starts with this hour
		const { c, envs, charges } = await newCustomer("faults");

		for (let h = 0; h < HOURS; h++) {
			// Hour h's samples arrive after it ended, inside its grace period (no tick closes it meanwhile).
			const end = T0 + (h + 1) * HOUR;
			await setClock(end + MINUTE);
			const fault = h === 0 ? () => killAndRestart("metering-1") : h === 2 ? restartNats : undefined;
			await stream(samplesOfHour(envs, h), fault);
			note(`hour ${h}: ${samplesOfHour(envs, h).length} samples taken`);
			await setClock(end + 6 * MINUTE); // past its grace period
			await closeHours();
			const expected = ENVS * (h + 2); // the hour the environments were created in, then h + 1 hours of samples
			if (h === 1) {
				// Its records are on the stream now: kill a billing replica while they are charged.
				const before = await charges();
				await killAndRestart("billing-1");
				note(`billing-1 was killed with ${before} of ${expected} hours charged`);
			}
			await waitUntil(async () => (await charges()) >= expected, 60_000, 200).catch(async err => {
				throw new Error(`hour ${h}: ${await charges()} of ${expected} environment-hours charged: ${err}`);
			});
			note(`hour ${h}: ${expected} environment-hours charged`);
		}
		// Late redeliveries (ack wait 2 s) and a last run of each job: still nothing charged twice.
		await sleep(3000);
		await closeHours();
		await waitUntil(async () => (await gw.post("/admin/jobs/billing.charge/run", {}, { token: admin })).status === 200, 60_000, 250);
		const totalSamples = ENVS * 2 * PER_HOUR * HOURS;
		const expectedHours = ENVS * (HOURS + 1);
		note(
			`stream: ${totalSamples} samples in ${stats.requests} requests, ${stats.failed} failed or timed out and sent again; ` +
				`accepted ${stats.accepted}, duplicates ${stats.duplicates}, rejected ${JSON.stringify(stats.rejected)}`,
		);

		// No sample lost, none counted twice: each node's bucket of each hour holds exactly its samples.
		const counted = await countedSamples(c, envs, T0, HOURS);
		const wrong = [...counted].filter(([, n]) => n !== PER_HOUR);
		expect({ buckets: counted.size, wrong }).toEqual({ buckets: ENVS * 2 * HOURS, wrong: [] });
		expect([...counted.values()].reduce((a, n) => a + n, 0)).toBe(totalSamples);

		// Every environment-hour charged once, at its first revision: no second charge, no correction.
		expect(await charges()).toBe(expectedHours);
		const { problems, charges: charged, rows } = await checkLedger(gw, c); // balance = Σ ledger, balance-after chain, one charge per env-hour
		expect(rows.filter(r => r.kind === "correction").map(r => `${r.envId} ${r.description}: ${r.amount}`)).toEqual([]);
		expect(problems).toEqual([]);
		expect(charged).toBe(expectedHours);
		// The ledger's idempotency keys (not in the API): one charge:<env>:<hour>:<rev> per environment-hour, rev 1.
		const client = await MongoClient.connect(databaseUri, { serverSelectionTimeoutMS: 5000 });
		try {
			const keys = (
				await client
					.db()
					.collection("ledger")
					.find({ accountId: c.id, key: /^charge:/ })
					.toArray()
			).map(d => String(d.key));
			const perHour = new Map<string, string[]>();
			for (const k of keys) {
				const [, envId, hour] = k.split(":");
				perHour.set(`${envId}:${hour}`, [...(perHour.get(`${envId}:${hour}`) ?? []), k]);
			}
			expect({ hours: perHour.size, twice: [...perHour.values()].filter(l => l.length > 1), notFirst: keys.filter(k => !k.endsWith(":1")) }).toEqual({
				hours: expectedHours,
				twice: [],
				notFirst: [],
			});
			// Billing's record of each environment-hour: one, at revision 1, with one ledger entry.
			const hours = await client
				.db()
				.collection("env_charges")
				.find({ envId: { $in: envs.map(e => e.id) } })
				.toArray();
			const other = hours.filter(d => d.rev !== 1 || d.entries !== 1).map(d => `${d.envId}@${d.hour}: rev ${d.rev}, ${d.entries} entries`);
			expect({ hours: hours.length, other }).toEqual({ hours: expectedHours, other: [] });
			const left = await client
				.db()
				.collection("env_hours")
				.countDocuments({ envId: { $in: envs.map(e => e.id) }, undelivered: true });
			expect(left).toBe(0);
		} finally {
			await client.close();
		}
		// And the money is what the samples sent rate to: 10.00 of trial bonus less exactly that.
		const expected = expectedTotal(envs);
		expect(expected).toBeGreaterThan(0);
		const sum = rows.reduce((a, r) => a + micros(r.amount), 0);
		expect(sum).toBe(10_000_000 - expected);

		// Both billing replicas charged hours; every process killed was started again and ran on.
		const charged1 = replicas
			.filter(r => r.name.startsWith("billing-"))
			.map(r => r.runs.map(p => [...p.output().matchAll(/\[replica-charges\] (\d+) of/g)].reduce((a, m) => a + Number(m[1]), 0)));
		note(`billing replicas charged (per run) ${JSON.stringify(charged1)} environment-hours; nats-server started ${natsStarts} times`);
		expect(charged1.map(runs => runs.reduce((a, n) => a + n, 0) > 0)).toEqual([true, true]);
		expect(byName("metering-1").runs).toHaveLength(2);
		expect(byName("billing-1").runs).toHaveLength(2);
		expect(natsStarts).toBe(2);
		for (const r of replicas) expect({ name: r.name, exited: current(r).proc.exitCode }).toEqual({ name: r.name, exited: null });
		note(`done in ${Date.now() - started} ms\n${events.join("\n")}`);
	});

	it("closes an hour at once although the other metering replica still holds some of its samples", async () => {
		// An hour of its own after the first test's, for a customer of its own.
		const H = T0 + (HOURS + 1) * HOUR;
		await setClock(H + 6 * MINUTE);
		await closeHours(); // metering starts with this hour when this test runs alone
		const { c, envs, charges } = await newCustomer("at-once");
		const samples = samplesOfHour(envs, HOURS + 1);
		// 30 s before the grace period ends, through both metering replicas (round robin); then the
		// hour is closed 40 s on the clock, at once: the batches are not stale, nothing folds them but
		// their own replica, whose timer writes them within 5 s.
		await setClock(H + HOUR + 5 * MINUTE - 30_000);
		await stream(samples);
		await setClock(H + HOUR + 5 * MINUTE + 10_000);
		await closeHours();
		await waitUntil(async () => (await charges()) >= ENVS, 60_000, 200);
		// A replica's late write would make the hour dirty again: the next runs would charge a correction.
		await sleep(6000);
		await closeHours();
		await waitUntil(async () => (await gw.post("/admin/jobs/billing.charge/run", {}, { token: admin })).status === 200, 60_000, 250);
		await sleep(2000);
		const counted = await countedSamples(c, envs, H, 1);
		expect({ buckets: counted.size, wrong: [...counted].filter(([, n]) => n !== PER_HOUR) }).toEqual({ buckets: ENVS * 2, wrong: [] });
		const { problems, charges: charged, rows } = await checkLedger(gw, c);
		expect(rows.filter(r => r.kind === "correction").map(r => `${r.envId} ${r.description}: ${r.amount}`)).toEqual([]);
		expect(problems).toEqual([]);
		expect(charged).toBe(ENVS);
	});
});
