// Quotas over HTTP (QTA-1, QTA-3, QTA-5): my limits beside the billing group's, group values
// and account overrides set by admins, and the refusals around them.
import { signInWhenReady } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "root@example.com", password: "Quota-adm1n-pass!" };

describe("quotas", () => {
	let p: Platform;
	let admin: string;
	let user: { id: string; session: string };

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		admin = await signInWhenReady(p.http, ADMIN);
		const account = await createAccount(p, "limited@example.com", "Within-limits-1!");
		user = { id: account.id, session: (await p.http.post("/auth/signin", { email: "limited@example.com", password: "Within-limits-1!" })).body.session };
	});
	afterAll(() => p?.stop());

	it("shows a trial account its limits beside the billing group's (what upgrading unlocks)", async () => {
		const r = await p.http.get("/account/quotas", { token: user.session });
		expect(r.status).toBe(200);
		expect(r.body).toMatchObject({ group: "trial", billingGroup: "billing" });
		expect(r.body.quotas).toMatchObject({
			"environment.maxcount": 5,
			"environment.maxcloudletsperrec": 8,
			"environment.jelasticssl.enabled": 0,
			"account.trialperiod": 14,
		});
		expect(r.body.billingGroupQuotas).toMatchObject({ "environment.maxcount": -1, "environment.maxcloudletsperrec": 32, "environment.jelasticssl.enabled": 1 });
	});

	it("applies an account override over the group value, and the group value again once removed", async () => {
		const set = await p.http.call("PUT", `/admin/accounts/${user.id}/quotas/environment.maxcount`, { token: admin, body: { value: 12 } });
		expect(set.status).toBe(200);
		expect((await p.http.get("/account/quotas", { token: user.session })).body.quotas["environment.maxcount"]).toBe(12);
		expect((await p.http.del(`/admin/accounts/${user.id}/quotas/environment.maxcount`, { token: admin })).status).toBe(204);
		expect((await p.http.get("/account/quotas", { token: user.session })).body.quotas["environment.maxcount"]).toBe(5);
		expect((await p.http.del(`/admin/accounts/${user.id}/quotas/environment.maxcount`, { token: admin })).status).toBe(404);
	});

	it("changes a group's value for all its accounts", async () => {
		const r = await p.http.call("PUT", "/admin/groups/trial/quotas/environment.maxnodescount", { token: admin, body: { value: 7 } });
		expect(r.status).toBe(200);
		expect((await p.http.get("/account/quotas", { token: user.session })).body.quotas["environment.maxnodescount"]).toBe(7);
		const catalogue = await p.http.get("/admin/quotas", { token: admin });
		expect(catalogue.body.find((q: { key: string }) => q.key === "environment.maxnodescount")).toMatchObject({
			unit: "count",
			groups: { trial: 7, billing: 48 },
		});
		await p.http.call("PUT", "/admin/groups/trial/quotas/environment.maxnodescount", { token: admin, body: { value: 6 } });
	});

	it("refuses unknown keys, wrong values, unknown groups and accounts, and non-admins", async () => {
		const cases: [string, string, unknown, number, string?][] = [
			["PUT", `/admin/accounts/${user.id}/quotas/environment.maxcolour`, { value: 1 }, 422, "key"],
			["PUT", `/admin/accounts/${user.id}/quotas/environment.maxcount`, { value: -5 }, 422, "value"],
			["PUT", `/admin/accounts/${user.id}/quotas/environment.maxcount`, { value: "lots" }, 422, "value"],
			["PUT", `/admin/accounts/${user.id}/quotas/environment.maxcount`, { value: 1e308 }, 422, "value"],
			["PUT", `/admin/accounts/${user.id}/quotas/environment.jelasticssl.enabled`, { value: 3 }, 422, "value"],
			["PUT", `/admin/accounts/${user.id}/quotas/account.minbalance`, { value: "1.2345678" }, 422, "value"],
			["PUT", `/admin/accounts/${user.id}/quotas/environment.maxcount`, { value: 3, extra: true }, 422, "extra"],
			["PUT", "/admin/accounts/no-such-account/quotas/environment.maxcount", { value: 3 }, 404],
			["PUT", "/admin/groups/no-such-group/quotas/environment.maxcount", { value: 3 }, 404],
		];
		for (const [verb, path, body, status, field] of cases) {
			const r = await p.http.call(verb, path, { token: admin, body });
			expect({ path, status: r.status }).toEqual({ path, status });
			if (field) expect(r.body.data.map((e: { field: string }) => e.field)).toContain(field);
		}
		expect((await p.http.call("PUT", `/admin/accounts/${user.id}/quotas/environment.maxcount`, { token: user.session, body: { value: 99 } })).status).toBe(403);
		expect((await p.http.get("/account/quotas", { token: user.session })).body.quotas["environment.maxcount"]).toBe(5); // nothing written
	});
});

describe("admin groups and moves between them (ACC-5)", () => {
	let p: Platform;
	let admin: string;
	beforeAll(async () => {
		p = await startPlatform({ env: { QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		admin = await signInWhenReady(p.http, ADMIN);
	});
	afterAll(() => p?.stop());

	it("adds a group whose quotas follow its type, moves an account into it with its balances reset, and shows the account in full", async () => {
		const created = await p.http.post("/admin/groups", { name: "partners", type: "trial", description: "Partner trials" }, { token: admin });
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({ name: "partners", type: "trial", conversionGroup: "billing" });
		expect((await p.http.post("/admin/groups", { name: "partners", type: "billing" }, { token: admin })).status).toBe(409);
		expect((await p.http.post("/admin/groups", { name: "Bad Name", type: "billing" }, { token: admin })).body.data[0].field).toBe("name");
		expect((await p.http.get("/admin/groups", { token: admin })).body.map((g: { name: string }) => g.name)).toContain("partners");
		const edited = await p.http.patch("/admin/groups/partners", { conversionGroup: "post", settings: { "2fa.required": 1 } }, { token: admin });
		expect(edited.body).toMatchObject({ conversionGroup: "post", settings: { "2fa.required": 1, "password.expiry.days": 180 } });
		expect((await p.http.patch("/admin/groups/partners", { conversionGroup: "nowhere" }, { token: admin })).body.data[0].field).toBe("conversionGroup");
		const refused = await p.http.patch("/admin/groups/partners", { description: "changed", settings: { "no.such.setting": 1 } }, { token: admin });
		expect(refused.body.data[0].field).toBe("settings.no.such.setting");
		expect((await p.http.get("/admin/groups", { token: admin })).body.find((g: { name: string }) => g.name === "partners").description).toBe("Partner trials"); // nothing written
		await p.http.patch("/admin/groups/partners", { conversionGroup: "billing", settings: { "2fa.required": 0 } }, { token: admin });

		const u = await createAccount(p, "partner@example.com", "Joint-venture-pass-1!");
		const session = (await p.http.post("/auth/signin", { email: "partner@example.com", password: "Joint-venture-pass-1!" })).body.session;
		await p.http.post(`/admin/accounts/${u.id}/fund`, { amount: "3.00", note: "gift" }, { token: admin, headers: { "idempotency-key": "gift-1" } });
		const moved = await p.http.post(`/admin/accounts/${u.id}/group`, { group: "partners", resetBalance: true, resetBonus: true }, { token: admin });
		expect(moved.status).toBe(200);
		expect(moved.body).toMatchObject({ group: "partners", type: "trial" });
		expect((await p.http.get("/account/quotas", { token: session })).body.quotas["environment.maxcount"]).toBe(5); // a trial's, by type
		expect((await p.http.get("/billing/balance", { token: session })).body).toMatchObject({ main: "0.00", bonus: "0.00" });
		expect((await p.http.post(`/admin/accounts/${u.id}/group`, { group: "nowhere" }, { token: admin })).body.data[0].field).toBe("group");

		const full = await p.http.get(`/admin/accounts/${u.id}`, { token: admin });
		expect(full.body).toMatchObject({ email: "partner@example.com", group: "partners", quotas: { "environment.maxcount": 5 }, balance: { main: "0.00" } });
		expect((await p.http.get(`/admin/accounts/${u.id}`, { token: session })).status).toBe(403);
	});
});
