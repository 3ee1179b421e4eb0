// What the browser tests of the console (test/browser/*.test.ts) share: Debian's chromium driven by
// playwright-core against the platform started in the test process, and `visit()`, the check made
// on every screen reached — a screenshot in test-results/console/ (each file with its own prefix),
// axe-core with no serious or critical violation, no console error (a Content-Security-Policy
// refusal included), nothing wider than the screen.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "fs";
import { join } from "path";
import type { Browser, BrowserContextOptions, Locator, Page } from "playwright-core";
import { waitUntil } from "./http";
import { startPlatform, type Platform } from "./platform";

export const CHROMIUM = "/usr/bin/chromium";
export const OUT = join(__dirname, "..", "..", "test-results", "console");
export const PHONE = { width: 375, height: 812 };
export const DESKTOP = { width: 1280, height: 800 };
/** --bad of console/app.css, as getComputedStyle() answers it: the red of every error in words */
export const ERROR_RED = "rgb(163, 35, 27)";
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export interface Credentials {
	email: string;
	password: string;
}

/** `describe`, or `describe.skip` with a warning saying why when chromium is missing. */
export function browserSuite(file: string): jest.Describe {
	if (existsSync(CHROMIUM)) return describe;
	console.warn(`${file} skipped: ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)`);
	return describe.skip;
}

export interface ConsoleRun {
	p: Platform;
	/** the console's origin: the API is at `${base}/api/v1` */
	base: string;
	browser: Browser;
	/** what went wrong in a watched page (console errors, uncaught errors): visit() expects none */
	problems: string[];
	/** A page in a new browser context, watched for console and page errors. */
	newPage(viewport: { width: number; height: number }, options?: BrowserContextOptions): Promise<Page>;
	/** A screen reached: its screenshot, an accessibility check, no console error, no sideways scrolling. */
	visit(page: Page, name: string): Promise<void>;
	close(): Promise<void>;
}

/**
 * Builds the console from its sources, removes this file's earlier screenshots (`${prefix}NN-*.png`;
 * the other files' stay), starts the platform with `env` (the bootstrap admin `admin` signed in once)
 * and launches chromium.
 */
export async function startConsole(opts: { prefix: string; admin: Credentials; env?: Record<string, string> }): Promise<ConsoleRun> {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	await (require("../../scripts/build-console.js") as { buildConsole(): Promise<number> }).buildConsole();
	mkdirSync(OUT, { recursive: true });
	const mine = new RegExp(`^${opts.prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\d{2}-.+\\.png$`);
	for (const f of readdirSync(OUT)) if (mine.test(f)) rmSync(join(OUT, f));

	const p = await startPlatform({ env: { QM_TEST_CLOCK: "1", QM_ADMIN_EMAIL: opts.admin.email, QM_ADMIN_PASSWORD: opts.admin.password, ...opts.env } });
	const base = p.url.replace(/\/api\/v1$/, "");
	await waitUntil(async () => (await p.http.post("/auth/signin", opts.admin)).status === 200);
	const { chromium } = await import("playwright-core");
	const browser = await chromium
		.launch({
			executablePath: CHROMIUM,
			headless: true,
			args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
		})
		.catch(async err => {
			await p.stop();
			throw err;
		});
	const problems: string[] = [];
	let shots = 0;

	return {
		p,
		base,
		browser,
		problems,
		async newPage(viewport, options = {}) {
			const page = await (await browser.newContext({ viewport, ...options })).newPage();
			page.on(
				"console",
				m => void (m.type() === "error" && !/the server responded with a status of 4\d\d/.test(m.text()) && problems.push(`console: ${m.text()}`)),
			);
			page.on("pageerror", e => void problems.push(`page error: ${e.message}`));
			return page;
		},
		async visit(page, name) {
			await page.waitForLoadState("networkidle");
			await page.screenshot({ path: join(OUT, `${opts.prefix}${String(++shots).padStart(2, "0")}-${name}.png`), fullPage: true });
			if (!(await page.evaluate("typeof axe !== 'undefined'"))) await page.evaluate(AXE);
			const violations = (await page.evaluate(
				"axe.run(document, { resultTypes: ['violations'] }).then(r => r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')) })))",
			)) as { id: string; impact: string; help: string; nodes: string[] }[];
			expect({ screen: name, serious: violations.filter(v => v.impact === "serious" || v.impact === "critical") }).toEqual({ screen: name, serious: [] });
			const width = (await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")) as [number, number];
			expect({ screen: name, scrollWidth: width[0] }).toEqual({ screen: name, scrollWidth: width[1] });
			expect(problems).toEqual([]);
		},
		async close() {
			await browser.close();
			await p.stop();
		},
	};
}

/** The text colour of what `locator` finds (one element). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- runs in the page (no DOM types here)
export const colourOf = (locator: Locator) => locator.evaluate((el: any) => (globalThis as any).getComputedStyle(el).color as string);

/** Waits for the page's one level-1 heading named `name`. */
export const heading = (page: Page, name: string | RegExp) => page.getByRole("heading", { level: 1, name }).waitFor();

/** Signs in from the sign-in screen (no 2FA) and waits for the dashboard. */
export async function signIn(page: Page, base: string, who: Credentials) {
	await page.goto(`${base}/signin`);
	await heading(page, "Sign in");
	await page.getByLabel("Email").fill(who.email);
	await page.getByLabel("Password").fill(who.password);
	await page.getByRole("button", { name: "Sign in" }).click();
	await heading(page, "Dashboard");
}
