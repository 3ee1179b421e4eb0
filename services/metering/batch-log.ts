// Ingestion's log of accepted batches when this process alone owns metering's files (NeDB mode;
// replicas sharing MongoDB store batches as documents instead). An accepted batch is one record,
// appended before the request is answered: its ids and its samples, in binary. NeDB would write
// the same batch as a JSON line several times the size, which cost more than all the rest of
// ingestion together (bench/ingest).
//
// Files, under DATA_DIR/metering-log:
//   open-<n>.log          batches whose samples may not all be in their hours yet; a new file
//                         after 16 MB. At start every batch in these files is folded again (an
//                         hour that took a batch skips it), then the files are compacted.
//   ids-<n>-<newest>.log  a compacted open file: only each batch's time and ids, which are
//                         metering's memory of ids (MTR-1); deleted once its newest batch is
//                         older than the memory keeps ids (36 days).
// A file is compacted once none of its batches is open: the ids file is written under a
// temporary name and renamed, then the open file removed, so a crash at any point leaves either
// or both, and both are read the same way. A record cut short by a crash (never acknowledged)
// is cut off. Appends are grouped: the batches waiting while one write runs go in the next one.
// Like NeDB, no fsync: a killed process loses nothing written; a power cut may lose the last writes.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, truncateSync, unlinkSync, writev } from "fs";
import { promises as fsp } from "fs";
import { join } from "path";

const OPEN = 1;
const IDS = 2;
const HEADER = 19; // u32 length of the rest, u8 kind, f64 createdAt, u16 batch id length, u32 ids length

export interface LogRecord {
	batch: string;
	createdAt: number;
	/** the batch's sample ids, comma-separated */
	ids: string;
	/** the batch's samples (encodeRows); absent in compacted files */
	rows?: Buffer;
}

/** A record as the parts to write: its head (header, batch id, ids), then its rows as they are, not copied. */
function encodeRecord(kind: number, r: LogRecord): Buffer[] {
	const rows = kind === OPEN && r.rows ? r.rows : null;
	const head = HEADER + r.batch.length + r.ids.length;
	const buf = Buffer.allocUnsafe(head);
	buf.writeUInt32LE(head + (rows?.length ?? 0) - 4, 0);
	buf.writeUInt8(kind, 4);
	buf.writeDoubleLE(r.createdAt, 5);
	buf.writeUInt16LE(r.batch.length, 13);
	buf.writeUInt32LE(r.ids.length, 15);
	const at = HEADER + buf.write(r.batch, HEADER, "latin1");
	buf.write(r.ids, at, "latin1");
	return rows ? [buf, rows] : [buf];
}

/** The whole records of a file, and how many bytes they fill (a record cut short by a crash is left out). */
function decodeRecords(buf: Buffer): { records: LogRecord[]; length: number } {
	const records: LogRecord[] = [];
	let at = 0;
	while (at + HEADER <= buf.length) {
		const end = at + 4 + buf.readUInt32LE(at);
		if (end > buf.length) break;
		const kind = buf.readUInt8(at + 4);
		const createdAt = buf.readDoubleLE(at + 5);
		const batchLength = buf.readUInt16LE(at + 13);
		const idsLength = buf.readUInt32LE(at + 15);
		let p = at + HEADER;
		const batch = buf.toString("latin1", p, (p += batchLength));
		const ids = buf.toString("latin1", p, (p += idsLength));
		if (p > end || (kind !== OPEN && kind !== IDS)) throw new Error(`The metering log has a damaged record at byte ${at}`);
		records.push(kind === OPEN ? { batch, createdAt, ids, rows: buf.subarray(p, end) } : { batch, createdAt, ids });
		at = end;
	}
	return { records, length: at };
}

interface Waiting {
	parts: Buffer[];
	batch: string;
	resolve(): void;
	reject(err: unknown): void;
}

export class BatchLog {
	private seq = 0;
	private fd: number | null = null;
	private size = 0;
	/** the batches of each open file not done yet */
	private openIn = new Map<number, Set<string>>();
	private fileOf = new Map<string, number>();
	private waiting: Waiting[] = [];
	private writing = false;
	private compacting: Promise<void> = Promise.resolve();
	private retired: (batches: string[]) => void = () => undefined;

	/** `dir` null: kept in memory only (DATA_DIR=":memory:", tests), nothing written. */
	constructor(
		private dir: string | null,
		private fileBytes = 16 * 1024 * 1024,
	) {}

	/**
	 * Tells which batches can never be folded again: their file was compacted (no start reads
	 * their samples again), or at once when nothing is written.
	 */
	onRetired(listener: (batches: string[]) => void) {
		this.retired = listener;
	}

	/**
	 * What the files hold, read once at start, before any append: the ids of every batch (oldest
	 * file first), and the batches of open files, which may not all be in their hours.
	 */
	load(): { ids: LogRecord[]; open: LogRecord[] } {
		const ids: LogRecord[] = [];
		const open: LogRecord[] = [];
		if (!this.dir) return { ids, open };
		mkdirSync(this.dir, { recursive: true });
		for (const f of readdirSync(this.dir)) if (f.endsWith(".tmp")) unlinkSync(join(this.dir, f));
		for (const { name, n } of this.files("ids")) {
			ids.push(...decodeRecords(readFileSync(join(this.dir, name))).records);
			this.seq = Math.max(this.seq, n);
		}
		for (const { name, n } of this.files("open")) {
			const path = join(this.dir, name);
			const buf = readFileSync(path);
			const { records, length } = decodeRecords(buf);
			if (length < buf.length) truncateSync(path, length); // the tail of a write a crash cut short
			open.push(...records);
			this.openIn.set(n, new Set());
			this.seq = Math.max(this.seq, n);
		}
		return { ids, open };
	}

	/** After the batches `load` found open are in their hours: their files become ids files. */
	async loaded(): Promise<void> {
		for (const n of [...this.openIn.keys()]) if (n !== this.seq || this.fd === null) this.compact(n);
		await this.compacting;
	}

	/** Appends one batch; resolves once it is written. */
	append(r: LogRecord): Promise<void> {
		if (!this.dir) return Promise.resolve();
		const parts = encodeRecord(OPEN, r);
		return new Promise((resolve, reject) => {
			this.waiting.push({ parts, batch: r.batch, resolve, reject });
			if (!this.writing) void this.drain();
		});
	}

	/** These batches are in their hours: a full file with nothing open left is compacted. */
	done(batches: Iterable<string>) {
		if (!this.dir) return this.retired([...batches]);
		for (const b of batches) {
			const n = this.fileOf.get(b);
			if (n === undefined) continue;
			this.fileOf.delete(b);
			const open = this.openIn.get(n);
			open?.delete(b);
			if (open && !open.size && n !== this.seq) this.compact(n);
		}
	}

	/** Deletes the ids files whose newest batch is older than `keepMs`. */
	async expire(nowMs: number, keepMs: number) {
		if (!this.dir) return;
		for (const { name, newest } of this.files("ids")) if (newest + keepMs <= nowMs) await fsp.unlink(join(this.dir, name)).catch(() => undefined);
	}

	/** Waits for the writes; the last file is compacted too if nothing in it is open. */
	async close() {
		while (this.writing) await new Promise(r => setImmediate(r));
		if (this.fd !== null) closeSync(this.fd);
		this.fd = null;
		if (this.openIn.get(this.seq)?.size === 0) this.compact(this.seq);
		await this.compacting;
	}

	/** One write for every batch waiting; a new file when this one is full. */
	private async drain() {
		this.writing = true;
		try {
			while (this.waiting.length) {
				const batch = this.waiting.splice(0);
				try {
					if (this.fd === null || this.size >= this.fileBytes) this.rotate();
					const open = this.openIn.get(this.seq)!;
					for (const w of batch) {
						open.add(w.batch);
						this.fileOf.set(w.batch, this.seq);
					}
					await writeAll(
						this.fd!,
						batch.flatMap(w => w.parts),
					);
					this.size += batch.reduce((a, w) => a + w.parts.reduce((b, p) => b + p.length, 0), 0);
					for (const w of batch) w.resolve();
				} catch (err) {
					for (const w of batch) {
						this.done([w.batch]);
						w.reject(err);
					}
				}
			}
		} finally {
			this.writing = false;
		}
	}

	private rotate() {
		const previous = this.seq;
		if (this.fd !== null) closeSync(this.fd);
		this.seq++;
		this.fd = openSync(join(this.dir!, `open-${this.seq}.log`), "a");
		this.size = 0;
		this.openIn.set(this.seq, new Set());
		if (this.openIn.get(previous)?.size === 0) this.compact(previous);
	}

	private compact(n: number) {
		const dir = this.dir;
		this.openIn.delete(n);
		if (!dir) return;
		this.compacting = this.compacting.then(async () => {
			const open = join(dir, `open-${n}.log`);
			if (!existsSync(open)) return;
			const { records } = decodeRecords(await fsp.readFile(open));
			const newest = records.reduce((a, r) => Math.max(a, r.createdAt), 0);
			const tmp = join(dir, `ids-${n}-${newest}.tmp`);
			await fsp.writeFile(tmp, Buffer.concat(records.flatMap(r => encodeRecord(IDS, r))));
			await fsp.rename(tmp, join(dir, `ids-${n}-${newest}.log`));
			await fsp.unlink(open);
			this.retired(records.map(r => r.batch));
		});
		// A compaction that failed leaves the open file as it was: the next start reads and compacts it.
		this.compacting = this.compacting.catch(() => undefined);
	}

	private files(kind: "open" | "ids") {
		const pattern = kind === "open" ? /^open-(\d+)\.log$/ : /^ids-(\d+)-(\d+)\.log$/;
		return readdirSync(this.dir!)
			.map(name => ({ name, m: pattern.exec(name) }))
			.filter(f => f.m)
			.map(f => ({ name: f.name, n: Number(f.m![1]), newest: Number(f.m![2] ?? 0) }))
			.sort((a, b) => a.n - b.n);
	}
}

/** writev until every byte is written (a regular file rarely takes less than all). */
function writeAll(fd: number, bufs: Buffer[]): Promise<void> {
	return new Promise((resolve, reject) => {
		const total = bufs.reduce((a, b) => a + b.length, 0);
		writev(fd, bufs, (err, written) => {
			if (err) return reject(err);
			if (written === total) return resolve();
			writeAll(fd, [Buffer.concat(bufs).subarray(written)]).then(resolve, reject);
		});
	});
}
