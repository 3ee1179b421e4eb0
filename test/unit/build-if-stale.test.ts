// scripts/build-if-stale.js (prestart, prepare): compile only when a source is newer than the last
// build (issue 14 item 14) — a file changed, added or deleted, or the build settings.
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { isStale } = require("../../scripts/build-if-stale.js") as { isStale(root: string, stamp: string): boolean };

describe("isStale", () => {
	let root: string;
	const stamp = () => join(root, "dist", ".build-stamp");
	const at = (path: string, secondsAgo: number) => utimesSync(join(root, path), Date.now() / 1000 - secondsAgo, Date.now() / 1000 - secondsAgo);

	beforeEach(() => {
		root = mkdtempSync(join(tmpdir(), "qm-stale-"));
		mkdirSync(join(root, "lib"));
		mkdirSync(join(root, "dist"));
		writeFileSync(join(root, "lib", "a.ts"), "export {}\n");
		writeFileSync(join(root, "tsconfig.json"), "{}\n");
		writeFileSync(stamp(), "built\n");
		for (const p of ["lib/a.ts", "lib", "tsconfig.json"]) at(p, 100);
		at("dist/.build-stamp", 50);
	});
	afterEach(() => rmSync(root, { recursive: true, force: true }));

	test.each([
		["nothing changed since the build", false, () => undefined],
		["never built", true, () => unlinkSync(stamp())],
		["a source edited", true, () => at("lib/a.ts", 10)],
		["a source added", true, () => writeFileSync(join(root, "lib", "b.ts"), "export {}\n")],
		["a source deleted", true, () => unlinkSync(join(root, "lib", "a.ts"))],
		["the compiler settings changed", true, () => at("tsconfig.json", 1)],
		["a file outside the sources (test/, README)", false, () => writeFileSync(join(root, "README.md"), "x")],
	])("%s → stale: %p", (_name, stale, change) => {
		change();
		expect(isStale(root, stamp())).toBe(stale);
	});
});
