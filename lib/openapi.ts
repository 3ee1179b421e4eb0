// The OpenAPI 3 document, generated from the gateway's real route table (its aliases) joined
// with the catalogue and the actions' parameter schemas — never written by hand, so it cannot
// drift from what is served.
import type { ApiEntry } from "./api-catalogue";

export interface RouteRow {
	method: string;
	fullPath: string;
	action: string | null;
}

type Json = Record<string, unknown>;

/** fastest-validator rule → JSON schema (the common shapes; anything else is left open). */
export function ruleToSchema(rule: unknown): Json {
	const r: Json = typeof rule === "string" ? { type: rule.split("|")[0] } : ((rule ?? {}) as Json);
	const base: Json = {};
	switch (r.type) {
		case "string":
			base.type = "string";
			if (typeof r.min === "number") base.minLength = r.min;
			if (typeof r.max === "number") base.maxLength = r.max;
			break;
		case "email":
			Object.assign(base, { type: "string", format: "email" });
			break;
		case "number":
			base.type = r.integer ? "integer" : "number";
			if (typeof r.max === "number") base.maximum = r.max;
			if (r.positive) base.minimum = 1;
			break;
		case "boolean":
			base.type = "boolean";
			break;
		case "equal":
			base.enum = [r.value];
			break;
		case "enum":
			Object.assign(base, { type: "string", enum: r.values });
			break;
		case "array":
			Object.assign(base, { type: "array", items: ruleToSchema(r.items ?? {}) });
			break;
		case "object":
			Object.assign(base, r.props ? objectSchema(r.props as Json) : { type: "object" });
			break;
		default:
			break;
	}
	return base;
}

function objectSchema(params: Json): Json {
	const properties: Json = {};
	const required: string[] = [];
	for (const [k, rule] of Object.entries(params)) {
		if (k.startsWith("$$")) continue;
		properties[k] = ruleToSchema(rule);
		const optional = typeof rule === "object" && rule !== null && ((rule as Json).optional || (rule as Json).default !== undefined);
		if (!optional) required.push(k);
	}
	return { type: "object", additionalProperties: false, properties, ...(required.length ? { required } : {}) };
}

const ERROR_SCHEMA = {
	type: "object",
	properties: { name: { type: "string" }, message: { type: "string" }, code: { type: "integer" }, type: { type: "string" }, data: {} },
};

export function buildOpenApi(
	routes: RouteRow[],
	entryOf: (row: RouteRow) => ApiEntry | undefined,
	paramsOf: (action: string) => Json | undefined,
	info: { title: string; version: string },
): Json {
	const paths: Record<string, Json> = {};
	for (const row of routes) {
		const path = row.fullPath.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
		const entry = entryOf(row);
		const verb = row.method.toLowerCase();
		const pathParams = [...row.fullPath.matchAll(/:([A-Za-z0-9_]+)/g)].map(m => m[1]);
		const params = row.action ? (paramsOf(row.action) ?? {}) : {};
		const bodyParams = Object.fromEntries(Object.entries(params).filter(([k]) => !pathParams.includes(k)));
		const op: Json = {
			operationId: entry?.method ?? row.action ?? `${verb} ${path}`,
			summary: entry?.description ?? "",
			tags: [path.split("/")[3] ?? "meta"],
			parameters: pathParams.map(name => ({ name, in: "path", required: true, schema: { type: "string" } })),
			responses: {
				[String(entry?.status ?? 200)]: { description: "Success" },
				default: { description: "Error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
			},
		};
		if (entry?.method) op["x-api-method"] = entry.method;
		if (entry && entry.access !== "public") op.security = [{ bearer: [] }, { sessionQuery: [] }];
		if (Object.keys(bodyParams).length) {
			if (verb === "get" || verb === "delete") {
				(op.parameters as Json[]).push(
					...Object.entries(bodyParams)
						.filter(([k]) => !k.startsWith("$$"))
						.map(([name, rule]) => ({ name, in: "query", required: false, schema: ruleToSchema(rule) })),
				);
			} else {
				op.requestBody = { required: true, content: { "application/json": { schema: objectSchema(bodyParams) } } };
			}
		}
		paths[path] = { ...(paths[path] ?? {}), [verb]: op };
	}
	return {
		openapi: "3.0.3",
		info,
		servers: [{ url: "/" }],
		paths,
		components: {
			securitySchemes: {
				bearer: { type: "http", scheme: "bearer", description: "A session token or a personal access token" },
				sessionQuery: { type: "apiKey", in: "query", name: "session" },
			},
			schemas: { Error: ERROR_SCHEMA },
		},
	};
}
