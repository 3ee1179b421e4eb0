// The gateway serves the catalogue and nothing else (PAT-6), the OpenAPI document lists exactly
// the routes it serves, and every non-public route refuses anonymous and under-privileged callers.
import { API_CATALOGUE, splitRest } from "../../lib/api-catalogue";
import { waitUntil } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "admin@example.com", password: "Routes-adm1n-pass!" };

describe("routes, catalogue and OpenAPI", () => {
	let p: Platform;
	beforeAll(async () => {
		p = await startPlatform({
			env: { QM_TEST_CLOCK: "1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password, CORS_ORIGINS: "https://console.example.test" },
		});
	});
	afterAll(() => p?.stop());

	const served = async () =>
		((await p.broker.call("gateway.listAliases")) as { methods: string; fullPath: string; actionName: string | null }[]).map(a => ({
			key: `${a.methods} ${a.fullPath}`,
			action: a.actionName,
		}));

	it("serves exactly the catalogue's routes, plus the meta endpoints", async () => {
		const routes = await served();
		const actionRoutes = routes.filter(r => r.action).map(r => `${r.key} => ${r.action}`);
		const route = (rest: string) => {
			const { verb, path } = splitRest(rest);
			return `${verb} /api/v1${path}`;
		};
		// A signed webhook's route reads the raw body itself, then calls its action (lib/raw-body-route.ts).
		const catalogue = API_CATALOGUE.filter(e => !e.rawBody).map(e => `${route(e.rest)} => ${e.action}`);
		expect(actionRoutes.sort()).toEqual(catalogue.sort());
		const raw = API_CATALOGUE.filter(e => e.rawBody).map(e => route(e.rest));
		expect(raw).toEqual(["POST /api/v1/billing/providers/:name/webhook"]);
		expect(
			routes
				.filter(r => !r.action)
				.map(r => r.key)
				.sort(),
		).toEqual(["GET /api/v1/api-methods", "GET /api/v1/openapi.json", ...raw, "GET /health", "GET /ready"].sort());
	});

	it("lists every served route in /api/v1/openapi.json, and nothing else", async () => {
		const doc = (await p.http.get("/openapi.json")).body;
		expect(doc.openapi).toMatch(/^3\./);
		const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
			Object.keys(ops).map(verb => `${verb.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`),
		);
		expect(documented.sort()).toEqual((await served()).map(r => r.key).sort());
		const patch = doc.paths["/api/v1/account"].patch;
		expect(patch["x-api-method"]).toBe("users.account.ChangeName");
		expect(patch.requestBody.content["application/json"].schema).toMatchObject({
			additionalProperties: false,
			properties: { name: { type: "string" }, phone: { type: "string" } },
		});
		expect(doc.paths["/api/v1/auth/signup"].post.responses).toHaveProperty("202");
	});

	it("browses the API methods, by group and by search", async () => {
		const all = (await p.http.get("/api-methods")).body as { method: string; group: string; rest: string }[];
		expect(all).toContainEqual(expect.objectContaining({ method: "users.account.GetUserInfo", group: "users.account", rest: "GET /account" }));
		const group = (await p.http.get("/api-methods?group=users.account")).body as { group: string }[];
		expect(group.length).toBeGreaterThan(1);
		expect(group.every(m => m.group === "users.account")).toBe(true);
		expect((await p.http.get("/api-methods?search=outbox")).body.map((m: { method: string }) => m.method)).toEqual(["admin.notifications.GetOutbox"]);
	});

	it("refuses every non-public route without credentials (401) and admin routes to users (403)", async () => {
		await waitUntil(async () => (await p.http.post("/auth/signin", ADMIN)).status === 200);
		// An ordinary user; the activation link is read from the outbox (the journey test covers SMTP).
		await createAccount(p, "user@example.com", "Member-pass-123!");
		const userSession = (await p.http.post("/auth/signin", { email: "user@example.com", password: "Member-pass-123!" })).body.session as string;

		for (const e of API_CATALOGUE.filter(x => x.access !== "public")) {
			const { verb, path } = splitRest(e.rest);
			const url = path.replace(/:(\w+)/g, "some-$1");
			const anonymous = await p.http.call(verb, url, verb === "GET" ? {} : { body: {} });
			expect({ route: e.rest, status: anonymous.status, type: anonymous.body.type }).toEqual({ route: e.rest, status: 401, type: "UNAUTHORIZED" });
			if (e.access === "admin") {
				const user = await p.http.call(verb, url, { token: userSession, ...(verb === "GET" ? {} : { body: {} }) });
				expect({ route: e.rest, status: user.status, method: user.body.data?.method }).toEqual({ route: e.rest, status: 403, method: e.method });
			}
		}
	});

	it("answers CORS preflights for the configured origin only", async () => {
		const ok = await fetch(`${p.url}/account`, {
			method: "OPTIONS",
			headers: { Origin: "https://console.example.test", "Access-Control-Request-Method": "GET" },
		});
		expect(ok.headers.get("access-control-allow-origin")).toBe("https://console.example.test");
		const other = await fetch(`${p.url}/account`, { method: "OPTIONS", headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "GET" } });
		expect(other.headers.get("access-control-allow-origin")).toBeNull();
	});

	it("reports readiness and health", async () => {
		const base = p.url.replace(/\/api\/v1$/, "");
		expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: "ok" });
		expect((await fetch(`${base}/ready`)).status).toBe(200);
	});

	it("runs a job on demand and refuses unknown ones", async () => {
		const admin = (await p.http.post("/auth/signin", ADMIN)).body.session;
		const run = await p.http.post("/admin/jobs/auth.sessions-cleanup/run", {}, { token: admin });
		expect(run.status).toBe(200);
		expect(run.body).toEqual({ job: "auth.sessions-cleanup", processed: expect.any(Number) });
		expect((await p.http.post("/admin/jobs/auth.no-such-job/run", {}, { token: admin })).status).toBe(404);
		expect((await p.http.post("/admin/jobs/nosuchservice.x/run", {}, { token: admin })).status).toBe(404);
		expect((await p.http.post("/admin/jobs/Bad Name/run", {}, { token: admin })).status).toBe(422);
	});
});

describe("per-IP rate limit on the public sign-up route", () => {
	let p: Platform;
	beforeAll(async () => {
		p = await startPlatform();
	});
	afterAll(() => p?.stop());

	it("answers 429 RATE_LIMITED with Retry-After after 20 sign-ups a minute from one address", async () => {
		const statuses: number[] = [];
		for (let i = 0; i < 20; i++) statuses.push((await p.http.post("/auth/signup", { email: `burst${i}@example.com`, acceptTerms: true })).status);
		expect(statuses.slice(0, 20).every(s => s === 202)).toBe(true);
		const last = await p.http.post("/auth/signup", { email: "one-more@example.com", acceptTerms: true });
		expect(last.status).toBe(429);
		expect(last.body.type).toBe("RATE_LIMITED");
		expect(Number(last.headers.get("retry-after"))).toBeGreaterThan(0);
		// Sign-in has its own allowance.
		expect((await p.http.post("/auth/signin", { email: "burst0@example.com", password: "Whatever-1234!" })).status).toBe(401);
	});
});
