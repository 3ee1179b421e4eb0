#!/usr/bin/env node
// The web console (issue 19): console/src → public/ with esbuild — one script bundle, one style
// sheet, index.html and the icon copied as they are. Plain Node (it runs from `npm run build` and
// from build-if-stale.js, before or without tsc). public/ is generated: never edit it by hand.
"use strict";
const { copyFileSync, mkdirSync, readFileSync } = require("fs");
const { gzipSync } = require("zlib");
const { join } = require("path");

const ROOT = join(__dirname, "..");
const SRC = join(ROOT, "console");
const OUT = join(ROOT, "public");
/** The acceptance limit of issue 19, checked by test/unit/console-build.test.ts too. */
const MAX_GZIP_BYTES = 300 * 1024;

/** Bundles the console into `outDir`; answers the gzipped size of what a browser downloads. */
async function buildConsole(outDir = OUT) {
	const esbuild = require("esbuild");
	mkdirSync(outDir, { recursive: true });
	await esbuild.build({
		entryPoints: [join(SRC, "src", "main.ts")],
		bundle: true,
		minify: true,
		format: "iife",
		target: ["es2020"],
		outfile: join(outDir, "app.js"),
		legalComments: "none",
		logLevel: "warning",
	});
	for (const f of ["index.html", "app.css", "icon.svg"]) copyFileSync(join(SRC, f), join(outDir, f));
	return gzippedSize(outDir);
}

function gzippedSize(outDir = OUT) {
	return ["index.html", "app.js", "app.css", "icon.svg"].reduce((n, f) => n + gzipSync(readFileSync(join(outDir, f))).length, 0);
}

module.exports = { buildConsole, gzippedSize, MAX_GZIP_BYTES, OUT };
if (require.main === module) {
	buildConsole().then(
		bytes => {
			if (bytes > MAX_GZIP_BYTES) {
				console.error(`build-console: the console is ${bytes} bytes gzipped, over the ${MAX_GZIP_BYTES} limit`);
				process.exitCode = 1;
			}
		},
		err => {
			console.error(err);
			process.exitCode = 1;
		},
	);
}
