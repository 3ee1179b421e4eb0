#!/usr/bin/env node
// `npm start` and `npm install` (prestart, prepare): compiles with tsc only when a source changed
// since the last build, so a built checkout starts in about two seconds instead of waiting for the
// type-checker. Stale = dist/.build-stamp is missing or older than any file or folder of the build's
// sources (a folder's time changes when a file in it is added, renamed or deleted). Plain Node, no
// dependencies: it runs before anything is compiled.
"use strict";
const { spawnSync } = require("child_process");
const { existsSync, readdirSync, statSync, utimesSync, writeFileSync, mkdirSync } = require("fs");
const { join } = require("path");

const ROOT = join(__dirname, "..");
const STAMP = join(ROOT, "dist", ".build-stamp");
// What tsconfig.build.json compiles, and what decides how.
// console/ is the web console, bundled into public/ by scripts/build-console.js.
const SOURCES = [
	"moleculer.config.ts",
	"bin",
	"lib",
	"mixins",
	"models",
	"services",
	"bench",
	"console",
	"tsconfig.json",
	"tsconfig.build.json",
	"package.json",
];

/** The newest modification time (ms) among `paths` and everything under them; 0 when none exist. */
function newestMtime(root, paths) {
	let newest = 0;
	const visit = p => {
		let st;
		try {
			st = statSync(p);
		} catch {
			return; // not there (an optional folder)
		}
		newest = Math.max(newest, st.mtimeMs);
		if (st.isDirectory()) for (const name of readdirSync(p)) if (name !== "node_modules") visit(join(p, name));
	};
	for (const p of paths) visit(join(root, p));
	return newest;
}

/** Whether the build in `root` is older than its sources. */
function isStale(root = ROOT, stamp = STAMP) {
	let built;
	try {
		built = statSync(stamp).mtimeMs;
	} catch {
		return true;
	}
	return newestMtime(root, SOURCES) > built;
}

/**
 * Builds when stale; answers the exit code. `tolerant` (npm install's `prepare`): a failed compile
 * does not fail the install — no stamp is written, so `npm start` compiles again and shows why.
 */
function main({ tolerant = false } = {}) {
	if (!existsSync(join(ROOT, "tsconfig.build.json"))) return 0; // only manifests here (a Docker dependency layer)
	if (!isStale()) return 0;
	let tsc;
	try {
		tsc = require.resolve("typescript/bin/tsc", { paths: [ROOT] });
	} catch {
		console.error("build-if-stale: TypeScript is not installed (npm install --omit=dev?); using dist/ as it is");
		return existsSync(join(ROOT, "dist", "bin", "qm.js")) ? 0 : 1;
	}
	const started = Date.now();
	const r = spawnSync(process.execPath, [tsc, "-p", join(ROOT, "tsconfig.build.json")], { stdio: "inherit" });
	if (r.status !== 0) return failed(r.status ?? 1, tolerant);
	const web = buildConsole();
	if (web !== 0) return failed(web, tolerant);
	mkdirSync(join(ROOT, "dist"), { recursive: true });
	writeFileSync(STAMP, `built ${new Date().toISOString()} in ${Date.now() - started} ms\n`);
	// Dated when the build began: a source saved while tsc ran makes the next start build again.
	utimesSync(STAMP, started / 1000, started / 1000);
	return 0;
}

function failed(status, tolerant) {
	if (!tolerant) return status;
	console.error("build-if-stale: the build failed (above); `npm start` will try again");
	return 0;
}

/** The console's bundle (scripts/build-console.js); skipped, keeping public/ as it is, without esbuild (--omit=dev). */
function buildConsole() {
	try {
		require.resolve("esbuild", { paths: [ROOT] });
	} catch {
		console.error("build-if-stale: esbuild is not installed; the console in public/ stays as it is");
		return 0;
	}
	return spawnSync(process.execPath, [join(ROOT, "scripts", "build-console.js")], { stdio: "inherit" }).status ?? 1;
}

module.exports = { isStale, newestMtime, main, SOURCES };
if (require.main === module) process.exitCode = main();
