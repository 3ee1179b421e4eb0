// Personal access tokens over HTTP (PAT-1…PAT-6): scopes from the catalogue, templates, the
// value shown once, regeneration and deletion effective on the next request, expiry, IP
// allow-lists, 2FA and suspended accounts.
import { nowMs } from "../../lib/clock";
import { codeAt, stepAt } from "../../services/auth/totp";
import { waitUntil, type Reply } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const DAY = 86_400_000;
const ADMIN = { email: "root@example.com", password: "Tokens-adm1n-passw0rd!" };

describe("personal access tokens", () => {
	let p: Platform;
	const replies: Reply[] = [];
	const values: string[] = [];

	async function call(verb: string, path: string, opts: { body?: unknown; token?: string; ip?: string } = {}) {
		const r = await p.http.call(verb, path, {
			...(opts.body !== undefined ? { body: opts.body } : {}),
			token: opts.token,
			...(opts.ip ? { headers: { "x-forwarded-for": opts.ip } } : {}),
		});
		replies.push(r);
		return r;
	}

	async function createUser(email: string, password: string) {
		await createAccount(p, email, password);
		const session = (await call("POST", "/auth/signin", { body: { email, password } })).body.session as string;
		return { email, password, session };
	}

	/** A fresh session: tests move the clock by hours and days, which ends older ones. */
	async function sess(user: { email: string; password: string }) {
		return (await call("POST", "/auth/signin", { body: { email: user.email, password: user.password } })).body.session as string;
	}

	async function createToken(owner: { email: string; password: string }, fields: Record<string, unknown>) {
		const r = await call("POST", "/tokens", { token: await sess(owner), body: { password: owner.password, description: "test", ...fields } });
		expect(r.status).toBe(201);
		values.push(r.body.token);
		return r.body as { token: string; id: string };
	}

	let ada: { email: string; password: string; session: string };
	let eve: { email: string; password: string; session: string };

	beforeAll(async () => {
		p = await startPlatform({
			env: { QM_TEST_CLOCK: "1", TRUST_PROXY: "127.0.0.1,::1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password },
			captureLogs: true,
		});
		await waitUntil(async () => (await p.http.post("/auth/signin", ADMIN)).status === 200);
		ada = await createUser("ada@example.com", "Analytical-engine-1!");
		eve = await createUser("eve@example.com", "Eavesdrop-secret-2!");
	});
	afterAll(() => p?.stop());

	it("limits a token to its API methods: GetUserInfo reads /account and is refused elsewhere, naming the method", async () => {
		const { token } = await createToken(ada, { apiList: ["users.account.GetUserInfo"] });
		expect(token).toMatch(/^qm_pat_[0-9A-Za-z]{38}$/);
		const me = await call("GET", "/account", { token });
		expect(me.status).toBe(200);
		expect(me.body.email).toBe(ada.email);
		expect((await call("GET", `/account?session=${token}`)).status).toBe(200);
		const other = await call("GET", "/account/notifications", { token });
		expect(other.status).toBe(403);
		expect(other.body).toMatchObject({ type: "FORBIDDEN", data: { method: "users.account.GetNotifications" } });
		expect((await call("PATCH", "/account", { token, body: { name: "x" } })).body.data.method).toBe("users.account.ChangeName");
	});

	it("gives extended-access everything but the session-only endpoints", async () => {
		const { token } = await createToken(ada, { template: "extended-access" });
		expect((await call("GET", "/account", { token })).status).toBe(200);
		expect((await call("GET", "/account/notifications", { token })).status).toBe(200);
		expect((await call("PATCH", "/account", { token, body: { name: "Ada" } })).status).toBe(200);
		for (const [verb, path, body] of [
			["GET", "/tokens"],
			["POST", "/tokens", { password: ada.password, description: "x", template: "extended-access" }],
			["POST", "/auth/password/change", { currentPassword: ada.password, newPassword: "Something-else-1!" }],
			["POST", "/auth/2fa/setup", { password: ada.password }],
			["GET", "/auth/sessions"],
			["POST", "/auth/signout"],
		] as [string, string, unknown?][]) {
			const r = await call(verb, path, { token, body });
			expect({ path, status: r.status, type: r.body.type }).toEqual({ path, status: 403, type: "FORBIDDEN" });
		}
		const templates = (await call("GET", "/tokens/templates", { token: await sess(ada) })).body as { name: string; apiList: string[] }[];
		expect(templates.map(t => t.name)).toEqual(["extended-access", "ide-plugins", "marketplace", "maven-plugin"]);
		const extended = templates.find(t => t.name === "extended-access")!.apiList;
		expect(extended).toContain("users.account.GetUserInfo");
		expect(extended).not.toContain("users.authentication.CreateToken");
	});

	it("kills the old value at once on regenerate and delete", async () => {
		const t = await createToken(ada, { template: "extended-access" });
		expect((await call("GET", "/account", { token: t.token })).status).toBe(200); // now cached by the gateway
		const regen = await call("POST", `/tokens/${t.id}/regenerate`, { token: await sess(ada), body: { password: ada.password } });
		expect(regen.status).toBe(200);
		values.push(regen.body.token);
		expect(regen.body.token).not.toBe(t.token);
		expect((await call("GET", "/account", { token: t.token })).status).toBe(401);
		expect((await call("GET", "/account", { token: regen.body.token })).status).toBe(200);

		const del = await call("POST", "/tokens/delete", { token: await sess(ada), body: { password: ada.password, ids: [t.id] } });
		expect(del.body).toEqual({ deleted: 1 });
		expect((await call("GET", "/account", { token: regen.body.token })).status).toBe(401);
	});

	it("refuses an expired token with TOKEN_EXPIRED", async () => {
		const t = await createToken(ada, { template: "extended-access", expiresAt: new Date(nowMs() + 3_600_000).toISOString() });
		expect((await call("GET", "/account", { token: t.token })).status).toBe(200);
		await p.broker.call("clock.set", { now: new Date(nowMs() + 2 * 3_600_000).toISOString() });
		const r = await call("GET", "/account", { token: t.token });
		expect(r.status).toBe(401);
		expect(r.body.type).toBe("TOKEN_EXPIRED");
	});

	it("honours the IP allow-list (IPv4 and IPv6)", async () => {
		const far = await createToken(ada, { template: "extended-access", allowedIps: ["10.1.0.0/16"] });
		const refused = await call("GET", "/account", { token: far.token });
		expect(refused.status).toBe(403);
		expect((await call("GET", "/account", { token: far.token, ip: "10.1.200.7" })).status).toBe(200);
		const v6 = await createToken(ada, { template: "extended-access", allowedIps: ["2001:db8::/32", "127.0.0.1"] });
		expect((await call("GET", "/account", { token: v6.token, ip: "2001:db8::42" })).status).toBe(200);
		expect((await call("GET", "/account", { token: v6.token })).status).toBe(200);
		expect((await call("GET", "/account", { token: v6.token, ip: "2001:db9::1" })).status).toBe(403);
	});

	it("works on a 2FA account without a code", async () => {
		const t = await createToken(eve, { template: "extended-access" });
		const eveNow = await sess(eve);
		const setup = await call("POST", "/auth/2fa/setup", { token: eveNow, body: { password: eve.password } });
		expect((await call("POST", "/auth/2fa/enable", { token: eveNow, body: { code: codeAt(setup.body.secret, stepAt(nowMs())) } })).status).toBe(200);
		expect((await call("POST", "/auth/signin", { body: { email: eve.email, password: eve.password } })).body.twoFactorRequired).toBe(true);
		expect((await call("GET", "/account", { token: t.token })).body).toMatchObject({ email: eve.email, twoFactorEnabled: true });
	});

	it("refuses a suspended account's tokens within a second", async () => {
		const victim = await createUser("suspended@example.com", "Quietly-closed-3!");
		const t = await createToken(victim, { template: "extended-access" });
		expect((await call("GET", "/account", { token: t.token })).status).toBe(200);
		const victimId = (await call("GET", "/account", { token: t.token })).body.id as string;
		const suspended = await call("POST", `/admin/accounts/${victimId}/status`, {
			token: await sess(ADMIN),
			body: { status: "suspended", reason: "terms violation" },
		});
		expect(suspended.status).toBe(200);
		await waitUntil(async () => (await call("GET", "/account", { token: t.token })).status === 401, 1000, 20);
		expect((await call("GET", "/account", { token: t.token })).body.type).toBe("ACCOUNT_SUSPENDED");
	});

	it("lists tokens without values or digests, with last use", async () => {
		const t = await createToken(ada, { apiList: ["users.account.GetUserInfo"], description: "CI pipeline" });
		await call("GET", "/account", { token: t.token, ip: "127.0.0.1" });
		const list = await waitUntil(async () => {
			const r = await call("GET", "/tokens", { token: await sess(ada) });
			const row = r.body.find((x: { id: string }) => x.id === t.id);
			return row?.lastUsedAt ? r : undefined;
		});
		const row = list.body.find((x: { id: string }) => x.id === t.id);
		expect(row).toMatchObject({ description: "CI pipeline", apiList: ["users.account.GetUserInfo"], lastUsedIp: "127.0.0.1", prefix: t.token.slice(0, 11) });
		expect(Object.keys(row).sort()).toEqual([
			"allowedIps",
			"apiList",
			"createdAt",
			"description",
			"expiresAt",
			"id",
			"lastUsedAt",
			"lastUsedIp",
			"prefix",
			"template",
		]);
		for (const v of values) expect(list.text).not.toContain(v);
		expect(list.text).not.toMatch(/digest/);
	});

	it("refuses bad input naming the field, and creates nothing", async () => {
		const before = (await call("GET", "/tokens", { token: await sess(ada) })).body.length;
		const base = { password: ada.password, description: "bad" };
		const cases: [Record<string, unknown>, number, string, string?][] = [
			[{ apiList: ["users.account.GetUserInfo", "no.such.Method"] }, 422, "apiList[1]"],
			[{ apiList: ["users.authentication.CreateToken"] }, 422, "apiList[0]"], // session-only: never in a token
			[{ template: "extended-access", expiresAt: new Date(nowMs() - 1000).toISOString() }, 422, "expiresAt"],
			[{ template: "extended-access", expiresAt: new Date(nowMs() + 367 * DAY).toISOString() }, 422, "expiresAt"],
			[{ template: "extended-access", expiresAt: "next tuesday" }, 422, "expiresAt"],
			[{ template: "extended-access", allowedIps: ["10.0.0.0/33"] }, 422, "allowedIps[0]"],
			[{ template: "extended-access", allowedIps: ["10.0.0.1", "not-an-ip"] }, 422, "allowedIps[1]"],
			[{}, 422, "apiList"],
			[{ template: "extended-access", apiList: ["users.account.GetUserInfo"] }, 422, "apiList"],
			[{ template: "everything" }, 422, "template"],
			[{ template: "extended-access", owner: "someone" }, 422, "owner"],
			[{ template: "extended-access", password: "Wrong-passw0rd!" }, 403, "password", "PASSWORD_REQUIRED"],
		];
		for (const [fields, status, field, type] of cases) {
			const r = await call("POST", "/tokens", { token: await sess(ada), body: { ...base, ...fields } });
			expect({ fields, status: r.status }).toEqual({ fields, status });
			if (type) expect(r.body.type).toBe(type);
			else expect(r.body.data.map((e: { field: string }) => e.field)).toContain(field);
		}
		expect((await call("GET", "/tokens", { token: await sess(ada) })).body).toHaveLength(before);
	});

	it("copies a token with its scope; deletes by ids all-or-nothing, or all with *", async () => {
		const bob = await createUser("bob@example.com", "Builder-of-things-5!");
		const src = await createToken(bob, { apiList: ["users.account.GetUserInfo"] });
		const copy = await call("POST", `/tokens/${src.id}/copy`, { token: await sess(bob), body: { password: bob.password } });
		expect(copy.status).toBe(201);
		values.push(copy.body.token);
		expect(copy.body).toMatchObject({ apiList: ["users.account.GetUserInfo"], description: "test (copy)" });
		expect((await call("GET", "/account", { token: copy.body.token })).status).toBe(200);

		const adaToken = await createToken(ada, { template: "extended-access" });
		const mixed = await call("POST", "/tokens/delete", { token: await sess(bob), body: { password: bob.password, ids: [src.id, adaToken.id] } });
		expect(mixed.status).toBe(404);
		expect((await call("GET", "/account", { token: src.token })).status).toBe(200); // nothing deleted
		expect((await call("GET", "/account", { token: adaToken.token })).status).toBe(200);

		const all = await call("POST", "/tokens/delete", { token: await sess(bob), body: { password: bob.password, ids: "*" } });
		expect(all.body.deleted).toBe(2); // the source and its copy
		expect((await call("GET", "/tokens", { token: await sess(bob) })).body).toEqual([]);
		expect((await call("GET", "/account", { token: copy.body.token })).status).toBe(401);
	});

	it("sends expiry notices 7 days and 1 day before, once each", async () => {
		const t = await createToken(ada, { template: "extended-access", description: "nightly backup", expiresAt: new Date(nowMs() + 10 * DAY).toISOString() });
		const notices = async () =>
			(
				(await p.broker.call("notifications.adminOutbox", { to: ada.email, pageSize: 100 })) as { rows: { template: string; subject: string; text: string }[] }
			).rows.filter(m => m.template === "token-expiry" && m.text.includes("nightly backup"));
		const run = () => p.broker.call("tokens.runJob", { job: "expiry-notices" });
		await run();
		expect(await notices()).toHaveLength(0);
		await p.broker.call("clock.set", { now: new Date(nowMs() + 3.2 * DAY).toISOString() }); // 6.8 days left: "7 days"
		await run();
		await run();
		expect((await notices()).map(m => m.subject)).toEqual(["An access token expires in 7 days"]);
		await p.broker.call("clock.set", { now: new Date(nowMs() + 5.8 * DAY).toISOString() });
		await run();
		await run();
		expect((await notices()).map(m => m.subject).sort()).toEqual(["An access token expires in 7 days", "An access token expires tomorrow"]);
		expect(t.id).toBeTruthy();
	});

	it("never logs a token value, and shows each value exactly once", () => {
		const logs = p.logs.join("\n");
		for (const v of values) {
			expect(logs).not.toContain(v);
			expect(replies.filter(r => r.text.includes(v)).length).toBe(1);
		}
	});
});
