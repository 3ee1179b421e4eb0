// The web console's build and serving (issue 19): the bundle stays under 300 KB gzipped; the
// gateway's middleware sends files of public/ with a strict CSP, index.html for the app's own
// paths, and leaves /api, other methods and paths outside the folder to the JSON 404.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import type { IncomingMessage, ServerResponse } from "http";
import { tmpdir } from "os";
import { join } from "path";
import { CONSOLE_CSP, fileOf, serveConsole } from "../../services/gateway/console";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const build = require("../../scripts/build-console.js") as { buildConsole(outDir: string): Promise<number>; MAX_GZIP_BYTES: number };

function request(serve: ReturnType<typeof serveConsole>, method: string, url: string, headers: Record<string, string> = {}) {
	const sent: { status?: number; headers: Record<string, unknown>; body?: Buffer; next: boolean } = { headers: {}, next: false };
	const res = {
		statusCode: 200,
		setHeader: (k: string, v: unknown) => void (sent.headers[k.toLowerCase()] = v),
		end(body?: Buffer) {
			sent.status = this.statusCode;
			sent.body = body;
		},
	};
	serve({ method, url, originalUrl: url, headers } as unknown as IncomingMessage, res as unknown as ServerResponse, () => void (sent.next = true));
	return sent;
}

describe("the console's bundle", () => {
	test("builds from console/src, under 300 KB gzipped", async () => {
		const out = mkdtempSync(join(tmpdir(), "qm-console-"));
		try {
			const bytes = await build.buildConsole(out);
			expect(build.MAX_GZIP_BYTES).toBe(300 * 1024);
			expect(bytes).toBeGreaterThan(1000);
			expect(bytes).toBeLessThan(build.MAX_GZIP_BYTES);
		} finally {
			rmSync(out, { recursive: true, force: true });
		}
	});
});

describe("serving public/", () => {
	let dir: string;
	let serve: ReturnType<typeof serveConsole>;
	beforeAll(() => {
		dir = mkdtempSync(join(tmpdir(), "qm-public-"));
		writeFileSync(join(dir, "index.html"), "<!doctype html><title>qm</title>");
		writeFileSync(join(dir, "app.js"), "console.log(1)");
		writeFileSync(join(dir, ".secret"), "no");
		mkdirSync(join(dir, "sub"));
		serve = serveConsole(dir);
	});
	afterAll(() => rmSync(dir, { recursive: true, force: true }));

	test.each([
		["/", "index.html"],
		["/app.js", "app.js"],
		["/app.js?v=1", "app.js"],
		["/activate?token=abc", "index.html"],
		["/account/billing/invoices/inv_1/pay", "index.html"],
		["/../package.json", "index.html"],
		["/%2e%2e/%2e%2e/etc/passwd", "index.html"],
		["/.secret", "index.html"],
		["/sub", "index.html"],
	])("GET %s → %s, with the console's security headers", (url, file) => {
		const r = request(serve, "GET", url);
		expect(r.next).toBe(false);
		expect(r.status).toBe(200);
		expect(r.body?.toString()).toBe(file === "app.js" ? "console.log(1)" : "<!doctype html><title>qm</title>");
		expect(r.headers["content-security-policy"]).toBe(CONSOLE_CSP);
		expect(r.headers["x-content-type-options"]).toBe("nosniff");
		expect(r.headers["referrer-policy"]).toBe("no-referrer");
		expect(r.headers["content-type"]).toMatch(file === "app.js" ? /^text\/javascript/ : /^text\/html/);
	});

	test("the CSP allows no inline script or style and nothing from elsewhere", () => {
		expect(CONSOLE_CSP).toContain("default-src 'self'");
		expect(CONSOLE_CSP).not.toMatch(/unsafe-|\*|http/);
	});

	test.each([
		["GET", "/api/v1/nothing"],
		["GET", "/api"],
		["POST", "/"],
		["DELETE", "/app.js"],
	])("%s %s is left to the routes (a JSON 404 there)", (method, url) => {
		expect(request(serve, method, url).next).toBe(true);
	});

	test("a known version answers 304; HEAD sends no body; nothing served when the console is not built", () => {
		const first = request(serve, "GET", "/app.js");
		expect(request(serve, "GET", "/app.js", { "if-none-match": String(first.headers.etag) }).status).toBe(304);
		const head = request(serve, "HEAD", "/");
		expect([head.status, head.body]).toEqual([200, undefined]);
		expect(request(serveConsole(null), "GET", "/").next).toBe(true);
	});

	test("fileOf names only regular files inside the folder", () => {
		expect(fileOf(dir, "/app.js")).toBe(join(dir, "app.js"));
		expect(fileOf(dir, "/%E0%A4%A")).toBeNull();
		expect(fileOf(dir, "/sub/")).toBeNull();
		expect(fileOf(dir, "/..%2f..%2fpasswd")).toBeNull();
	});
});

describe("money on screen", () => {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const { roundDecimal } = require("../../console/src/money") as typeof import("../../console/src/money");
	test.each([
		["12.34", "12.34"],
		["12.345", "12.35"],
		["12.344999", "12.34"],
		["0.077", "0.08"],
		["0.004", "0.00"],
		["-0.004", "0.00"],
		["-1.005", "-1.01"],
		["9.995", "10.00"],
		["99.999", "100.00"],
		["7", "7.00"],
		["0012.5", "12.50"],
		["1.2 – 3.4", "1.2 – 3.4"],
		["—", "—"],
	])("%s is shown as %s (digits rounded half-up, never computed as a number)", (exact, shown) => {
		expect(roundDecimal(exact)).toBe(shown);
	});
	test("unit prices keep 4 decimals", () => {
		expect(roundDecimal("0.00434", 4)).toBe("0.0043");
		expect(roundDecimal("0.00435", 4)).toBe("0.0044");
	});
});
