// Request shape (issue 14, API.md "Conventions"): what every HTTP request must look like before a
// handler sees it. Pure (but for answerClientError, at the end): the gateway hands in what it
// parsed (verb, headers, path parameters, query, body, the action's params schema) and gets back
// the one params object the action is called with, or an error naming the field and the reason.
// Validation proper (types, lengths, unknown fields) stays with each action's schema; this is
// what a schema cannot say, and the nulls fastest-validator lets through optional fields.
import type { Duplex } from "stream";
import { Errors } from "moleculer";
import { badRequest, validationError, type FieldError } from "./errors";

const { MoleculerClientError } = Errors;

/** Deeper bodies are refused before anything walks them recursively (a validator, a copy). */
export const MAX_DEPTH = 32;

/**
 * Keys that reach an object's prototype when assigned (a handler would read inherited fields), and
 * the names of every object's own members, whose shadowing breaks turning a value into text
 * (`{"toString": 0}` makes String(value) throw, inside the validator's messages too).
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["prototype", ...Object.getOwnPropertyNames(Object.prototype)]);

/** Query parameters that are credentials, not parameters of the action (`?session=`). */
export const CREDENTIAL_QUERY = new Set(["session"]);

type Params = Record<string, unknown>;

export function unsupportedMediaType(message: string) {
	return new MoleculerClientError(message, 415, "UNSUPPORTED_MEDIA_TYPE", { field: "Content-Type" });
}

/** Verbs whose parameters come in a JSON body; the others take theirs from the query string. */
export function takesBody(verb: string): boolean {
	return verb === "POST" || verb === "PUT" || verb === "PATCH";
}

/** RFC 9110: a request has a body when it says how long it is (not 0) or that it is chunked. */
export function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
	if (headers["transfer-encoding"] !== undefined) return true;
	const length = headers["content-length"];
	return length !== undefined && length !== "0";
}

/**
 * Only JSON bodies are read: any other type would reach the action as an empty body and answer
 * 200 having changed nothing. A body on a route that takes none would be silently ignored.
 */
export function checkContentType(verb: string, headers: Record<string, string | string[] | undefined>, body?: unknown): void {
	if (!hasBody(headers)) return;
	const type = String(headers["content-type"] ?? "")
		.split(";")[0]
		.trim()
		.toLowerCase();
	if (!takesBody(verb)) {
		// An empty JSON object, as some client libraries send with every request, carries nothing to ignore.
		const empty = type === "application/json" && body !== null && typeof body === "object" && !Array.isArray(body) && !Object.keys(body).length;
		if (!empty) throw unsupportedMediaType(`${verb} takes no request body`);
		return;
	}
	if (type !== "application/json") throw unsupportedMediaType(`The request body must be application/json, not ${type || "untyped"}`);
}

function pathOf(parent: string, key: string | number): string {
	if (typeof key === "number") return `${parent}[${key}]`;
	return parent ? `${parent}.${key}` : key;
}

/**
 * The first place nested deeper than `max` levels (the body itself is level 1), or null.
 * Iterative, so a 100,000-deep array cannot overflow the stack of the check itself.
 */
export function tooDeepAt(value: unknown, max = MAX_DEPTH): string | null {
	const stack: [unknown, number, string][] = [[value, 1, ""]];
	while (stack.length) {
		const [v, depth, path] = stack.pop()!;
		if (!v || typeof v !== "object") continue;
		if (depth > max) return path || "(body)";
		if (Array.isArray(v)) v.forEach((x, i) => stack.push([x, depth + 1, pathOf(path, i)]));
		else for (const k of Object.keys(v)) stack.push([(v as Params)[k], depth + 1, pathOf(path, k)]);
	}
	return null;
}

/** The first forbidden key (`__proto__`, `constructor`, `toString`…; own, as JSON.parse makes them), or null. */
export function forbiddenKeyAt(value: unknown, path = ""): string | null {
	if (!value || typeof value !== "object") return null;
	if (Array.isArray(value)) {
		for (let i = 0; i < value.length; i++) {
			const found = forbiddenKeyAt(value[i], pathOf(path, i));
			if (found) return found;
		}
		return null;
	}
	for (const k of Object.keys(value)) {
		if (FORBIDDEN_KEYS.has(k)) return pathOf(path, k);
		const found = forbiddenKeyAt((value as Params)[k], pathOf(path, k));
		if (found) return found;
	}
	return null;
}

/**
 * The query string's parameter names, read from the raw text: the query parser silently drops
 * prototype keys (`?constructor=1`, `?a[__proto__]=1`), so it cannot be asked about them.
 */
export function forbiddenQueryKey(rawQuery: string): string | null {
	for (const pair of rawQuery.split("&")) {
		const name = safeDecode(pair.split("=")[0].replace(/\+/g, " "));
		const segments = name.split(/[[\]]/).filter(Boolean);
		if (segments.some(s => FORBIDDEN_KEYS.has(s))) return name;
	}
	return null;
}

function safeDecode(s: string): string {
	try {
		return decodeURIComponent(s);
	} catch {
		return s;
	}
}

/**
 * A deep copy of own properties: nothing inherited from the parsed input can be read. The params
 * object itself has no prototype at all; nested objects are fresh plain objects (fastest-validator
 * turns values into text for its messages, which a null-prototype object cannot do), safe once
 * the prototype keys are refused.
 */
export function ownCopy(value: unknown, top = false): unknown {
	if (!value || typeof value !== "object") return value;
	if (Array.isArray(value)) return value.map(v => ownCopy(v));
	const out: Params = top ? Object.create(null) : {};
	for (const k of Object.keys(value)) out[k] = ownCopy((value as Params)[k]);
	return out;
}

export interface RequestParts {
	verb: string;
	/** parameters of the route's path (`:id`) */
	path: Params;
	/** the parsed query string */
	query: Params;
	/** the raw query string (after `?`), for the names the parser drops */
	rawQuery: string;
	/** the parsed JSON body, when there is one */
	body: unknown;
}

/**
 * The action's params: path parameters, then the body (POST/PUT/PATCH) or the query (GET/DELETE).
 * Each name comes from one place: a query string must not override a body nor a path.
 */
export function requestParams(parts: RequestParts): Params {
	const body = parts.body === undefined ? {} : parts.body;
	// moleculer-web's parsers already refuse other JSON, but this module must not rely on it.
	if (body === null || typeof body !== "object" || Array.isArray(body)) throw badRequest("The request body must be a JSON object");
	const deep = tooDeepAt(body);
	if (deep) throw badRequest(`The request body nests deeper than ${MAX_DEPTH} levels at ${deep}`, { field: deep });
	const forbidden = forbiddenKeyAt(body) ?? forbiddenQueryKey(parts.rawQuery) ?? forbiddenKeyAt(parts.path);
	if (forbidden) throw validationError({ field: forbidden, message: "is a reserved name (prototype or a member of every object: __proto__, constructor, toString…) and is not accepted" });

	const query = Object.keys(parts.query).filter(k => !CREDENTIAL_QUERY.has(k));
	const fromBody = Object.keys(body);
	const fromPath = Object.keys(parts.path);
	for (const name of fromPath) {
		if (fromBody.includes(name)) throw duplicated(name, "the path", "the body");
		if (query.includes(name)) throw duplicated(name, "the path", "the query string");
	}
	const out: Params = Object.create(null);
	if (takesBody(parts.verb)) {
		for (const name of query) {
			if (fromBody.includes(name)) throw duplicated(name, "the query string", "the body");
			throw badRequest(`${name}: this route takes its parameters from the JSON body, not the query string`, { field: name });
		}
		for (const name of fromBody) out[name] = ownCopy((body as Params)[name]);
	} else {
		for (const name of query) out[name] = ownCopy(parts.query[name]);
	}
	for (const name of fromPath) out[name] = parts.path[name];
	return out;
}

function duplicated(name: string, a: string, b: string) {
	return badRequest(`${name}: given both in ${a} and in ${b}; send it once`, { field: name });
}

// --- null: refused unless the action's schema says the field is nullable --------------------
// fastest-validator lets null through any optional field, and handlers then store it or crash.

interface RuleObject {
	type?: string;
	optional?: boolean;
	nullable?: boolean;
	props?: Record<string, Rule>;
	items?: Rule;
	rules?: Rule[];
}
type Rule = string | RuleObject | Rule[];

function ruleOf(rule: Rule): RuleObject {
	if (typeof rule !== "string") return Array.isArray(rule) ? { type: "multi", rules: rule } : rule;
	const [type, ...flags] = rule.split("|");
	const out: RuleObject & Record<string, unknown> = { type };
	for (const f of flags) {
		const [k, v] = f.split(":");
		out[k] = v === undefined ? true : v === "true";
	}
	return out;
}

function allowsNull(rule: Rule): boolean {
	const r = ruleOf(rule);
	if (r.nullable === true || r.type === "any") return true;
	return r.type === "multi" && (r.rules ?? []).some(allowsNull);
}

/** Every field holding a null the action's schema does not allow (nested objects and arrays too). */
export function nullFields(schema: Record<string, unknown> | undefined, params: Params): FieldError[] {
	if (!schema || typeof schema !== "object") return [];
	const out: FieldError[] = [];
	const walk = (rule: Rule, value: unknown, path: string) => {
		if (value === null) {
			if (!allowsNull(rule)) out.push({ field: path, message: "must not be null (leave it out instead)" });
			return;
		}
		const r = ruleOf(rule);
		if (r.type === "object" && r.props && value && typeof value === "object" && !Array.isArray(value)) {
			for (const [k, sub] of Object.entries(r.props)) walk(sub, (value as Params)[k], pathOf(path, k));
		} else if (r.type === "array" && r.items && Array.isArray(value)) {
			value.forEach((x, i) => walk(r.items!, x, pathOf(path, i)));
		}
	};
	for (const [k, rule] of Object.entries(schema)) {
		if (k.startsWith("$$")) continue;
		if (Object.prototype.hasOwnProperty.call(params, k)) walk(rule as Rule, params[k], k);
	}
	return out;
}

/** Refuses the nulls of `nullFields` with one 422 that names each field. */
export function refuseNulls(schema: Record<string, unknown> | undefined, params: Params): void {
	const errors = nullFields(schema, params);
	if (errors.length) throw validationError(errors);
}

/**
 * body-parser's own refusals (bad JSON, too large, unknown charset or encoding) carry a `status`
 * but no `code`: mapped here to API.md's shape, or null for any other error.
 */
export function bodyParserRefusal(err: { type?: string; status?: number; code?: unknown }): { status: number; body: { name: string; message: string; code: number; type: string } } | null {
	const refusals: Record<string, [number, string, string, string]> = {
		"entity.parse.failed": [400, "BadRequest", "BAD_REQUEST", "The request body is not valid JSON"],
		"entity.verify.failed": [400, "BadRequest", "BAD_REQUEST", "The request body could not be verified"],
		"request.size.invalid": [400, "BadRequest", "BAD_REQUEST", "The request body is shorter or longer than its Content-Length"],
		"request.aborted": [400, "BadRequest", "BAD_REQUEST", "The request body was cut short"],
		"entity.too.large": [413, "PayloadTooLarge", "PAYLOAD_TOO_LARGE", "The request body is too large"],
		"charset.unsupported": [415, "UnsupportedMediaType", "UNSUPPORTED_MEDIA_TYPE", "The request body must be UTF-8 JSON"],
		"encoding.unsupported": [415, "UnsupportedMediaType", "UNSUPPORTED_MEDIA_TYPE", "The request body's Content-Encoding is not supported"],
	};
	const known = err.type ? refusals[err.type] : undefined;
	// body-parser's own error has `status`; moleculer-web hands some on as errors with a numeric `code`.
	if (!known || (typeof err.status !== "number" && typeof err.code !== "number")) return null;
	const [status, name, type, message] = known;
	return { status, body: { name, message, code: status, type } };
}

/** What the gateway hands in: moleculer-web's request after its body parser and alias lookup. */
export interface ParsedRequest {
	method?: string;
	url?: string;
	headers: Record<string, string | string[] | undefined>;
	query?: Params;
	body?: unknown;
	/** moleculer-web's merge of body, query and path (path last): read only for the path's values */
	$params: Params;
	$alias?: { keys?: { name: string | number }[] };
	$action?: { params?: Record<string, unknown> };
}

/** The one params object an action is called with, or a 4xx naming the field and the reason. */
export function shapeRequest(req: ParsedRequest): Params {
	const verb = String(req.method ?? "").toUpperCase();
	checkContentType(verb, req.headers, req.body);
	const url = req.url ?? "";
	const q = url.indexOf("?");
	const path: Params = Object.create(null);
	for (const { name } of req.$alias?.keys ?? []) if (req.$params[name] !== undefined) path[name] = req.$params[name];
	const params = requestParams({ verb, path, query: req.query ?? {}, rawQuery: q >= 0 ? url.slice(q + 1) : "", body: req.body });
	refuseNulls(req.$action?.params, params);
	return params;
}

/**
 * Node refuses a request line or headers over its limit (16 KB: a long query string) before any
 * route sees it, with an empty answer: the `clientError` listener answers in the API's shape.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
	// Nothing to answer on a reset connection, or one whose answer has begun (Node's own rule).
	if (err.code === "ECONNRESET" || !socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) {
		socket.destroy();
		return;
	}
	const [status, reason, name, type, message] =
		err.code === "HPE_HEADER_OVERFLOW"
			? [431, "Request Header Fields Too Large", "RequestHeaderFieldsTooLarge", "HEADERS_TOO_LARGE", "The URL or the headers are too large (at most 16 KB)"]
			: err.code === "ERR_HTTP_REQUEST_TIMEOUT"
				? [408, "Request Timeout", "RequestTimeout", "TIMEOUT", "The request took too long to arrive"]
				: [400, "Bad Request", "BadRequest", "BAD_REQUEST", "The request is not valid HTTP"];
	const body = JSON.stringify({ name, message, code: status, type });
	socket.end(
		`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
	);
}
