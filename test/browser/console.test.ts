// The web console in a real browser (issue 19): Debian's chromium driven by playwright-core against
// the platform started here, with the test payment provider. A new customer signs up, activates
// from the emailed link, signs in, turns on 2FA with a code computed from the shown secret, signs
// in again with a recovery code, creates an environment after seeing its estimate, upgrades,
// refills with the 3-D Secure test card, sees the invoice (and its PDF) and the balance; then an
// administrator suspends the account and the open console shows the refusal. On a 375 px wide
// phone, with a desktop look at the dashboard. Every screen visited is saved as a screenshot to
// test-results/console/ and checked with axe-core: no serious or critical violation, no console
// error (a Content-Security-Policy refusal included), nothing wider than the screen.
import { readFileSync } from "fs";
import { generateSync } from "otplib";
import type { BrowserContext, Page } from "playwright-core";
import { roundDecimal } from "../../console/src/money";
import { browserSuite, DESKTOP, heading as headingOf, PHONE, startConsole, type ConsoleRun } from "../helpers/browser";
import { waitUntil } from "../helpers/http";
import type { Platform } from "../helpers/platform";

const ADMIN = { email: "operator@example.com", password: "Runs-the-console-9!" };
const CUSTOMER = { email: "ada@example.com", password: "Analytical-engine-1843!" };
const MEMBER = { email: "grace@example.com", password: "Compiles-the-first-1952!" };
const CHALLENGE_CARD = "4000002500003155";
const PLAIN_CARD = "4242424242424242";

const suite = browserSuite("test/browser/console.test.ts");

jest.setTimeout(120_000);

suite("the web console in chromium", () => {
	let run: ConsoleRun;
	let p: Platform;
	let base: string;
	let context: BrowserContext;
	let page: Page;
	const admin = async () => (await p.http.post("/auth/signin", ADMIN)).body.session as string;

	const visit = (name: string) => run.visit(page, name);
	const heading = (name: string | RegExp) => headingOf(page, name);
	const outboxLink = async (template: string, to = CUSTOMER.email) => {
		const token = await admin();
		const mail = await waitUntil(async () => {
			const rows = (await p.http.get(`/admin/outbox?to=${encodeURIComponent(to)}`, { token })).body.rows as { template: string; links: string[] }[];
			return rows.find(m => m.template === template);
		});
		const link = new URL(mail.links[0]);
		return base + link.pathname + link.search; // PUBLIC_URL names port 0 here: the path is what matters
	};

	beforeAll(async () => {
		// Screenshots "NN-screen.png": the other browser test files save theirs here too, with a prefix.
		run = await startConsole({
			prefix: "",
			admin: ADMIN,
			env: { QM_PAYMENT_PROVIDERS: "manual,test", QM_TEST_PROVIDER_WEBHOOK_SECRET: "whsec_console_test" },
		});
		({ p, base } = run);
		page = await run.newPage(PHONE, { acceptDownloads: true });
		context = page.context();
	});
	afterAll(async () => {
		await run?.close();
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
		await page.setViewportSize(DESKTOP);
		await visit("dashboard-desktop");
		await page.setViewportSize(PHONE);
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

	/** The customer's session in the open console (for checking what the API answers it). */
	const customerToken = async () => (await page.evaluate("sessionStorage.getItem('qm.session')")) as string;
	/** The exact amount the console shows rounded: in the title, or the text itself when already exact. */
	const shown = (amount: string, currency = "USD") => `${roundDecimal(amount)} ${currency}`;

	test("billing: the history with its filters, totals and CSV, the ledger's running balance, payment methods, auto-refill", async () => {
		// An hour and a half later the environment's first hour is closed and charged.
		await p.broker.call("gateway.setClock", { now: new Date(Date.now() + 90 * 60_000).toISOString() });
		await p.broker.call("gateway.runJob", { name: "metering.close-hours" });
		await p.broker.call("gateway.runJob", { name: "billing.charge" });
		const token = await customerToken();
		const ledger = (await p.http.get("/billing/transactions?pageSize=100", { token })).body.rows as {
			kind: string;
			amount: string;
			balanceAfter: { main: string; bonus: string };
		}[];
		expect(ledger.some(r => r.kind === "charge")).toBe(true);

		await page.getByRole("link", { name: "Billing", exact: true }).click();
		await heading("Billing");
		await page.getByRole("link", { name: "History" }).click();
		await heading("Billing history");
		await page.getByTestId("history-total").waitFor();
		await page.getByRole("region", { name: "History" }).getByRole("cell", { name: "shop" }).first().waitFor();
		await visit("billing-history");
		// Every filter of the API: by hour, grouped by layer, one environment, another offset.
		await page.getByLabel("Interval").selectOption("HOUR");
		await page.getByLabel("Group nodes by layer").check();
		await page.getByLabel("Environment", { exact: true }).selectOption({ label: "shop" });
		await page.getByLabel("Time-zone offset").fill("+02:00");
		const answered = page.waitForResponse(r => r.url().includes("/billing/history?") && r.url().includes("groupByLayer=true"));
		await page.getByRole("button", { name: "Show" }).click();
		const history = (await (await answered).json()) as { total: string; currency: string; intervals: unknown[] };
		expect((await answered).url()).toMatch(/interval=HOUR.*tzOffset=%2B02%3A00.*envId=/);
		expect(history.intervals.length).toBeGreaterThan(0);
		await page.getByTestId("history-total").getByText(shown(history.total)).waitFor();
		expect(await page.getByTestId("history-total").locator(".money").getAttribute("title")).toBe(
			roundDecimal(history.total) === history.total ? null : `${history.total} USD`,
		);
		await visit("billing-history-filtered");
		const download = page.waitForEvent("download");
		await page.getByRole("button", { name: "Download CSV" }).click();
		const csv = await download;
		expect(csv.suggestedFilename()).toMatch(/^billing-history-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
		expect(readFileSync((await csv.path())!, "utf8")).toContain("shop");

		await page.getByRole("link", { name: "Ledger" }).click();
		await heading("Ledger");
		const entries = page.getByRole("region", { name: "Ledger entries" }).getByRole("row");
		await entries.nth(1).waitFor();
		expect(await entries.count()).toBe(ledger.length + 1);
		expect(await entries.nth(1).textContent()).toContain(shown(ledger[0].balanceAfter.main));
		expect(await entries.filter({ hasText: "refill" }).first().textContent()).toMatch(/30\.00 USD/);
		await visit("billing-ledger");

		await page.getByRole("link", { name: "Payment methods" }).click();
		await heading("Payment methods");
		await page.getByText(/•••• 3155, expires 12\/2031 \(default\)/).waitFor();
		await visit("payment-methods");
		await page.getByLabel("Card number").fill(PLAIN_CARD);
		await page.getByLabel("Expiry month").fill("10");
		await page.getByLabel("Expiry year").fill("2032");
		await page.getByLabel("Security code (CVC)").fill("123");
		await page.getByRole("button", { name: "Save the card" }).click();
		await page.getByText(/^Saved: .* 4242/).waitFor();
		await page.getByRole("button", { name: /^Make default: .* 4242$/ }).click();
		await page.getByText(/•••• 4242, expires 10\/2032 \(default\)/).waitFor();
		page.once("dialog", d => void d.accept());
		await page.getByRole("button", { name: /^Delete .* 3155$/ }).click();
		await waitUntil(async () => (await page.getByText(/•••• 3155/).count()) === 0);
		const methods = (await p.http.get("/billing/payment-methods", { token })).body as { last4: string; default: boolean }[];
		expect(methods.map(m => [m.last4, m.default])).toEqual([["4242", true]]);
		await visit("payment-methods-changed");

		await page.getByRole("link", { name: "Auto-refill" }).click();
		await heading("Auto-refill");
		await page.getByText("No auto-refill is set").waitFor();
		await visit("auto-refill-none");
		await page.getByLabel("Amount").fill("20.00");
		await page.getByLabel("Threshold", { exact: true }).fill("5.00");
		await page.getByRole("button", { name: "Save the auto-refill" }).click();
		await page
			.getByTestId("auto-refill-rule")
			.getByText(/^On: 20\.00 USD when the balance falls below 5\.00 USD/)
			.waitFor();
		expect((await p.http.get("/billing/auto-refill", { token })).body).toMatchObject({
			amount: "20.00",
			condition: { type: "balanceBelow", threshold: "5.00" },
			enabled: true,
		});
		await visit("auto-refill-on");
		await page.getByRole("button", { name: "Turn the auto-refill off" }).click();
		await page.getByText("The auto-refill is off.").waitFor();
		expect((await p.http.get("/billing/auto-refill", { token })).body.enabled ?? false).toBe(false);
		await visit("auto-refill-off");
	});

	test("the dashboard draws the daily cost by environment and the balance over the last 30 days", async () => {
		const token = await customerToken();
		const ledger = (await p.http.get("/billing/transactions?pageSize=1", { token })).body.rows as { balanceAfter: { main: string } }[];
		await page.getByRole("link", { name: "Dashboard" }).click();
		await heading("Dashboard");
		const cost = page.getByTestId("cost-chart");
		await cost.waitFor();
		expect(await cost.getAttribute("aria-label")).toMatch(/^Daily cost by environment: \d+\.\d+ USD in 30 days$/);
		expect(await cost.locator("rect title").first().textContent()).toMatch(/shop: \d+\.\d+ USD$/);
		const balance = page.getByTestId("balance-chart");
		await balance.waitFor();
		expect(await balance.getAttribute("aria-label")).toBe(`Balance at the end of each day; latest ${ledger[0].balanceAfter.main} USD`);
		await page.getByText("The daily cost as a table").click();
		await page.getByRole("region", { name: "Daily cost" }).getByRole("cell", { name: "shop" }).first().waitFor();
		await visit("dashboard-charts");
		await page.setViewportSize(DESKTOP);
		await visit("dashboard-charts-desktop");
		await page.setViewportSize(PHONE);
	});

	test("tokens: created from a template and from the searched catalogue, shown once with a copy button, edited, regenerated, deleted; the notifications feed", async () => {
		await context.grantPermissions(["clipboard-read", "clipboard-write"]);
		await page.getByRole("link", { name: "Tokens" }).click();
		await heading("Access tokens");
		await page.getByText("No tokens yet.").waitFor();
		await visit("tokens-empty");
		await page.getByRole("button", { name: "Create a token" }).click();
		await page.getByLabel("Description").fill("ci deploy");
		await page.getByLabel("Template", { exact: true }).selectOption("extended-access");
		await page.getByLabel("Your password").fill(CUSTOMER.password);
		await visit("token-new-template");
		await page.getByRole("button", { name: "Create the token" }).click();
		const value = (await page.getByTestId("token-value").textContent())!.trim();
		const me = await fetch(`${base}/api/v1/account`, { headers: { authorization: `Bearer ${value}` } });
		expect(me.status).toBe(200);
		await page.getByRole("button", { name: "Copy the token" }).click();
		await page
			.getByRole("status")
			.filter({ hasText: /Copied|did not allow/ })
			.waitFor();
		await visit("token-shown-once");
		await page.getByRole("button", { name: "I copied it" }).click();
		expect(await page.getByTestId("token-value").count()).toBe(0);

		await page.getByRole("button", { name: "Create a token" }).click();
		await page.getByLabel("Description").fill("read my account");
		await page.getByLabel("API methods I choose").check();
		await page.getByLabel("Search the API methods").fill("GetUserInfo");
		await page.getByLabel(/^users\.account\.GetUserInfo/).check();
		await page.getByText("1 chosen").waitFor();
		await page.getByLabel("Your password").fill(CUSTOMER.password);
		await visit("token-new-methods");
		await page.getByRole("button", { name: "Create the token" }).click();
		await page.getByTestId("token-value").waitFor();
		await page.getByRole("button", { name: "I copied it" }).click();
		const tokens = (await p.http.get("/tokens", { token: await customerToken() })).body as {
			description: string;
			apiList: string[];
			template: string | null;
		}[];
		expect(tokens.find(t => t.description === "read my account")?.apiList).toEqual(["users.account.GetUserInfo"]);
		await page.getByText("1 API methods").waitFor();

		const list = page.getByRole("list", { name: "Your tokens" });
		await list.getByRole("button", { name: "Edit ci deploy" }).click();
		await list.getByLabel("Description").fill("ci deploy (main)");
		await list.getByLabel("Your password").fill(CUSTOMER.password);
		await visit("token-edit");
		await list.getByRole("button", { name: "Save the token" }).click();
		await list.locator("strong", { hasText: "ci deploy (main)" }).waitFor();
		await list.getByRole("button", { name: "Regenerate ci deploy (main)" }).click();
		await list.getByLabel("Your password").fill(CUSTOMER.password);
		await list.getByRole("button", { name: "Regenerate the token" }).click();
		const again = (await page.getByTestId("token-value").textContent())!.trim();
		expect(again).not.toBe(value);
		expect((await fetch(`${base}/api/v1/account`, { headers: { authorization: `Bearer ${value}` } })).status).toBe(401);
		await page.getByRole("button", { name: "I copied it" }).click();
		await list.getByRole("button", { name: "Delete read my account" }).click();
		await list.getByLabel("Your password").fill(CUSTOMER.password);
		await list.getByRole("button", { name: "Delete the token" }).click();
		await waitUntil(async () => (await list.getByText("read my account").count()) === 0);
		await visit("tokens");

		const feed = (await p.http.get("/account/notifications", { token: await customerToken() })).body.rows as { title: string; read: boolean }[];
		await page.getByRole("link", { name: "Notifications" }).click();
		await heading("Notifications");
		if (feed.length) {
			await page.getByText(feed[0].title, { exact: false }).first().waitFor();
			await visit("notifications");
			const unread = feed.find(n => !n.read);
			if (unread) {
				await page
					.getByRole("button", { name: `Mark read: ${unread.title}` })
					.first()
					.click();
				await waitUntil(
					async () => (await p.http.get("/account/notifications?unread=true", { token: await customerToken() })).body.total < feed.filter(n => !n.read).length,
				);
			}
		} else {
			await page.getByText("No notifications.").waitFor();
			await visit("notifications");
		}
	});

	test("collaboration: the owner invites a member, who activates, accepts and sees only the shared environment", async () => {
		const token = await customerToken();
		const blog = await p.http.post(
			"/environments",
			{ name: "blog", nodes: [{ layer: "cp", type: "nginx", reservedCloudlets: 1, scalingLimit: 2 }] },
			{ token },
		);
		expect(blog.status).toBe(201);
		await page.getByRole("link", { name: "Collaboration" }).click();
		await heading("Shared by me");
		await page.getByText("You share nothing yet.").waitFor();
		const roles = (await p.http.get("/collaboration/roles", { token })).body as { name: string }[];
		await page.getByRole("list", { name: "Roles" }).getByText(roles[0].name, { exact: true }).waitFor();
		await visit("collaboration-empty");
		await page.getByLabel("Email", { exact: true }).fill(MEMBER.email);
		await page.getByLabel("Display name (optional)").fill("Grace");
		await page.getByLabel("shop").check();
		await page.getByLabel("Role", { exact: true }).selectOption({ label: "Viewer" });
		await page.getByRole("button", { name: "Send the invitation" }).click();
		await page.getByText(`The invitation is sent to ${MEMBER.email}.`).waitFor();
		const members = page.getByRole("list", { name: "Members" });
		await members.getByText("pending").waitFor();
		expect(await members.textContent()).toContain("shop: Viewer");
		await visit("collaboration-invited");

		// The member, in a browser of her own: activation, sign-in, the invitation's link.
		const owner = page;
		const memberContext = await run.browser.newContext({ viewport: PHONE });
		page = await memberContext.newPage();
		page.on("pageerror", e => void run.problems.push(`page error: ${e.message}`));
		try {
			await page.goto(await outboxLink("activation", MEMBER.email));
			await heading("Choose your password");
			await page.getByLabel("Password", { exact: true }).fill(MEMBER.password);
			await page.getByLabel("Password again").fill(MEMBER.password);
			await page.getByRole("button", { name: "Activate my account" }).click();
			await heading("Sign in");
			await page.getByLabel("Email").fill(MEMBER.email);
			await page.getByLabel("Password").fill(MEMBER.password);
			await page.getByRole("button", { name: "Sign in" }).click();
			await heading("Dashboard");
			await page.getByRole("link", { name: "Collaboration" }).click();
			await page.getByRole("link", { name: "Shared with me" }).click();
			await heading("Shared with me");
			await page.getByText(`From ${CUSTOMER.email} · pending`).waitFor();
			await visit("shared-with-me-pending");
			await page.goto(await outboxLink("collaboration-invitation", MEMBER.email));
			await heading("Invitation");
			await visit("invitation");
			await page.getByRole("button", { name: "Accept the invitation" }).click();
			await heading("Environments");
			await page.getByRole("cell", { name: "shop" }).waitFor();
			expect(await page.getByRole("cell", { name: "blog" }).count()).toBe(0);
			await visit("member-environments");
			await page.getByRole("link", { name: "Collaboration" }).click();
			await page.getByRole("link", { name: "Shared with me" }).click();
			await page.getByText(`From ${CUSTOMER.email} · active`).waitFor();
			await page.getByText("shop — Viewer").waitFor();
			await page.getByRole("button", { name: `Leave the collaboration with ${CUSTOMER.email}` }).waitFor();
			await visit("shared-with-me-active");
		} finally {
			await memberContext.close();
			page = owner;
		}
		await page.reload();
		await heading("Shared by me");
		await page.getByRole("list", { name: "Members" }).getByText("active").waitFor();
		await visit("collaboration-active");
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
