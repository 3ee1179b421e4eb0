// Issue 14 "Hardening", over HTTP: bad input gets a 4xx naming the field and the reason (item 6),
// and administrators are staff, not customers (item 11).
import { signInWhenReady, type Reply } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "hardening-admin@example.com", password: "Hardening-adm1n-pass!" };
const node = { layer: "cp", type: "tomcat", reservedCloudlets: 1, scalingLimit: 4 };
const fields = (r: Reply) => ((r.body?.data ?? []) as { field: string }[]).map(d => d.field);

describe("hardening (issue 14)", () => {
	let p: Platform;
	let admin: { id: string; session: string };
	let user: { id: string; session: string; email: string };
	let keys = 0;
	const charge = (id: string, body: Record<string, unknown>) =>
		p.http.post(`/admin/accounts/${id}/charge`, body, { token: admin.session, headers: { "Idempotency-Key": `hardening-${++keys}` } });

	async function signUp(email: string) {
		const password = "Staff-not-customers-1!";
		const account = await createAccount(p, email, password);
		return { ...account, session: (await p.http.post("/auth/signin", { email, password })).body.session as string };
	}

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_TEST_CLOCK: "1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		const session = await signInWhenReady(p.http, ADMIN);
		admin = { id: (await p.http.get("/account", { token: session })).body.id, session };
		user = await signUp("hardening-user@example.com");
	});
	afterAll(() => p?.stop());

	describe("item 6: bad input is refused, naming the field", () => {
		it("refuses an admin charge for an environment that is not the account's, or does not exist (404)", async () => {
			const other = await signUp("hardening-other@example.com");
			const mine = (await p.http.post("/environments", { name: "mine", nodes: [node] }, { token: user.session })).body;
			const theirs = (await p.http.post("/environments", { name: "theirs", nodes: [node] }, { token: other.session })).body;
			for (const envId of [theirs.id, "no-such-environment"]) {
				const r = await charge(user.id, { amount: "1.00", description: "Support", envId });
				expect([envId, r.status, r.body.type]).toEqual([envId, 404, "NOT_FOUND"]);
				expect(r.body.message).toContain("envId");
			}
			expect((await charge(user.id, { amount: "1.00", description: "Support", envId: mine.id })).status).toBe(201);
		});

		it('refuses parentId "" (422) and a group name taken under the same parent (409)', async () => {
			const empty = await p.http.post("/env-groups", { name: "Orphan", parentId: "" }, { token: user.session });
			expect([empty.status, fields(empty)]).toEqual([422, ["parentId"]]);

			const prod = await p.http.post("/env-groups", { name: "Prod" }, { token: user.session });
			expect(prod.status).toBe(201);
			const again = await p.http.post("/env-groups", { name: "prod" }, { token: user.session });
			expect([again.status, again.body.type, fields(again)]).toEqual([409, "CONFLICT", ["name"]]);
			const eu = await p.http.post("/env-groups", { name: "EU", parentId: prod.body.id }, { token: user.session });
			expect(eu.status).toBe(201);
			expect((await p.http.post("/env-groups", { name: "EU", parentId: prod.body.id }, { token: user.session })).status).toBe(409);
			// The same name elsewhere in the tree, or another owner's, is fine.
			expect((await p.http.post("/env-groups", { name: "Prod", parentId: eu.body.id }, { token: user.session })).status).toBe(201);
			expect((await p.http.post("/env-groups", { name: "EU" }, { token: user.session })).status).toBe(201);
		});

		it("refuses impossible calendar dates (2026-02-30) in every time parameter (422)", async () => {
			const env = (await p.http.post("/environments", { name: "dated", nodes: [node] }, { token: user.session })).body;
			const cases: [string, string][] = [
				["/billing/summary?from=2026-02-30", "from"],
				["/billing/summary?to=2026-02-30T00:00:00Z", "to"],
				["/billing/history?from=2026-02-30T00:00:00Z", "from"],
				["/billing/transactions?to=2026-02-30", "to"],
				[`/environments/${env.id}/usage?from=2026-02-30T00:00:00Z`, "from"],
				["/billing/summary?from=2026-13-01", "from"],
				["/billing/summary?from=yesterday", "from"],
			];
			for (const [path, field] of cases) {
				const r = await p.http.get(path, { token: user.session });
				expect([path, r.status, fields(r)]).toEqual([path, 422, [field]]);
			}
			const token = await p.http.post(
				"/tokens",
				{ password: "Staff-not-customers-1!", description: "dated", template: "extended-access", expiresAt: "2099-02-30T00:00:00Z" },
				{ token: user.session },
			);
			expect([token.status, fields(token)]).toEqual([422, ["expiresAt"]]);
			const clock = await p.http.post("/admin/clock", { now: "2026-02-30T00:00:00Z" }, { token: admin.session });
			expect([clock.status, fields(clock)]).toEqual([422, ["now"]]);
			await expect(p.broker.call("environments.inventory", { from: "2026-02-30T00:00:00Z", to: "2026-03-01T00:00:00Z" })).rejects.toMatchObject({
				code: 422,
				data: [{ field: "from" }],
			});
			// Real dates still work, a bare date being midnight UTC.
			const ok = await p.http.get("/billing/summary?from=2026-02-28&to=2026-03-01T00:00:00Z", { token: user.session });
			expect([ok.status, ok.body.from, ok.body.to]).toEqual([200, "2026-02-28T00:00:00.000Z", "2026-03-01T00:00:00.000Z"]);
		});

		it("refuses control characters, bidirectional overrides and lone surrogates in text (422)", async () => {
			for (const name of ["evil\u202Egnp.exe", "line\nbreak", "nul\u0000", "half\uD800", "isolate\u2066x"]) {
				const r = await p.http.post("/env-groups", { name }, { token: user.session });
				expect([JSON.stringify(name), r.status, fields(r)]).toEqual([JSON.stringify(name), 422, ["name"]]);
				expect(r.body.data[0].message).toMatch(/control characters, bidirectional overrides or lone surrogates/);
			}
			const desc = await charge(user.id, { amount: "1.00", description: "ok\u202Eon" });
			expect([desc.status, fields(desc)]).toEqual([422, ["description"]]);
			expect((await p.http.post("/env-groups", { name: "Ünïcödé 😀 ok" }, { token: user.session })).status).toBe(201);
		});
	});

	describe("item 11: administrators are staff, not customers", () => {
		it("refuses to transfer an environment to an administrator (422, field email)", async () => {
			const paid = await signUp("hardening-giver@example.com");
			expect((await p.http.post(`/admin/accounts/${paid.id}/group`, { group: "billing" }, { token: admin.session })).status).toBe(200);
			const env = (await p.http.post("/environments", { name: "gift", nodes: [node] }, { token: paid.session })).body;
			const r = await p.http.post(`/environments/${env.id}/transfer`, { email: ADMIN.email }, { token: paid.session });
			expect([r.status, r.body.type, fields(r)]).toEqual([422, "VALIDATION_ERROR", ["email"]]);
			expect(r.body.message).toMatch(/administrator/);
			expect((await p.http.get(`/environments/${env.id}`, { token: paid.session })).status).toBe(200);
		});

		it("never charges an administrator's environment-hours", async () => {
			const hour = Date.UTC(2026, 10, 2, 10);
			const record = (ownerId: string, envId: string) => ({
				envId,
				hour,
				rev: 1,
				ownerId,
				name: envId,
				running: true,
				subscription: false,
				ssl: false,
				nodes: [
					{
						nodeId: `${envId}-n1`,
						layer: "cp",
						reservedCloudlets: 2,
						scalingLimit: 16,
						diskLimitGB: 10,
						publicIPv4: 1,
						publicIPv6: 0,
						peakRamMiB: 900,
						avgCpuMHz: 400,
						peakDiskMB: 1500,
						trafficInMB: 10,
						trafficOutMB: 20,
						samples: 12,
					},
				],
			});
			await p.broker.call("billing.chargeRecords", { records: [record(admin.id, "staff-env"), record(user.id, "customer-env")] });
			const usage = async (session: string, envId: string) => (await p.http.get(`/billing/transactions?envId=${envId}`, { token: session })).body.total;
			expect(await usage(user.session, "customer-env")).toBe(1); // the same hour is charged to a customer
			expect(await usage(admin.session, "staff-env")).toBe(0);
		});

		it("never deactivates nor destroys an administrator by a job, whatever its balance", async () => {
			expect((await charge(admin.id, { amount: "50.00", description: "Below the minimum" })).status).toBe(201);
			await p.http.post("/admin/jobs/accounts.deactivation/run", {}, { token: admin.session });
			await p.http.post("/admin/jobs/accounts.destroy/run", {}, { token: admin.session });
			expect((await p.http.get("/account", { token: admin.session })).body.status).toBe("active");
		});
	});

	describe("item 12: notices say the days actually left", () => {
		const notices = async (to: string, template: string) =>
			((await p.broker.call("notifications.adminOutbox", { to, pageSize: 100 })) as { rows: { template: string; subject: string }[] }).rows
				.filter(m => m.template === template)
				.map(m => m.subject);

		it("a token expiring in 5 days gets the 7-day notice saying 5 days", async () => {
			const expiresAt = new Date(Date.now() + 5 * 86_400_000 - 3_600_000).toISOString();
			const body = { password: "Staff-not-customers-1!", description: "five days", template: "extended-access", expiresAt };
			expect((await p.http.post("/tokens", body, { token: user.session })).status).toBe(201);
			await p.broker.call("tokens.runJob", { job: "expiry-notices" });
			await p.broker.call("tokens.runJob", { job: "expiry-notices" });
			expect(await notices(user.email, "token-expiry")).toEqual(["An access token expires in 5 days"]);
		});

		it("a password with 5 days left gets the 7-day notice saying 5 days", async () => {
			const expiryDays = 180; // the trial group's password.expiry.days
			// The password was set at sign-up, moments ago: move the platform clock to 5 days (less an hour) before it expires.
			const later = new Date(Date.now() + (expiryDays - 5) * 86_400_000 + 3_600_000).toISOString();
			expect((await p.http.post("/admin/clock", { now: later }, { token: admin.session })).status).toBe(200);
			await p.broker.call("auth.runJob", { job: "password-expiry" });
			await p.broker.call("auth.runJob", { job: "password-expiry" });
			expect(await notices(user.email, "password-expiry")).toEqual(["Your password expires in 5 days"]);
		});
	});
});
