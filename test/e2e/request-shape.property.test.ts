// Issue 14 acceptance, property-based (fast-check): every route of the API catalogue, driven with
// generated bad requests — wrong types, nulls, prototype keys, deep nesting, 1 MB strings, wrong
// content types, duplicated parameters — answers a 4xx with a `type` (and the field, where there
// is one), never a 5xx, and the store is the same afterwards. Each generated request holds at
// least one thing that must be refused, so a 2xx is a bug too.
import fc from "fast-check";
import { request } from "http";
import { splitRest } from "../../lib/api-catalogue";
import { servedEntries } from "../../services/gateway.service";
import { signInWhenReady, waitUntil } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "prop-admin@example.com", password: "Generated-adm1n-pass!" };
const USER = { email: "prop-user@example.com", password: "Generated-bodies-1!" };
/** Per route: enough to meet every kind of bad request a few times, and the file stays < 60 s. */
const RUNS_PER_ROUTE = 25;
const BODY_LIMIT = 1024 * 1024;

type Rule = string | { type?: string; optional?: boolean; nullable?: boolean; max?: number; convert?: boolean } | unknown[];
interface Route {
	verb: string;
	path: string;
	access: string;
	/** a signed webhook: its body is bytes the provider signed, not parameters */
	rawBody: boolean;
	pathParams: string[];
	/** top-level fields of the action's params schema (none when it has no schema) */
	fields: Record<string, { type: string; nullable: boolean; max?: number; convert: boolean }> | null;
}
interface BadRequest {
	kind: string;
	query: string;
	headers: Record<string, string>;
	body?: string;
	/** what must be answered: statuses, and the field the answer must name (when known) */
	status: number[];
	field?: string;
}

const bodyVerb = (verb: string) => verb === "POST" || verb === "PUT" || verb === "PATCH";
const STRINGY = new Set(["string", "email", "url", "uuid", "enum", "equal", "date", "number", "boolean", "currency", "objectID"]);
const RESERVED = ["__proto__", "constructor", "prototype"];
const fieldName = fc.stringMatching(/^[a-z][a-zA-Z]{0,11}$/);

function ruleInfo(rule: Rule) {
	if (typeof rule === "string") {
		const [type, ...flags] = rule.split("|");
		return { type, nullable: flags.includes("nullable"), convert: flags.includes("convert"), max: undefined };
	}
	if (Array.isArray(rule)) return { type: "multi", nullable: true, convert: false, max: undefined };
	return { type: String(rule.type ?? "any"), nullable: rule.nullable === true, convert: rule.convert === true, max: rule.max };
}

/** A value of the wrong type for a field of `type` (never converted into a right one). */
function wrongValue(type: string): fc.Arbitrary<unknown> {
	if (type === "array") return fc.oneof(fc.constant({ length: 1 }), fc.integer(), fc.constant(true));
	if (type === "object") return fc.oneof(fc.string(), fc.integer(), fc.array(fc.integer(), { maxLength: 3 }));
	return fc.oneof(
		fc.constant({}),
		fc.dictionary(fieldName, fc.integer(), { minKeys: 1, maxKeys: 3 }),
		fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
	);
}

/** JSON text nesting `depth` levels (arrays or objects), with a reserved key at the bottom when asked. */
function nested(depth: number, leaf: string, objects: boolean): string {
	return objects ? `${'{"a":'.repeat(depth)}${leaf}${"}".repeat(depth)}` : `${"[".repeat(depth)}${leaf}${"]".repeat(depth)}`;
}

/**
 * A signed webhook's bad requests: any bytes, with no signature or a made-up one — refused as not
 * signed right (400), or as too large (413), whatever the content type.
 */
function badWebhooks(): fc.Arbitrary<BadRequest> {
	return fc
		.record({
			body: fc.oneof(
				fc.string({ maxLength: 300 }),
				fc.jsonValue({ maxDepth: 3 }).map(v => JSON.stringify(v)),
				fc.constant("x".repeat(BODY_LIMIT + 10)),
			),
			signature: fc.oneof(
				fc.constant(undefined),
				fc.string({ maxLength: 80 }),
				fc.stringMatching(/^[0-9a-f]{64}$/).map(h => `t=${Math.floor(Date.now() / 1000)},v1=${h}`),
			),
			type: fc.constantFrom("application/json", "text/plain", ""),
		})
		.map(({ body, signature, type }) => ({
			kind: "unsigned or wrongly signed webhook",
			query: "",
			headers: { ...(type ? { "content-type": type } : {}), ...(signature !== undefined ? { "qm-signature": signature } : {}) } as Record<string, string>,
			body,
			status: body.length > BODY_LIMIT ? [413] : [400],
		}));
}

function badRequests(route: Route, pathValues: Record<string, string>): fc.Arbitrary<BadRequest> {
	if (route.rawBody) return badWebhooks();
	const json = { "content-type": "application/json" };
	const takesBody = bodyVerb(route.verb);
	// The body's and query's own fields (the path's are tried under "duplicated").
	const fields = Object.entries(route.fields ?? {}).filter(([name]) => !route.pathParams.includes(name));
	const kinds: fc.Arbitrary<BadRequest>[] = [];

	// Prototype keys: anywhere in a body, or in the query string.
	kinds.push(
		fc
			.record({ key: fc.constantFrom(...RESERVED), depth: fc.integer({ min: 0, max: 4 }), where: fc.constantFrom("body", "query") })
			.map(({ key, depth, where }) => {
				if (where === "query" || !takesBody) {
					const name = depth ? `x${"[a]".repeat(depth - 1)}[${key}]` : key;
					return { kind: "prototype key (query)", query: `${encodeURIComponent(name)}=1`, headers: json, status: [422], field: name };
				}
				const inner = `{"${key}":{"note":"x","bonus":true,"password":"p"}}`;
				const body = depth ? `{"x":${nested(depth - 1, inner, true)}}` : inner;
				return { kind: "prototype key (body)", query: "", headers: json, body, status: [422], field: depth ? `x${".a".repeat(depth - 1)}.${key}` : key };
			}),
	);

	// Bodies deeper than 32 levels (up to 100,000), or any body where a route takes none.
	kinds.push(
		fc.record({ depth: fc.oneof(fc.integer({ min: 33, max: 200 }), fc.constant(100_000)), objects: fc.boolean() }).map(({ depth, objects }) => ({
			kind: "deep nesting",
			query: "",
			headers: json,
			body: `{"x":${nested(depth, "1", objects && depth < 10_000)}}`,
			status: takesBody ? [400] : [415],
		})),
	);

	// A body that is not JSON by its content type.
	kinds.push(
		fc
			.record({
				type: fc.constantFrom(
					"text/plain",
					"application/x-www-form-urlencoded",
					"application/xml",
					"multipart/form-data; boundary=x",
					"application/json-patch+json",
					"",
				),
				body: fc.oneof(fc.constant("name=Mallory&amount=2.00"), fc.constant('{"name":"Mallory"}'), fc.string({ minLength: 1, maxLength: 200 })),
			})
			.map(({ type, body }) => ({
				kind: "wrong content type",
				query: "",
				headers: (type ? { "content-type": type } : {}) as Record<string, string>,
				body,
				status: [415],
				field: "Content-Type",
			})),
	);

	// 1 MB strings: over the limit (413), or just under it in a field with a maximum length (422).
	const bounded = fields.filter(([, f]) => f.type === "string" && f.max !== undefined);
	kinds.push(
		fc.constantFrom<string | null>(...bounded.map(([name]) => name), null).map(name => {
			const body = `{"${name ?? "x"}":"${"x".repeat(name === null ? BODY_LIMIT : BODY_LIMIT - 64)}"}`;
			if (!takesBody) return { kind: "1 MB string", query: "", headers: json, body, status: [413, 415] };
			return name === null
				? { kind: "1 MB string", query: "", headers: json, body, status: [413] }
				: { kind: "1 MB string", query: "", headers: json, body, status: [422, 429], field: name };
		}),
	);

	// 1 MB (or just over Node's 16 KB) in the query string: refused before any route, still typed.
	kinds.push(
		fc.constantFrom(17_000, 100_000, BODY_LIMIT).map(size => ({ kind: "long query", query: `search=${"x".repeat(size)}`, headers: json, status: [431] })),
	);

	// The same name in two places: path and query, path and body, query and body.
	const dupNames = [...route.pathParams, ...fields.map(([n]) => n)];
	if (dupNames.length) {
		kinds.push(
			fc.record({ name: fc.constantFrom(...dupNames), value: fc.string({ maxLength: 20 }) }).map(({ name, value }) => {
				const inPath = route.pathParams.includes(name);
				const q = `${encodeURIComponent(name)}=${encodeURIComponent(value)}`;
				if (!takesBody && !inPath)
					return { kind: "duplicated (body on a query route)", query: q, headers: json, body: JSON.stringify({ [name]: value }), status: [415] };
				if (!takesBody || (inPath && value.length % 2 === 0))
					return { kind: "duplicated (path and query)", query: q, headers: json, status: [400], field: name };
				return { kind: "duplicated (query and body)", query: q, headers: json, body: JSON.stringify({ [name]: value || "v" }), status: [400], field: name };
			}),
		);
	}

	// Null where the schema does not say nullable; a value of the wrong type.
	const checked = fields.filter(([, f]) => STRINGY.has(f.type) || f.type === "array" || f.type === "object").filter(([, f]) => !f.convert);
	if (checked.length && takesBody) {
		kinds.push(
			fc.constantFrom(...checked.filter(([, f]) => !f.nullable).map(([n]) => n), ...(checked.every(([, f]) => f.nullable) ? [checked[0][0]] : [])).map(name => {
				const nullable = route.fields![name].nullable;
				return {
					kind: "null",
					query: "",
					headers: json,
					body: JSON.stringify({ [name]: null, ...(nullable ? { "zz-unknown": 1 } : {}) }),
					status: [422, 429],
					field: nullable ? "zz-unknown" : name,
				};
			}),
		);
		kinds.push(
			fc
				.constantFrom(...checked.map(([n]) => n))
				.chain(name => wrongValue(route.fields![name].type).map(value => ({ name, value })))
				.map(({ name, value }) => ({ kind: "wrong type", query: "", headers: json, body: JSON.stringify({ [name]: value }), status: [422, 429], field: name })),
		);
	}
	if (route.fields) {
		// A field the schema does not know, of any JSON value (strict schemas refuse it).
		kinds.push(
			fc.record({ name: fieldName.filter(n => !(n in route.fields!)), value: fc.jsonValue({ maxDepth: 3 }) }).map(({ name, value }) => {
				const name2 = `zz${name}`;
				return takesBody
					? { kind: "unknown field", query: "", headers: json, body: JSON.stringify({ [name2]: value }), status: [422, 429], field: name2 }
					: { kind: "unknown field", query: `${name2}=${encodeURIComponent(JSON.stringify(value))}`, headers: json, status: [422, 429], field: name2 };
			}),
		);
	}
	void pathValues;
	return fc.oneof(...kinds);
}

/** Raw HTTP: fetch() refuses a body on GET, and bodies on GET are what some cases send. */
function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
	return new Promise((resolve, reject) => {
		const req = request(url, { method, headers: body === undefined ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) } }, res => {
			const chunks: Buffer[] = [];
			res.on("data", c => chunks.push(c));
			res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
			res.on("error", reject);
		});
		req.on("error", reject);
		req.end(body);
	});
}

function fieldsNamed(body: { data?: unknown }): string[] {
	const data = body.data;
	if (Array.isArray(data)) return data.map(d => (d as { field?: string }).field ?? "");
	const field = (data as { field?: string } | undefined)?.field;
	return field ? [field] : [];
}

describe("bad requests on every route (issue 14, property-based)", () => {
	let p: Platform;
	let admin: string;
	let userId: string;
	let user: string;
	let routes: Route[];

	beforeAll(async () => {
		p = await startPlatform({
			env: {
				QM_ADMIN_EMAIL: ADMIN.email,
				QM_ADMIN_PASSWORD: ADMIN.password,
				QM_TEST_CLOCK: "1",
				QM_PAYMENT_PROVIDERS: "manual,test",
				QM_TEST_PROVIDER_WEBHOOK_SECRET: "whsec_prop",
			},
		});
		admin = await signInWhenReady(p.http, ADMIN);
		userId = (await createAccount(p, USER.email, USER.password)).id;
		user = (await p.http.post("/auth/signin", USER)).body.session as string;
		// The trial bonus lands a moment after activation: wait, so the ledger stands still below.
		await waitUntil(async () => (await p.http.get("/billing/transactions", { token: user })).body.total > 0, 20_000);
		// Something in every store the routes could change: a token, a funded balance.
		expect((await p.http.post("/tokens", { password: ADMIN.password, description: "kept", template: "extended-access" }, { token: admin })).status).toBe(201);
		const fund = await p.http.post(
			`/admin/accounts/${userId}/fund`,
			{ amount: "5.00", note: "before" },
			{ token: admin, headers: { "Idempotency-Key": "prop-1" } },
		);
		expect(fund.status).toBe(201);

		const actions = p.broker.registry.getActionList({}) as unknown as { name: string; action?: { params?: Record<string, Rule> } }[];
		routes = servedEntries().map(e => {
			const { verb, path } = splitRest(e.rest);
			const schema = actions.find(a => a.name === e.action)?.action?.params;
			const fields = schema
				? Object.fromEntries(
						Object.entries(schema)
							.filter(([k]) => !k.startsWith("$$"))
							.map(([k, rule]) => [k, ruleInfo(rule)]),
					)
				: null;
			return { verb, path, access: e.access, rawBody: !!e.rawBody, pathParams: [...path.matchAll(/:(\w+)/g)].map(m => m[1]), fields };
		});
	});
	afterAll(() => p?.stop());

	/** What a bad request must not change: balances, ledgers, tokens, accounts, groups, tariffs, mail. */
	async function snapshot() {
		const get = async (path: string, token = admin) => {
			const r = await p.http.get(path, { token });
			expect(r.status).toBe(200);
			return r.body;
		};
		const strip = (account: Record<string, unknown>) => ({ ...account, lastSeenAt: undefined, sessions: undefined });
		return {
			account: strip(await get(`/admin/accounts/${userId}`)),
			accounts: await get("/admin/accounts?pageSize=100"),
			ledger: await get("/billing/transactions?pageSize=100", user),
			balance: await get("/billing/balance", user),
			tokens: (await get("/tokens")).map((t: Record<string, unknown>) => ({ ...t, lastUsedAt: undefined, lastUsedIp: undefined })),
			environments: await get("/environments"),
			groups: await get("/admin/groups"),
			tariffs: await get("/admin/tariffs"),
			outbox: (await get("/admin/outbox")).total,
		};
	}

	it("answers each with a 4xx naming the type (and the field), never a 5xx, and changes nothing", async () => {
		const before = await snapshot();
		const seen = new Map<string, number>();
		const pathValues: Record<string, string> = { id: userId, name: "trial", key: "environment.maxcount" };
		for (const route of routes) {
			// A webhook names its provider (the test provider is on here).
			const values = route.rawBody ? { ...pathValues, name: "test" } : pathValues;
			const url = route.path.replace(/:(\w+)/g, (_, n: string) => encodeURIComponent(values[n] ?? "x1"));
			await fc.assert(
				fc.asyncProperty(badRequests(route, pathValues), async bad => {
					const headers: Record<string, string> = { ...bad.headers, ...(route.access === "public" ? {} : { authorization: `Bearer ${admin}` }) };
					if (route.path.endsWith("/fund") || route.path.endsWith("/charge")) headers["idempotency-key"] = `prop-${Math.random()}`;
					const res = await send(`${p.url}${url}${bad.query ? `?${bad.query}` : ""}`, route.verb, headers, bad.body);
					const text = res.text;
					const where = `${route.verb} ${route.path} [${bad.kind}] → ${res.status} ${text.slice(0, 300)}`;
					let body: { type?: string; data?: unknown };
					try {
						body = JSON.parse(text);
					} catch {
						throw new Error(`not JSON: ${where}`);
					}
					if (res.status >= 500 || res.status < 400 || typeof body.type !== "string") throw new Error(`not a typed 4xx: ${where}`);
					if (!bad.status.includes(res.status)) throw new Error(`expected ${bad.status.join("|")}: ${where}`);
					if (
						bad.field &&
						res.status !== 429 &&
						!fieldsNamed(body).some(f => f === bad.field || f.startsWith(`${bad.field}.`) || f.startsWith(`${bad.field}[`))
					)
						throw new Error(`expected the field ${bad.field}: ${where}`);
					seen.set(bad.kind, (seen.get(bad.kind) ?? 0) + 1);
				}),
				{ numRuns: RUNS_PER_ROUTE },
			);
		}
		expect(await snapshot()).toEqual(before);
		// Every kind of bad request was tried.
		expect([...seen.keys()].sort()).toEqual(
			expect.arrayContaining([
				"1 MB string",
				"long query",
				"deep nesting",
				"null",
				"prototype key (body)",
				"prototype key (query)",
				"unknown field",
				"wrong content type",
				"wrong type",
			]),
		);
	}, 120_000);
});
