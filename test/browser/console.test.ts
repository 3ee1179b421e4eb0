// The web console in a real browser (issue 19): Debian's chromium driven by playwright-core against
// the platform started here, with the test payment provider. A new customer signs up, activates
// from the emailed link, signs in, turns on 2FA with a code computed from the shown secret, signs
// in again with a recovery code, creates an environment after seeing its estimate, upgrades,
// refills with the 3-D Secure test card, sees the invoice (and its PDF) and the balance; then an
// administrator suspends the account and the open console shows the refusal. On a 375 px wide
// phone, with a desktop look at the dashboard. Every screen visited is saved as a screenshot to
// test-results/console/ and checked with axe-core: no serious or critical violation, no console
// error (a Content-Security-Policy refusal included), nothing wider than the screen.
import { existsSync, mkdirSync, readFileSync, rmSync } from "fs";
import { join } from "path";
import { generateSync } from "otplib";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { waitUntil } from "../helpers/http";
import { startPlatform, type Platform } from "../helpers/platform";

const CHROMIUM = "/usr/bin/chromium";
const OUT = join(__dirname, "..", "..", "test-results", "console");
const ADMIN = { email: "operator@example.com", password: "Runs-the-console-9!" };
const CUSTOMER = { email: "ada@example.com", password: "Analytical-engine-1843!" };
const CHALLENGE_CARD = "4000002500003155";
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const skipReason = existsSync(CHROMIUM)
	? null
	: `test/browser/console.test.ts skipped: ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)`;
if (skipReason) console.warn(skipReason);
const suite = skipReason ? describe.skip : describe;

jest.setTimeout(120_000);

suite("the web console in chromium", () => {
	let p: Platform;
	let base: string;
	let browser: Browser;
	let context: BrowserContext;
	let page: Page;
	let shots = 0;
	const problems: string[] = [];
	const admin = async () => (await p.http.post("/auth/signin", ADMIN)).body.session as string;

	/** A screen reached: its screenshot, an accessibility check, no console error, no sideways scrolling. */
	async function visit(name: string) {
		await page.waitForLoadState("networkidle");
		await page.screenshot({ path: join(OUT, `${String(++shots).padStart(2, "0")}-${name}.png`), fullPage: true });
		if (!(await page.evaluate("typeof axe !== 'undefined'"))) await page.evaluate(AXE);
		const violations = (await page.evaluate(
			"axe.run(document, { resultTypes: ['violations'] }).then(r => r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')) })))",
		)) as { id: string; impact: string; help: string; nodes: string[] }[];
		expect({ screen: name, serious: violations.filter(v => v.impact === "serious" || v.impact === "critical") }).toEqual({ screen: name, serious: [] });
		const width = (await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")) as [number, number];
		expect({ screen: name, scrollWidth: width[0] }).toEqual({ screen: name, scrollWidth: width[1] });
		expect(problems).toEqual([]);
	}
	const heading = (name: string | RegExp) => page.getByRole("heading", { level: 1, name }).waitFor();
	const outboxLink = async (template: string) => {
		const token = await admin();
		const mail = await waitUntil(async () => {
			const rows = (await p.http.get(`/admin/outbox?to=${encodeURIComponent(CUSTOMER.email)}`, { token })).body.rows as { template: string; links: string[] }[];
			return rows.find(m => m.template === template);
		});
		const link = new URL(mail.links[0]);
		return base + link.pathname + link.search; // PUBLIC_URL names port 0 here: the path is what matters
	};

	beforeAll(async () => {
		// The console this test drives is the one its sources build now.
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		await (require("../../scripts/build-console.js") as { buildConsole(): Promise<number> }).buildConsole();
		rmSync(OUT, { recursive: true, force: true });
		mkdirSync(OUT, { recursive: true });
		p = await startPlatform({
			env: {
				QM_TEST_CLOCK: "1",
				QM_ADMIN_EMAIL: ADMIN.email,
				QM_ADMIN_PASSWORD: ADMIN.password,
				QM_PAYMENT_PROVIDERS: "manual,test",
				QM_TEST_PROVIDER_WEBHOOK_SECRET: "whsec_console_test",
			},
		});
		base = p.url.replace(/\/api\/v1$/, "");
		await waitUntil(async () => (await p.http.post("/auth/signin", ADMIN)).status === 200);
		const { chromium } = await import("playwright-core");
		browser = await chromium.launch({
			executablePath: CHROMIUM,
			headless: true,
			args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
		});
		context = await browser.newContext({ viewport: { width: 375, height: 812 }, acceptDownloads: true });
		page = await context.newPage();
		page.on(
			"console",
			m => void (m.type() === "error" && !/the server responded with a status of 4\d\d/.test(m.text()) && problems.push(`console: ${m.text()}`)),
		);
		page.on("pageerror", e => void problems.push(`page error: ${e.message}`));
	});
	afterAll(async () => {
		await browser?.close();
		await p?.stop();
	});

	test("the console is served at / with its security headers; the API and unknown API paths stay JSON", async () => {
		const index = await fetch(`${base}/account/billing/invoices/inv_1`);
		expect(index.status).toBe(200);
		expect(index.headers.get("content-type")).toContain("text/html");
		expect(index.headers.get("content-security-policy")).toContain("default-src 'self'");
		expect(index.headers.get("content-security-policy")).not.toContain("unsafe-inline");
		expect(await index.text()).not.toMatch(/<script>|<style>| style=/);
		const missing = await fetch(`${base}/api/v1/no-such-route`);
		expect(missing.status).toBe(404);
		expect(((await missing.json()) as { type: string }).type).toBe("NOT_FOUND");
		expect((await fetch(`${base}/health`)).headers.get("content-type")).toContain("application/json");
	});

	test("a new customer signs up and activates the account from the emailed link", async () => {
		await page.goto(`${base}/signup`);
		await heading("Create your account");
		await visit("signup");
		await page.getByLabel("Email").fill(CUSTOMER.email);
		await page.getByRole("button", { name: "Sign up" }).click();
		await page.getByRole("alert").filter({ hasText: "correct the fields" }).waitFor();
		await visit("signup-refused");
		await page.getByLabel("I accept the terms of service").check();
		await page.getByRole("button", { name: "Sign up" }).click();
		await heading("Check your inbox");
		await visit("signup-sent");

		await page.goto(await outboxLink("activation"));
		await heading("Choose your password");
		await visit("activate");
		await page.getByLabel("Password", { exact: true }).fill(CUSTOMER.password);
		await page.getByLabel("Password again").fill(CUSTOMER.password);
		await page.getByRole("button", { name: "Activate my account" }).click();
		await heading("Sign in");
		await page.getByText("Your account is active").waitFor();
		await visit("signin-after-activation");
	});

	test("signs in and sees the dashboard: balance, bonus and the trial banner", async () => {
		await page.getByLabel("Email").fill(CUSTOMER.email);
		await page.getByLabel("Password").fill(CUSTOMER.password);
		await page.getByRole("button", { name: "Sign in" }).click();
		await heading("Dashboard");
		expect(await page.getByTestId("balance").textContent()).toBe("0.00 USD");
		expect(await page.getByTestId("bonus").textContent()).toBe("10.00 USD");
		await page.getByText("Your trial ends").waitFor();
		await visit("dashboard-phone");
		await page.setViewportSize({ width: 1280, height: 800 });
		await visit("dashboard-desktop");
		await page.setViewportSize({ width: 375, height: 812 });
	});

	test("turns on 2FA with a code from the shown secret, confirms the recovery codes, and signs in again with one", async () => {
		await page.getByRole("link", { name: "Security" }).click();
		await heading("Security");
		await visit("security");
		await page.getByLabel("Your password").fill(CUSTOMER.password);
		await page.getByRole("button", { name: "Set up two-factor authentication" }).click();
		await heading("Scan the QR code");
		expect(await page.getByRole("img", { name: /QR code/ }).getAttribute("src")).toMatch(/^data:image\/png;base64,/);
		await visit("2fa-qr");
		const secret = (await page.getByTestId("totp-secret").textContent())!.trim();
		await page.getByLabel("Code from the app").fill(generateSync({ secret, epoch: Math.floor(Date.now() / 1000) }));
		await page.getByRole("button", { name: "Turn on two-factor authentication" }).click();
		await heading("Save your recovery codes");
		const codes = await page.getByRole("list", { name: "Recovery codes" }).getByRole("listitem").allTextContents();
		expect(codes).toHaveLength(12);
		const proceed = page.getByRole("button", { name: "Continue" });
		expect(await proceed.isDisabled()).toBe(true);
		await visit("2fa-recovery-codes");
		await page.getByLabel("I saved my recovery codes").check();
		await proceed.click();
		await heading("Dashboard");

		await page.getByRole("button", { name: "Sign out" }).click();
		await heading("Sign in");
		await page.getByLabel("Email").fill(CUSTOMER.email);
		await page.getByLabel("Password").fill(CUSTOMER.password);
		await page.getByRole("button", { name: "Sign in" }).click();
		await heading("Two-factor authentication");
		await visit("signin-2fa");
		await page.getByLabel("Authentication code").fill(codes[0]);
		await page.getByRole("button", { name: "Verify" }).click();
		await heading("Dashboard");
	});

	test("creates an environment after seeing its live estimate", async () => {
		await page.getByRole("link", { name: "Environments" }).click();
		await heading("Environments");
		await visit("environments-empty");
		await page.getByRole("link", { name: "Create an environment" }).click();
		await heading("Create an environment");
		await page.getByLabel("Name").fill("shop");
		await page.getByLabel("Reserved cloudlets").fill("2");
		await page.getByLabel("Scaling limit (cloudlets)").fill("8");
		const estimate = page.getByTestId("estimate");
		await estimate
			.getByText(/^0\.\d{4} – 0\.\d{4} USD$/)
			.first()
			.waitFor();
		expect(await estimate.textContent()).toMatch(/Per month\d+\.\d{2} – \d+\.\d{2} USD/);
		await visit("environment-new");
		await page.getByRole("button", { name: "Create environment" }).click();
		await heading("Environments");
		await page.getByRole("cell", { name: "shop" }).waitFor();
		await visit("environments");
	});

	test("upgrades, refills with the 3-D Secure test card, and sees the invoice and the balance", async () => {
		await page.getByRole("link", { name: "Billing" }).click();
		await heading("Billing");
		await visit("billing-empty");
		await page.getByRole("link", { name: "Upgrade to a commercial account" }).click();
		await heading("Upgrade to a commercial account");
		await visit("upgrade");
		for (const [label, value] of [
			["First name", "Ada"],
			["Last name", "Lovelace"],
			["Address", "Unter den Linden 1"],
			["Postal code", "10117"],
			["City", "Berlin"],
			["Country", "DE"],
			["Phone", "+49 30 5550100"],
		])
			await page.getByLabel(label, { exact: true }).fill(value);
		await page.getByLabel("I accept the terms of service").check();
		await page.getByRole("button", { name: "Upgrade" }).click();
		await page.getByText("Your upgrade is requested").waitFor();
		await visit("upgrade-requested");

		await page.getByRole("link", { name: "Refill now" }).click();
		await heading("Billing");
		await page.getByLabel("Amount").fill("30.00");
		await page.getByLabel("Card number").fill(CHALLENGE_CARD);
		await page.getByLabel("Expiry month").fill("12");
		await page.getByLabel("Expiry year").fill("2031");
		await page.getByLabel("Security code (CVC)").fill("737");
		await page.getByLabel("Name on the card").fill("Ada Lovelace");
		await visit("refill");
		await page.getByRole("button", { name: "Pay" }).click();
		await page.getByRole("heading", { name: "Confirm the payment with your bank" }).waitFor();
		await visit("refill-3-d-secure");
		await page.getByRole("button", { name: "Approve the payment" }).click();
		await page.getByText(/^Paid: invoice \d{4}-\d{6}/).waitFor();
		await page.getByTestId("balance").getByText("30.00 USD").waitFor();
		const row = page.getByRole("row").filter({ hasText: "Balance refill" });
		expect(await row.textContent()).toMatch(/30\.00 USD.*paid/);
		await visit("billing-paid");

		const download = page.waitForEvent("download");
		await row.getByRole("button", { name: /PDF/ }).click();
		const pdf = await download;
		expect(pdf.suggestedFilename()).toMatch(/^invoice-\d{4}-\d{6}\.pdf$/);
		expect(
			readFileSync((await pdf.path())!)
				.subarray(0, 5)
				.toString(),
		).toBe("%PDF-");

		await row.getByRole("link").click();
		await heading(/^Invoice \d{4}-\d{6}$/);
		await visit("invoice");

		// The first refill completed the upgrade: no trial banner any more.
		await page.getByRole("link", { name: "Dashboard" }).click();
		await heading("Dashboard");
		expect(await page.getByTestId("balance").textContent()).toBe("30.00 USD");
		await waitUntil(async () => (await p.http.get("/admin/accounts?search=ada", { token: await admin() })).body.rows?.[0]?.type === "billing");
		await page.reload();
		await heading("Dashboard");
		expect(await page.getByText("Your trial ends").count()).toBe(0);
		await visit("dashboard-upgraded");
	});

	test("an administrator suspends the account: the open console shows the refusal", async () => {
		const token = await admin();
		const found = (await p.http.get(`/admin/accounts?search=${encodeURIComponent(CUSTOMER.email)}`, { token })).body.rows as { id: string }[];
		expect((await p.http.post(`/admin/accounts/${found[0].id}/status`, { status: "suspended", reason: "terms violation" }, { token })).status).toBe(200);

		await page.getByRole("link", { name: "Environments" }).click();
		await page.getByRole("alert").filter({ hasText: "You are signed out" }).waitFor();
		await heading("Sign in");
		await visit("refused");
		await page.getByLabel("Email").fill(CUSTOMER.email);
		await page.getByLabel("Password").fill(CUSTOMER.password);
		await page.getByRole("button", { name: "Sign in" }).click();
		await page.getByRole("alert").filter({ hasText: "This account is suspended" }).waitFor();
		await visit("signin-suspended");
	});
});
