// The usage queue over real JetStream (ARCHITECTURE.md, "Usage stream"): nothing is lost when a
// consumer is killed mid-batch, replicas on one durable split the work, retry and drop do what
// they say, and a message id published twice is stored once. Each case has its own stream (a
// work-queue stream takes one consumer per subject), named per run and deleted at the end.
import { spawn } from "child_process";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { connect, type JetStreamManager, type NatsConnection } from "nats";
import { JetStreamQueue, type Delivery, type Outcome, type QueueOptions } from "../../lib/jetstream-queue";
import { assertNatsListening, natsUrl } from "../helpers/processes";

const RUN = `${process.pid}_${Date.now().toString(36)}`;
const FIXTURE = join(__dirname, "fixtures", "jetstream-consumer.js");
const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

interface Item {
	n: number;
}

const quiet = { info() {}, warn() {}, error() {} };
const streams: string[] = [];
const queues: JetStreamQueue<Item>[] = [];

function names(tag: string) {
	const stream = `QMTEST_${tag}_${RUN}`.toUpperCase();
	streams.push(stream);
	return { servers: natsUrl(), stream, subject: `qmtest.${RUN}.${tag}`, durable: `billing_${tag}` };
}

async function queue(opts: QueueOptions): Promise<JetStreamQueue<Item>> {
	const q = new JetStreamQueue<Item>({ logger: quiet, ...opts });
	queues.push(q);
	await q.connect();
	return q;
}

const items = (count: number, prefix: string) => Array.from({ length: count }, (_, n) => ({ msgId: `${prefix}:${n}`, data: { n } }));
const ackAll = (batch: Delivery<Item>[]) => new Map<string, Outcome>(batch.map(d => [d.msgId, "ack"]));

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 15_000) {
	const deadline = Date.now() + ms;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await sleep(50);
	}
}

describe("JetStreamQueue over real NATS", () => {
	let nc: NatsConnection;
	let jsm: JetStreamManager;
	const tmp = mkdtempSync(join(tmpdir(), "qm-jsq-"));

	beforeAll(async () => {
		await assertNatsListening();
		nc = await connect({ servers: natsUrl() });
		jsm = await nc.jetstreamManager();
	});
	afterAll(async () => {
		for (const q of queues) await q.close().catch(() => undefined);
		for (const s of streams) await jsm?.streams.delete(s).catch(() => undefined);
		await nc?.close();
		rmSync(tmp, { recursive: true, force: true });
	});

	it("delivers 3,000 published items, each acked, and leaves nothing pending", async () => {
		const q = await queue(names("drain"));
		const N = 3000;
		let t = Date.now();
		await q.publishMany(items(N, "drain"));
		const publishMs = Date.now() - t;

		const seen = new Set<number>();
		t = Date.now();
		const acked = await q.drain(async batch => {
			for (const d of batch) seen.add(d.data.n);
			return ackAll(batch);
		});
		// drain() ends with one empty pull, which waits out its 1 s expiry
		const consumeMs = Date.now() - t - 1000;
		console.info(`publish ${Math.round((N / publishMs) * 1000)} items/s, consume ${Math.round((N / Math.max(1, consumeMs)) * 1000)} items/s`);

		expect(acked).toBe(N);
		expect(seen.size).toBe(N);
		expect(await q.pending()).toBe(0);
	});

	it("loses nothing when a consumer is killed -9 with a batch in hand", async () => {
		const opts = { ...names("crash"), ackWaitMs: 2000 };
		const q = await queue(opts);
		const N = 3000;
		await q.publishMany(items(N, "crash"));

		const out = join(tmp, "crash.log");
		const child = spawn(process.execPath, [FIXTURE], {
			// Each batch is recorded, held 200 ms, then acked: the kill lands with a recorded, unacked batch in hand.
			env: {
				...process.env,
				NATS_URL: opts.servers,
				STREAM: opts.stream,
				SUBJECT: opts.subject,
				DURABLE: opts.durable,
				ACK_WAIT_MS: "2000",
				OUT: out,
				BATCH: "100",
				LINGER_MS: "200",
			},
			stdio: ["ignore", "inherit", "inherit"],
		});
		const exited = new Promise(resolve => child.once("exit", resolve));
		const records = () => {
			try {
				return readFileSync(out, "utf8").split("\n").filter(Boolean).map(Number);
			} catch {
				return [];
			}
		};
		try {
			await until("the child to process 1,000 items", () => child.exitCode !== null || records().length >= 1000, 20_000);
		} finally {
			child.kill("SIGKILL");
		}
		await exited;
		const first = records();
		expect(first.length).toBeGreaterThanOrEqual(1000);
		expect(first.length).toBeLessThan(N);

		// The survivor drains until the dead consumer's unacked batch has come back (after ack_wait).
		const second: number[] = [];
		await until(
			"the backlog to drain",
			async () => {
				await q.drain(async batch => {
					for (const d of batch) second.push(d.data.n);
					return ackAll(batch);
				});
				return (await q.pending()) === 0;
			},
			15_000,
		);

		const union = new Set([...first, ...second]);
		expect(union.size).toBe(N);
		for (let n = 0; n < N; n++) expect(union.has(n)).toBe(true);
		// Each consumer processed each record once at most; the only records processed twice are the
		// dead consumer's batch in hand, which came back to the survivor: at least one, at most a batch.
		expect(new Set(first).size).toBe(first.length);
		expect(new Set(second).size).toBe(second.length);
		const firstSet = new Set(first);
		const redelivered = second.filter(n => firstSet.has(n)).length;
		console.info(`killed after ${first.length} records; the second consumer processed ${second.length}; ${redelivered} redelivered`);
		expect(redelivered).toBeGreaterThan(0);
		expect(redelivered).toBeLessThanOrEqual(100);
		expect(first.length + second.length).toBe(N + redelivered);
	});

	it("splits the work between two consumers on one durable", async () => {
		const opts = names("split");
		const a = await queue(opts);
		const b = await queue(opts);
		const N = 3000;
		const got = { a: [] as number[], b: [] as number[] };
		const handler = (who: "a" | "b") => async (batch: Delivery<Item>[]) => {
			for (const d of batch) got[who].push(d.data.n);
			await sleep(5); // a commit takes time: the other replica's pull is served meanwhile
			return ackAll(batch);
		};
		a.start(handler("a"), 100);
		b.start(handler("b"), 100);
		await sleep(200);
		await a.publishMany(items(N, "split"));
		await until("both consumers to finish", async () => got.a.length + got.b.length >= N && (await a.pending()) === 0);
		await Promise.all([a.stop(), b.stop()]);

		console.info(`split: ${got.a.length} + ${got.b.length}`);
		expect(got.a.length).toBeGreaterThan(0);
		expect(got.b.length).toBeGreaterThan(0);
		expect(new Set([...got.a, ...got.b]).size).toBe(N);
		expect(got.a.length + got.b.length).toBe(N); // each acked once: nothing came back
	});

	it("redelivers on retry, terminates on drop, and gives up on a poison message after maxDeliveries", async () => {
		const errors: string[] = [];
		const q = await queue({ ...names("outcomes"), maxDeliveries: 3, logger: { ...quiet, error: (...a: unknown[]) => errors.push(a.join(" ")) } });
		await q.publishMany([
			{ msgId: "retry-once", data: { n: 1 } },
			{ msgId: "drop", data: { n: 2 } },
			{ msgId: "poison", data: { n: 3 } },
			{ msgId: "fine", data: { n: 4 } },
		]);
		const deliveries: Record<string, number[]> = {};
		const handler = async (batch: Delivery<Item>[]) => {
			const out = new Map<string, Outcome>();
			for (const d of batch) {
				(deliveries[d.msgId] ??= []).push(d.deliveries);
				if (d.msgId === "drop") out.set(d.msgId, "drop");
				else if (d.msgId === "poison" || (d.msgId === "retry-once" && d.deliveries === 1)) out.set(d.msgId, "retry");
				else out.set(d.msgId, "ack");
			}
			return out;
		};
		// nak delays are 500 ms, then 1 s: pull until the poison message has had its three deliveries
		await until("the poison message to be given up", async () => {
			await q.pull(handler, 10, 1000);
			return (deliveries.poison?.length ?? 0) >= 3;
		});
		expect(deliveries["retry-once"]).toEqual([1, 2]);
		expect(deliveries.drop).toEqual([1]);
		expect(deliveries.fine).toEqual([1]);
		expect(deliveries.poison).toEqual([1, 2, 3]);
		expect(errors.some(e => e.includes("poison"))).toBe(true);

		// Nothing comes back after drop or give-up, and nothing is left pending.
		expect(await q.pull(handler, 10, 1000)).toBe(0);
		expect(await q.pending()).toBe(0);
		expect(deliveries.drop).toEqual([1]);
		expect(deliveries.poison).toEqual([1, 2, 3]);
	});

	it("stores a message id published twice within the duplicate window once", async () => {
		const opts = names("dedup");
		const q = await queue(opts);
		await q.publish("env-1:2024-01-01T00:1", { n: 1 });
		await q.publish("env-1:2024-01-01T00:1", { n: 1 });
		await q.publishMany([
			{ msgId: "env-1:2024-01-01T00:1", data: { n: 1 } },
			{ msgId: "env-1:2024-01-01T01:1", data: { n: 2 } },
		]);
		expect((await jsm.streams.info(opts.stream)).state.messages).toBe(2);
		expect(await q.pending()).toBe(2);
	});
});
