// Group commit for a SQLite database in WAL mode: counts commits and syncs the WAL file for them,
// so that an operation answers only once an fsync that began after its commit has finished.
import { closeSync, fsync, openSync } from "fs";

/** Thrown by every operation after an fsync failed: what the disk holds is unknown until a restart. */
export class StorageFailedError extends Error {}

/**
 * Counts commits and syncs the WAL file for them: `settled()` answers once an fsync that started
 * after the latest commit has finished. One fsync runs at a time; commits meanwhile share the next.
 */
export class Durability {
	private committed = 0;
	private synced = 0;
	private running: Promise<void> | null = null;
	private failed: Error | null = null;
	/** a transaction is open: what it holds is answered after its commit (and the fsync after that) */
	open = false;
	private nextCommit: { promise: Promise<void>; resolve: () => void } | null = null;
	/** how the WAL is synced (tests replace it to hold an fsync back) */
	static fsync: (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void = fsync;
	constructor(
		private readonly walPath: string | null,
		private fd: number | null = null,
	) {}
	commit() {
		this.committed++;
		if (!this.walPath) this.synced = this.committed; // in memory: nothing to sync
		this.nextCommit?.resolve();
		this.nextCommit = null;
	}
	/** The commit of the open transaction failed: nothing it held happened, and the store stops. */
	fail(err: Error) {
		this.failed = new StorageFailedError(`a commit failed (${err.message}): storage stopped; restart the platform`);
		this.nextCommit?.resolve();
		this.nextCommit = null;
	}
	async settled(): Promise<void> {
		const target = this.committed + (this.open ? 1 : 0);
		while (this.synced < target) {
			if (this.failed) throw this.failed;
			if (this.committed < target) {
				if (!this.nextCommit) {
					let resolve!: () => void;
					const promise = new Promise<void>(r => (resolve = r));
					this.nextCommit = { promise, resolve };
				}
				await this.nextCommit.promise;
				continue;
			}
			this.running ??= this.syncOnce().finally(() => {
				this.running = null;
			});
			await this.running;
		}
		if (this.failed) throw this.failed;
	}
	private async syncOnce() {
		const target = this.committed;
		try {
			// The WAL keeps its inode while the database is open (a checkpoint rewrites it in place).
			this.fd ??= openSync(this.walPath!, "r");
			const fd = this.fd;
			await new Promise<void>((resolve, reject) => Durability.fsync(fd, err => (err ? reject(err) : resolve())));
			this.synced = Math.max(this.synced, target);
		} catch (err) {
			// After a failed fsync the kernel may have dropped the dirty pages: never retry and report success.
			this.failed = new StorageFailedError(`fsync of ${this.walPath} failed (${(err as Error).message}): storage stopped; restart the platform`);
			throw this.failed;
		}
	}
	/**
	 * The database was closed, which checkpoints the WAL into the database file and syncs it: every
	 * commit is durable. Closes the WAL's descriptor, after an fsync still running on it.
	 */
	close() {
		this.synced = this.committed;
		const fd = this.fd;
		this.fd = null;
		if (fd === null) return;
		if (this.running)
			void this.running.then(
				() => closeSync(fd),
				() => closeSync(fd),
			);
		else closeSync(fd);
	}
}
