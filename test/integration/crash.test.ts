// The crash test (storage acceptance): a real platform process on real files (embedded mode,
// SQLite under DATA_DIR), killed with SIGKILL at a random moment, ROUNDS times, while a client
// funds accounts with Idempotency-Keys (and replays some), ingests batches of fresh samples, and
// runs the close-hours and charge jobs with the platform clock moving an hour now and then.
// Only 2xx answers count; a request in flight when the process dies has an unknown outcome. After
// every restart:
//   - each unanswered fund and batch is sent again: a fund answers 201, a batch 200, whatever the
//     crash did with them — from then on every request ever sent has been answered once;
//   - every fund is in its account's ledger exactly once (the entry its answer named), a replay of
//     an answered key answers the same entry and credits nothing, every environment-hour has at
//     most one charge;
//   - every sample id ever sent is counted exactly once in its node's usage, and a batch answered
//     before the crash, sent again, is all duplicates;
//   - balance = Σ ledger on every account, each entry's balance-after = the one before + its
//     amount, and no balance was ever set from its ledger (the repair at start and in
//     billing.reconcile logs it and tells administrators; both are watched).
// At the end every closed environment-hour has been charged exactly once.
//
// A SIGKILL loses nothing the kernel holds (the page cache survives the process), so this proves
// that nothing is answered before it is committed and that every multi-step write recovers; it
// does not prove the fsyncs (that needs a power cut; mixins/sqlite-store.ts's Durability).
// A job the kill interrupts leaves its lease behind; the restarted process takes it over at once
// (its holder's pid is dead: mixins/jobs.mixin.ts), so every job answers 200 right after a restart.
// CRASH_ROUNDS=n runs fewer or more rounds.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { api, signInWhenReady, waitUntil, type Reply } from "../helpers/http";
import { addCustomer, checkLedger, ledgerOf, micros, rand, randomSample, repairProblems, type Customer, type Row, type Sample } from "../helpers/metered";
import { assertBuilt, freePort, ROOT, spawnQm, type QmProcess } from "../helpers/processes";

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 20);
const HOUR = 3_600_000;
const MINUTE = 60_000;
const ADMIN = { email: "crash-ops@example.com", password: "Crash-0perator-pass!" };
const CUSTOMER_PASSWORD = "Killed-nine-times-9!";
const CUSTOMERS = 3;
const ENVS_PER_CUSTOMER = 2;
/** Where the random moment of each kill falls, after the load starts (ms). */
const KILL_AFTER = { min: 300, max: 2000 };
/**
 * The platform clock: a day ahead of the wall clock, at 10 past an hour. Ahead, so that nothing
 * the platform writes expires on the wall clock that sweeps expired documents (TTL indexes).
 */
const T0 = Math.ceil(Date.now() / HOUR) * HOUR + 24 * HOUR + 10 * MINUTE;
jest.setTimeout(Math.max(300_000, ROUNDS * 15_000));

interface Fund {
	key: string;
	accountId: string;
	body: { amount: string; note: string };
	micros: number;
	/** the entry its 201 named; absent while no answer came */
	entryId?: string;
}
interface Batch {
	samples: Sample[];
	answered: boolean;
	round: number;
}
const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)];
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/**
 * Spawned children run dist/ (`npm test` builds it first). Built from older sources, this test would
 * prove nothing about them: say so. (A warning, not a failure: tsc leaves an output it would write
 * identically untouched, so an edit of types or comments only looks stale here.)
 */
function warnIfStale() {
	assertBuilt();
	const stale: string[] = [];
	const walk = (rel: string) => {
		for (const e of readdirSync(join(ROOT, rel), { withFileTypes: true })) {
			const path = join(rel, e.name);
			if (e.isDirectory()) walk(path);
			else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) {
				const js = join(ROOT, "dist", path.replace(/\.ts$/, ".js"));
				if (!existsSync(js) || statSync(js).mtimeMs < statSync(join(ROOT, path)).mtimeMs) stale.push(path);
			}
		}
	};
	for (const dir of ["bin", "lib", "mixins", "models", "services"]) walk(dir);
	if (stale.length) console.warn(`dist/ may be older than ${stale.join(", ")}: run \`npm run build\` first (\`npm test\` does it)`);
}

describe("crash test: SIGKILL at random moments under load, real process and files", () => {
	let dataDir: string;
	let proc: QmProcess | undefined;
	let http: ReturnType<typeof api>;
	let base = "";
	let admin = ""; // this process's admin session
	let ingestToken = ""; // admin PAT with metering.usage.Ingest
	const outputs: string[] = []; // every process's output, for the repair warnings
	const customers: Customer[] = [];
	const funds = new Map<string, Fund>();
	const batches: Batch[] = [];
	/** distinct sample ids ever sent, per node */
	const sentPerNode = new Map<string, number>();
	let fundSeq = 0;
	let batchSeq = 0;
	/** the platform clock as last set (and when, on the wall clock); it runs on from there */
	let clock = { at: T0, setAt: Date.now() };
	const platformNow = () => clock.at + (Date.now() - clock.setAt);
	let clockHighest = T0; // the latest instant ever asked for, answered or not

	const env = () => ({
		DATA_DIR: dataDir,
		QM_TEST_CLOCK: "1",
		QM_JOBS: "off",
		BCRYPT_COST: "4",
		QM_ADMIN_EMAIL: ADMIN.email,
		QM_ADMIN_PASSWORD: ADMIN.password,
		LOG_LEVEL: "warn",
		PUBLIC_URL: "http://console.test",
	});

	async function start(): Promise<number> {
		const t0 = Date.now();
		const port = await freePort();
		proc = spawnQm(`crash-${outputs.length + 1}`, { ...env(), PORT: String(port) });
		base = `http://127.0.0.1:${port}`;
		http = api(`${base}/api/v1`);
		await waitUntil(async () => (await fetch(`${base}/ready`)).status === 200, 20_000, 25).catch(err => {
			throw new Error(`the platform did not get ready (${(err as Error).message}); its output:\n${proc!.output()}`);
		});
		return Date.now() - t0;
	}

	/** The kill: SIGKILL, then wait for the exit; the output is kept. */
	async function kill() {
		const p = proc!;
		p.proc.kill("SIGKILL");
		await p.stop("SIGKILL");
		outputs.push(p.output());
		proc = undefined;
	}

	async function setClock(at: number) {
		clockHighest = Math.max(clockHighest, at);
		const r = await http.post("/admin/clock", { now: new Date(at).toISOString() }, { token: admin });
		if (r.status !== 200) throw new Error(`setting the clock answered ${r.status}: ${r.text}`);
		clock = { at, setAt: Date.now() };
	}

	const runJob = (name: string) => http.post(`/admin/jobs/${name}/run`, undefined, { token: admin });
	async function job(name: string) {
		const r = await runJob(name);
		if (r.status !== 200) throw new Error(`${name} answered ${r.status}: ${r.text}`);
		return r.body as { processed: number };
	}

	async function signInAdmin() {
		admin = await signInWhenReady(http, ADMIN);
	}

	const sendFund = (f: Fund) => http.post(`/admin/accounts/${f.accountId}/fund`, f.body, { token: admin, headers: { "Idempotency-Key": f.key } });
	function newFund(accountId: string): Fund {
		const key = `crash-${++fundSeq}-${Math.random().toString(36).slice(2, 8)}`;
		const amount = `${rand(0, 9)}.${String(rand(1, 99)).padStart(2, "0")}`;
		const f: Fund = { key, accountId, body: { amount, note: `crash-fund ${key}` }, micros: micros(amount) };
		funds.set(key, f);
		return f;
	}
	/** A fund's answer: 201 with the entry it made (a replay: the same entry). */
	function fundAnswer(f: Fund, r: Reply, problems: string[]) {
		if (r.status !== 201) return void problems.push(`fund ${f.key} answered ${r.status}: ${r.text.slice(0, 300)}`);
		const entry = r.body.entry as Row;
		if (micros(entry.amount) !== f.micros) problems.push(`fund ${f.key} of ${f.body.amount} answered an entry of ${entry.amount}`);
		if (f.entryId === undefined) f.entryId = entry.id;
		else if (entry.id !== f.entryId) problems.push(`fund ${f.key} answered entry ${f.entryId} first and ${entry.id} when sent again`);
	}

	const sendBatch = (b: Batch) => http.post("/metering/usage", { samples: b.samples }, { token: ingestToken });
	function newBatch(round: number): Batch {
		const n = ++batchSeq;
		const now = platformNow();
		const samples = Array.from({ length: rand(20, 80) }, (_, i): Sample => {
			const c = pick(customers);
			const e = pick(c.envs);
			return randomSample(`s${n}-${i}`, e, now, T0);
		});
		for (const s of samples) sentPerNode.set(`${s.envId}/${s.nodeId}`, (sentPerNode.get(`${s.envId}/${s.nodeId}`) ?? 0) + 1);
		const b = { samples, answered: false, round };
		batches.push(b);
		return b;
	}

	/* ---------- setup, in the first process ---------- */

	beforeAll(async () => {
		warnIfStale();
		dataDir = mkdtempSync(join(tmpdir(), "qm-crash-"));
		await start();
		await signInAdmin();
		await setClock(T0);
		await signInAdmin(); // a session from before the clock moved a day on has expired
		const pat = await http.post("/tokens", { password: ADMIN.password, description: "orchestrator", apiList: ["metering.usage.Ingest"] }, { token: admin });
		expect(pat.status).toBe(201);
		ingestToken = pat.body.token;
		await job("metering.close-hours"); // metering starts closing with the hour it first runs in
		for (let i = 0; i < CUSTOMERS; i++) {
			const c = await addCustomer(http, admin, `crash-${i}@example.com`, CUSTOMER_PASSWORD, ENVS_PER_CUSTOMER, `crash-${i}`);
			const id = c.id;
			customers.push(c);
			const problems: string[] = [];
			const f = newFund(id);
			f.body.amount = "500.00"; // charges never take it below zero in this test
			f.micros = micros(f.body.amount);
			fundAnswer(f, await sendFund(f), problems);
			expect(problems).toEqual([]);
		}
	});

	afterAll(async () => {
		if (proc) await proc.stop("SIGKILL");
		if (dataDir) rmSync(dataDir, { recursive: true, force: true });
	});

	/* ---------- one round of load, ended by the kill ---------- */

	interface Load {
		ms: number;
		funds: number;
		replays: number;
		batches: number;
		samples: number;
		jobs: number;
		clockMoved: boolean;
		unanswered: { funds: number; batches: number; jobs: string[] };
		problems: string[];
	}

	async function load(round: number): Promise<Load> {
		const ms = rand(KILL_AFTER.min, KILL_AFTER.max);
		const moveClockAt = Math.random() < 0.7 ? rand(0, ms) : Infinity;
		const started = Date.now();
		const out: Load = {
			ms,
			funds: 0,
			replays: 0,
			batches: 0,
			samples: 0,
			jobs: 0,
			clockMoved: false,
			unanswered: { funds: 0, batches: 0, jobs: [] },
			problems: [],
		};
		let stop = false;

		const funder = async () => {
			while (!stop) {
				const answered = [...funds.values()].filter(f => f.entryId);
				const replay = answered.length > 0 && Math.random() < 0.25;
				const f = replay ? pick(answered) : newFund(pick(customers).id);
				let r: Reply;
				try {
					r = await sendFund(f);
				} catch {
					if (!replay) out.unanswered.funds++;
					continue; // killed: no answer
				}
				fundAnswer(f, r, out.problems);
				if (r.status === 201) replay ? out.replays++ : out.funds++;
			}
		};
		const ingester = async () => {
			while (!stop) {
				const b = newBatch(round);
				let r: Reply;
				try {
					r = await sendBatch(b);
				} catch {
					out.unanswered.batches++;
					continue;
				}
				if (r.status !== 200 || r.body.accepted !== b.samples.length || r.body.rejected.length)
					out.problems.push(`a batch of ${b.samples.length} fresh samples answered ${r.status}: ${r.text.slice(0, 300)}`);
				b.answered = true;
				out.batches++;
				out.samples += b.samples.length;
			}
		};
		const jobs = async () => {
			while (!stop) {
				let name = "clock";
				try {
					if (!out.clockMoved && Date.now() - started >= moveClockAt) {
						await setClock(platformNow() + HOUR);
						out.clockMoved = true;
					}
					for (name of ["metering.close-hours", "billing.charge"]) {
						if (stop) break;
						const r = await runJob(name);
						if (r.status !== 200) out.problems.push(`${name} answered ${r.status}: ${r.text.slice(0, 300)}`);
						else out.jobs++;
					}
				} catch {
					out.unanswered.jobs.push(name);
				}
			}
		};

		const workers = [funder(), funder(), funder(), ingester(), ingester(), jobs()];
		await sleep(ms - (Date.now() - started));
		stop = true;
		await kill();
		await Promise.all(workers);
		return out;
	}

	/* ---------- after each restart ---------- */

	interface Verified {
		funds: number;
		resentFunds: number;
		samples: number;
		resentBatches: number;
		charges: number;
		entries: number;
		problems: string[];
	}

	async function verify(lastRound: number): Promise<Verified> {
		const problems: string[] = [];
		// The new process runs on the wall clock. Two minutes on from before the kill: batches the crash
		// left open are stale (close-hours folds them) and entries it left pending are old enough for
		// billing.reconcile to settle. A session from the wall clock's time is too old then: another.
		await signInAdmin();
		await setClock(Math.max(platformNow(), clockHighest) + 2 * MINUTE);
		await signInAdmin();
		await job("metering.close-hours");
		await job("billing.reconcile");

		// Every request left without an answer, sent again: now each is answered.
		let resentFunds = 0;
		for (const f of funds.values()) {
			if (f.entryId) continue;
			fundAnswer(f, await sendFund(f), problems);
			resentFunds++;
		}
		// Answered ones, replayed: the same entry, nothing credited (the ledger check below).
		const answered = [...funds.values()].filter(f => f.entryId);
		for (let i = 0; i < 5; i++) {
			const f = pick(answered);
			fundAnswer(f, await sendFund(f), problems);
		}
		let resentBatches = 0;
		for (const b of batches) {
			if (b.answered) continue;
			const r = await sendBatch(b);
			if (r.status !== 200 || r.body.accepted + r.body.duplicates !== b.samples.length || r.body.rejected.length)
				problems.push(`an unanswered batch of ${b.samples.length}, sent again, answered ${r.status}: ${r.text.slice(0, 300)}`);
			b.answered = true;
			resentBatches++;
		}
		// Batches the last round had answered: every sample a duplicate now.
		for (const b of batches.filter(x => x.round === lastRound && x.answered)) {
			const r = await sendBatch(b);
			if (r.status !== 200 || r.body.accepted !== 0 || r.body.duplicates !== b.samples.length)
				problems.push(`an answered batch of ${b.samples.length}, sent again after the restart, answered ${r.status}: ${r.text.slice(0, 300)}`);
		}

		let entries = 0;
		let charges = 0;
		for (const c of customers) {
			const checked = await checkLedger(http, c);
			const rows = checked.rows;
			entries += rows.length;
			charges += checked.charges;
			problems.push(...checked.problems);
			// Every fund once, as answered.
			const fundRows = new Map<string, Row[]>();
			for (const row of rows.filter(x => x.description.startsWith("crash-fund "))) {
				const key = row.description.slice("crash-fund ".length);
				fundRows.set(key, [...(fundRows.get(key) ?? []), row]);
			}
			for (const f of funds.values()) {
				if (f.accountId !== c.id) continue;
				const found = fundRows.get(f.key) ?? [];
				fundRows.delete(f.key);
				if (found.length !== 1)
					problems.push(`${c.email}: fund ${f.key} (${f.body.amount}, answered as entry ${f.entryId}) is in the ledger ${found.length} times`);
				else if (found[0].id !== f.entryId || found[0].kind !== "refill" || micros(found[0].amount) !== f.micros)
					problems.push(`${c.email}: fund ${f.key} answered entry ${f.entryId} of ${f.body.amount}; the ledger holds ${JSON.stringify(found[0])}`);
			}
			for (const [key, list] of fundRows) problems.push(`${c.email}: the ledger holds ${list.length} entries of fund ${key}, never sent to this account`);
		}

		// Every sample id sent is counted once in its node's hours.
		let samples = 0;
		const range = `from=${new Date(T0 - HOUR).toISOString()}&to=${new Date(platformNow() + HOUR).toISOString()}`;
		for (const c of customers) {
			for (const e of c.envs) {
				const r = await http.get(`/environments/${e.id}/usage?${range}`, { token: c.reader });
				if (r.status !== 200) throw new Error(`usage of ${e.id} answered ${r.status}: ${r.text}`);
				const counted = new Map<string, number>();
				for (const h of r.body.hours as { nodes: { nodeId: string; samples: number }[] }[])
					for (const n of h.nodes) counted.set(n.nodeId, (counted.get(n.nodeId) ?? 0) + n.samples);
				for (const nodeId of e.nodeIds) {
					const sent = sentPerNode.get(`${e.id}/${nodeId}`) ?? 0;
					const got = counted.get(nodeId) ?? 0;
					samples += got;
					if (got !== sent)
						problems.push(`environment ${e.id} node ${nodeId}: ${sent} distinct samples sent (each answered as taken or duplicate), ${got} counted`);
				}
			}
		}

		// No balance was ever set from its ledger: not at this start, not by billing.reconcile.
		problems.push(...(await repairProblems(http, admin, ADMIN.email, outputs.concat(proc!.output()))));

		return { funds: [...funds.values()].filter(f => f.entryId).length, resentFunds, samples, resentBatches, charges, entries, problems };
	}

	it(`keeps every answered write exactly once, and balance = Σ ledger, through ${ROUNDS} SIGKILLs`, async () => {
		const t0 = Date.now();
		for (let round = 1; round <= ROUNDS; round++) {
			const l = await load(round);
			const readyMs = await start();
			const v = await verify(round);
			const problems = [...l.problems, ...v.problems];
			console.log(
				`round ${round}/${ROUNDS}: killed after ${l.ms} ms — answered ${l.funds} funds (+${l.replays} replays), ${l.batches} batches (${l.samples} samples), ${l.jobs} job runs` +
					`${l.clockMoved ? ", clock +1 h" : ""}; no answer: ${l.unanswered.funds} funds, ${l.unanswered.batches} batches, jobs [${l.unanswered.jobs.join(", ")}]` +
					` | restarted, ready in ${readyMs} ms; sent again ${v.resentFunds} funds, ${v.resentBatches} batches;` +
					` verified ${v.funds} funds once each, ${v.samples} samples once each, ${v.charges} charges (≤ 1 per env-hour), ${v.entries} entries = ${CUSTOMERS} balances` +
					`${problems.length ? ` — ${problems.length} PROBLEMS` : ""}`,
			);
			expect({ round, problems }).toEqual({ round, problems: [] });
		}

		// The last restart's process, undisturbed: every closed environment-hour is charged exactly once.
		const clockAtEnd = Math.ceil(Math.max(platformNow(), clockHighest) / HOUR) * HOUR + 30 * MINUTE; // clear of the grace period's edge
		await setClock(clockAtEnd);
		await job("metering.close-hours");
		await job("billing.charge");
		const firstHour = Math.floor(T0 / HOUR) * HOUR;
		const closedHours = (Math.floor((clockAtEnd - 5 * MINUTE) / HOUR) * HOUR - firstHour) / HOUR;
		const v = await verify(ROUNDS + 1);
		expect(v.problems).toEqual([]);
		for (const c of customers) {
			const rows = await ledgerOf(http, c);
			for (const e of c.envs) {
				const hours = rows.filter(r => r.kind === "charge" && r.envId === e.id).map(r => r.description);
				expect({ env: e.id, charged: hours.length, distinct: new Set(hours).size }).toEqual({ env: e.id, charged: closedHours, distinct: closedHours });
			}
		}
		console.log(
			`crash test: ${ROUNDS} rounds in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${closedHours} environment-hours closed and charged once each on ${CUSTOMERS * ENVS_PER_CUSTOMER} environments`,
		);
		await proc!.stop();
		proc = undefined;
	});
});
