/**
 * NFR-1: action params are validated strictly (unknown fields refused), and fastest-validator's
 * errors become the `[{field, message}]` list of a 422 VALIDATION_ERROR.
 */
import { Errors } from "moleculer";
import { isValidationError, StrictValidator, toFieldErrors } from "../../lib/validator";

type Checker = (params: Record<string, unknown>) => true | unknown[];

const compile = (schema: Record<string, unknown>) => new StrictValidator().compile(schema) as unknown as Checker;

describe("StrictValidator", () => {
	test("accepts params that match the schema", () => {
		expect(compile({ email: "email", name: { type: "string", optional: true } })({ email: "a@b.io" })).toBe(true);
	});

	test("refuses unknown fields by default, naming them", () => {
		const result = compile({ email: "email" })({ email: "a@b.io", role: "admin", isAdmin: true });
		expect(result).not.toBe(true);
		expect(toFieldErrors(result)).toEqual([
			{ field: "role", message: "is not an accepted field" },
			{ field: "isAdmin", message: "is not an accepted field" },
		]);
	});

	test("refuses unknown fields inside nested objects too, naming them with their path", () => {
		const check = compile({ billingInfo: { type: "object", props: { country: "string", address: { type: "object", props: { city: "string" } } } } });
		const result = check({ billingInfo: { country: "DE", vat: "x", address: { city: "Berlin", hacked: true } } });
		expect(
			toFieldErrors(result)
				.map(e => e.field)
				.sort(),
		).toEqual(["billingInfo.address.hacked", "billingInfo.vat"]);
		expect(check({ billingInfo: { country: "DE", address: { city: "Berlin" } } })).toBe(true);
	});

	test("leaves an object without declared props open (free-form data)", () => {
		expect(compile({ data: { type: "object", optional: true } })({ data: { anything: 1 } })).toBe(true);
	});

	test("refuses unknown fields for an action without params", () => {
		expect(toFieldErrors(compile({})({ anything: 1 }))).toEqual([{ field: "anything", message: "is not an accepted field" }]);
	});

	test("reports unknown fields together with the other errors", () => {
		const errors = toFieldErrors(compile({ email: "email" })({ email: "nope", extra: 1 }));
		expect(errors).toEqual(
			expect.arrayContaining([
				{ field: "email", message: "must be a valid e-mail." },
				{ field: "extra", message: "is not an accepted field" },
			]),
		);
		expect(errors).toHaveLength(2);
	});

	test('a schema with an explicit `$$strict: "remove"` keeps its own setting: unknown fields are dropped, not refused', () => {
		const params: Record<string, unknown> = { a: "x", b: 1 };
		expect(compile({ $$strict: "remove", a: "string" })(params)).toBe(true);
		expect(params).toEqual({ a: "x" });
	});

	test("a schema with an explicit `$$strict: false` accepts unknown fields", () => {
		const params: Record<string, unknown> = { a: "x", b: 1 };
		expect(compile({ $$strict: false, a: "string" })(params)).toBe(true);
		expect(params).toEqual({ a: "x", b: 1 });
	});

	test("a strict nested object reports its forbidden keys with the parent prefix", () => {
		const check = compile({ address: { type: "object", strict: true, props: { city: "string" } } });
		expect(toFieldErrors(check({ address: { city: "Paris", zip: "75001" } }))).toEqual([{ field: "address.zip", message: "is not an accepted field" }]);
	});

	test("the schema passed in is not modified", () => {
		const schema = { a: "string" };
		compile(schema);
		expect(schema).toEqual({ a: "string" });
	});
});

describe("toFieldErrors", () => {
	test.each([
		["not an array", { message: "x" }, []],
		["undefined", undefined, []],
		["an empty list", [], []],
		[
			"objectStrict at the root: one row per key",
			[{ type: "objectStrict", field: undefined, actual: "x, y,z", expected: "a" }],
			[
				{ field: "x", message: "is not an accepted field" },
				{ field: "y", message: "is not an accepted field" },
				{ field: "z", message: "is not an accepted field" },
			],
		],
		[
			"objectStrict in a nested object: parent prefix",
			[{ type: "objectStrict", field: "profile.address", actual: "zip", expected: "city" }],
			[{ field: "profile.address.zip", message: "is not an accepted field" }],
		],
		["objectStrict without keys", [{ type: "objectStrict", field: "a", actual: "" }], []],
		[
			"the field echo is stripped",
			[{ type: "email", field: "email", message: "The 'email' field must be a valid e-mail." }],
			[{ field: "email", message: "must be a valid e-mail." }],
		],
		[
			"nested field echo is stripped",
			[{ type: "string", field: "address.city", message: "The 'address.city' field must be a string." }],
			[{ field: "address.city", message: "must be a string." }],
		],
		[
			"a message without the echo is kept",
			[{ type: "custom", field: "phone", message: "must be in E.164 format" }],
			[{ field: "phone", message: "must be in E.164 format" }],
		],
		["no message", [{ type: "x", field: "a" }], [{ field: "a", message: "is invalid" }]],
		["no field", [{ type: "x", message: "The '' field is wrong" }], [{ field: "", message: "is wrong" }]],
	])("%s", (_name, data, expected) => {
		expect(toFieldErrors(data)).toEqual(expected);
	});
});

describe("isValidationError", () => {
	test.each([
		["a Moleculer ValidationError", new Errors.ValidationError("bad", "VALIDATION_ERROR", []), true],
		["an error of type VALIDATION_ERROR", Object.assign(new Error("x"), { type: "VALIDATION_ERROR" }), true],
		["another error", new Error("x"), false],
		["null", null, false],
	])("%s → %p", (_name, err, expected) => {
		expect(isValidationError(err)).toBe(expected);
	});
});

// Issue 14 item 6: one rule for every string field — no control characters, bidirectional
// overrides or isolates, nor lone surrogates; any other text (accents, emoji, CJK) passes.
describe("unsafe text in string fields", () => {
	const check = compile({ name: { type: "string", trim: true, max: 64 }, note: "string|optional" });
	test.each([
		["plain", "Production EU", true],
		["accents, CJK and an emoji (a surrogate pair)", "Ünïcödé 東京 😀", true],
		["NUL", "a\u0000b", false],
		["newline", "line\nbreak", false],
		["tab", "a\tb", false],
		["DEL", "a\u007Fb", false],
		["C1 (NEL)", "a\u0085b", false],
		["right-to-left override", "evil\u202Egnp.exe", false],
		["left-to-right embedding", "a\u202Ab", false],
		["first strong isolate", "a\u2068b", false],
		["lone high surrogate", "half\uD800", false],
		["lone low surrogate", "\uDC00half", false],
	])("%s → accepted: %p", (_name, value, ok) => {
		const result = check({ name: value });
		if (ok) expect(result).toBe(true);
		else
			expect(toFieldErrors(result)).toEqual([{ field: "name", message: "must not contain control characters, bidirectional overrides or lone surrogates." }]);
	});

	test("a shorthand string rule gets the same check", () => {
		expect(toFieldErrors(check({ name: "ok", note: "x\u202Ey" }))).toEqual([
			{ field: "note", message: "must not contain control characters, bidirectional overrides or lone surrogates." },
		]);
	});
});
