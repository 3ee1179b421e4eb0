// The console's environment screens and Quotas & Pricing in chromium (issue 19), against the platform
// started here: a customer creates an environment seeing its live estimate, changes its topology,
// stops and starts it with the keyboard, sees its usage against the limits (yellow near, red over)
// and its billing history once the clock has moved on and metering has closed and charged the hour;
// groups it; transfers and deletes others; and reads the quotas beside the billing group's and the
// tariffs as the server wrote them. Each screen at 375 px and on a desktop: a screenshot in
// test-results/console/environments-*.png, axe-core with no serious or critical violation, no console
// error, nothing wider than the screen. Set up like test/browser/console.test.ts.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "fs";
import { join } from "path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { roundDecimal } from "../../console/src/money";
import { waitUntil } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const CHROMIUM = "/usr/bin/chromium";
const OUT = join(__dirname, "..", "..", "test-results", "console");
const PREFIX = "environments-";
const ADMIN = { email: "operator@example.com", password: "Runs-the-console-9!" };
const CUSTOMER = { email: "lin@example.com", password: "Topology-changes-2026!" };
const RECEIVER = { email: "taker@example.com", password: "Receives-environments-7!" };
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const PHONE = { width: 375, height: 812 };
const DESKTOP = { width: 1280, height: 800 };

const skipReason = existsSync(CHROMIUM)
	? null
	: `test/browser/console-environments.test.ts skipped: ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)`;
if (skipReason) console.warn(skipReason);
const suite = skipReason ? describe.skip : describe;

jest.setTimeout(120_000);

interface Env {
	id: string;
	name: string;
	status: string;
	groups: string[];
	nodes: { layer: string; count: number; scalingLimit: number; nodeIds: string[] }[];
}

suite("the console's environments and quotas & pricing in chromium", () => {
	let p: Platform;
	let base: string;
	let browser: Browser;
	let context: BrowserContext;
	let page: Page;
	let session: string;
	let ingestToken: string;
	let shots = 0;
	const problems: string[] = [];
	const admin = async () => (await p.http.post("/auth/signin", ADMIN)).body.session as string;

	/** A screen reached: its screenshot, an accessibility check, no console error, no sideways scrolling. */
	async function visit(name: string) {
		await page.waitForLoadState("networkidle");
		await page.screenshot({ path: join(OUT, `${PREFIX}${String(++shots).padStart(2, "0")}-${name}.png`), fullPage: true });
		if (!(await page.evaluate("typeof axe !== 'undefined'"))) await page.evaluate(AXE);
		const violations = (await page.evaluate(
			"axe.run(document, { resultTypes: ['violations'] }).then(r => r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')) })))",
		)) as { id: string; impact: string; help: string; nodes: string[] }[];
		expect({ screen: name, serious: violations.filter(v => v.impact === "serious" || v.impact === "critical") }).toEqual({ screen: name, serious: [] });
		const width = (await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")) as [number, number];
		expect({ screen: name, scrollWidth: width[0] }).toEqual({ screen: name, scrollWidth: width[1] });
		expect(problems).toEqual([]);
	}
	/** The screen on a 375 px phone, then on a desktop (and back to the phone). */
	async function visitBoth(name: string) {
		await visit(`${name}-phone`);
		await page.setViewportSize(DESKTOP);
		await visit(`${name}-desktop`);
		await page.setViewportSize(PHONE);
	}
	const heading = (name: string | RegExp) => page.getByRole("heading", { level: 1, name }).waitFor();
	/** Tabs from the page's heading until the focused control is `name`: the control is reachable with the keyboard. */
	async function tabTo(role: "button" | "link" | "combobox" | "textbox", name: string) {
		await page.locator("h1").focus();
		const target = page.getByRole(role, { name, exact: true });
		for (let i = 0; i < 80; i++) {
			await page.keyboard.press("Tab");
			// eslint-disable-next-line @typescript-eslint/no-explicit-any -- runs in the page (no DOM types here)
			if (await target.evaluate((el: any) => el === (globalThis as any).document.activeElement).catch(() => false)) return;
		}
		throw new Error(`${role} "${name}" is not reachable with the Tab key`);
	}
	const envByName = async (name: string, token = session) =>
		((await p.http.get("/environments?pageSize=100", { token })).body.rows as Env[]).find(e => e.name === name);
	const setClock = (ms: number) => p.broker.call("gateway.setClock", { now: new Date(ms).toISOString() });
	const runJob = (name: string) => p.broker.call("gateway.runJob", { name });

	beforeAll(async () => {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		await (require("../../scripts/build-console.js") as { buildConsole(): Promise<number> }).buildConsole();
		// Only this file's screenshots go: the other browser test files save theirs here too.
		mkdirSync(OUT, { recursive: true });
		for (const f of readdirSync(OUT)) if (f.startsWith(PREFIX)) rmSync(join(OUT, f));
		p = await startPlatform({ env: { QM_TEST_CLOCK: "1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		base = p.url.replace(/\/api\/v1$/, "");
		await waitUntil(async () => (await p.http.post("/auth/signin", ADMIN)).status === 200);
		const token = await admin();
		const t = await p.http.post("/tokens", { password: ADMIN.password, description: "orchestrator", apiList: ["metering.usage.Ingest"] }, { token });
		expect(t.status).toBe(201);
		ingestToken = t.body.token;
		// The customer stays a trial (its quotas differ from the billing group's); the receiver is a paying one.
		await createAccount(p, CUSTOMER.email, CUSTOMER.password);
		const receiver = await createAccount(p, RECEIVER.email, RECEIVER.password);
		expect((await p.http.post(`/admin/accounts/${receiver.id}/group`, { group: "billing" }, { token })).status).toBe(200);

		const { chromium } = await import("playwright-core");
		browser = await chromium.launch({
			executablePath: CHROMIUM,
			headless: true,
			args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
		});
		context = await browser.newContext({ viewport: PHONE });
		page = await context.newPage();
		page.on(
			"console",
			m => void (m.type() === "error" && !/the server responded with a status of 4\d\d/.test(m.text()) && problems.push(`console: ${m.text()}`)),
		);
		page.on("pageerror", e => void problems.push(`page error: ${e.message}`));
		page.on("dialog", d => void d.accept());

		await page.goto(`${base}/signin`);
		await heading("Sign in");
		await page.getByLabel("Email").fill(CUSTOMER.email);
		await page.getByLabel("Password").fill(CUSTOMER.password);
		await page.getByRole("button", { name: "Sign in" }).click();
		await heading("Dashboard");
		session = (await page.evaluate("sessionStorage.getItem('qm.session')")) as string;
	});
	afterAll(async () => {
		await browser?.close();
		await p?.stop();
	});

	test("creates an environment seeing the live estimate, and opens its page", async () => {
		await page.getByRole("link", { name: "Environments" }).click();
		await heading("Environments");
		await page.getByRole("link", { name: "Create an environment" }).click();
		await heading("Create an environment");
		await page.getByLabel("Name").fill("web");
		await page.getByLabel("Reserved cloudlets").fill("2");
		const asking = page.waitForResponse(r => r.url().endsWith("/pricing/estimate") && r.request().postDataJSON()?.nodes?.[0]?.scalingLimit === 6);
		await page.getByLabel("Scaling limit (cloudlets)").fill("6");
		const estimate = page.getByTestId("estimate");
		const asked = await asking;
		const answer = (await asked.json()) as { hourly: { min: string; max: string }; currency: string };
		await estimate.getByText(`${answer.hourly.min} – ${answer.hourly.max} ${answer.currency}`).waitFor();
		await visitBoth("new");
		await page.getByRole("button", { name: "Create environment" }).click();
		await heading("Environments");
		await page.getByText("Environment web was created.").waitFor();
		await page.getByRole("link", { name: "web", exact: true }).click();
		await heading("Environment web");
		expect(await page.getByTestId("env-status").textContent()).toBe("running");
		await page.getByTestId("usage-empty").waitFor();
		await visitBoth("detail");
	});

	test("changes the topology: more nodes and a higher scaling limit, the estimate following", async () => {
		await page.getByLabel("Nodes", { exact: true }).fill("2");
		const asking = page.waitForResponse(r => r.url().endsWith("/pricing/estimate") && r.request().postDataJSON()?.nodes?.[0]?.scalingLimit === 8);
		await page.getByLabel("Scaling limit (cloudlets)").fill("8");
		const asked = await asking;
		const answer = (await asked.json()) as { monthly: { min: string; max: string }; currency: string };
		await page
			.getByTestId("estimate")
			.getByText(`${roundDecimal(answer.monthly.min)} – ${roundDecimal(answer.monthly.max)} ${answer.currency}`)
			.waitFor();
		await page.getByRole("button", { name: "Save the topology" }).click();
		await page.getByText("The topology is saved.").waitFor();
		const env = (await envByName("web"))!;
		expect(env.nodes.map(n => [n.layer, n.count, n.scalingLimit, n.nodeIds.length])).toEqual([["cp", 2, 8, 2]]);
		await visit("topology-saved");
		// Beyond the trial's limits: the API's refusal is shown beside the form.
		await page.getByLabel("Scaling limit (cloudlets)").fill("64");
		await page.getByRole("button", { name: "Save the topology" }).click();
		await page.getByRole("alert").first().waitFor();
		expect((await envByName("web"))!.nodes[0].scalingLimit).toBe(8);
		await visit("topology-refused");
		await page.reload();
		await heading("Environment web");
	});

	test("stops and starts it with the keyboard", async () => {
		await tabTo("button", "Stop");
		await page.keyboard.press("Enter");
		await page.getByTestId("env-status").getByText("stopped").waitFor();
		expect((await envByName("web"))!.status).toBe("stopped");
		await visit("stopped");
		await tabTo("button", "Start");
		await page.keyboard.press("Enter");
		await page.getByTestId("env-status").getByText("running").waitFor();
		expect((await envByName("web"))!.status).toBe("running");
		// The other controls are reachable the same way, each with its label.
		await tabTo("textbox", "Email of the new owner");
		await tabTo("combobox", "Period");
		await tabTo("combobox", "Node");
		await tabTo("button", "Download CSV");
	});

	test("after an hour of usage, metered and charged: the usage charts against the limits and the environment's billing history", async () => {
		const env = (await envByName("web"))!;
		const [n1, n2] = env.nodes[0].nodeIds;
		// Each node's limit is 8 cloudlets = 1024 MiB: node 1 peaks over it, both together near theirs (1800 of 2048).
		const at = new Date(Date.now() - 60_000).toISOString();
		const sample = (id: string, nodeId: string, ramMiB: number) => ({
			id,
			envId: env.id,
			nodeId,
			time: at,
			ramMiB,
			cpuMHz: 400,
			diskMB: 2000,
			trafficInMB: 3,
			trafficOutMB: 2,
		});
		const ingested = await p.http.post("/metering/usage", { samples: [sample("u-1", n1, 1100), sample("u-2", n2, 700)] }, { token: ingestToken });
		expect(ingested.body).toMatchObject({ accepted: 2, rejected: [] });
		await setClock(Date.now() + 90 * 60_000);
		await runJob("metering.close-hours");
		await runJob("billing.charge");
		const period = `from=${new Date(Date.now() - 2 * 86_400_000).toISOString()}&to=${new Date(Date.now() + 86_400_000).toISOString()}`;
		const charged = (await p.http.get(`/billing/history?envId=${env.id}&interval=ALL&${period}`, { token: session })).body as {
			total: string;
			currency: string;
		};
		expect(Number(charged.total)).toBeGreaterThan(0);

		await page.reload();
		await heading("Environment web");
		const ram = page.getByTestId("usage-ram");
		await ram.waitFor();
		expect(await ram.getAttribute("data-level")).toBe("near");
		expect(await ram.locator("svg").getAttribute("aria-label")).toBe("RAM, peak: highest 1800 MiB of a 2048 MiB limit; near the limit");
		expect(await ram.locator("rect.usage-near").count()).toBe(1);
		expect(await page.getByTestId("usage-cpu").getAttribute("data-level")).toBe("ok");
		expect(await page.getByTestId("usage-disk").getAttribute("data-level")).toBe("ok");
		await page.getByTestId("usage-traffic").waitFor();
		await ram.getByText("RAM, peak as a table").click();
		const row = ram.getByRole("region", { name: "RAM, peak by hour" }).getByRole("row").nth(1);
		expect(await row.textContent()).toMatch(/1800.*2048.*near the limit/);
		// One node: its own limit, over it.
		await page.getByLabel("Node", { exact: true }).selectOption({ index: 1 });
		await waitUntil(async () => (await ram.getAttribute("data-level")) === "over");
		expect(await ram.locator("rect.usage-over").count()).toBe(1);
		expect(await row.textContent()).toMatch(/1100.*1024.*at or over the limit/);

		// Its billing history: the billing history's pieces, the environment fixed.
		const history = page.getByRole("region", { name: "Billing history" });
		await history
			.getByTestId("history-total")
			.getByText(`${roundDecimal(charged.total)} ${charged.currency}`)
			.waitFor();
		await history.getByRole("region", { name: "History" }).getByRole("cell", { name: "web" }).first().waitFor();
		expect(await history.getByLabel("Environment", { exact: true }).count()).toBe(0);
		const answered = page.waitForResponse(r => r.url().includes("/billing/history?") && r.url().includes("interval=HOUR"));
		await history.getByLabel("Interval").selectOption("HOUR");
		await history.getByRole("button", { name: "Show" }).click();
		expect((await answered).url()).toContain(`envId=${env.id}`);
		await visitBoth("usage-and-history");
	});

	test("environment groups: created, nested, an environment moved into one; a group with subgroups stays", async () => {
		await page.getByRole("link", { name: "Environments", exact: true }).click();
		await heading("Environments");
		await page.getByRole("link", { name: "Environment groups" }).click();
		await heading("Environment groups");
		await page.getByText("No groups yet.").waitFor();
		await visitBoth("groups-empty");
		await page.getByLabel("Group name").fill("production");
		await page.getByRole("button", { name: "Create the group" }).click();
		await page.getByText("The group production is created.").waitFor();
		await page.getByLabel("Group name").fill("eu");
		await page.getByLabel("Inside").selectOption({ label: "production" });
		await page.getByRole("button", { name: "Create the group" }).click();
		await page.getByText("The group eu is created.").waitFor();
		const groups = page.getByRole("list", { name: "Your environment groups" });
		await groups.getByText("production / eu").waitFor();

		await page.getByLabel("Environment", { exact: true }).selectOption({ label: "web" });
		await page.getByLabel("Group", { exact: true }).selectOption({ label: "production / eu" });
		await page.getByRole("button", { name: "Move", exact: true }).click();
		await page.getByText("web is now in the group production / eu.").waitFor();
		const tree = (await p.http.get("/env-groups", { token: session })).body as { id: string; name: string }[];
		expect((await envByName("web"))!.groups).toEqual([tree.find(g => g.name === "eu")!.id]);
		expect(await groups.getByRole("listitem").filter({ hasText: "production / eu" }).textContent()).toContain("web");

		await page.getByRole("button", { name: "Delete the group production", exact: true }).click();
		await groups.getByRole("alert").filter({ hasText: "subgroups" }).waitFor();
		await visitBoth("groups");

		await page.getByRole("link", { name: "All environments" }).click();
		await page.getByRole("link", { name: "web", exact: true }).click();
		await heading("Environment web");
		expect(await page.getByTestId("env-groups").textContent()).toBe("eu");
	});

	test("transfers one environment to another account and deletes another", async () => {
		const nodes = [{ layer: "cp", type: "nginx", reservedCloudlets: 1, scalingLimit: 2 }];
		for (const name of ["handover", "scratch"]) expect((await p.http.post("/environments", { name, nodes }, { token: session })).status).toBe(201);

		await page.goto(`${base}/environments`);
		await heading("Environments");
		await page.getByRole("link", { name: "handover", exact: true }).click();
		await heading("Environment handover");
		await page.getByLabel("Email of the new owner").fill(RECEIVER.email);
		await page.getByRole("button", { name: "Transfer the environment" }).click();
		await heading("Environments");
		await page.getByText("Environment handover was transferred.").waitFor();
		expect(await envByName("handover")).toBeUndefined();
		const taker = (await p.http.post("/auth/signin", RECEIVER)).body.session as string;
		expect(await envByName("handover", taker)).toBeDefined();

		await page.getByRole("link", { name: "scratch", exact: true }).click();
		await heading("Environment scratch");
		await page.getByRole("button", { name: "Delete", exact: true }).click();
		await heading("Environments");
		await page.getByText("Environment scratch was deleted.").waitFor();
		expect(await envByName("scratch")).toBeUndefined();
		await visitBoth("after-transfer-and-delete");
	});

	test("quotas & pricing: my limits beside the billing group's, the tariffs' tiers as the server wrote them", async () => {
		const quotas = (await p.http.get("/account/quotas", { token: session })).body as {
			group: string;
			quotas: Record<string, number | string>;
			billingGroup: string;
			billingGroupQuotas: Record<string, number | string>;
		};
		const pricing = (await p.http.get("/pricing", { token: session })).body as {
			currency: string;
			tariffs: { resource: string; tiers: { from: number; to: number | null; price: string; monthly: string }[] }[];
		};
		await page.getByRole("link", { name: "Billing", exact: true }).click();
		await heading("Billing");
		await page.getByRole("link", { name: "Quotas & pricing" }).click();
		await heading("Quotas & pricing");
		const table = page.getByRole("region", { name: "Quotas", exact: true });
		await table.waitFor();
		expect(await table.getByRole("columnheader").allTextContents()).toEqual(["Quota", `Mine (${quotas.group})`, `${quotas.billingGroup} group`]);
		const nodesRow = table.getByRole("row").filter({ hasText: "environment.maxcloudletsperrec" });
		expect(await nodesRow.getByRole("cell").allTextContents()).toEqual([
			String(quotas.quotas["environment.maxcloudletsperrec"]),
			String(quotas.billingGroupQuotas["environment.maxcloudletsperrec"]),
		]);
		expect(await nodesRow.textContent()).toContain("(differs)");
		expect(await table.getByRole("row").filter({ hasText: "environment.maxcount" }).getByRole("cell").allTextContents()).toEqual(["5", "unlimited"]);

		for (const tariff of pricing.tariffs.filter(t => !t.resource.startsWith("license:"))) {
			const section = page.getByTestId(`tariff-${tariff.resource.replace(/[^a-z0-9]/gi, "-")}`);
			const rows = section.getByRole("row");
			expect(await rows.count()).toBe(tariff.tiers.length + 1);
			for (const [i, tier] of tariff.tiers.entries()) {
				const [price, monthly] = await rows
					.nth(i + 1)
					.locator(".money")
					.all();
				expect(await price.textContent()).toBe(`${roundDecimal(tier.price, 4)} ${pricing.currency}`);
				expect(await price.getAttribute("title")).toBe(roundDecimal(tier.price, 4) === tier.price ? null : `${tier.price} ${pricing.currency}`);
				expect(await monthly.textContent()).toBe(`${roundDecimal(tier.monthly)} ${pricing.currency}`);
			}
		}
		// A unit price finer than 4 decimals: shown rounded, exact on hover.
		const disk = pricing.tariffs.find(t => t.resource === "disk")!.tiers[0];
		expect(disk.price).toBe("0.00015");
		expect(await page.getByTestId("tariff-disk").locator(".money").first().getAttribute("title")).toBe("0.00015 USD");
		await tabTo("link", "Upgrade");
		await visitBoth("quotas-pricing");
	});
});
