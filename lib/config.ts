// Configuration is environment variables only (12-factor); the README lists every one of them.
// Read through these helpers so a bad value fails at start with its name, not later.

export function envString(name: string, fallback = ""): string {
	const v = process.env[name];
	return v === undefined || v === "" ? fallback : v;
}

export function envInt(name: string, fallback: number): number {
	const raw = process.env[name];
	if (raw === undefined || raw === "") return fallback;
	const n = Number(raw);
	if (!Number.isInteger(n)) throw new Error(`Environment variable ${name} must be an integer, got "${raw}"`);
	return n;
}

export function envFlag(name: string): boolean {
	return /^(1|true|yes|on)$/i.test(process.env[name] ?? "");
}

export function envList(name: string): string[] {
	return envString(name)
		.split(",")
		.map(s => s.trim())
		.filter(Boolean);
}

/** The public base URL that links in emails point at. */
export function publicUrl(): string {
	return envString("PUBLIC_URL", `http://localhost:${envInt("PORT", 3000)}`).replace(/\/+$/, "");
}

/** The package version (from package.json, found from source or from dist/). */
export function appVersion(): string {
	// eslint-disable-next-line @typescript-eslint/no-var-requires
	const { existsSync, readFileSync } = require("fs") as typeof import("fs");
	for (const rel of ["../package.json", "../../package.json"]) {
		const p = require("path").join(__dirname, rel);
		if (existsSync(p)) return JSON.parse(readFileSync(p, "utf8")).version;
	}
	return "0.0.0";
}
