// Password hashing (PWD-1): bcrypt over a SHA-256 pre-hash, so passwords up to 256 characters are
// never silently truncated at bcrypt's 72 bytes (base64 of the digest is 44 ASCII characters and
// contains no NUL). bcryptjs is pure JavaScript, so hashing runs in worker threads: the event
// loop that serves other requests never waits for a hash.
import { createHash } from "crypto";
import { cpus } from "os";
import { Worker } from "worker_threads";
import { envInt } from "./config";

const WORKER_SOURCE = `
const { parentPort, workerData } = require("worker_threads");
const bcrypt = require(workerData.bcryptPath);
parentPort.on("message", ({ id, op, a, b }) => {
	const done = (error, result) => parentPort.postMessage({ id, error: error ? String(error) : null, result });
	if (op === "hash") bcrypt.hash(a, b, done);
	else bcrypt.compare(a, b, done);
});
`;

type Job = { resolve: (v: unknown) => void; reject: (e: Error) => void };

class HashPool {
	private workers: Worker[] = [];
	private pending = new Map<number, Job>();
	private nextId = 1;
	private turn = 0;

	constructor(private size: number) {}

	private worker(): Worker {
		if (this.workers.length < this.size) {
			const w = new Worker(WORKER_SOURCE, {
				eval: true,
				workerData: { bcryptPath: require.resolve("bcryptjs") },
			});
			w.unref(); // an idle pool never keeps the process alive
			w.on("message", ({ id, error, result }) => {
				const job = this.pending.get(id);
				if (!job) return;
				this.pending.delete(id);
				if (error) job.reject(new Error(error));
				else job.resolve(result);
			});
			w.on("error", err => this.failAll(err));
			this.workers.push(w);
			return w;
		}
		return this.workers[this.turn++ % this.workers.length];
	}

	private failAll(err: Error) {
		for (const job of this.pending.values()) job.reject(err);
		this.pending.clear();
		for (const w of this.workers) void w.terminate();
		this.workers = [];
	}

	run<T>(op: "hash" | "compare", a: string, b: string | number): Promise<T> {
		return new Promise((resolve, reject) => {
			const id = this.nextId++;
			this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
			const w = this.worker();
			w.ref(); // keep the process up while a job is in flight
			w.postMessage({ id, op, a, b });
		}).finally(() => {
			if (this.pending.size === 0) for (const w of this.workers) w.unref();
		}) as Promise<T>;
	}

	async close() {
		await Promise.all(this.workers.map(w => w.terminate()));
		this.workers = [];
	}
}

const pool = new HashPool(Math.max(1, Math.min(4, cpus().length)));

export function preHash(password: string): string {
	return createHash("sha256").update(password, "utf8").digest("base64");
}

export function bcryptCost(): number {
	return envInt("BCRYPT_COST", 12);
}

export function hashPassword(password: string): Promise<string> {
	return pool.run<string>("hash", preHash(password), bcryptCost());
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
	return pool.run<boolean>("compare", preHash(password), hash);
}

/**
 * A hash of a random password with the current cost: sign-in attempts for unknown emails compare
 * against it so that they take as long as real ones (REG-5).
 */
let dummy: Promise<string> | null = null;
export function dummyHash(): Promise<string> {
	if (!dummy) dummy = hashPassword(`dummy-${Math.random()}-${Date.now()}`);
	return dummy;
}

export function closeHashPool(): Promise<void> {
	return pool.close();
}
