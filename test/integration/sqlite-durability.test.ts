// The embedded store on real files (mixins/sqlite-store.ts) and its operations (`qm backup`,
// `qm restore`, mixins/sqlite-backup.ts): every database the platform opens is in WAL mode with
// group commit and belongs to one service; a write is answered only after the fsync that covers
// it; a damaged database or NeDB files stop the start with a message that names them; a backup
// taken while money moves restores to balances that equal their ledgers, and restore refuses to
// run beside a platform. A backup taken while usage is ingested, hours are closed and charged and
// funds are posted restores to a platform whose balances equal their ledgers, with no
// environment-hour charged twice, that carries on charging without charging one twice.
import { spawn } from "child_process";
import { closeSync, existsSync, fstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from "fs";
import { hostname, tmpdir } from "os";
import { join } from "path";
import Database from "better-sqlite3";
import { Durability, openSqliteFiles, serviceOfFile } from "../../mixins/sqlite-store";
import { api, signInWhenReady, waitUntil, type Api } from "../helpers/http";
import { addCustomer, checkLedger, ledgerOf, rand, randomSample, repairProblems, type Customer } from "../helpers/metered";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";
import { assertBuilt, ENTRY, freePort, ROOT, spawnQm, type QmProcess } from "../helpers/processes";

const ADMIN = { email: "root@example.com", password: "Durable-adm1n-pass!" };
const PASSWORD = "Paying-customer-1!";
const dirs: string[] = [];
const tempDir = (label: string) => {
	const d = mkdtempSync(join(tmpdir(), `qm-${label}-`));
	dirs.push(d);
	return d;
};
afterAll(() => {
	for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** `node dist/bin/qm.js <args>` to its end: exit code and output. */
function qm(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
	assertBuilt();
	return new Promise(resolve => {
		let output = "";
		const proc = spawn(process.execPath, [ENTRY, ...args], {
			cwd: ROOT,
			env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
			stdio: ["ignore", "pipe", "pipe"],
		});
		proc.stdout.on("data", d => (output += d));
		proc.stderr.on("data", d => (output += d));
		proc.once("exit", code => resolve({ code, output }));
	});
}

function exited(p: QmProcess, timeoutMs: number): Promise<number | null> {
	if (p.proc.exitCode !== null) return Promise.resolve(p.proc.exitCode);
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`${p.name} still runs after ${timeoutMs} ms:\n${p.output()}`)), timeoutMs);
		p.proc.once("exit", code => {
			clearTimeout(timer);
			resolve(code);
		});
	});
}

/** Starts `qm` on `dataDir` (with `env` besides) and waits until it is ready. */
async function startQm(name: string, dataDir: string, env: Record<string, string> = {}) {
	const port = await freePort();
	const proc = spawnQm(name, { PORT: String(port), DATA_DIR: dataDir, QM_JOBS: "off", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password, ...env });
	const base = `http://127.0.0.1:${port}`;
	try {
		await waitUntil(async () => (await fetch(`${base}/ready`)).status === 200, 20_000, 50);
	} catch (err) {
		await proc.stop("SIGKILL");
		throw new Error(`${name} did not become ready (${(err as Error).message}):\n${proc.output()}`);
	}
	const http = api(`${base}/api/v1`);
	const admin = await waitUntil(async () => {
		const r = await http.post("/auth/signin", ADMIN);
		return r.status === 200 ? (r.body.session as string) : null;
	});
	return { proc, base, http, admin };
}

describe("the platform on SQLite files, in process", () => {
	let p: Platform;
	let dataDir: string;
	const realFsync = Durability.fsync;

	beforeAll(async () => {
		dataDir = tempDir("files");
		p = await startPlatform({ env: { DATA_DIR: dataDir, QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		await waitUntil(async () => (await p.http.post("/auth/signin", ADMIN)).status === 200);
	});
	afterAll(async () => {
		Durability.fsync = realFsync;
		await p?.stop();
	});

	it("opens one database per service, each in WAL mode with synchronous=NORMAL and a WAL-backed group commit", async () => {
		const files = openSqliteFiles();
		expect(files.length).toBeGreaterThan(0);
		const owners = p.broker.services.filter(s => ((s as unknown as { _opened?: unknown[] })._opened ?? []).length > 0);
		// Every service with collections has exactly its own file, named after it, in DATA_DIR.
		expect(files.map(f => f.path).sort()).toEqual(owners.map(s => join(dataDir, `${s.name}.sqlite`)).sort());
		for (const s of owners) {
			const file = files.find(f => serviceOfFile(f.path!) === s.name)!;
			for (const collection of Object.keys((s as unknown as { db: Record<string, unknown> }).db)) {
				expect([s.name, collection, file.db.prepare("SELECT 1 AS ok FROM sqlite_master WHERE type = 'table' AND name = ?").get(collection)]).toEqual([
					s.name,
					collection,
					{ ok: 1 },
				]);
			}
		}

		const synced: number[] = [];
		Durability.fsync = (fd, done) => {
			synced.push(fd);
			realFsync(fd, done);
		};
		try {
			for (const f of files) {
				expect([f.path, f.db.pragma("journal_mode", { simple: true })]).toEqual([f.path, "wal"]);
				// NORMAL: a commit does not sync; the group commit below syncs the WAL before any answer.
				expect([f.path, f.db.pragma("synchronous", { simple: true })]).toEqual([f.path, 1]);
				// The durability of the file syncs that file's own WAL (the same inode), not nothing.
				synced.length = 0;
				f.durability.commit();
				await f.durability.settled();
				expect(synced).toHaveLength(1);
				expect(fstatSync(synced[0]).ino).toBe(statSync(`${f.path}-wal`).ino);
			}
		} finally {
			Durability.fsync = realFsync;
		}
	});

	it("answers a fund only after the fsync of the WAL that holds it", async () => {
		const user = await createAccount(p, "held@example.com", PASSWORD);
		const admin = (await p.http.post("/auth/signin", ADMIN)).body.session as string;
		const before = await p.broker.call<{ main: number }, { accountId: string }>("billing.balanceOf", { accountId: user.id });

		const held: { fd: number; release: () => void }[] = [];
		Durability.fsync = (fd, done) => void held.push({ fd, release: () => realFsync(fd, done) });
		let answered = false;
		const funding = p.http
			.post(`/admin/accounts/${user.id}/fund`, { amount: "12.50", note: "held fsync" }, { token: admin, headers: { "idempotency-key": "held-fsync-1" } })
			.finally(() => (answered = true));
		try {
			await waitUntil(async () => held.length > 0, 5000, 5);
			await new Promise(r => setTimeout(r, 300));
			expect(answered).toBe(false);
			for (const h of held) expect(readdirSync(dataDir).some(n => n.endsWith("-wal") && statSync(join(dataDir, n)).ino === fstatSync(h.fd).ino)).toBe(true);
		} finally {
			Durability.fsync = realFsync;
			for (const h of held.splice(0)) h.release();
		}
		const answer = await funding;
		expect(answer.status).toBe(201);
		const after = await p.broker.call<{ main: number }, { accountId: string }>("billing.balanceOf", { accountId: user.id });
		expect(after.main - before.main).toBe(12_500_000);
	});
});

describe("starting on a damaged or foreign DATA_DIR", () => {
	beforeAll(() => assertBuilt());

	it("refuses a database that fails quick_check, naming the file, and never reports ready", async () => {
		const dataDir = tempDir("damaged");
		const p = await startPlatform({ env: { DATA_DIR: dataDir, QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		try {
			await waitUntil(async () => (await p.http.post("/auth/signin", ADMIN)).status === 200);
			const admin = (await p.http.post("/auth/signin", ADMIN)).body.session as string;
			for (let i = 0; i < 5; i++) {
				const u = await createAccount(p, `damage${i}@example.com`, PASSWORD);
				const r = await p.http.post(
					`/admin/accounts/${u.id}/fund`,
					{ amount: "3.00", note: "before damage" },
					{ token: admin, headers: { "idempotency-key": `damage-${i}` } },
				);
				expect(r.status).toBe(201);
			}
		} finally {
			await p.stop(); // closing checkpoints: everything is in billing.sqlite, its WAL gone
		}
		const file = join(dataDir, "billing.sqlite");
		expect(existsSync(`${file}-wal`)).toBe(false);
		damageBtreePage(file);

		const port = await freePort();
		const proc = spawnQm("damaged", { PORT: String(port), DATA_DIR: dataDir, QM_JOBS: "off" });
		let ready = false;
		const probing = (async () => {
			while (proc.proc.exitCode === null && proc.proc.signalCode === null) {
				ready ||= await fetch(`http://127.0.0.1:${port}/ready`).then(
					r => r.status === 200,
					() => false,
				);
				await new Promise(r => setTimeout(r, 25));
			}
		})();
		const code = await exited(proc, 20_000);
		await probing;
		expect(code).not.toBe(0);
		expect(ready).toBe(false);
		expect(proc.output()).toContain(`The database ${file} is damaged`);
		expect(proc.output()).toContain("qm restore");
	});

	it("refuses NeDB files with what changed", async () => {
		const dataDir = tempDir("nedb");
		writeFileSync(join(dataDir, "accounts.db"), JSON.stringify({ _id: "a1", email: "old@example.com", status: "active" }) + "\n");
		const proc = spawnQm("nedb", { PORT: String(await freePort()), DATA_DIR: dataDir, QM_JOBS: "off" });
		expect(await exited(proc, 20_000)).not.toBe(0);
		expect(proc.output()).toMatch(/NeDB files: accounts\.db/);
		expect(proc.output()).toMatch(/SQLite now .*no migration/);
		expect(readdirSync(dataDir).filter(n => n.endsWith(".sqlite"))).toEqual([]);
		expect(readdirSync(dataDir).filter(n => n.endsWith(".pid"))).toEqual([]); // the lock went with the process
	});
});

/**
 * Damages one b-tree page in the middle of the file (its header and first cells overwritten), one
 * that SQLite's quick_check reaches: a page on the freelist may look like a b-tree page and is not.
 */
function damageBtreePage(file: string) {
	const fd = openSync(file, "r+");
	try {
		const header = Buffer.alloc(100);
		readSync(fd, header, 0, 100, 0);
		const pageSize = header.readUInt16BE(16) === 1 ? 65_536 : header.readUInt16BE(16);
		const pages = Math.floor(fstatSync(fd).size / pageSize);
		const isBtree = (n: number) => {
			const b = Buffer.alloc(1);
			readSync(fd, b, 0, 1, (n - 1) * pageSize);
			return [2, 5, 10, 13].includes(b[0]);
		};
		const candidates = Array.from({ length: pages - 1 }, (_, i) => i + 2).filter(isBtree);
		const middle = Math.floor(candidates.length / 2);
		const order = [...candidates.slice(middle), ...candidates.slice(0, middle)];
		for (const page of order) {
			const at = (page - 1) * pageSize;
			const saved = Buffer.alloc(64);
			readSync(fd, saved, 0, 64, at);
			writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, at);
			const db = new Database(file, { readonly: true });
			let verdict: string;
			try {
				verdict = (db.pragma("quick_check") as { quick_check: string }[]).map(r => r.quick_check).join("; ");
			} catch (err) {
				verdict = (err as Error).message;
			} finally {
				db.close();
			}
			if (verdict !== "ok") return;
			writeSync(fd, saved, 0, 64, at);
		}
		throw new Error(`no page of ${file} could be damaged so that quick_check sees it`);
	} finally {
		closeSync(fd);
		for (const suffix of ["-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
	}
}

describe("qm backup beside a running platform, qm restore", () => {
	jest.setTimeout(180_000);
	let running: QmProcess[] = [];
	beforeAll(() => assertBuilt());
	afterAll(async () => {
		for (const r of running) await r.stop("SIGKILL");
	});

	async function signUp(http: Api, admin: string, email: string) {
		expect((await http.post("/auth/signup", { email, acceptTerms: true })).status).toBe(202);
		const mail = await waitUntil(async () => {
			const r = await http.get(`/admin/outbox?to=${encodeURIComponent(email)}`, { token: admin });
			return (r.body.rows as { template: string; links: string[] }[] | undefined)?.find(m => m.template === "activation");
		});
		const activated = await http.post("/auth/activate", { token: new URL(mail.links[0]).searchParams.get("token"), password: PASSWORD });
		expect(activated.status).toBe(200);
		return activated.body.account.id as string;
	}

	const micros = (amount: string) => Math.round(Number(amount) * 1_000_000);

	it("copies every database consistently while funds are posted; the restore's balances equal their ledgers", async () => {
		const dataDir = tempDir("live");
		const first = await startQm("live", dataDir);
		running.push(first.proc);
		const locks = readdirSync(dataDir).filter(n => /^qm-\d+\.pid$/.test(n));
		expect(locks).toEqual([`qm-${first.proc.proc.pid}.pid`]);

		const emails = ["saver1@example.com", "saver2@example.com", "saver3@example.com"];
		const ids: string[] = [];
		for (const e of emails) ids.push(await signUp(first.http, first.admin, e));

		// Funds of 1.00 each, posted without pause on every account until told to stop.
		const acked = new Map(ids.map(id => [id, 0]));
		let funding = true;
		let n = 0;
		const loops = ids.map(async id => {
			while (funding) {
				const r = await first.http.post(
					`/admin/accounts/${id}/fund`,
					{ amount: "1.00", note: "backup under load" },
					{ token: first.admin, headers: { "idempotency-key": `load-${++n}` } },
				);
				if (r.status !== 201) throw new Error(`fund answered ${r.status}: ${r.text}`);
				acked.set(id, acked.get(id)! + 1);
			}
		});
		await waitUntil(async () => [...acked.values()].every(v => v >= 5), 20_000, 10);
		const ackedBefore = new Map(acked);
		const backupDir = join(tempDir("backup"), "nightly");
		const backup = await qm(["backup", backupDir], { DATA_DIR: dataDir });
		const ackedDuring = [...acked.entries()].map(([id, v]) => v - ackedBefore.get(id)!);
		funding = false;
		await Promise.all(loops);

		expect(backup.code).toBe(0);
		expect(ackedDuring.some(v => v > 0)).toBe(true); // the backup really ran beside writes
		const manifest = JSON.parse(readFileSync(join(backupDir, "manifest.json"), "utf8"));
		const databases = readdirSync(dataDir)
			.filter(f => f.endsWith(".sqlite"))
			.sort();
		const copied = manifest.files.filter((f: { name: string }) => f.name.endsWith(".sqlite")).map((f: { name: string }) => f.name);
		expect([...copied].sort()).toEqual(databases);
		// A producer before its consumer: metering first, billing last (mixins/sqlite-backup.ts).
		expect([copied[0], copied[copied.length - 1]]).toEqual(["metering.sqlite", "billing.sqlite"]);
		expect(manifest.files.map((f: { name: string }) => f.name)).toContain("master.key");
		for (const name of databases) expect(backup.output).toContain(name);
		expect(readdirSync(backupDir).filter(f => /-(wal|shm)$/.test(f))).toEqual([]);

		// Into a directory that already holds something: refused.
		expect((await qm(["backup", backupDir], { DATA_DIR: dataDir })).output).toMatch(/not empty/);
		// Restore beside the running platform: refused, DATA_DIR untouched.
		const beside = await qm(["restore", backupDir], { DATA_DIR: dataDir });
		expect(beside.code).not.toBe(0);
		expect(beside.output).toContain("Stop the platform first");
		expect(beside.output).toContain(`pid ${first.proc.proc.pid}`);
		expect(readdirSync(dataDir).some(f => f.startsWith("pre-restore-") || f.endsWith(".restoring"))).toBe(false);
		// A directory without a manifest is not a backup.
		const notBackup = tempDir("not-backup");
		writeFileSync(join(notBackup, "billing.sqlite"), readFileSync(join(backupDir, "billing.sqlite")));
		const refused = await qm(["restore", notBackup], { DATA_DIR: tempDir("unused") });
		expect(refused.code).not.toBe(0);
		expect(refused.output).toContain("manifest.json");

		expect(await first.proc.stop()).toBe(0);
		expect(readdirSync(dataDir).filter(n => n.endsWith(".pid"))).toEqual([]); // released at stop

		// A fresh DATA_DIR, with the stale lock of a process killed long ago (taken over at start).
		const restoredDir = tempDir("restored");
		const restore = await qm(["restore", backupDir], { DATA_DIR: restoredDir });
		expect(restore.code).toBe(0);
		expect(restore.output).toContain("billing.sqlite");
		const dead = spawn(process.execPath, ["-e", ""]);
		await new Promise(r => dead.once("exit", r));
		writeFileSync(join(restoredDir, `qm-${dead.pid}.pid`), JSON.stringify({ pid: dead.pid, host: hostname(), role: "platform", services: [], startedAt: "" }));

		const second = await startQm("restored", restoredDir);
		running.push(second.proc);
		expect(existsSync(join(restoredDir, `qm-${dead.pid}.pid`))).toBe(false);
		for (const [i, id] of ids.entries()) {
			const session = (await second.http.post("/auth/signin", { email: emails[i], password: PASSWORD })).body.session as string;
			const balance = (await second.http.get("/billing/balance", { token: session })).body;
			let sum = 0;
			let count = 0;
			for (let page = 1; ; page++) {
				const r = (await second.http.get(`/billing/transactions?page=${page}&pageSize=100`, { token: session })).body;
				for (const row of r.rows as { amount: string; kind: string }[]) {
					sum += micros(row.amount);
					if (row.kind === "refill") count++;
				}
				if (page >= r.totalPages) break;
			}
			expect([id, micros(balance.total)]).toEqual([id, sum]);
			// What was acknowledged before the backup began is in it; nothing beyond what was posted.
			expect(micros(balance.main)).toBe(count * 1_000_000);
			expect(count).toBeGreaterThanOrEqual(ackedBefore.get(id)!);
			expect(count).toBeLessThanOrEqual(acked.get(id)!);
		}
		// The ledger check at start found nothing to repair.
		expect(second.proc.output()).not.toMatch(/set from their ledger|differed from its ledger|Ledger mismatch/);
		expect(await second.proc.stop()).toBe(0);
		running = [];
	});

	it("restores a backup taken while usage is ingested, hours are closed and charged and funds are posted: balances equal their ledgers, no hour is charged twice, and charging carries on", async () => {
		const HOUR = 3_600_000;
		const MINUTE = 60_000;
		const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));
		// The platform clock a day ahead of the wall clock (nothing written expires on the wall clock
		// that sweeps TTL indexes), at 10 past an hour; each step of the charging loop moves it an hour on.
		const T0 = Math.ceil(Date.now() / HOUR) * HOUR + 24 * HOUR + 10 * MINUTE;
		const clockEnv = { QM_TEST_CLOCK: "1" };
		type Qm = Awaited<ReturnType<typeof startQm>>;
		let clock = { at: T0, setAt: Date.now() };
		let clockHighest = T0; // the latest instant ever asked for
		const platformNow = () => clock.at + (Date.now() - clock.setAt);
		async function setClock(q: Qm, at: number) {
			clockHighest = Math.max(clockHighest, at);
			const r = await q.http.post("/admin/clock", { now: new Date(at).toISOString() }, { token: q.admin });
			if (r.status !== 200) throw new Error(`setting the clock answered ${r.status}: ${r.text}`);
			clock = { at, setAt: Date.now() };
		}
		async function signIn(q: Qm) {
			q.admin = await signInWhenReady(q.http, ADMIN);
		}
		async function job(q: Qm, name: string): Promise<number> {
			const r = await q.http.post(`/admin/jobs/${name}/run`, undefined, { token: q.admin });
			if (r.status !== 200) throw new Error(`${name} answered ${r.status}: ${r.text}`);
			return r.body.processed as number;
		}
		/** Every ledger checked (balance = Σ ledger, balance-after chain, ≤ 1 charge per environment-hour), and no repair. */
		async function check(q: Qm, customers: Customer[], outputs: string[]) {
			const problems: string[] = [];
			const ledgers = new Map<string, Awaited<ReturnType<typeof checkLedger>>>();
			for (const c of customers) {
				const checked = await checkLedger(q.http, c);
				problems.push(...checked.problems);
				ledgers.set(c.id, checked);
			}
			problems.push(...(await repairProblems(q.http, q.admin, ADMIN.email, outputs)));
			return { problems, ledgers, charges: [...ledgers.values()].reduce((a, l) => a + l.charges, 0) };
		}

		/* ---------- the platform, its customers with environments, their opening funds ---------- */
		const dataDir = tempDir("metered");
		const first = await startQm("metered", dataDir, clockEnv);
		running.push(first.proc);
		await setClock(first, T0);
		await signIn(first); // a session from before the clock moved a day on has expired
		const pat = await first.http.post(
			"/tokens",
			{ password: ADMIN.password, description: "orchestrator", apiList: ["metering.usage.Ingest"] },
			{ token: first.admin },
		);
		expect(pat.status).toBe(201);
		const ingestToken = pat.body.token as string;
		await job(first, "metering.close-hours"); // metering starts closing with the hour it first runs in
		const customers: Customer[] = [];
		for (let i = 0; i < 2; i++) {
			const c = await addCustomer(first.http, first.admin, `metered${i}@example.com`, PASSWORD, 2);
			customers.push(c);
			const opening = await first.http.post(
				`/admin/accounts/${c.id}/fund`,
				{ amount: "500.00", note: "opening" },
				{ token: first.admin, headers: { "idempotency-key": `opening-${c.id}` } },
			);
			expect(opening.status).toBe(201);
		}

		/* ---------- the load: funds, usage batches, and hours closed and charged as the clock moves ---------- */
		const problems: string[] = [];
		let stop = false;
		const acked = new Map(customers.map(c => [c.id, 0]));
		let fundSeq = 0;
		let batches = 0;
		let batchSeq = 0;
		const chargeRuns: { from: number; to: number; processed: number }[] = [];
		let hoursMoved = 0;
		/** Runs `step` until told to stop; what goes wrong is a problem, and ends it. */
		const loop = (step: () => Promise<void>) =>
			(async () => {
				try {
					while (!stop) await step();
				} catch (err) {
					problems.push((err as Error).message);
				}
			})();
		const funders = customers.map(c =>
			loop(async () => {
				const r = await first.http.post(
					`/admin/accounts/${c.id}/fund`,
					{ amount: "1.00", note: "backup under charging" },
					{ token: first.admin, headers: { "idempotency-key": `metered-${++fundSeq}` } },
				);
				if (r.status !== 201) throw new Error(`fund answered ${r.status}: ${r.text.slice(0, 300)}`);
				acked.set(c.id, acked.get(c.id)! + 1);
			}),
		);
		const ingester = loop(async () => {
			const n = ++batchSeq;
			const now = platformNow();
			const samples = Array.from({ length: 20 }, (_, i) => {
				const c = customers[rand(0, customers.length - 1)];
				const e = c.envs[rand(0, c.envs.length - 1)];
				return randomSample(`m${n}-${i}`, e, now, T0);
			});
			const r = await first.http.post("/metering/usage", { samples }, { token: ingestToken });
			if (r.status !== 200 || r.body.accepted !== samples.length)
				throw new Error(`a batch of ${samples.length} fresh samples answered ${r.status}: ${r.text.slice(0, 300)}`);
			batches++;
		});
		const charging = loop(async () => {
			await setClock(first, platformNow() + HOUR);
			// A session lasts 24 hours of platform time however busy: a new one now and then.
			if (++hoursMoved % 8 === 0) await signIn(first);
			await job(first, "metering.close-hours");
			const from = Date.now();
			const processed = await job(first, "billing.charge");
			chargeRuns.push({ from, to: Date.now(), processed });
			await sleep(25);
		});
		const chargedRuns = (from = 0, to = Infinity) => chargeRuns.filter(r => r.processed > 0 && r.from >= from && r.to <= to).length;
		const allAcked = () => [...acked.values()].reduce((a, b) => a + b, 0);

		// Charges, funds and batches before the backup; then backups until one ran beside all three
		// (a run of billing.charge that charged something began and ended while `qm backup` ran).
		let backupDir = "";
		let backup = { code: null as number | null, output: "" };
		const chargedBefore = new Map<string, string[]>();
		const ackedBefore = new Map<string, number>();
		let during = { funds: 0, batches: 0, chargeRuns: 0 };
		try {
			await waitUntil(async () => problems.length > 0 || (chargedRuns() >= 2 && [...acked.values()].every(v => v >= 3) && batches >= 3), 30_000, 20);
			for (let attempt = 1; attempt <= 3 && !problems.length; attempt++) {
				for (const c of customers)
					chargedBefore.set(
						c.id,
						(await ledgerOf(first.http, c)).filter(r => r.kind === "charge").map(r => r.id),
					);
				for (const [id, v] of acked) ackedBefore.set(id, v);
				const fundsBefore = allAcked();
				const batchesBefore = batches;
				backupDir = join(tempDir("backup"), "charging");
				const from = Date.now();
				backup = await qm(["backup", backupDir], { DATA_DIR: dataDir });
				during = { funds: allAcked() - fundsBefore, batches: batches - batchesBefore, chargeRuns: chargedRuns(from, Date.now()) };
				if (backup.code !== 0 || (during.funds > 0 && during.batches > 0 && during.chargeRuns > 0)) break;
			}
		} finally {
			stop = true;
			await Promise.all([...funders, ingester, charging]);
		}
		expect(problems).toEqual([]);
		expect([backup.code, backup.output]).toEqual([0, expect.stringContaining("billing.sqlite")]);
		// The backup really ran beside all three.
		expect({ ...during, besideAll: during.funds > 0 && during.batches > 0 && during.chargeRuns > 0 }).toMatchObject({ besideAll: true });
		const firstOutput = first.proc.output();
		expect(await first.proc.stop()).toBe(0);
		expect(firstOutput).not.toMatch(/set from their ledger|differed from its ledger|Ledger mismatch/);

		/* ---------- restored into a fresh DATA_DIR ---------- */
		const restoredDir = tempDir("restored-charging");
		const restore = await qm(["restore", backupDir], { DATA_DIR: restoredDir });
		expect([restore.code, restore.output]).toEqual([0, expect.stringContaining("billing.sqlite")]);
		const second = await startQm("restored-charging", restoredDir, clockEnv);
		running.push(second.proc);
		// It runs on the wall clock: moved past the last instant the first one was set to (and entries
		// a request left pending are old enough for billing.reconcile to settle); then a new session.
		await setClock(second, clockHighest + 2 * MINUTE);
		await signIn(second);

		// As the backup left it: balances = ledgers, at most one charge per environment-hour, and the
		// charges and funds answered before the backup began are in it.
		const restored = await check(second, customers, [second.proc.output()]);
		expect(restored.problems).toEqual([]);
		for (const c of customers) {
			const rows = restored.ledgers.get(c.id)!.rows;
			const ids = new Set(rows.map(r => r.id));
			expect([c.email, chargedBefore.get(c.id)!.filter(id => !ids.has(id))]).toEqual([c.email, []]);
			const refills = rows.filter(r => r.kind === "refill" && r.description.includes("backup under charging")).length;
			expect([c.email, refills >= ackedBefore.get(c.id)!, refills <= acked.get(c.id)!]).toEqual([c.email, true, true]);
		}
		expect(restored.charges).toBeGreaterThan(0);

		// It carries on: reconcile, close and charge what is due, then an hour later again.
		await job(second, "billing.reconcile");
		await job(second, "metering.close-hours");
		await job(second, "billing.charge");
		const carried = await check(second, customers, [second.proc.output()]);
		expect(carried.problems).toEqual([]);
		await setClock(second, Math.ceil(platformNow() / HOUR) * HOUR + 30 * MINUTE); // clear of the grace period's edge
		expect(await job(second, "metering.close-hours")).toBeGreaterThan(0);
		expect(await job(second, "billing.charge")).toBeGreaterThan(0);
		const later = await check(second, customers, [second.proc.output()]);
		expect(later.problems).toEqual([]);
		expect(later.charges).toBeGreaterThanOrEqual(carried.charges + customers.length * 2); // the new hour, once per environment

		const closedHours = (Math.floor((platformNow() - 5 * MINUTE) / HOUR) * HOUR - Math.floor(T0 / HOUR) * HOUR) / HOUR;
		// Exactly once: none lost between the copies (the backup copies metering before billing), none twice.
		expect(later.charges).toBe(closedHours * customers.length * 2);
		console.log(
			`backup under charging: ${hoursMoved} hours moved, ${chargeRuns.length} charge runs (${chargedRuns()} charged); during the backup ${during.funds} funds, ${during.batches} batches, ${during.chargeRuns} charging runs;` +
				` restored ${restored.charges} charges (${[...chargedBefore.values()].reduce((a, l) => a + l.length, 0)} read before the backup), ${later.charges} after carrying on, for ${closedHours} closed hours × ${customers.length * 2} environments`,
		);
		expect(await second.proc.stop()).toBe(0);
		running = [];
	});
});
