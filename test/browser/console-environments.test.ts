// The console's environment screens and Quotas & Pricing in chromium (issue 19), against the platform
// started here: a customer creates an environment seeing its live estimate, changes its topology,
// stops and starts it with the keyboard, sees its usage against the limits (yellow near, red over)
// and its billing history once the clock has moved on and metering has closed and charged the hour;
// groups it; transfers and deletes others; and reads the quotas beside the billing group's and the
// tariffs as the server wrote them. Each screen at 375 px and on a desktop: a screenshot in
// test-results/console/environments-*.png, axe-core with no serious or critical violation, no console
// error, nothing wider than the screen (test/helpers/browser.ts).
import type { Page } from "playwright-core";
import { roundDecimal } from "../../console/src/money";
import { browserSuite, colourOf, DESKTOP, ERROR_RED, heading as headingOf, PHONE, signIn, startConsole, type ConsoleRun } from "../helpers/browser";
import { waitUntil } from "../helpers/http";
import { createAccount, type Platform } from "../helpers/platform";

const ADMIN = { email: "operator@example.com", password: "Runs-the-console-9!" };
const CUSTOMER = { email: "lin@example.com", password: "Topology-changes-2026!" };
const RECEIVER = { email: "taker@example.com", password: "Receives-environments-7!" };

const suite = browserSuite("test/browser/console-environments.test.ts");

jest.setTimeout(120_000);

interface Env {
	id: string;
	name: string;
	status: string;
	groups: string[];
	nodes: { layer: string; count: number; scalingLimit: number; nodeIds: string[] }[];
}

suite("the console's environments and quotas & pricing in chromium", () => {
	let run: ConsoleRun;
	let p: Platform;
	let base: string;
	let page: Page;
	let session: string;
	let ingestToken: string;
	const admin = async () => (await p.http.post("/auth/signin", ADMIN)).body.session as string;

	const visit = (name: string) => run.visit(page, name);
	/** The screen on a 375 px phone, then on a desktop (and back to the phone). */
	async function visitBoth(name: string) {
		await visit(`${name}-phone`);
		await page.setViewportSize(DESKTOP);
		await visit(`${name}-desktop`);
		await page.setViewportSize(PHONE);
	}
	const heading = (name: string | RegExp) => headingOf(page, name);
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
		run = await startConsole({ prefix: "environments-", admin: ADMIN });
		({ p, base } = run);
		const token = await admin();
		const t = await p.http.post("/tokens", { password: ADMIN.password, description: "orchestrator", apiList: ["metering.usage.Ingest"] }, { token });
		expect(t.status).toBe(201);
		ingestToken = t.body.token;
		// The customer stays a trial (its quotas differ from the billing group's); the receiver is a paying one.
		await createAccount(p, CUSTOMER.email, CUSTOMER.password);
		const receiver = await createAccount(p, RECEIVER.email, RECEIVER.password);
		expect((await p.http.post(`/admin/accounts/${receiver.id}/group`, { group: "billing" }, { token })).status).toBe(200);

		page = await run.newPage(PHONE);
		page.on("dialog", d => void d.accept());
		await signIn(page, base, CUSTOMER);
		session = (await page.evaluate("sessionStorage.getItem('qm.session')")) as string;
	});
	afterAll(async () => {
		await run?.close();
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
		const refusal = groups.getByRole("alert").filter({ hasText: "subgroups" });
		await refusal.waitFor();
		// Beside its row button, in the red of a field's error (--bad of console/app.css); axe checks its contrast.
		expect(await colourOf(refusal)).toBe(ERROR_RED);
		await visitBoth("groups");

		await page.getByRole("link", { name: "All environments" }).click();
		await page.getByRole("link", { name: "web", exact: true }).click();
		await heading("Environment web");
		expect(await page.getByTestId("env-groups").textContent()).toBe("eu");
	});

	test("creates an environment straight into a group chosen on the new environment screen", async () => {
		await page.getByRole("link", { name: "All environments" }).click();
		await heading("Environments");
		await page.getByRole("link", { name: "Create an environment" }).click();
		await heading("Create an environment");
		const choice = page.getByLabel("Group (optional)");
		expect(await choice.locator("option").allTextContents()).toEqual(["No group", "production", "production / eu"]);
		await page.getByLabel("Name").fill("api");
		await choice.selectOption({ label: "production / eu" });
		await page.getByTestId("estimate").locator(".money").first().waitFor();
		await visitBoth("new-in-group");
		const created = page.waitForResponse(r => r.url().endsWith("/api/v1/environments") && r.request().method() === "POST");
		await page.getByRole("button", { name: "Create environment" }).click();
		const eu = ((await p.http.get("/env-groups", { token: session })).body as { id: string; name: string }[]).find(g => g.name === "eu")!;
		expect((await created).request().postDataJSON().groups).toEqual([eu.id]);
		await heading("Environments");
		await page.getByText("Environment api was created.").waitFor();
		expect((await envByName("api"))!.groups).toEqual([eu.id]);
		await page.getByRole("link", { name: "api", exact: true }).click();
		await heading("Environment api");
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
