/**
 * Issue 14 (API.md "Conventions"): the shape every request must have before a handler sees it —
 * JSON bodies only, one place per parameter, no prototype keys, at most 32 levels, and null only
 * where the schema says nullable.
 */
import { PassThrough } from "stream";
import {
	answerClientError,
	bodyParserRefusal,
	checkContentType,
	forbiddenKeyAt,
	forbiddenQueryKey,
	nullFields,
	ownCopy,
	requestParams,
	shapeRequest,
	tooDeepAt,
	type RequestParts,
} from "../../lib/request-shape";

/** The error a function throws, as the gateway would see it. */
function refusal(fn: () => unknown): { code: number; type: string; data: unknown; message: string } | null {
	try {
		fn();
		return null;
	} catch (err) {
		return err as { code: number; type: string; data: unknown; message: string };
	}
}

const nest = (levels: number): unknown => {
	let v: unknown = {};
	for (let i = 1; i < levels; i++) v = { a: v };
	return v;
};
const nestArrays = (levels: number): unknown => JSON.parse("[".repeat(levels) + "]".repeat(levels));

describe("request shape", () => {
	describe("content type (item 5)", () => {
		test.each([
			["PATCH", { "content-type": "text/plain", "content-length": "6" }, 415],
			["POST", { "content-type": "application/x-www-form-urlencoded", "content-length": "6" }, 415],
			["PUT", { "content-length": "6" }, 415],
			["POST", { "content-type": "application/json", "transfer-encoding": "chunked" }, null],
			["POST", { "content-type": "application/json; charset=utf-8", "content-length": "2" }, null],
			["POST", { "content-type": "Application/JSON", "content-length": "2" }, null],
			["POST", { "content-type": "text/plain", "content-length": "0" }, null],
			["POST", {}, null],
			["GET", { "content-type": "application/json", "content-length": "2" }, 415],
			["DELETE", { "content-type": "application/json", "content-length": "2" }, 415],
			["GET", {}, null],
		])("%s %j → %s", (verb, headers, status) => {
			const err = refusal(() => checkContentType(verb, headers));
			expect(err ? [err.code, err.type, (err.data as { field: string }).field] : null).toEqual(
				status ? [status, "UNSUPPORTED_MEDIA_TYPE", "Content-Type"] : null,
			);
		});
	});

	describe("depth (item 4)", () => {
		test.each([
			[nest(32), null],
			[nest(33), "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a"],
			[{ list: nestArrays(31) }, null],
			[{ list: nestArrays(32) }, "list" + "[0]".repeat(31)],
			["text", null],
			[null, null],
		])("%#", (value, at) => {
			expect(tooDeepAt(value)).toBe(at);
		});

		test("a 100,000-deep array is found without overflowing the stack", () => {
			expect(tooDeepAt(nestArrays(100_000))).toBe("[0]".repeat(32));
		});
	});

	describe("prototype keys (item 1)", () => {
		test.each([
			['{"__proto__":{"password":"x"},"email":"a@b.io"}', "__proto__"],
			['{"a":{"b":[1,{"constructor":{}}]}}', "a.b[1].constructor"],
			['{"prototype":1}', "prototype"],
			// shadowing an object's own members breaks turning it into text (the validator's messages: a 500)
			['{"name":[[{"toString":0}]]}', "name[0][0].toString"],
			['{"a":{"valueOf":"x"}}', "a.valueOf"],
			['{"hasOwnProperty":1}', "hasOwnProperty"],
			['{"proto":1,"constructors":[],"_prototype_":{}}', null],
		])("%s → %s", (json, at) => {
			expect(forbiddenKeyAt(JSON.parse(json))).toBe(at);
		});

		test.each([
			["constructor=1", "constructor"],
			["a[__proto__][b]=1", "a[__proto__][b]"],
			["x=1&%5F%5Fproto%5F%5F=2", "__proto__"],
			["a%5Bprototype%5D=1", "a[prototype]"],
			["page=1&search=constructor", null],
			["", null],
			["bad=%E0%A4%A", null],
		])("?%s → %s", (raw, at) => {
			expect(forbiddenQueryKey(raw)).toBe(at);
		});

		test("a copy has own fields only: no prototype at the top, fresh plain objects below", () => {
			const parsed = JSON.parse('{"a":{"b":[{"c":1}]}}');
			const copy = ownCopy(parsed, true) as { a: { b: { c: number }[] } };
			expect(Object.getPrototypeOf(copy)).toBeNull();
			expect((copy as Record<string, unknown>).toString).toBeUndefined();
			expect(Object.getPrototypeOf(copy.a)).toBe(Object.prototype);
			expect(copy.a).not.toBe(parsed.a);
			expect(Array.isArray(copy.a.b)).toBe(true);
			expect(copy.a.b[0]).not.toBe(parsed.a.b[0]);
			expect(String(copy.a.b)).toBe("[object Object]");
			expect(JSON.stringify(copy)).toBe('{"a":{"b":[{"c":1}]}}');
		});
	});

	describe("where each parameter comes from (item 2)", () => {
		const parts = (p: Partial<RequestParts>): RequestParts => ({ verb: "POST", path: {}, query: {}, rawQuery: "", body: undefined, ...p });

		test.each<[string, Partial<RequestParts>, Record<string, unknown> | [number, string, string]]>([
			["body route: body and path", { path: { id: "a1" }, body: { amount: "0.01" } }, { id: "a1", amount: "0.01" }],
			["body route: no body", { path: { id: "a1" } }, { id: "a1" }],
			["body route: ?session= is a credential", { query: { session: "s" }, rawQuery: "session=s", body: { x: 1 } }, { x: 1 }],
			["body route: query overrides body", { query: { amount: "2.00" }, rawQuery: "amount=2.00", body: { amount: "0.01" } }, [400, "BAD_REQUEST", "amount"]],
			["body route: a query parameter", { query: { note: "x" }, rawQuery: "note=x", body: { amount: "0.01" } }, [400, "BAD_REQUEST", "note"]],
			["body route: body overrides path", { path: { id: "a1" }, body: { id: "a2" } }, [400, "BAD_REQUEST", "id"]],
			["query route: query and path", { verb: "GET", path: { id: "e1" }, query: { from: "x", session: "s" } }, { id: "e1", from: "x" }],
			["query route: query overrides path", { verb: "DELETE", path: { id: "e1" }, query: { id: "e2" } }, [400, "BAD_REQUEST", "id"]],
			["prototype key", { body: JSON.parse('{"__proto__":{}}') }, [422, "VALIDATION_ERROR", "__proto__"]],
			["prototype key in the query", { verb: "GET", rawQuery: "a[constructor]=1", query: { a: {} } }, [422, "VALIDATION_ERROR", "a[constructor]"]],
			["too deep", { body: nest(40) }, [400, "BAD_REQUEST", "a".repeat(32).split("").join(".")]],
			["an array body", { body: [] }, [400, "BAD_REQUEST", "undefined"]],
		])("%s", (_name, p, expected) => {
			const err = refusal(() => requestParams(parts(p)));
			if (!Array.isArray(expected)) {
				expect(err).toBeNull();
				const params = requestParams(parts(p));
				expect(Object.getPrototypeOf(params)).toBeNull();
				expect({ ...params }).toEqual(expected);
				return;
			}
			const data = err?.data as { field: string } | { field: string }[] | undefined;
			const field = Array.isArray(data) ? data[0].field : String(data?.field);
			expect([err?.code, err?.type, field]).toEqual(expected);
		});
	});

	describe("null only where nullable (item 3)", () => {
		const schema = {
			$$strict: true,
			description: { type: "string", optional: true },
			expiresAt: { type: "string", optional: true, nullable: true },
			apiList: { type: "array", optional: true, items: "string" },
			phone: "string|optional",
			note: "string|optional|nullable",
			value: { type: "any" },
			either: [{ type: "string" }, { type: "number", nullable: true }],
			nodes: { type: "array", items: { type: "object", props: { layer: "string", ip: { type: "string", nullable: true } } } },
		};
		test.each([
			[{ description: null }, ["description"]],
			[{ expiresAt: null }, []],
			[{ apiList: null }, ["apiList"]],
			[{ apiList: ["a", null] }, ["apiList[1]"]],
			[{ phone: null, note: null }, ["phone"]],
			[{ value: null, either: null }, []],
			[{ nodes: [{ layer: null, ip: null }] }, ["nodes[0].layer"]],
			[{ nodes: null }, ["nodes"]],
			[{ unknown: null }, []],
		])("%j → %j", (params, fields) => {
			expect(nullFields(schema, params).map(e => e.field)).toEqual(fields);
		});
	});

	test("shapeRequest reads the path's values from the alias keys and checks the action's schema", () => {
		const params = shapeRequest({
			method: "post",
			url: "/api/v1/admin/accounts/a1/fund?session=s",
			headers: { "content-type": "application/json", "content-length": "20" },
			query: { session: "s" },
			body: { amount: "1.00", note: "n" },
			$params: { amount: "1.00", note: "n", session: "s", id: "a1" },
			$alias: { keys: [{ name: "id" }] },
			$action: { params: { id: "string", amount: "string", note: "string" } },
		});
		expect({ ...params }).toEqual({ id: "a1", amount: "1.00", note: "n" });
		const err = refusal(() =>
			shapeRequest({ method: "PATCH", headers: {}, body: { name: null }, $params: {}, $action: { params: { name: { type: "string", optional: true } } } }),
		);
		expect([err?.code, err?.type, err?.data]).toEqual([422, "VALIDATION_ERROR", [{ field: "name", message: "must not be null (leave it out instead)" }]]);
	});

	test.each([
		[{ type: "entity.parse.failed", status: 400 }, 400, "BAD_REQUEST"],
		[{ type: "entity.too.large", status: 413 }, 413, "PAYLOAD_TOO_LARGE"],
		[{ type: "charset.unsupported", status: 415 }, 415, "UNSUPPORTED_MEDIA_TYPE"],
		[{ type: "encoding.unsupported", status: 415 }, 415, "UNSUPPORTED_MEDIA_TYPE"],
		[{ type: "request.aborted", status: 400 }, 400, "BAD_REQUEST"],
	])("body-parser's %j → %s %s", (err, status, type) => {
		expect(bodyParserRefusal(err)).toMatchObject({ status, body: { code: status, type } });
	});
	test("other errors are not body-parser's", () => {
		expect(bodyParserRefusal({ type: "VALIDATION_ERROR" })).toBeNull();
		expect(bodyParserRefusal({ type: "entity.parse.failed" })).toBeNull();
	});

	test.each([
		["HPE_HEADER_OVERFLOW", "HTTP/1.1 431 ", "HEADERS_TOO_LARGE"],
		["ERR_HTTP_REQUEST_TIMEOUT", "HTTP/1.1 408 ", "TIMEOUT"],
		["HPE_INVALID_METHOD", "HTTP/1.1 400 ", "BAD_REQUEST"],
	])("Node's %s is answered as JSON with a type", async (code, statusLine, type) => {
		const socket = new PassThrough();
		const out: Buffer[] = [];
		socket.on("data", c => out.push(c));
		answerClientError(Object.assign(new Error(code), { code }), socket);
		await new Promise(r => socket.on("end", r));
		const text = Buffer.concat(out).toString();
		expect(text.startsWith(statusLine)).toBe(true);
		expect(JSON.parse(text.split("\r\n\r\n")[1])).toMatchObject({ type });
	});
	test("a reset connection gets no answer", () => {
		const socket = new PassThrough();
		const destroy = jest.spyOn(socket, "destroy");
		answerClientError(Object.assign(new Error("reset"), { code: "ECONNRESET" }), socket);
		expect(destroy).toHaveBeenCalled();
	});
});
