// The in-memory side of ingestion (MTR-1, MTR-2). Pure: no Moleculer, no I/O.
//
// - `encodeRows`/`decodeRows`: a batch's samples in binary, as its document keeps them until they
//   are in their hours: a crash before that folds them again from there (batches.ts).
// - `PendingHours`: samples folded into environment-hour buckets that are not written yet. Each
//   hour remembers the batches it holds, so one write per hour takes many batches at once.
// - `RetiredBatchKeys`: which batches an hour's document may stop recording.
import { HOUR_MS, hourOf } from "../../lib/usage-record";
import type { Bucket } from "./env-hours";
import type { Sample } from "./samples";

/* ---- a batch's samples in binary ---- */

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error("Stored batches are little-endian; this machine is not");

/**
 * A batch's samples but their ids (kept apart: the batch stores them as text, and claims them):
 * its environment ids, each once, and each sample's node id ("," between; ids never hold it),
 * then for each sample its time, RAM, CPU, disk and traffic in and out as doubles (exact), then
 * its environment as a 16-bit position in that list. Numbers are not written as text: formatting 6,000 doubles would
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
 * is skipped. Once a batch can never be folded again — retired: its document closed — its key is
 * dead weight that every later write of the hour would copy (a busy hour takes thousands of
 * batches). This remembers, per hour, the batches written into it here, and hands back the
 * retired ones for its next write to drop. Dropping only retired keys is what keeps it safe; a
 * key left in place (after a restart, or an hour not written again) only costs room.
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
