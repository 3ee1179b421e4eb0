// The web console (issue 19): public/ served at `/` beside the API. A file that exists is sent as it
// is; any other GET outside /api is the single-page app's index.html, whose router shows the page
// (the links in emails: /activate, /password/reset, /account/billing/invoices/{id}, …). Everything
// else — other methods, /api/*, no built console — falls through to the route's JSON 404.
import { existsSync, readFileSync, statSync } from "fs";
import type { IncomingMessage, ServerResponse } from "http";
import { extname, join, normalize, sep } from "path";

/** No inline script or style, nothing from elsewhere; images may be data: URLs (the 2FA QR code). */
export const CONSOLE_CSP = [
	"default-src 'self'",
	"script-src 'self'",
	"style-src 'self'",
	"img-src 'self' data:",
	"connect-src 'self'",
	"object-src 'none'",
	"base-uri 'none'",
	"form-action 'self'",
	"frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS: Record<string, string> = {
	"Content-Security-Policy": CONSOLE_CSP,
	"X-Content-Type-Options": "nosniff",
	"X-Frame-Options": "DENY",
	// Emailed links carry one-time tokens in their query: never pass them on.
	"Referrer-Policy": "no-referrer",
	"Cross-Origin-Opener-Policy": "same-origin",
	"Permissions-Policy": "camera=(), microphone=(), geolocation=()",
};

const TYPES: Record<string, string> = {
	".html": "text/html; charset=utf-8",
	".js": "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml",
	".png": "image/png",
	".json": "application/json; charset=utf-8",
	".txt": "text/plain; charset=utf-8",
};

interface Cached {
	mtimeMs: number;
	body: Buffer;
	etag: string;
}

/** Where the built console is: public/ beside the sources (ts-jest) or beside dist/ (compiled); null when not built. */
export function consoleDir(): string | null {
	for (const rel of ["../../public", "../../../public"]) {
		const dir = join(__dirname, rel);
		if (existsSync(join(dir, "index.html"))) return dir;
	}
	return null;
}

/** The file under `dir` that a URL path names, or null (outside `dir`, a dot-file, a folder, missing). */
export function fileOf(dir: string, urlPath: string): string | null {
	let path: string;
	try {
		path = decodeURIComponent(urlPath);
	} catch {
		return null;
	}
	const rel = normalize(path).replace(/^[/\\]+/, "");
	if (!rel || rel.split(/[/\\]/).some(part => part.startsWith(".") || part === "")) return null;
	const full = join(dir, rel);
	if (!full.startsWith(dir + sep)) return null;
	try {
		return statSync(full).isFile() ? full : null;
	} catch {
		return null;
	}
}

/** Connect-style middleware serving `dir` (read once per file version, revalidated with an ETag). */
export function serveConsole(dir: string | null = consoleDir()) {
	const cache = new Map<string, Cached>();
	const read = (file: string): Cached => {
		const mtimeMs = statSync(file).mtimeMs;
		let hit = cache.get(file);
		if (!hit || hit.mtimeMs !== mtimeMs) {
			const body = readFileSync(file);
			hit = { mtimeMs, body, etag: `W/"${body.length.toString(36)}-${Math.floor(mtimeMs).toString(36)}"` };
			cache.set(file, hit);
		}
		return hit;
	};
	return function console(req: IncomingMessage & { originalUrl?: string }, res: ServerResponse, next: () => void) {
		if (!dir || (req.method !== "GET" && req.method !== "HEAD")) return next();
		const urlPath = (req.originalUrl ?? req.url ?? "/").split("?")[0];
		if (urlPath === "/api" || urlPath.startsWith("/api/")) return next();
		const file = fileOf(dir, urlPath) ?? join(dir, "index.html");
		let found: Cached;
		try {
			found = read(file);
		} catch {
			return next(); // the console was removed while running
		}
		for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
		res.setHeader("Content-Type", TYPES[extname(file)] ?? "application/octet-stream");
		res.setHeader("Cache-Control", "no-cache");
		res.setHeader("ETag", found.etag);
		if (req.headers["if-none-match"] === found.etag) {
			res.statusCode = 304;
			return void res.end();
		}
		res.statusCode = 200;
		res.setHeader("Content-Length", found.body.length);
		res.end(req.method === "HEAD" ? undefined : found.body);
	};
}

/** The moleculer-web route: the console, placed after the API's routes (it answers what they do not). */
export function consoleRoute() {
	return { name: "console", path: "", mappingPolicy: "restrict", autoAliases: false, bodyParsers: false, aliases: {}, use: [serveConsole()] };
}
