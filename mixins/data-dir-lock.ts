// Who is using a DATA_DIR: each Quartermaster process that opens embedded databases there (and each
// `qm restore` while it replaces them) keeps a lock file `DATA_DIR/qm-<pid>.pid` holding its pid,
// host and role, removed when it exits. One file per process, not one `qm.pid`, because processes
// running different services (SERVICES=…) may share one DATA_DIR, each with its own database files.
// A lock whose process is gone (killed, power cut) is stale: whoever finds it takes it over.
// Liveness is `process.kill(pid, 0)`, which only means something on the host that wrote the lock:
// a lock from another host (another container on a shared volume) is reported, never guessed at.
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from "fs";
import { hostname } from "os";
import { join } from "path";

export type LockRole = "platform" | "restore";

export interface DataDirLock {
	file: string;
	pid: number;
	host: string;
	role: LockRole;
	services: string[];
	startedAt: string;
}

const LOCK = /^qm-(\d+)\.pid$/;

/** Whether `lock` was written on this host (only then can its liveness be checked). */
export const isLocalLock = (lock: DataDirLock) => lock.host === hostname();

/** Whether the process that wrote `lock` still runs (a lock from another host: assumed to). */
export function lockIsLive(lock: DataDirLock): boolean {
	if (lock.host !== hostname()) return true;
	if (lock.pid === process.pid) return true;
	try {
		process.kill(lock.pid, 0);
		return true;
	} catch (err) {
		// EPERM: the process exists but belongs to someone else.
		return (err as NodeJS.ErrnoException).code === "EPERM";
	}
}

/** The lock files in `dir`, as found (an unreadable one counts as a live lock of an unknown process). */
export function readLocks(dir: string): DataDirLock[] {
	let names: string[];
	try {
		names = readdirSync(dir);
	} catch {
		return [];
	}
	const locks: DataDirLock[] = [];
	for (const name of names) {
		const m = LOCK.exec(name);
		if (!m) continue;
		const file = join(dir, name);
		try {
			locks.push({ ...JSON.parse(readFileSync(file, "utf8")), file });
		} catch {
			// Written but not yet complete, or damaged: treated as the process its name says, on this host.
			locks.push({ file, pid: Number(m[1]), host: hostname(), role: "platform", services: [], startedAt: "" });
		}
	}
	return locks;
}

/** The live locks held by other processes. */
export function liveLocks(dir: string): DataDirLock[] {
	return readLocks(dir).filter(l => l.pid !== process.pid && lockIsLive(l));
}

export function describeLock(l: DataDirLock): string {
	const what = l.role === "restore" ? "qm restore" : `the platform${l.services.length ? ` (services ${l.services.join(", ")})` : ""}`;
	const elsewhere = l.host !== hostname() ? `; from another host, so whether it still runs cannot be told here: if it does not, remove the file` : "";
	return `${what}, pid ${l.pid} on ${l.host}${l.startedAt ? ` since ${l.startedAt}` : ""} (${l.file}${elsewhere})`;
}

/**
 * Takes this process's lock on `dir`: stale locks of this host are removed, a running `qm restore`
 * refuses the start (`refuseIfLive`: any live lock refuses, as restore needs). Answers the release,
 * which is also run when the process exits.
 */
export function acquireDataDirLock(dir: string, role: LockRole, services: string[], refuseIfLive: (l: DataDirLock) => boolean): () => void {
	for (const l of readLocks(dir)) {
		if (l.pid === process.pid && l.host === hostname()) continue;
		if (!lockIsLive(l)) {
			removeQuietly(l.file);
			continue;
		}
		if (refuseIfLive(l)) throw new Error(`DATA_DIR ${dir} is in use by ${describeLock(l)}`);
	}
	const file = join(dir, `qm-${process.pid}.pid`);
	const lock: Omit<DataDirLock, "file"> = { pid: process.pid, host: hostname(), role, services, startedAt: new Date().toISOString() };
	const fd = openSync(file, "w", 0o644);
	try {
		writeSync(fd, JSON.stringify(lock) + "\n");
		fsyncSync(fd);
	} finally {
		closeSync(fd);
	}
	let released = false;
	const release = () => {
		if (released) return;
		released = true;
		process.removeListener("exit", release);
		removeQuietly(file);
	};
	// Moleculer's SIGTERM/SIGINT handler stops the broker and exits: the lock goes with the process.
	process.on("exit", release);
	return release;
}

function removeQuietly(file: string) {
	try {
		unlinkSync(file);
	} catch {
		/* already gone */
	}
}
