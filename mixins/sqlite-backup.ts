// `qm backup <dir>` and `qm restore <dir>`: copies of the embedded databases (sqlite-store.ts).
//
// Backup runs beside the platform: each `DATA_DIR/<service>.sqlite` is copied with SQLite's online
// backup API from a read-only connection, all its pages in one step, so under one read transaction:
// each copy is the database as one commit left it (consistent per file; two services' files may be
// a few commits apart, as two services' MongoDB collections may be). Each copy is checked
// (quick_check) and synced, with DATA_DIR/master.key when there is one (without it the TOTP secrets
// and recovery codes in the copies cannot be read). `manifest.json` is written last: a directory
// without it is not a backup.
//
// Restore needs the platform stopped (its lock files, data-dir-lock.ts): every file is verified
// (size, sha256, quick_check) before DATA_DIR is touched; what DATA_DIR held is moved aside into
// `DATA_DIR/pre-restore-<time>/`, never deleted.
import { createHash } from "crypto";
import {
	closeSync,
	copyFileSync,
	existsSync,
	mkdirSync,
	openSync,
	readdirSync,
	readFileSync,
	readSync,
	renameSync,
	statSync,
	unlinkSync,
	writeFileSync,
} from "fs";
import { join, resolve } from "path";
import Database from "better-sqlite3";
import { appVersion } from "../lib/config";
import { acquireDataDirLock, describeLock, liveLocks } from "./data-dir-lock";
import { syncPath } from "./sqlite-store";

export const MANIFEST = "manifest.json";
const FORMAT = "quartermaster-backup/1";
const MASTER_KEY = "master.key";
/** SQLite's most pages per step: the whole database in one step, one read transaction. */
const ALL_PAGES = 0x7fffffff;

export interface BackupFile {
	name: string;
	bytes: number;
	sha256: string;
	/** quick_check of the copy (databases only) */
	quickCheck?: "ok";
}

export interface Manifest {
	format: typeof FORMAT;
	version: string;
	createdAt: string;
	/** the DATA_DIR it was taken from */
	dataDir: string;
	files: BackupFile[];
}

const isDatabase = (name: string) => name.endsWith(".sqlite");

/**
 * The order databases are copied in: a producer before its consumer, so a copy never holds a
 * consumer's work whose source the producer's copy lacks. Metering marks an hour delivered only
 * after billing charged it: copied first, metering may hold an hour as undelivered that billing's
 * later copy charged (delivered again after a restore, and charged once: charges are keyed by
 * hour and revision) — never one delivered that billing's copy has not charged (lost).
 */
const COPY_ORDER = ["metering"];
const billingLast = (name: string) => (name === "billing.sqlite" ? 1 : 0);
const rank = (name: string) => {
	const i = COPY_ORDER.indexOf(name.replace(/\.sqlite$/, ""));
	return i < 0 ? COPY_ORDER.length : i;
};

/** The embedded databases in `dir` (not their -wal/-shm), in the order they are copied. */
export function databaseFiles(dir: string): string[] {
	return readdirSync(dir)
		.filter(isDatabase)
		.sort((a, b) => billingLast(a) - billingLast(b) || rank(a) - rank(b) || a.localeCompare(b));
}

/** SQLite's quick_check of a database file: "ok" or what it found. */
export function quickCheck(path: string): string {
	let db: Database.Database | undefined;
	try {
		db = new Database(path, { fileMustExist: true });
		db.pragma("busy_timeout = 5000");
		return (db.pragma("quick_check") as { quick_check: string }[]).map(r => r.quick_check).join("; ");
	} catch (err) {
		return (err as Error).message;
	} finally {
		db?.close();
	}
}

export async function backupDataDir(dataDir: string, destDir: string): Promise<Manifest> {
	dataDir = resolve(dataDir);
	destDir = resolve(destDir);
	if (!existsSync(dataDir)) throw new Error(`DATA_DIR ${dataDir} does not exist: nothing to back up`);
	const names = databaseFiles(dataDir);
	if (!names.length) throw new Error(`DATA_DIR ${dataDir} holds no databases (*.sqlite): nothing to back up`);
	if (existsSync(destDir) && readdirSync(destDir).length) throw new Error(`${destDir} is not empty: a backup goes into a new or empty directory`);
	mkdirSync(destDir, { recursive: true });

	const files: BackupFile[] = [];
	for (const name of names) {
		const dest = join(destDir, name);
		const source = new Database(join(dataDir, name), { readonly: true, fileMustExist: true });
		try {
			source.pragma("busy_timeout = 10000");
			await source.backup(dest, { progress: () => ALL_PAGES });
		} finally {
			source.close();
		}
		// Opened read-write: closing checkpoints and removes the copy's -wal/-shm.
		const verdict = quickCheck(dest);
		if (verdict !== "ok") throw new Error(`The copy of ${name} failed SQLite's quick_check (${verdict.slice(0, 300)}); the backup in ${destDir} is incomplete`);
		syncPath(dest);
		files.push({ ...fileFacts(destDir, name), quickCheck: "ok" });
	}
	if (existsSync(join(dataDir, MASTER_KEY))) {
		copyFileSync(join(dataDir, MASTER_KEY), join(destDir, MASTER_KEY));
		syncPath(join(destDir, MASTER_KEY));
		files.push(fileFacts(destDir, MASTER_KEY));
	}
	const manifest: Manifest = { format: FORMAT, version: appVersion(), createdAt: new Date().toISOString(), dataDir, files };
	writeDurably(join(destDir, MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
	return manifest;
}

export function readManifest(backupDir: string): Manifest {
	const path = join(resolve(backupDir), MANIFEST);
	if (!existsSync(path)) throw new Error(`${resolve(backupDir)} holds no ${MANIFEST}: not a Quartermaster backup (or an unfinished one)`);
	const manifest = JSON.parse(readFileSync(path, "utf8")) as Manifest;
	if (manifest.format !== FORMAT || !Array.isArray(manifest.files)) throw new Error(`${path} is not a ${FORMAT} manifest`);
	return manifest;
}

export interface RestoreResult {
	manifest: Manifest;
	/** where what DATA_DIR held went (null: it held nothing to replace) */
	movedAside: string | null;
}

export async function restoreDataDir(backupDir: string, dataDir: string): Promise<RestoreResult> {
	backupDir = resolve(backupDir);
	dataDir = resolve(dataDir);
	const manifest = readManifest(backupDir);
	for (const f of manifest.files) {
		if (f.name !== MASTER_KEY && !isDatabase(f.name)) throw new Error(`${MANIFEST} names ${f.name}: not a file a backup holds`);
		const facts = existsSync(join(backupDir, f.name)) ? fileFacts(backupDir, f.name) : null;
		if (!facts) throw new Error(`${join(backupDir, f.name)} is missing`);
		if (facts.bytes !== f.bytes || facts.sha256 !== f.sha256)
			throw new Error(`${join(backupDir, f.name)} differs from the manifest (size or sha256): the backup is damaged`);
	}
	mkdirSync(dataDir, { recursive: true });
	const busy = liveLocks(dataDir);
	if (busy.length) throw new Error(`Stop the platform first: DATA_DIR ${dataDir} is in use by ${busy.map(describeLock).join("; ")}`);
	// Held while the files are replaced: a platform starting meanwhile refuses.
	const release = acquireDataDirLock(dataDir, "restore", [], () => true);
	try {
		// Each copy is checked where it will live before any file of DATA_DIR is replaced.
		const staged: string[] = [];
		for (const f of manifest.files) {
			const tmp = join(dataDir, `${f.name}.restoring`);
			for (const suffix of ["", "-wal", "-shm"]) removeIfPresent(tmp + suffix);
			copyFileSync(join(backupDir, f.name), tmp);
			staged.push(tmp);
			if (isDatabase(f.name)) {
				const verdict = quickCheck(tmp);
				if (verdict !== "ok") {
					for (const s of staged) removeIfPresent(s);
					throw new Error(`${join(backupDir, f.name)} failed SQLite's quick_check (${verdict.slice(0, 300)}): nothing was restored`);
				}
			}
			syncPath(tmp);
		}
		const movedAside = moveAside(dataDir, manifest);
		for (const f of manifest.files) renameSync(join(dataDir, `${f.name}.restoring`), join(dataDir, f.name));
		syncPath(dataDir);
		return { manifest, movedAside };
	} finally {
		release();
	}
}

/** DATA_DIR's databases (with their -wal/-shm) and, when the backup has one, its master key → pre-restore-<time>/. */
function moveAside(dataDir: string, manifest: Manifest): string | null {
	const restoresKey = manifest.files.some(f => f.name === MASTER_KEY);
	const names = readdirSync(dataDir).filter(n => /\.sqlite(-wal|-shm)?$/.test(n) || (restoresKey && n === MASTER_KEY));
	if (!names.length) return null;
	const aside = join(dataDir, `pre-restore-${new Date().toISOString().replace(/[:.]/g, "-")}`);
	mkdirSync(aside);
	for (const n of names) renameSync(join(dataDir, n), join(aside, n));
	syncPath(aside);
	syncPath(dataDir);
	return aside;
}

function fileFacts(dir: string, name: string): BackupFile {
	const path = join(dir, name);
	// Read in chunks: a database may be larger than a Buffer.
	const hash = createHash("sha256");
	const chunk = Buffer.alloc(1 << 20);
	const fd = openSync(path, "r");
	try {
		for (let n: number; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0;) hash.update(chunk.subarray(0, n));
	} finally {
		closeSync(fd);
	}
	return { name, bytes: statSync(path).size, sha256: hash.digest("hex") };
}

/** Written to a temporary name, synced, renamed, the directory synced: the file is whole or absent. */
function writeDurably(path: string, text: string) {
	const tmp = `${path}.tmp`;
	writeFileSync(tmp, text);
	syncPath(tmp);
	renameSync(tmp, path);
	syncPath(join(path, ".."));
}

function removeIfPresent(path: string) {
	try {
		unlinkSync(path);
	} catch {
		/* absent */
	}
}
