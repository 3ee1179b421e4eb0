// Issue 14 "Hardening", through HTTP: one test per numbered item, each failing before the fix.
// 1 prototype keys, 2 one place per parameter, 3 null only where nullable, 4 at most 32 levels,
// 5 JSON bodies only, 7 Idempotency-Key across endpoints and replays (PAY-1); concurrent twins need
// a request held inside billing and are in test/integration/idempotency-twins.test.ts.
import { jsonHeaders, sendRaw, signInWhenReady, waitUntil } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "shape-admin@example.com", password: "Hardened-adm1n-pass!" };
const USER = { email: "shape-user@example.com", password: "Tidy-Bodies-only-1!" };

describe("request shape (issue 14)", () => {
	let p: Platform;
	let admin: string;
	let user: { id: string; session: string };
	let keyCount = 0;
	const newKey = () => `shape-${Date.now()}-${++keyCount}`;

	const send = (method: string, path: string, body: string | undefined, headers: Record<string, string> = {}) => sendRaw(p.url, method, path, body, headers);
	const json = jsonHeaders;
	const balance = async () => (await p.http.get("/billing/balance", { token: user.session })).body;
	const ledger = async () => (await p.http.get("/billing/transactions", { token: user.session })).body.rows;
	const me = async () => (await p.http.get("/account", { token: user.session })).body;

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		admin = await signInWhenReady(p.http, ADMIN);
		const account = await createAccount(p, USER.email, USER.password);
		user = { id: account.id, session: (await p.http.post("/auth/signin", USER)).body.session };
		// The trial bonus lands a moment after activation: wait, so balances stand still below.
		await waitUntil(async () => (await ledger()).length > 0, 20_000);
	});
	afterAll(() => p?.stop());

	test("1: a __proto__, constructor or prototype key anywhere → 422 naming it; handlers never read inherited fields", async () => {
		const signin = await send("POST", "/auth/signin", `{"__proto__":{"password":${JSON.stringify(USER.password)}},"email":"${USER.email}"}`, json());
		expect(signin.status).toBe(422);
		expect(signin.body).toMatchObject({ type: "VALIDATION_ERROR", data: [{ field: "__proto__" }] });
		expect(signin.body.session).toBeUndefined();

		const before = { balance: await balance(), ledger: await ledger() };
		const fund = await send(
			"POST",
			`/admin/accounts/${user.id}/fund`,
			'{"__proto__":{"note":"x","bonus":true},"amount":"0.50"}',
			json(admin, { "Idempotency-Key": newKey() }),
		);
		expect(fund.status).toBe(422);
		expect(fund.body).toMatchObject({ type: "VALIDATION_ERROR", data: [{ field: "__proto__" }] });
		expect({ balance: await balance(), ledger: await ledger() }).toEqual(before);

		const nested = await send("PATCH", "/account", '{"name":"Ada","x":{"y":[{"constructor":{"prototype":1}}]}}', json(user.session));
		expect(nested.status).toBe(422);
		expect(nested.body.data).toEqual([{ field: "x.y[0].constructor", message: expect.stringContaining("reserved") }]);
		const query = await send("GET", "/billing/transactions?constructor[x]=1", undefined, json(user.session));
		expect(query.status).toBe(422);
		expect(query.body.data[0].field).toBe("constructor[x]");
	});

	test("2: a query string never overrides a body, nor a path: the same name in two places → 400", async () => {
		const before = { balance: await balance(), ledger: await ledger() };
		const fund = await send(
			"POST",
			`/admin/accounts/${user.id}/fund?amount=2.00`,
			JSON.stringify({ amount: "0.01", note: "two places" }),
			json(admin, { "Idempotency-Key": newKey() }),
		);
		expect(fund.status).toBe(400);
		expect(fund.body).toMatchObject({ type: "BAD_REQUEST", data: { field: "amount" } });
		// A body route takes nothing from the query string (?session= is a credential, not a parameter).
		const onlyQuery = await send(
			"POST",
			`/admin/accounts/${user.id}/fund?bonus=true`,
			JSON.stringify({ amount: "0.01", note: "q" }),
			json(admin, { "Idempotency-Key": newKey() }),
		);
		expect(onlyQuery.status).toBe(400);
		expect(onlyQuery.body).toMatchObject({ type: "BAD_REQUEST", data: { field: "bonus" } });
		expect({ balance: await balance(), ledger: await ledger() }).toEqual(before);

		const other = await createAccount(p, "shape-other@example.com", USER.password);
		const overPath = await send(
			"POST",
			`/admin/accounts/${user.id}/fund`,
			JSON.stringify({ id: other.id, amount: "0.01", note: "path" }),
			json(admin, { "Idempotency-Key": newKey() }),
		);
		expect(overPath.status).toBe(400);
		expect(overPath.body).toMatchObject({ type: "BAD_REQUEST", data: { field: "id" } });
		const getOverPath = await send("GET", `/admin/accounts/${user.id}?id=${other.id}`, undefined, json(admin));
		expect(getOverPath.status).toBe(400);
		expect((await send("GET", `/account?session=${user.session}`, undefined)).status).toBe(200);
	});

	test("3: null is refused unless the field is nullable (it used to be stored, or answer 500)", async () => {
		const named = await p.http.patch("/account", { name: "Ada Lovelace" }, { token: user.session });
		expect(named.status).toBe(200);
		for (const body of [{ name: null }, { phone: null }, { name: "Ada", phone: null }]) {
			const r = await p.http.patch("/account", body, { token: user.session });
			expect(r.status).toBe(422);
			expect(r.body.data.map((d: { field: string }) => d.field)).toEqual(Object.keys(body).filter(k => (body as Record<string, unknown>)[k] === null));
		}
		expect((await me()).name).toBe("Ada Lovelace");

		const tokensBefore = (await p.http.get("/tokens", { token: user.session })).body;
		for (const extra of [{ apiList: null }, { allowedIps: null }, { description: null }]) {
			const r = await p.http.post("/tokens", { password: USER.password, description: "nulls", template: "extended-access", ...extra }, { token: user.session });
			expect(r.status).toBe(422);
			expect(r.body.data[0].field).toBe(Object.keys(extra)[0]);
		}
		expect((await p.http.get("/tokens", { token: user.session })).body).toEqual(tokensBefore);
		// A nullable field still takes null.
		const t = await p.http.post(
			"/tokens",
			{ password: USER.password, description: "no expiry", template: "extended-access", expiresAt: null },
			{ token: user.session },
		);
		expect(t.status).toBe(201);

		const signup = await p.http.post("/auth/signup", { email: "shape-null@example.com", acceptTerms: true, name: null });
		expect(signup.status).toBe(422);
		expect(signup.body.data).toEqual([{ field: "name", message: expect.any(String) }]);
	});

	test("4: bodies nested deeper than 32 levels → 400 before validation", async () => {
		const deep = await send("PATCH", "/account", `{"name":${"[".repeat(100_000)}${"]".repeat(100_000)}}`, json(user.session));
		expect(deep.status).toBe(400);
		expect(deep.body).toMatchObject({ type: "BAD_REQUEST", data: { field: `name${"[0]".repeat(31)}` } });
		const objects = await send("POST", "/auth/signin", `{"email":${'{"a":'.repeat(40)}1${"}".repeat(40)}}`, json());
		expect(objects.status).toBe(400);
		// 32 levels are fine as far as depth goes: the validator answers.
		const ok = await send("PATCH", "/account", `{"name":${"[".repeat(31)}${"]".repeat(31)}}`, json(user.session));
		expect(ok.status).toBe(422);
	});

	test("5: a non-JSON body → 415; a body on a route that takes none → 415", async () => {
		const before = await me();
		const plain = await send("PATCH", "/account", "name=Mallory", { "content-type": "text/plain", authorization: `Bearer ${user.session}` });
		expect(plain.status).toBe(415);
		expect(plain.body).toMatchObject({ type: "UNSUPPORTED_MEDIA_TYPE", data: { field: "Content-Type" } });
		const form = await send("PATCH", "/account", "name=Mallory", {
			"content-type": "application/x-www-form-urlencoded",
			authorization: `Bearer ${user.session}`,
		});
		expect(form.status).toBe(415);
		const untyped = await send("PATCH", "/account", '{"name":"Mallory"}', { authorization: `Bearer ${user.session}` });
		expect(untyped.status).toBe(415);
		expect(await me()).toEqual(before);
		const deleteWithBody = await send("DELETE", "/auth/sessions/whatever", '{"x":1}', json(user.session));
		expect(deleteWithBody.status).toBe(415);
		// No body at all is fine on a body route.
		expect((await send("POST", "/auth/sessions/revoke-others", undefined, { authorization: `Bearer ${user.session}` })).status).toBe(200);
	});

	describe("7: Idempotency-Key (PAY-1)", () => {
		test("a key used on another endpoint → 409 IDEMPOTENCY_KEY_REUSED; a replay says Idempotent-Replayed: true", async () => {
			const key = newKey();
			const headers = json(admin, { "Idempotency-Key": key });
			const first = await send("POST", `/admin/accounts/${user.id}/fund`, JSON.stringify({ amount: "1.00", note: "key once" }), headers);
			expect(first.status).toBe(201);
			expect(first.headers.get("idempotent-replayed")).toBeNull();
			const replay = await send("POST", `/admin/accounts/${user.id}/fund`, JSON.stringify({ amount: "1.00", note: "key once" }), headers);
			expect(replay.status).toBe(201);
			expect(replay.headers.get("idempotent-replayed")).toBe("true");
			expect(replay.body).toEqual(first.body);
			const before = { balance: await balance(), ledger: await ledger() };
			const elsewhere = await send("POST", `/admin/accounts/${user.id}/charge`, JSON.stringify({ amount: "1.00", description: "key once" }), headers);
			expect(elsewhere.status).toBe(409);
			expect(elsewhere.body).toMatchObject({ type: "IDEMPOTENCY_KEY_REUSED", data: { field: "Idempotency-Key" } });
			expect({ balance: await balance(), ledger: await ledger() }).toEqual(before);
		});
	});
});
