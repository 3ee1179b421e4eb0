// Replicas on the production path (issue 13, NFR-3): two processes of each of billing, metering,
// auth, accounts and environments, two gateways, and one process for tokens, quotas and
// notifications, joined over real NATS and sharing one MongoDB store (MONGO_URI). Through the
// gateways, it shows that scheduled jobs run once per tick across replicas (their leases), that
// the usage stream is split between the billing replicas with every environment-hour charged
// exactly once (balance = Σ ledger), that quota reservations and sign-in lockouts hold under
// parallel requests spread over both replicas, and that a revoked token is refused by both
// gateways within a second.
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { MongoClient } from "mongodb";
import { api, waitUntil, type Api } from "../helpers/http";
import { addCustomer, micros, type Row } from "../helpers/metered";
import { assertNatsListening, deleteUsageStream, freePort, natsUrl, ROOT, spawnQm, type QmProcess } from "../helpers/processes";

const mongoUri = process.env.MONGO_URI;
const skipReason = mongoUri ? undefined : "Replica test skipped: set MONGO_URI to run it (replicas share a MongoDB store; npm run test:mongo starts FerretDB)";
if (skipReason) console.warn(skipReason);

const REPLICATED = ["billing", "metering", "auth", "accounts", "environments"];
const SINGLE = "tokens,quotas,notifications,webhooks,collaboration,audit";
const ADMIN = { email: "replica-ops@example.com", password: "Two-of-each-adm1n!" };
const PASSWORD = "Replicated-pa55word!";
const HOUR = 3_600_000;
// The next hour: metering starts with the hour it first closes in (wall time here), so the
// environments are created in the hour before T0 and the test clock only moves forward from it.
const T0 = Math.floor(Date.now() / HOUR) * HOUR + HOUR;
const ENVS = 3;
const HOURS = 12;
const CHARGES_FILE = join(ROOT, "test", "integration", "fixtures", "replica-charges.js");

jest.setTimeout(180_000);

(skipReason ? describe.skip : describe)("two replicas of each service over NATS on one MongoDB store", () => {
	const run = `${process.pid}-${Date.now()}`;
	// A database of this run's own beside MONGO_URI's, dropped at the end: metering's closed hours
	// and the test clock of an earlier run must not be found again.
	const databaseUri = (() => {
		const u = new URL(mongoUri ?? "mongodb://127.0.0.1/qm");
		u.pathname = `/${u.pathname.slice(1) || "qm"}_r${Date.now().toString(36)}`;
		return u.toString();
	})();
	const namespace = `qm-replicas-${run}`;
	const procs: QmProcess[] = [];
	let dataDir: string;
	let started: number;
	let ready: number;
	let gw: [Api, Api];
	let admin: string;

	const signin = async (who: { email: string; password: string }, via: Api = gw[0]) => {
		const r = await via.post("/auth/signin", who);
		if (r.status !== 200) throw new Error(`sign-in of ${who.email} answered ${r.status}: ${r.text.slice(0, 200)}`);
		return r.body.session as string;
	};
	const email = (name: string) => `${name}-${run}@example.com`;

	beforeAll(async () => {
		await assertNatsListening();
		dataDir = mkdtempSync(join(tmpdir(), "qm-replicas-"));
		const env = {
			TRANSPORTER: natsUrl(),
			NAMESPACE: namespace, // apart from every other run on this NATS
			MONGO_URI: databaseUri,
			DATA_DIR: dataDir, // unused with MONGO_URI; never the repository's ./data
			QM_MASTER_KEY: Buffer.alloc(32, 7).toString("base64"),
			QM_ADMIN_EMAIL: ADMIN.email,
			QM_ADMIN_PASSWORD: ADMIN.password,
			QM_TEST_CLOCK: "1",
			USAGE_ACK_WAIT_MS: "2000",
			HOST: "127.0.0.1",
			LOG_LEVEL: "info", // "Job … processed" lines tell which replica ran a tick
		};
		const ports = [await freePort(), await freePort()];
		started = Date.now();
		// The gateways keep nothing in the store; given MONGO_URI as in k8s/, they are ready without a connection.
		ports.forEach((port, i) =>
			procs.push(spawnQm(`gateway-${i + 1}`, { ...env, SERVICES: "gateway", PORT: String(port), NODE_ID: `gateway-${i + 1}-${run}` })),
		);
		for (const s of REPLICATED) {
			for (const i of [1, 2]) {
				const nodeArgs = s === "billing" ? ["--require", CHARGES_FILE] : [];
				procs.push(spawnQm(`${s}-${i}`, { ...env, SERVICES: s, NODE_ID: `${s}-${i}-${run}` }, nodeArgs));
			}
		}
		procs.push(spawnQm("single", { ...env, SERVICES: SINGLE, NODE_ID: `single-${run}` }));
		gw = [api(`http://127.0.0.1:${ports[0]}/api/v1`), api(`http://127.0.0.1:${ports[1]}/api/v1`)];

		// Every process up (the gateway's /ready only says that some replica of each service is).
		const dead = () => procs.find(p => p.proc.exitCode !== null);
		await waitUntil(async () => dead() || procs.every(p => /ServiceBroker with \d+ service\(s\) started/.test(p.output())), 60_000, 200).catch(err => {
			throw new Error(`${err}\nnot started: ${procs.filter(p => !/started/.test(p.output())).map(p => `${p.name}: ${p.output().slice(-500)}`)}`);
		});
		const exited = dead();
		if (exited) throw new Error(`${exited.name} exited with ${exited.proc.exitCode}:\n${exited.output().slice(-2000)}`);
		for (const port of ports) {
			let last = "";
			await waitUntil(
				async () => {
					const r = await fetch(`http://127.0.0.1:${port}/ready`);
					last = await r.text();
					return r.status === 200;
				},
				30_000,
				100,
			).catch(err => {
				throw new Error(`${err}; /ready answered ${last}`);
			});
		}
		// Both replicas of accounts and auth raced to create the bootstrap administrator: one did.
		admin = await waitUntil(() => signin(ADMIN).catch(() => undefined), 15_000, 200);
		ready = Date.now();
		console.info(`replicas: ${procs.length} processes ready in ${ready - started} ms`);
	});

	afterAll(async () => {
		await Promise.all(procs.map(p => p.stop()));
		const logDir = process.env.REPLICAS_LOG_DIR; // each process's output, for a failure's post-mortem
		if (logDir) for (const p of procs) writeFileSync(join(logDir, `${p.name}.log`), p.output());
		await deleteUsageStream(namespace);
		const client = await MongoClient.connect(databaseUri, { serverSelectionTimeoutMS: 5000 });
		await client.db().dropDatabase();
		await client.close();
		if (dataDir) rmSync(dataDir, { recursive: true, force: true });
	});

	it("refuses a revoked token on both gateways within 1 s", async () => {
		const user = { email: email("revoke"), password: PASSWORD };
		await addCustomer(gw[0], admin, user.email, user.password, 0, "revoke");
		for (const [via, other] of [
			[gw[0], gw[1]],
			[gw[1], gw[0]],
		]) {
			const session = await signin(user, via);
			const t = (await via.post("/tokens", { password: PASSWORD, description: "ci", template: "extended-access" }, { token: session })).body as {
				id: string;
				token: string;
			};
			// Cached by both gateways now.
			for (const g of gw) expect((await g.get("/account", { token: t.token })).status).toBe(200);
			const t0 = Date.now();
			expect((await via.post("/tokens/delete", { password: PASSWORD, ids: [t.id] }, { token: session })).status).toBeLessThan(300);
			await Promise.all(gw.map(g => waitUntil(async () => (await g.get("/account", { token: t.token })).status === 401, 1000, 10)));
			expect(Date.now() - t0).toBeLessThan(1000);
			expect((await other.get("/account", { token: t.token })).status).toBe(401);
		}
	});

	it("creates exactly K of N parallel environments spread over both gateways and both environments replicas", async () => {
		const K = 3;
		const N = 12;
		const user = { email: email("quota"), password: PASSWORD };
		const c = await addCustomer(gw[0], admin, user.email, user.password, 0, "quota");
		expect((await gw[1].call("PUT", `/admin/accounts/${c.id}/quotas/environment.maxcount`, { body: { value: K }, token: admin })).status).toBeLessThan(300);
		const session = await signin(user);
		const nodes = [{ layer: "cp", type: "nginx", reservedCloudlets: 1, scalingLimit: 2 }];
		const replies = await Promise.all(Array.from({ length: N }, (_, i) => gw[i % 2].post("/environments", { name: `q-${i}`, nodes }, { token: session })));
		const statuses = replies.map(r => r.status).sort();
		expect(statuses).toEqual([...Array(K).fill(201), ...Array(N - K).fill(422)]);
		expect(replies.filter(r => r.status === 422).every(r => r.body.type === "QUOTA_EXCEEDED")).toBe(true);
		const listed = await gw[1].get("/environments", { token: session });
		expect(listed.body.total).toBe(K);
	});

	it("counts parallel wrong passwords exactly across both auth replicas and locks the pair after 5", async () => {
		const user = { email: email("lockout"), password: PASSWORD };
		await addCustomer(gw[0], admin, user.email, user.password, 0, "lockout");
		const M = 16;
		const replies = await Promise.all(Array.from({ length: M }, (_, i) => gw[i % 2].post("/auth/signin", { email: user.email, password: `Wrong-${i}-pass!` })));
		const statuses = replies.map(r => r.status).sort();
		expect(statuses).toEqual([...Array(5).fill(401), ...Array(M - 5).fill(429)]);
		const attempts = await gw[1].get(`/admin/signin-attempts?email=${encodeURIComponent(user.email)}`, { token: admin });
		expect(attempts.body).toEqual([expect.objectContaining({ kind: "password", failures: 5, locked: true })]);
		// The right password is refused too while the pair is locked, on either gateway.
		for (const g of gw) expect((await g.post("/auth/signin", user)).status).toBe(429);
	});

	it("splits the usage stream between both billing replicas and charges every environment-hour once", async () => {
		const clock = async (ms: number) => {
			const r = await gw[0].post("/admin/clock", { now: new Date(ms).toISOString() }, { token: admin });
			expect(r.status).toBe(200);
			expect(r.body.nodes).toBe(procs.length);
			admin = await signin(ADMIN); // a session may not survive the jump
		};
		await clock(Math.max(Date.now() + 1000, T0 - 10 * 60_000));
		// Metering starts with this hour (a replica's scheduled tick may have started it already: 409).
		await waitUntil(async () => (await gw[1].post("/admin/jobs/metering.close-hours/run", {}, { token: admin })).status === 200, 30_000, 200);
		const c = await addCustomer(gw[0], admin, email("metered"), PASSWORD, ENVS, "metered");
		const samples = c.envs.flatMap((e, i) =>
			e.nodeIds.flatMap((nodeId, j) =>
				Array.from({ length: HOURS }, (_, h) => ({
					id: `${e.id}-${j}-${h}`,
					envId: e.id,
					nodeId,
					time: new Date(T0 + h * HOUR + 17 * 60_000).toISOString(),
					ramMiB: ((i * 7 + j * 5 + h * 3) % 12) * 128,
					cpuMHz: ((i + h) % 5) * 400,
					diskMB: 1000,
					trafficInMB: 10,
					trafficOutMB: 5,
				})),
			),
		);
		// From here to the close below (~10 s) no scheduled tick of close-hours may come: one would
		// close the hours before their samples arrive, and the samples would then be late (MTR-2:
		// a second revision, a correction). So start 8 s after a minute begins, at the latest at 38 s.
		const second = (Date.now() % 60_000) / 1000;
		if (second < 8 || second > 38) await new Promise(r => setTimeout(r, ((68 - second) % 60) * 1000));
		await clock(T0 + HOURS * HOUR + 10 * 60_000);
		// Half the samples through each gateway (and so, round robin, both metering replicas), twice.
		for (const copy of [0, 1]) {
			const replies = await Promise.all(
				[0, 1].map(k => gw[(k + copy) % 2].post("/metering/usage", { samples: samples.filter((_, i) => i % 2 === k) }, { token: admin })),
			);
			for (const r of replies) expect(r.status).toBe(200);
		}
		// Each replica keeps the samples it took in memory for up to 5 s (metering's FLUSH_MS):
		// close-hours, on either replica, waits for the other's before it closes an hour.
		const expectedHours = ENVS * (HOURS + 1); // the hour the environments were created in, then HOURS hours of samples
		const total = async (kind: string) => (await gw[0].get(`/billing/transactions?kind=${kind}&page=1&pageSize=1`, { token: c.reader })).body.total as number;
		await waitUntil(
			async () => {
				// On demand, or 409 while a replica's scheduled tick runs it: either closes the hours.
				const closing = await gw[1].post("/admin/jobs/metering.close-hours/run", {}, { token: admin });
				expect([200, 409]).toContain(closing.status);
				return (await total("charge")) === expectedHours;
			},
			60_000,
			250,
		);

		// Both billing replicas took batches from the stream (which also carries the hours of the
		// environments the quota test created); between them, every hour of this customer's.
		const batches = procs
			.filter(p => p.name.startsWith("billing-"))
			.map(p => [...p.output().matchAll(/\[replica-charges\] (\d+) of (.*)/g)].map(m => ({ acked: Number(m[1]), records: m[2].split(" ") })));
		console.info(`replicas: the billing replicas charged ${batches.map(b => b.reduce((s, x) => s + x.acked, 0)).join(" + ")} environment-hours`);
		expect(batches.map(b => b.reduce((s, x) => s + x.acked, 0) > 0)).toEqual([true, true]);
		const mine = new Set(c.envs.map(e => e.id));
		const taken = new Set(batches.flat().flatMap(x => x.records.filter(r => mine.has(r.split("@")[0]))));
		expect(taken.size).toBe(expectedHours);

		// Exactly once each: no second charge, no correction; balance = Σ ledger.
		await new Promise(r => setTimeout(r, 1000));
		expect(await total("charge")).toBe(expectedHours);
		expect(await total("correction")).toBe(0);
		const rows: Row[] = [];
		for (let page = 1; ; page++) {
			const r = await gw[1].get(`/billing/transactions?page=${page}&pageSize=100`, { token: c.reader });
			rows.push(...r.body.rows);
			if (rows.length >= r.body.total) break;
		}
		const charges = rows.filter(r => r.kind === "charge");
		expect(new Set(charges.map(r => r.description)).size).toBe(expectedHours);
		const balance = (await gw[0].get("/billing/balance", { token: c.reader })).body as { main: string; bonus: string };
		const sum = rows.reduce((s, r) => s + micros(r.amount), 0);
		expect(micros(balance.main) + micros(balance.bonus)).toBe(sum);
		expect(sum).toBeLessThan(10_000_000); // the trial bonus, less the hours charged
	});

	it("runs each scheduled tick of a job on one replica only", async () => {
		// At least one minute boundary after every process started, and a few seconds for its jobs.
		const boundary = Math.ceil(ready / 60_000) * 60_000;
		await waitUntil(async () => Date.now() > boundary + 8_000, 90_000, 500);
		const runs = new Map<string, string[]>(); // job@minute → processes that ran it
		for (const p of procs) {
			for (const m of p.output().matchAll(/\[(?:\d{4}-\d\d-\d\dT)?(\d\d:\d\d):\d\d[.\d]*Z?\].*?Job (\S+) processed/g)) {
				const key = `${m[2]}@${m[1]}`;
				runs.set(key, [...(runs.get(key) ?? []), p.name]);
			}
		}
		console.info(`replicas: ticks run ${[...runs].map(([k, v]) => `${k} by ${v.join(",")}`).join("; ")}`);
		for (const [tick, by] of runs) expect({ tick, by: by.length }).toEqual({ tick, by: 1 });
		// Jobs of every minute that nothing above ran on demand: each boundary passed ran once.
		for (const job of ["billing.recover-ledger", "billing.charge"]) {
			expect([...runs.keys()].filter(k => k.startsWith(`${job}@`)).length).toBeGreaterThanOrEqual(1);
		}
		const replicasThatRan = new Set([...runs].filter(([k]) => k.startsWith("billing.")).flatMap(([, v]) => v));
		console.info(`replicas: billing ticks ran on ${[...replicasThatRan].join(", ")}`);
	});
});
