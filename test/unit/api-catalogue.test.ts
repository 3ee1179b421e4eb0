/**
 * PAT-6: the catalogue of public operations, and the OpenAPI document generated from the routes
 * built from it.
 */
import { API_CATALOGUE, apiMethods, methodGroup, servicesBehind, splitRest, type ApiEntry } from "../../lib/api-catalogue";
import { buildOpenApi, ruleToSchema, type RouteRow } from "../../lib/openapi";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const VERBS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

describe("API_CATALOGUE", () => {
	test("every entry has a unique `VERB /path`", () => {
		const keys = API_CATALOGUE.map(e => e.rest);
		for (const rest of keys) {
			const { verb, path } = splitRest(rest);
			expect(VERBS).toContain(verb);
			expect(path).toMatch(/^\/[a-z0-9\-/:]+$/i);
			expect(rest).toBe(`${verb} ${path}`);
		}
		expect(new Set(keys).size).toBe(keys.length);
	});

	test.each(API_CATALOGUE.map(e => [e.rest, e] as const))("%s names an action `service.action`", (_rest, entry) => {
		expect(entry.action).toMatch(/^[a-z][A-Za-z0-9]*\.[a-z][A-Za-z0-9]*$/);
	});

	test.each(API_CATALOGUE.map(e => [e.rest, e] as const))("%s: public ⇔ no method, else a method `a.b.Name`", (_rest, entry) => {
		if (entry.access === "public") expect(entry.method).toBeUndefined();
		else expect(entry.method).toMatch(/^[a-z]+\.[a-z]+\.[A-Z][A-Za-z0-9]+$/);
		expect(["public", "user", "session", "admin"]).toContain(entry.access);
		expect(entry.description.length).toBeGreaterThan(0);
	});

	test("the sign-up, activation and sign-in routes are public and rate limited", () => {
		for (const rest of ["POST /auth/signup", "POST /auth/activate", "POST /auth/signin"]) {
			const entry = API_CATALOGUE.find(e => e.rest === rest);
			expect(entry?.access).toBe("public");
			expect(entry?.rateLimit?.length).toBeGreaterThan(0);
		}
	});

	test("the readiness list names the services behind the routes, without the gateway", () => {
		const services = servicesBehind();
		expect(services).toEqual([...new Set(services)].sort());
		expect(services).not.toContain("gateway");
		expect(services).toEqual(expect.arrayContaining(["accounts", "auth", "notifications"]));
	});
});

describe("apiMethods", () => {
	const entries: ApiEntry[] = [
		{ rest: "GET /things", action: "things.list", method: "users.things.GetThings", access: "user", description: "List things" },
		{ rest: "POST /things/:id/read", action: "things.read", method: "users.things.GetThings", access: "user", description: "Read one" },
		{ rest: "POST /admin/things", action: "things.create", method: "admin.things.CreateThing", access: "admin", description: "Create" },
		{ rest: "POST /auth/hello", action: "auth.hello", access: "public", description: "Public" },
	];

	test("groups the routes of one method into one row, sorted by method, without public entries", () => {
		expect(apiMethods(entries)).toEqual([
			{ method: "admin.things.CreateThing", group: "admin.things", description: "Create", rest: "POST /admin/things", routes: ["POST /admin/things"] },
			{
				method: "users.things.GetThings",
				group: "users.things",
				description: "List things",
				rest: "GET /things",
				routes: ["GET /things", "POST /things/:id/read"],
			},
		]);
	});

	test("the real catalogue: one row per method, every non-public route in exactly one row", () => {
		const rows = apiMethods();
		expect(new Set(rows.map(r => r.method)).size).toBe(rows.length);
		const routes = rows.flatMap(r => r.routes).sort();
		expect(routes).toEqual(
			API_CATALOGUE.filter(e => e.method)
				.map(e => e.rest)
				.sort(),
		);
		const notifications = rows.find(r => r.method === "users.account.GetNotifications");
		expect(notifications?.routes).toEqual(["GET /account/notifications", "POST /account/notifications/:id/read"]);
	});

	test.each([
		["users.account.GetUserInfo", "users.account"],
		["admin.jobs.RunJob", "admin.jobs"],
		["a.b.c.Name", "a.b.c"],
	])("methodGroup(%p) = %p", (method, group) => {
		expect(methodGroup(method)).toBe(group);
	});
});

describe("buildOpenApi", () => {
	const API = "/api/v1";
	const entries: ApiEntry[] = [
		{ rest: "POST /auth/signup", action: "accounts.signup", access: "public", status: 202, description: "Sign up" },
		{ rest: "GET /account", action: "accounts.me", method: "users.account.GetUserInfo", access: "user", description: "Me" },
		{ rest: "PATCH /account", action: "accounts.update", method: "users.account.ChangeName", access: "user", description: "Change" },
		{ rest: "GET /admin/accounts", action: "accounts.adminList", method: "admin.accounts.GetAccounts", access: "admin", description: "Search" },
		{ rest: "POST /things/:id/items/:itemId", action: "things.add", method: "users.things.AddItem", access: "session", status: 201, description: "Add" },
		{ rest: "DELETE /things/:id", action: "things.remove", method: "users.things.RemoveThing", access: "user", status: 204, description: "Remove" },
	];
	const params: Record<string, Json> = {
		"accounts.signup": {
			email: { type: "email" },
			name: { type: "string", min: 1, max: 100 },
			phone: { type: "string", optional: true },
			locale: { type: "string", default: "en" },
			acceptTerms: { type: "equal", value: true },
		},
		"accounts.me": {},
		"accounts.update": { name: { type: "string", optional: true }, phone: { type: "string", optional: true } },
		"accounts.adminList": {
			$$strict: true,
			search: { type: "string", optional: true },
			page: { type: "number", integer: true, positive: true, optional: true, default: 1 },
			status: { type: "enum", values: ["active", "pending"] },
		},
		"things.add": { id: { type: "string" }, itemId: { type: "string" }, count: { type: "number" } },
		"things.remove": { id: { type: "string" }, reason: { type: "string", optional: true } },
	};
	const routes: RouteRow[] = [
		...entries.map(e => ({ method: splitRest(e.rest).verb, fullPath: API + splitRest(e.rest).path, action: e.action })),
		{ method: "GET", fullPath: `${API}/openapi.json`, action: null },
	];
	const byKey = new Map(entries.map(e => [`${splitRest(e.rest).verb} ${API}${splitRest(e.rest).path}`, e]));
	const doc = buildOpenApi(
		routes,
		row => byKey.get(`${row.method} ${row.fullPath}`),
		action => params[action],
		{ title: "Test", version: "1.2.3" },
	) as Json;
	const op = (path: string, verb: string): Json => doc.paths[path]?.[verb];

	test("is an OpenAPI 3 document with the given info and every route", () => {
		expect(doc.openapi).toMatch(/^3\./);
		expect(doc.info).toEqual({ title: "Test", version: "1.2.3" });
		expect(Object.keys(doc.paths).sort()).toEqual(
			[
				"/api/v1/auth/signup",
				"/api/v1/account",
				"/api/v1/admin/accounts",
				"/api/v1/things/{id}/items/{itemId}",
				"/api/v1/things/{id}",
				"/api/v1/openapi.json",
			].sort(),
		);
		expect(Object.keys(doc.paths["/api/v1/account"]).sort()).toEqual(["get", "patch"]);
	});

	test("`:param` placeholders become `{param}` path parameters", () => {
		const add = op("/api/v1/things/{id}/items/{itemId}", "post");
		expect(add.parameters).toEqual([
			{ name: "id", in: "path", required: true, schema: { type: "string" } },
			{ name: "itemId", in: "path", required: true, schema: { type: "string" } },
		]);
		// path parameters are not repeated in the body
		expect(add.requestBody.content["application/json"].schema).toEqual({
			type: "object",
			additionalProperties: false,
			properties: { count: { type: "number" } },
			required: ["count"],
		});
	});

	test("GET parameters go to the query string, never to a body", () => {
		const list = op("/api/v1/admin/accounts", "get");
		expect(list.requestBody).toBeUndefined();
		expect(list.parameters).toEqual([
			{ name: "search", in: "query", required: false, schema: { type: "string" } },
			{ name: "page", in: "query", required: false, schema: { type: "integer", minimum: 1 } },
			{ name: "status", in: "query", required: false, schema: { type: "string", enum: ["active", "pending"] } },
		]);
	});

	test("DELETE parameters other than path ones go to the query string", () => {
		const remove = op("/api/v1/things/{id}", "delete");
		expect(remove.requestBody).toBeUndefined();
		expect(remove.parameters.map((p: Json) => `${p.in}:${p.name}`)).toEqual(["path:id", "query:reason"]);
	});

	test("POST parameters form a closed requestBody schema; only non-optional ones without a default are required", () => {
		const signup = op("/api/v1/auth/signup", "post");
		expect(signup.parameters).toEqual([]);
		expect(signup.requestBody).toEqual({
			required: true,
			content: {
				"application/json": {
					schema: {
						type: "object",
						additionalProperties: false,
						properties: {
							email: { type: "string", format: "email" },
							name: { type: "string", minLength: 1, maxLength: 100 },
							phone: { type: "string" },
							locale: { type: "string" },
							acceptTerms: { enum: [true] },
						},
						required: ["email", "name", "acceptTerms"],
					},
				},
			},
		});
	});

	test("a body with only optional fields has no `required` list", () => {
		const schema = op("/api/v1/account", "patch").requestBody.content["application/json"].schema;
		expect(schema.required).toBeUndefined();
		expect(schema.additionalProperties).toBe(false);
	});

	test("an action without parameters has neither body nor query parameters", () => {
		const me = op("/api/v1/account", "get");
		expect(me.requestBody).toBeUndefined();
		expect(me.parameters).toEqual([]);
	});

	test("non-public operations require authentication, public ones do not", () => {
		expect(op("/api/v1/auth/signup", "post").security).toBeUndefined();
		expect(op("/api/v1/openapi.json", "get").security).toBeUndefined();
		for (const [path, verb] of [
			["/api/v1/account", "get"],
			["/api/v1/admin/accounts", "get"],
			["/api/v1/things/{id}/items/{itemId}", "post"],
		]) {
			expect(op(path, verb).security).toEqual([{ bearer: [] }, { sessionQuery: [] }]);
		}
		expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["bearer", "sessionQuery"]);
	});

	test.each([
		["/api/v1/auth/signup", "post", "202"],
		["/api/v1/things/{id}/items/{itemId}", "post", "201"],
		["/api/v1/things/{id}", "delete", "204"],
		["/api/v1/account", "get", "200"],
		["/api/v1/openapi.json", "get", "200"],
	])("%s %s answers %s on success, and the Error schema otherwise", (path, verb, status) => {
		const responses = op(path, verb).responses;
		expect(Object.keys(responses).sort()).toEqual([status, "default"].sort());
		expect(responses.default.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
	});

	test("operations are identified by their API method, or their action when public", () => {
		expect(op("/api/v1/account", "get").operationId).toBe("users.account.GetUserInfo");
		expect(op("/api/v1/account", "get")["x-api-method"]).toBe("users.account.GetUserInfo");
		expect(op("/api/v1/auth/signup", "post").operationId).toBe("accounts.signup");
		expect(op("/api/v1/auth/signup", "post")["x-api-method"]).toBeUndefined();
		const ids = Object.values(doc.paths).flatMap(p => Object.values(p as Json).map(o => (o as Json).operationId));
		expect(new Set(ids).size).toBe(ids.length);
	});

	test("the whole real catalogue converts, one operation per entry", () => {
		const real = API_CATALOGUE.map(e => ({ method: splitRest(e.rest).verb, fullPath: API + splitRest(e.rest).path, action: e.action }));
		const map = new Map(API_CATALOGUE.map(e => [`${splitRest(e.rest).verb} ${API}${splitRest(e.rest).path}`, e]));
		const full = buildOpenApi(
			real,
			row => map.get(`${row.method} ${row.fullPath}`),
			() => undefined,
			{ title: "x", version: "0" },
		) as Json;
		const count = Object.values(full.paths).reduce((n: number, p) => n + Object.keys(p as Json).length, 0);
		expect(count).toBe(API_CATALOGUE.length);
		expect(Object.keys(full.paths).some(p => p.includes(":"))).toBe(false);
		expect(full.paths["/api/v1/account/notifications/{id}/read"].post.parameters[0]).toMatchObject({ name: "id", in: "path" });
	});
});

describe("ruleToSchema", () => {
	test.each([
		["string shorthand", "string", { type: "string" }],
		["shorthand with modifiers", "number|integer", { type: "number" }],
		["string bounds", { type: "string", min: 2, max: 5 }, { type: "string", minLength: 2, maxLength: 5 }],
		["email", { type: "email" }, { type: "string", format: "email" }],
		["number", { type: "number", max: 100 }, { type: "number", maximum: 100 }],
		["positive integer", { type: "number", integer: true, positive: true }, { type: "integer", minimum: 1 }],
		["boolean", { type: "boolean" }, { type: "boolean" }],
		["equal", { type: "equal", value: true }, { enum: [true] }],
		["enum", { type: "enum", values: ["a", "b"] }, { type: "string", enum: ["a", "b"] }],
		["array", { type: "array", items: "string" }, { type: "array", items: { type: "string" } }],
		["array without items", { type: "array" }, { type: "array", items: {} }],
		["object without props", { type: "object" }, { type: "object" }],
		[
			"object with props",
			{ type: "object", props: { a: "string", b: { type: "number", optional: true } } },
			{ type: "object", additionalProperties: false, properties: { a: { type: "string" }, b: { type: "number" } }, required: ["a"] },
		],
		["unknown type: left open", { type: "custom" }, {}],
		["no rule", undefined, {}],
	])("%s", (_name, rule, schema) => {
		expect(ruleToSchema(rule)).toEqual(schema);
	});
});
