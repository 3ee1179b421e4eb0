// The console's administration area, sessions and roles in a real browser (issue 19), set up by
// test/helpers/browser.ts: Debian's chromium driven by playwright-core against the platform started here.
// An administrator (the bootstrap admin of QM_ADMIN_EMAIL) finds a customer by search, funds the
// account — the customer's open console shows the balance — overrides a quota, and visits every
// screen of the area (groups, tariffs and pricing models, tax rates, sign-in lockouts, outbox,
// audit, jobs, webhooks), doing one thing on each, each seen on a desktop and on a 375 px phone; the customer, not an administrator, sees no
// such area and is refused there; signs out another of the account's sessions; as an owner adds a
// custom policy and a role, edits, copies and deletes a role, and is told in words who holds a
// role when deleting it is refused (409); finally the administrator suspends the account in the
// console and the customer's open console shows the refusal. Every screen visited is saved to
// test-results/console/admin-*.png and checked with axe-core (no serious or critical violation),
// with no console error and nothing wider than the screen.
import type { Page } from "playwright-core";
import { browserSuite, colourOf, ERROR_RED, heading, PHONE, signIn as signInAt, startConsole, type ConsoleRun } from "../helpers/browser";
import { waitUntil } from "../helpers/http";
import { createAccount, type Platform } from "../helpers/platform";

const ADMIN = { email: "keeper@example.com", password: "Keeps-the-books-1494!" };
const CUSTOMER = { email: "lin@example.com", password: "Counts-every-cloudlet-5!" };
const MEMBER = "kim@example.com";
const WIDE = { width: 1280, height: 900 };

const suite = browserSuite("test/browser/console-admin.test.ts");

jest.setTimeout(120_000);

suite("the console's administration, sessions and roles in chromium", () => {
	let run: ConsoleRun;
	let p: Platform;
	let base: string;
	let admin: Page;
	let customer: Page;
	let customerId: string;
	const adminToken = async () => (await p.http.post("/auth/signin", ADMIN)).body.session as string;
	const customerToken = async () => (await customer.evaluate("sessionStorage.getItem('qm.session')")) as string;

	const visit = (page: Page, name: string) => run.visit(page, name);
	const banner = (page: Page, text: string | RegExp) => page.getByRole("status").filter({ hasText: text }).first().waitFor();
	/** An administration screen on the desktop, then on a 375 px phone (a wide table scrolls in its own box, not the page). */
	async function visitAdmin(name: string) {
		await visit(admin, name);
		await admin.setViewportSize(PHONE);
		await visit(admin, `${name}-phone`);
		await admin.setViewportSize(WIDE);
	}
	const signIn = (page: Page, who: { email: string; password: string }) => signInAt(page, base, who);

	beforeAll(async () => {
		run = await startConsole({
			prefix: "admin-",
			admin: ADMIN,
			env: {
				QM_PAYMENT_PROVIDERS: "manual,test",
				// the webhook endpoint added below is on the loopback address
				QM_WEBHOOKS_ALLOW_PRIVATE: "1",
			},
		});
		({ p, base } = run);
		customerId = (await createAccount(p, CUSTOMER.email, CUSTOMER.password)).id;
		customer = await run.newPage(PHONE);
		admin = await run.newPage(WIDE);
	});
	afterAll(async () => {
		await run?.close();
	});

	test("a customer sees no administration area, and is refused there", async () => {
		await signIn(customer, CUSTOMER);
		await customer.getByRole("link", { name: "Sessions" }).waitFor();
		expect(await customer.getByRole("link", { name: "Administration" }).count()).toBe(0);
		await customer.goto(`${base}/admin/accounts`);
		await heading(customer, "Accounts");
		await customer.getByRole("alert").filter({ hasText: "This area is for administrators only." }).waitFor();
		await visit(customer, "refused-to-customer");
		expect((await p.http.get("/admin/accounts", { token: await customerToken() })).status).toBe(403);
		await customer.goto(`${base}/`);
		await heading(customer, "Dashboard");
	});

	test("an administrator finds the account by search and funds it: the customer's console shows the balance", async () => {
		await signIn(admin, ADMIN);
		await admin.getByRole("link", { name: "Administration" }).click();
		await heading(admin, "Accounts");
		await admin.getByRole("link", { name: ADMIN.email }).waitFor();
		await visitAdmin("accounts");
		await admin.getByLabel("Email or name").fill("lin@");
		await admin.getByRole("button", { name: "Search" }).click();
		await admin.getByText("1 found").waitFor();
		expect(await admin.getByRole("link", { name: ADMIN.email }).count()).toBe(0);
		await visitAdmin("accounts-found");
		await admin.getByRole("link", { name: CUSTOMER.email }).click();
		await heading(admin, `Account ${CUSTOMER.email}`);
		expect(await admin.getByTestId("admin-status").textContent()).toBe("active");
		await visitAdmin("account");

		await admin.getByLabel("Amount").fill("25.00");
		await admin.getByLabel("Note").fill("goodwill for the outage");
		await admin.getByRole("button", { name: "Post the amount" }).click();
		await banner(admin, /^Posted 25\.00 USD\. Balance now 25\.00 USD, bonus \d+\.\d{2} USD\.$/);
		await admin.getByTestId("admin-balance").getByText("25.00 USD").waitFor();
		const ledger = (await p.http.get("/billing/transactions?pageSize=100", { token: await customerToken() })).body.rows as { kind: string; amount: string }[];
		expect(ledger.filter(r => r.kind === "refill").map(r => r.amount)).toEqual(["25.00"]);
		await visitAdmin("account-funded");

		await customer.getByRole("link", { name: "Dashboard" }).click();
		await customer.reload();
		await heading(customer, "Dashboard");
		await customer.getByTestId("balance").getByText("25.00 USD").waitFor();
		await visit(customer, "customer-funded");

		// A quota override, and back to the group's value.
		await admin.getByLabel("Quota", { exact: true }).selectOption("environment.maxcount");
		await admin.getByLabel("Value", { exact: true }).fill("3");
		await admin.getByRole("button", { name: "Override", exact: true }).click();
		await banner(admin, "environment.maxcount is overridden.");
		expect((await p.http.get("/account/quotas", { token: await customerToken() })).body.quotas["environment.maxcount"]).toBe(3);
		await admin.getByLabel("Quota to follow the group again").selectOption("environment.maxcount");
		await admin.getByRole("button", { name: "Remove the override" }).click();
		await banner(admin, "environment.maxcount follows the group again.");
		expect((await p.http.get("/account/quotas", { token: await customerToken() })).body.quotas["environment.maxcount"]).toBe(5);

		// Into the billing group (collaboration needs it), the balances kept.
		await admin.getByRole("form", { name: "Move to another group" }).getByLabel("Group").selectOption("billing");
		await admin.getByRole("button", { name: "Move to the group" }).click();
		await banner(admin, "The account is in billing now.");
		expect((await p.http.get("/account", { token: await customerToken() })).body).toMatchObject({ group: "billing", balance: { main: "25.00" } });
		await visitAdmin("account-moved");
	});

	test("the customer signs out another session of the account", async () => {
		const other = (await p.http.post("/auth/signin", CUSTOMER, { headers: { "user-agent": "curl/8.5" } })).body.session as string;
		expect((await p.http.get("/account", { token: other })).status).toBe(200);
		await customer.getByRole("link", { name: "Sessions" }).click();
		await heading(customer, "Sessions");
		const list = customer.getByRole("list", { name: "Sessions" });
		await list.getByText("This session").waitFor();
		await list.getByText("curl/8.5").waitFor();
		await visit(customer, "sessions");
		await list.getByRole("button", { name: /^Sign out the session from / }).click();
		await banner(customer, "The session is signed out.");
		await waitUntil(async () => (await list.getByText("curl/8.5").count()) === 0);
		expect((await p.http.get("/account", { token: other })).status).toBe(401);
		expect((await p.http.get("/account", { token: await customerToken() })).status).toBe(200);
		expect(await customer.getByRole("button", { name: "Sign out every other session" }).count()).toBe(0);
		await visit(customer, "sessions-revoked");
	});

	test("an owner adds a custom policy and a role, edits, copies and deletes; deleting a role a member holds says who holds it", async () => {
		const token = await customerToken();
		await customer.getByRole("link", { name: "Collaboration" }).click();
		await heading(customer, "Shared by me");
		await customer.getByRole("link", { name: "Roles and policies" }).click();
		await heading(customer, "Roles and policies");
		await customer.getByText("No custom policies yet.").waitFor();
		await visit(customer, "roles");

		await customer.getByLabel("Policy name").fill("read envs");
		await customer.getByLabel("Search the API methods").fill("GetEnvs");
		await customer.getByLabel(/^environment\.control\.GetEnvs/).check();
		await customer.getByText("1 chosen").waitFor();
		await customer.getByRole("button", { name: "Add the policy" }).click();
		await banner(customer, "Policy read envs is added.");
		const policy = ((await p.http.get("/collaboration/policies", { token })).body as { id: string; name: string; methods: string[]; system: boolean }[]).find(
			x => !x.system,
		)!;
		expect(policy).toMatchObject({ name: "read envs", methods: ["environment.control.GetEnvs"] });

		await customer.getByLabel("Role name").fill("Auditor");
		await customer.getByLabel("Role description").fill("sees the environments");
		await customer.getByRole("group", { name: "Policies of the role" }).getByLabel("read envs").check();
		await customer.getByRole("button", { name: "Add the role" }).click();
		await banner(customer, "Role Auditor is added.");
		const roles = () =>
			p.http.get("/collaboration/roles", { token }).then(r => r.body as { id: string; name: string; description: string; policies: string[] }[]);
		const auditor = (await roles()).find(r => r.name === "Auditor")!;
		expect(auditor.policies).toEqual([policy.id]);
		await visit(customer, "roles-added");

		const list = customer.getByRole("list", { name: "Roles" });
		await list.getByRole("button", { name: "Edit Auditor" }).click();
		await list.getByLabel("Role description").fill("reads only");
		await visit(customer, "role-edit");
		await list.getByRole("button", { name: "Save the role" }).click();
		await banner(customer, "Role Auditor is saved.");
		expect((await roles()).find(r => r.name === "Auditor")?.description).toBe("reads only");

		await list.getByRole("button", { name: "Copy Auditor" }).click();
		await banner(customer, "Role Copy of Auditor is added.");
		expect((await roles()).find(r => r.name === "Copy of Auditor")?.policies).toEqual([policy.id]);
		await list.getByRole("button", { name: "Delete Copy of Auditor" }).click();
		await banner(customer, "Role Copy of Auditor is deleted.");
		expect((await roles()).some(r => r.name === "Copy of Auditor")).toBe(false);

		// A member holds Auditor on an environment: deleting it is refused, in words.
		const env = await p.http.post("/environments", { name: "web", nodes: [{ layer: "cp", type: "nginx", reservedCloudlets: 1, scalingLimit: 2 }] }, { token });
		expect(env.status).toBe(201);
		const invite = await p.http.post(
			"/collaboration/members",
			{ email: MEMBER, resources: [{ type: "ENV", id: env.body.id, roleIds: [auditor.id] }] },
			{ token },
		);
		expect(`${invite.status} ${invite.text}`).toMatch(/^201 /);
		await customer.reload();
		await heading(customer, "Roles and policies");
		await list.getByRole("button", { name: "Delete Auditor" }).click();
		const refusal = list
			.getByRole("alert")
			.filter({ hasText: `Auditor cannot be deleted: members hold it — ${MEMBER} (environment web). Give them another role first.` });
		await refusal.waitFor();
		// Beside the row's button, in the red of a field's error (axe checks its contrast below).
		expect(await colourOf(refusal)).toBe(ERROR_RED);
		expect((await roles()).some(r => r.name === "Auditor")).toBe(true);
		await visit(customer, "role-in-use");
		// The policy is held by Auditor: its 409 is the server's own sentence.
		await customer.getByRole("button", { name: "Delete the policy read envs" }).click();
		await customer.getByRole("alert").filter({ hasText: "Policy read envs is in use by roles: Auditor" }).waitFor();
	});

	test("the administrator's other screens: groups, pricing, tax rates, lockouts, outbox, audit, jobs, webhooks", async () => {
		const area = admin.getByRole("navigation", { name: "Administration" });
		await area.getByRole("link", { name: "Groups" }).click();
		await heading(admin, "Groups");
		await admin.getByRole("region", { name: "Groups" }).getByRole("row").nth(1).waitFor();
		await admin.getByLabel("Name", { exact: true }).fill("gold");
		await admin.getByLabel("Type").selectOption("billing");
		await admin.getByLabel("Description", { exact: true }).fill("large customers");
		await admin.getByRole("button", { name: "Add the group" }).click();
		await banner(admin, "Group gold is added.");
		await admin.getByRole("region", { name: "Groups" }).getByRole("cell", { name: "large customers" }).waitFor();
		await admin.locator("#f-quota-group").selectOption("gold");
		await admin.locator("#f-quota-key").selectOption("environment.maxcount");
		await admin.getByLabel("Value", { exact: true }).fill("40");
		await admin.getByRole("button", { name: "Set the quota" }).click();
		await banner(admin, "environment.maxcount of gold is set.");
		const catalogue = (await p.http.get("/admin/quotas", { token: await adminToken() })).body as { key: string; groups: Record<string, unknown> }[];
		expect(catalogue.find(q => q.key === "environment.maxcount")?.groups.gold).toBe(40);
		await visitAdmin("groups");

		await area.getByRole("link", { name: "Tariffs and pricing models" }).click();
		await heading(admin, "Tariffs and pricing models");
		const tariffs = (await p.http.get("/admin/tariffs", { token: await adminToken() })).body as { id: string; tiers: { price: string }[] }[];
		await admin.getByRole("region", { name: "Tariffs" }).getByRole("cell", { name: tariffs[0].id, exact: true }).waitFor();
		await admin.getByRole("region", { name: "Pricing models" }).getByRole("row").nth(1).waitFor();
		// A tariff of its own for the gold group's disk, changed once, in a model of its own.
		await admin.getByLabel("Id (optional)").fill("gold-disk");
		await admin.getByLabel("Name", { exact: true }).fill("Disk for gold");
		await admin.getByLabel("Resource").fill("disk");
		await admin.getByLabel("Tiers", { exact: true }).fill("1:0.0003, 100:0.0002");
		await admin.getByRole("button", { name: "Add the tariff" }).click();
		await banner(admin, "Tariff gold-disk is added.");
		await admin.getByLabel("Tariff", { exact: true }).selectOption("gold-disk");
		await admin.getByLabel("New name (empty keeps it)").fill("Gold disk");
		await admin.getByRole("button", { name: "Save the tariff" }).click();
		await banner(admin, "Tariff gold-disk is saved.");
		const gold = ((await p.http.get("/admin/tariffs", { token: await adminToken() })).body as { id: string }[]).find(t => t.id === "gold-disk");
		expect(gold).toMatchObject({
			name: "Gold disk",
			resource: "disk",
			tiers: [
				{ from: 1, price: "0.0003" },
				{ from: 100, price: "0.0002" },
			],
		});
		await admin.getByLabel("Model id").fill("gold");
		await admin.getByLabel("Model name (empty keeps it)").fill("Gold");
		await admin.getByLabel("Tariff ids (empty keeps them)").fill(tariffs.map(t => (t.id === "default.disk" ? "gold-disk" : t.id)).join(", "));
		await admin.getByLabel("Groups (empty keeps them)").fill("gold");
		await admin.getByRole("button", { name: "Save the pricing model" }).click();
		await banner(admin, "Pricing model gold is saved.");
		await admin.getByRole("region", { name: "Pricing models" }).getByRole("cell", { name: "Gold", exact: true }).waitFor();
		await visitAdmin("pricing");

		await area.getByRole("link", { name: "Tax rates" }).click();
		await heading(admin, "Tax rates");
		await admin.getByLabel("Country", { exact: true }).fill("de");
		await admin.getByLabel("Rate", { exact: true }).fill("0.19");
		await admin.getByRole("button", { name: "Set the rate" }).click();
		await banner(admin, "The tax rate of DE is 0.19.");
		await admin.getByRole("region", { name: "Tax rates" }).getByRole("cell", { name: "0.19" }).waitFor();
		expect((await p.http.get("/admin/tax-rates", { token: await adminToken() })).body).toMatchObject([{ country: "DE", rate: "0.19" }]);
		await visitAdmin("tax-rates");

		for (let i = 0; i < 3; i++) expect((await p.http.post("/auth/signin", { email: "mallory@example.com", password: "not-the-password" })).status).toBe(401);
		await area.getByRole("link", { name: "Sign-in lockouts" }).click();
		await heading(admin, "Sign-in lockouts");
		await admin.getByLabel("Email").fill("mallory@example.com");
		await admin.getByRole("button", { name: "Show" }).click();
		const failing = admin.getByRole("region", { name: "Failing sign-ins" });
		await failing.getByRole("cell", { name: "mallory@example.com", exact: true }).waitFor();
		await visitAdmin("lockouts");
		await failing.getByRole("button", { name: /^Lift the lockout of mallory@example\.com/ }).click();
		await banner(admin, /^Lifted \d+ lockouts?\.$/);
		await admin.getByText("No failing sign-ins.").waitFor();
		expect((await p.http.get("/admin/signin-attempts?email=mallory%40example.com", { token: await adminToken() })).body).toEqual([]);

		await area.getByRole("link", { name: "Outbox" }).click();
		await heading(admin, "Outbox");
		await admin.getByLabel("Recipient").fill(CUSTOMER.email);
		await admin.getByRole("button", { name: "Show" }).click();
		const emails = admin.getByRole("list", { name: "Emails" });
		await emails.getByText(`to ${CUSTOMER.email} · activation`, { exact: false }).waitFor();
		expect(await emails.getByText(`to ${ADMIN.email}`, { exact: false }).count()).toBe(0);
		await visitAdmin("outbox");

		await area.getByRole("link", { name: "Audit" }).click();
		await heading(admin, "Audit");
		await admin.getByLabel("Action").fill("admin.billing.FundAccount");
		await admin.getByLabel("Account id").fill(customerId);
		const answered = admin.waitForResponse(r => r.url().includes("/admin/audit?") && r.url().includes("FundAccount"));
		await admin.getByRole("button", { name: "Show" }).click();
		expect((await answered).url()).toContain(`account=${customerId}`);
		const audit = admin.getByTestId("audit");
		await audit.getByRole("cell", { name: "admin.billing.FundAccount" }).waitFor();
		expect(await audit.getByRole("row").count()).toBe(2);
		expect(await audit.getByRole("cell", { name: ADMIN.email }).count()).toBe(1);
		await visitAdmin("audit");

		await area.getByRole("link", { name: "Jobs" }).click();
		await heading(admin, "Jobs");
		await admin.getByRole("button", { name: "Run billing.low-balance" }).click();
		await admin
			.getByTestId("job-billing.low-balance")
			.getByText(/^processed \d+ at /)
			.waitFor();
		await visitAdmin("jobs");

		await area.getByRole("link", { name: "Webhooks" }).click();
		await heading(admin, "Webhooks");
		await admin.getByText("No webhook endpoints.").waitFor();
		await admin.getByLabel("URL").fill("http://127.0.0.1:9/hooks/qm");
		await admin.getByLabel("account.status.changed").check();
		await admin.getByLabel("Description").fill("the CRM");
		await admin.getByRole("button", { name: "Add the endpoint" }).click();
		expect(await admin.getByTestId("webhook-secret").textContent()).toMatch(/^whsec_/);
		await admin.getByRole("list", { name: "Webhook endpoints" }).getByText("http://127.0.0.1:9/hooks/qm").waitFor();
		await visitAdmin("webhooks");
		await admin.getByRole("button", { name: "I copied it" }).click();
		expect(await admin.getByTestId("webhook-secret").count()).toBe(0);
	});

	test("the administrator suspends the account in the console: the customer's open console shows the refusal", async () => {
		const area = admin.getByRole("navigation", { name: "Administration" });
		await area.getByRole("link", { name: "Accounts" }).click();
		await heading(admin, "Accounts");
		await admin.getByLabel("Email or name").fill(CUSTOMER.email);
		await admin.getByRole("button", { name: "Search" }).click();
		await admin.getByText("1 found").waitFor();
		await admin.getByRole("link", { name: CUSTOMER.email }).click();
		await heading(admin, `Account ${CUSTOMER.email}`);
		expect(await admin.getByLabel("New status").inputValue()).toBe("suspended");
		await admin.getByLabel("Reason").fill("terms violation");
		await admin.getByRole("button", { name: "Change the status" }).click();
		await banner(admin, "The account is suspended now.");
		await admin.getByTestId("admin-status").getByText("suspended").waitFor();
		await admin.getByRole("region", { name: "Status history" }).getByRole("cell", { name: "terms violation" }).waitFor();
		await visitAdmin("account-suspended");

		// The customer's console, open all along, is refused at its next request.
		await customer.getByRole("link", { name: "Environments" }).click();
		await customer.getByRole("alert").filter({ hasText: "You are signed out" }).waitFor();
		await heading(customer, "Sign in");
		await visit(customer, "customer-refused");
		await customer.getByLabel("Email").fill(CUSTOMER.email);
		await customer.getByLabel("Password").fill(CUSTOMER.password);
		await customer.getByRole("button", { name: "Sign in" }).click();
		await customer.getByRole("alert").filter({ hasText: "This account is suspended" }).waitFor();

		// The webhook endpoint added before got the status change to deliver.
		const hooks = (await p.http.get("/admin/webhooks", { token: await adminToken() })).body.rows as { id: string }[];
		await waitUntil(async () => (await p.http.get(`/admin/webhooks/${hooks[0].id}/deliveries`, { token: await adminToken() })).body.total > 0);
		await area.getByRole("link", { name: "Webhooks" }).click();
		await heading(admin, "Webhooks");
		await admin.getByRole("button", { name: "Deliveries" }).click();
		await admin
			.getByRole("region", { name: /^Deliveries to / })
			.getByRole("cell", { name: "account.status.changed", exact: true })
			.waitFor();
		await visitAdmin("webhook-deliveries");
	});
});
