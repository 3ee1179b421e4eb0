// NeDB appends every write to its data file with fs.promises.appendFile: open, write, close —
// three system calls and a file-descriptor round trip per document, and each datastore runs its
// operations one at a time, so that round trip caps a collection at a few thousand writes a
// second (bench/charge measured the ledger there). This keeps one append handle per data file
// instead. NeDB rewrites a file only through the functions wrapped below (loading, compaction,
// dropping), which close the handle first, so the next append opens the new file. Durability is
// unchanged: neither way calls fsync; both survive a killed process.
import { promises as fs } from "fs";
import type { FileHandle } from "fs/promises";

const handles = new Map<string, Promise<FileHandle>>();
let installed = false;

async function release(filename: string) {
	const h = handles.get(filename);
	if (!h) return;
	handles.delete(filename);
	await (await h.catch(() => null))?.close().catch(() => undefined);
}

export function installNeDbAppendHandles() {
	if (installed) return;
	installed = true;
	// eslint-disable-next-line @typescript-eslint/no-var-requires
	const storage = require("@seald-io/nedb/lib/storage.js") as Record<string, (...args: unknown[]) => Promise<unknown>>;
	storage.appendFileAsync = async (filename: unknown, data: unknown, options: unknown) => {
		const name = filename as string;
		let h = handles.get(name);
		if (!h) {
			h = fs.open(name, "a", (options as { mode?: number } | undefined)?.mode);
			handles.set(name, h);
			h.catch(() => handles.delete(name));
		}
		await (await h).appendFile(data as string, "utf8");
	};
	for (const fn of ["crashSafeWriteFileLinesAsync", "ensureDatafileIntegrityAsync", "writeFileAsync", "unlinkAsync"]) {
		const original = storage[fn];
		storage[fn] = async (filename: unknown, ...rest: unknown[]) => {
			await release(filename as string);
			return original(filename, ...rest);
		};
	}
}

/** Closes the append handle of a data file (a service stopping). */
export function releaseNeDbAppendHandle(filename: string): Promise<void> {
	return release(filename);
}
