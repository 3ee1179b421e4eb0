// The in-memory side of ingestion (MTR-1, MTR-2). Pure: no Moleculer, no I/O.
//
// - `encodeRows`/`decodeRows`: a batch's samples in binary, as the batch log (or, with replicas,
//   the batch document) keeps them until they are in their hours: a crash before that folds them
//   again from there.
// - `PendingHours`: samples folded into environment-hour buckets that are not written yet. Each
//   hour remembers the batches it holds, so one write per hour takes many batches at once.
// - `RetiredBatchKeys`: which batches an hour's document may stop recording.
// - `SampleIdMemory`: the ids of the samples accepted in the last 36 days, when this process
//   alone owns metering's store (NeDB): a resent sample is recognised without a store lookup.
import { HOUR_MS, hourOf } from "../../lib/usage-record";
import type { Bucket } from "./env-hours";
import type { Sample } from "./samples";

/* ---- a batch's samples in binary ---- */

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error("Stored batches are little-endian; this machine is not");

/**
 * A batch's samples but their ids (kept apart, as the memory of ids needs them): its environment
 * ids, each once, and each sample's node id ("," between; ids never hold it), then for each sample
 * its time, RAM, CPU, disk and traffic in and out as doubles (exact), then its environment as a
 * 16-bit position in that list. Numbers are not written as text: formatting 6,000 doubles would
 * cost more than the rest of ingesting the batch.
 */
export function encodeRows(samples: Sample[]): Buffer {
	const n = samples.length;
	const envs = new Map<string, number>();
	const nodes = new Array<string>(n);
	const values = new Float64Array(6 * n);
	const refs = new Uint16Array(n);
	let lastEnv = "";
	let e = 0;
	for (let i = 0; i < n; i++) {
		const s = samples[i];
		if (s.envId !== lastEnv) {
			lastEnv = s.envId;
			const known = envs.get(s.envId);
			if (known === undefined) envs.set(s.envId, (e = envs.size));
			else e = known;
		}
		nodes[i] = s.nodeId;
		const v = 6 * i;
		values[v] = s.time;
		values[v + 1] = s.ramMiB;
		values[v + 2] = s.cpuMHz;
		values[v + 3] = s.diskMB;
		values[v + 4] = s.trafficInMB;
		values[v + 5] = s.trafficOutMB;
		refs[i] = e;
	}
	const envText = [...envs.keys()].join(",");
	const nodeText = nodes.join(",");
	const buf = Buffer.allocUnsafe(8 + envText.length + nodeText.length + 50 * n);
	buf.writeUInt32LE(envText.length, 0);
	let at = 4 + buf.write(envText, 4, "latin1");
	buf.writeUInt32LE(nodeText.length, at);
	at += 4 + buf.write(nodeText, at + 4, "latin1");
	at += Buffer.from(values.buffer).copy(buf, at);
	Buffer.from(refs.buffer).copy(buf, at);
	return buf;
}

export function decodeRows(ids: string, rows: Buffer): Sample[] {
	if (!ids) return [];
	const idList = ids.split(",");
	const n = idList.length;
	const envLength = rows.readUInt32LE(0);
	const envs = rows.toString("latin1", 4, 4 + envLength).split(",");
	let at = 4 + envLength;
	const nodeLength = rows.readUInt32LE(at);
	const nodes = rows.toString("latin1", at + 4, at + 4 + nodeLength).split(",");
	at += 4 + nodeLength;
	if (nodes.length !== n || rows.length - at !== 50 * n) throw new Error(`A stored batch does not hold the ${n} samples its ids name`);
	const bytes = new Uint8Array(50 * n); // copied: the doubles must be aligned
	bytes.set(rows.subarray(at));
	const values = new Float64Array(bytes.buffer, 0, 6 * n);
	const refs = new Uint16Array(bytes.buffer, 48 * n, n);
	return idList.map((id, i) => ({
		id,
		envId: envs[refs[i]],
		nodeId: nodes[i],
		time: values[6 * i],
		ramMiB: values[6 * i + 1],
		cpuMHz: values[6 * i + 2],
		diskMB: values[6 * i + 3],
		trafficInMB: values[6 * i + 4],
		trafficOutMB: values[6 * i + 5],
	}));
}

/* ---- buckets not written yet ---- */

/** A node's bucket within its environment-hour. */
export type NodeBucket = Omit<Bucket, "nodeId">;

export interface PendingHour {
	envId: string;
	hour: number;
	nodes: Map<string, NodeBucket>;
	/** the batches whose samples are in `nodes` (each once) */
	batches: string[];
}

export class PendingHours {
	private byEnv = new Map<string, Map<number, PendingHour>>();
	private count = 0;

	get size() {
		return this.count;
	}

	/** MTR-2: peak RAM, CPU sum and count, peak disk, summed traffic per node-hour (UTC). */
	add(batch: string, samples: Sample[]) {
		let h: PendingHour | undefined;
		for (const s of samples) {
			const hour = hourOf(s.time);
			// A batch lists an environment's samples of an hour together, mostly.
			if (!h || h.envId !== s.envId || h.hour !== hour) {
				let hours = this.byEnv.get(s.envId);
				if (!hours) this.byEnv.set(s.envId, (hours = new Map()));
				h = hours.get(hour);
				if (!h) {
					hours.set(hour, (h = { envId: s.envId, hour, nodes: new Map(), batches: [] }));
					this.count++;
				}
				if (h.batches[h.batches.length - 1] !== batch) h.batches.push(batch);
			}
			const b = h.nodes.get(s.nodeId);
			if (!b) {
				h.nodes.set(s.nodeId, {
					peakRamMiB: s.ramMiB,
					cpuSum: s.cpuMHz,
					cpuCount: 1,
					peakDiskMB: s.diskMB,
					trafficInMB: s.trafficInMB,
					trafficOutMB: s.trafficOutMB,
					samples: 1,
				});
				continue;
			}
			if (s.ramMiB > b.peakRamMiB) b.peakRamMiB = s.ramMiB;
			b.cpuSum += s.cpuMHz;
			b.cpuCount++;
			if (s.diskMB > b.peakDiskMB) b.peakDiskMB = s.diskMB;
			b.trafficInMB += s.trafficInMB;
			b.trafficOutMB += s.trafficOutMB;
			b.samples++;
		}
	}

	/** Everything pending, which is no longer pending here. */
	take(): PendingHour[] {
		const out: PendingHour[] = [];
		for (const hours of this.byEnv.values()) out.push(...hours.values());
		this.byEnv.clear();
		this.count = 0;
		return out;
	}
}

/** The samples of one batch folded per environment-hour. */
export function foldBatch(batch: string, samples: Sample[]): PendingHour[] {
	const p = new PendingHours();
	p.add(batch, samples);
	return p.take();
}

/* ---- batch keys an hour no longer needs ---- */

/**
 * An environment-hour records the batches it took, so that a batch folded again (after a crash)
 * is skipped. Once a batch can never be folded again — retired: its log file compacted, or its
 * document closed — its key is dead weight that every later write of the hour would copy (a busy
 * hour takes thousands of batches). This remembers, per hour, the batches written into it here,
 * and hands back the retired ones for its next write to drop. Dropping only retired keys is what
 * keeps it safe; a key left in place (after a restart, or an hour not written again) only costs room.
 */
export class RetiredBatchKeys {
	private written = new Map<string, { hour: number; batches: string[] }>();
	private retiredAt = new Map<string, number>();

	retire(batches: Iterable<string>, atMs: number) {
		for (const b of batches) this.retiredAt.set(b, atMs);
	}

	/** The keys the hour `id` may drop at its next write. */
	droppable(id: string): string[] {
		return this.written.get(id)?.batches.filter(b => this.retiredAt.has(b)) ?? [];
	}

	/** The hour `id` now holds `batches` too, and no longer `dropped`. */
	wrote(id: string, hour: number, batches: string[], dropped: string[]) {
		const gone = new Set(dropped);
		const kept = this.written.get(id)?.batches.filter(b => !gone.has(b)) ?? [];
		this.written.set(id, { hour, batches: [...kept, ...batches] });
	}

	/** Forgets the hours that ended, and the retirements made, more than `keepMs` ago. */
	expire(nowMs: number, keepMs: number) {
		for (const [id, w] of this.written) if (w.hour + HOUR_MS + keepMs <= nowMs) this.written.delete(id);
		for (const [b, at] of this.retiredAt) if (at + keepMs <= nowMs) this.retiredAt.delete(b);
	}
}

/* ---- the ids seen ---- */

/** Two independent 32-bit hashes of a string (FNV-1a and a multiplicative one), each finished with murmur3's mix, into out[at], out[at + 1]. */
function fingerprint(s: string, out: Uint32Array, at: number) {
	let h1 = 0x811c9dc5;
	let h2 = 0x9747b28c;
	const n = s.length;
	for (let i = 0; i < n; i++) {
		const c = s.charCodeAt(i);
		h1 = Math.imul(h1 ^ c, 0x01000193);
		h2 = Math.imul(h2 + c, 0x5bd1e995);
	}
	out[at] = mix(h1 ^ n);
	out[at + 1] = mix(h2 ^ n);
}
function mix(h: number) {
	h ^= h >>> 16;
	h = Math.imul(h, 0x85ebca6b);
	h ^= h >>> 13;
	h = Math.imul(h, 0xc2b2ae35);
	return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Open addressing over one typed array: per slot a 64-bit fingerprint and the batch that took the
 * id (+1; 0 = empty). It grows by doubling, a few slots at a time: while it grows, the old slots
 * stay as they were (so their probe chains hold) and each insert moves the next MOVE_STEP of them,
 * so no call rehashes millions of ids at once (a stop of ~200 ms at a few million).
 */
class FingerprintTable {
	// 65,536 slots (768 KB) to begin with: a busy platform fills them in seconds.
	private slots = new Uint32Array(3 * 65_536);
	private capacity = 65_536;
	private used = 0;
	/** while growing: the slots before, those below `moved` already moved */
	private old: Uint32Array | null = null;
	private moved = 0;

	/** The next slot holding this fingerprint from slot `from` on (its index), or -1; start with `lo & mask`. */
	next(hi: number, lo: number, from: number): number {
		this.finishGrowing(); // a table read this way takes no more ids
		const mask = this.capacity - 1;
		const slots = this.slots;
		for (let i = from & mask; slots[3 * i + 2] !== 0; i = (i + 1) & mask) {
			if (slots[3 * i] === hi && slots[3 * i + 1] === lo) return i;
		}
		return -1;
	}

	batchAt(slot: number): number {
		return this.slots[3 * slot + 2] - 1;
	}

	/** Whether `isIt` accepts a batch holding this fingerprint; if none does, the fingerprint is added for `batch` (one probe for both). */
	findOrInsert(hi: number, lo: number, batch: number, isIt: (batch: number) => boolean): boolean {
		if (this.old) this.moveSome(MOVE_STEP);
		else if (2 * (this.used + 1) > this.capacity) this.startGrowing();
		const mask = this.capacity - 1;
		const slots = this.slots;
		let i = lo & mask;
		for (; slots[3 * i + 2] !== 0; i = (i + 1) & mask) {
			if (slots[3 * i] === hi && slots[3 * i + 1] === lo && isIt(slots[3 * i + 2] - 1)) return true;
		}
		const old = this.old;
		if (old) {
			// Not moved yet: the old chain, skipping the slots already moved (found above).
			const oldMask = old.length / 3 - 1;
			for (let j = lo & oldMask; old[3 * j + 2] !== 0; j = (j + 1) & oldMask) {
				if (j >= this.moved && old[3 * j] === hi && old[3 * j + 1] === lo && isIt(old[3 * j + 2] - 1)) return true;
			}
		}
		this.put(i, hi, lo, batch);
		this.used++;
		return false;
	}

	private put(i: number, hi: number, lo: number, batch: number) {
		this.slots[3 * i] = hi;
		this.slots[3 * i + 1] = lo;
		this.slots[3 * i + 2] = batch + 1;
	}

	private startGrowing() {
		this.old = this.slots;
		this.moved = 0;
		this.capacity *= 2;
		this.slots = new Uint32Array(3 * this.capacity);
	}

	/** Moves the next `count` old slots into the new ones (room is sure: twice the slots). */
	private moveSome(count: number) {
		const old = this.old!;
		const end = Math.min(old.length / 3, this.moved + count);
		const mask = this.capacity - 1;
		for (let k = this.moved; k < end; k++) {
			if (old[3 * k + 2] === 0) continue;
			let i = old[3 * k + 1] & mask;
			while (this.slots[3 * i + 2] !== 0) i = (i + 1) & mask;
			this.put(i, old[3 * k], old[3 * k + 1], old[3 * k + 2] - 1);
		}
		this.moved = end;
		if (end === old.length / 3) this.old = null;
	}

	private finishGrowing() {
		if (this.old) this.moveSome(this.old.length / 3);
	}
}

/** Old slots moved per insert while a table grows: done within 1/32 of the inserts before it must grow again. */
const MOVE_STEP = 64;

interface Generation {
	from: number;
	table: FingerprintTable;
	/** each batch's ids, comma-separated (a set once asked about: an id matched its fingerprint) */
	batches: (string | Set<string>)[];
}

/**
 * The ids of the samples taken in the last 36 days, exactly. Fingerprints in typed arrays find a
 * candidate without a string per id on the heap, which the garbage collector would walk again
 * and again; a candidate is confirmed against its batch's ids, so two ids sharing a fingerprint
 * are still told apart. Generations: an id is remembered at least `keepMs` after it was taken and
 * at most one generation longer; whole generations are dropped, so forgetting costs nothing per id.
 */
export class SampleIdMemory {
	private generations: Generation[] = [];
	/** the fingerprints of the list being taken, two words an id */
	private fps = new Uint32Array(2 * 1024);

	constructor(
		private keepMs: number,
		private generationMs: number,
		/** tests give a poor one, to show that ids sharing a fingerprint are told apart */
		private hash: (id: string, out: Uint32Array, at: number) => void = fingerprint,
	) {}

	/**
	 * The positions of the ids neither taken before nor earlier in the list, taken now as one batch,
	 * their text as the batch stores it, and `forget`, which frees them again (the batch was not stored).
	 */
	take(ids: string[], atMs: number): { positions: number[]; text: string; forget(): void } {
		let g = this.generations[this.generations.length - 1];
		if (!g || atMs >= g.from + this.generationMs) this.generations.push((g = { from: atMs, table: new FingerprintTable(), batches: [] }));
		const batch = g.batches.length;
		g.batches.push(""); // this batch's ids are known below, as `mine`
		// Every fingerprint first, then every probe: the probes, each a likely cache miss in a large
		// table, do not wait for one another (~40 % less time a batch than hashing and probing in turn).
		if (this.fps.length < 2 * ids.length) this.fps = new Uint32Array(2 * ids.length);
		const fps = this.fps;
		for (let i = 0; i < ids.length; i++) this.hash(ids[i], fps, 2 * i);
		const positions: number[] = [];
		let mineSet = null as Set<string> | null;
		let id = "";
		const older = (gen: Generation) => (b: number) => idsOf(gen, b).has(id);
		const olderTests = this.generations.slice(0, -1).map(older);
		const inThis = (b: number) => (b === batch ? (mineSet ??= new Set(positions.map(p => ids[p]))).has(id) : idsOf(g, b).has(id));
		for (let i = 0; i < ids.length; i++) {
			id = ids[i];
			const hi = fps[2 * i];
			const lo = fps[2 * i + 1];
			let seen = false;
			for (let k = olderTests.length - 1; k >= 0 && !seen; k--) {
				const table = this.generations[k].table;
				for (let slot = table.next(hi, lo, lo); slot >= 0 && !seen; slot = table.next(hi, lo, slot + 1)) seen = olderTests[k](table.batchAt(slot));
			}
			if (seen || g.table.findOrInsert(hi, lo, batch, inThis)) continue;
			positions.push(i);
			mineSet?.add(id);
		}
		const text = positions.length === ids.length ? ids.join(",") : positions.map(p => ids[p]).join(",");
		g.batches[batch] = text;
		// Their fingerprints stay, but a candidate is confirmed against the batch's ids, now none.
		return { positions, text, forget: () => void (g.batches[batch] = "") };
	}

	/** Drops the generations whose every id is older than `keepMs`. */
	expire(nowMs: number) {
		// The newest generation stays: the clock may move back in tests, and it is still being added to.
		while (this.generations.length > 1 && this.generations[0].from + this.generationMs + this.keepMs <= nowMs) this.generations.shift();
	}
}

function idsOf(g: Generation, batch: number): Set<string> {
	const b = g.batches[batch];
	if (typeof b !== "string") return b;
	const set = new Set(b ? b.split(",") : []);
	g.batches[batch] = set;
	return set;
}
