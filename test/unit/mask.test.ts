/**
 * NFR-1: no secret in any log line. Values under secret-like keys are replaced, secret-looking
 * substrings of free strings are cut.
 */
import { maskSecrets, maskString } from "../../lib/mask";

const M = "[masked]";
const BCRYPT_HASH = "$2b$12$" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY./";

describe("maskSecrets: keys", () => {
	test.each([
		"password",
		"newPassword",
		"currentPassword",
		"token",
		"accessToken",
		"secret",
		"clientSecret",
		"code",
		"authorization",
		"Authorization",
		"cookie",
		"set-cookie",
		"hash",
		"passwordHash",
		"session",
		"sessionToken",
	])("a string under %s is masked", key => {
		expect(maskSecrets({ [key]: "s3cr3t-value", other: "visible" })).toEqual({ [key]: M, other: "visible" });
	});

	test.each([
		["code", 422],
		["code", 0],
		["token", 12],
		["session", true],
		["password", false],
	])("a %s of type number/boolean (%p) is kept", (key, value) => {
		expect(maskSecrets({ [key]: value })).toEqual({ [key]: value });
	});

	test("null and undefined under a secret key are kept as they are", () => {
		expect(maskSecrets({ password: null, token: undefined })).toEqual({ password: null, token: undefined });
	});

	test("objects and arrays under a secret key are masked whole", () => {
		expect(maskSecrets({ session: { id: "abc", token: "x" }, codes: ["111111", "222222"] })).toEqual({ session: M, codes: M });
	});

	test("ordinary keys are kept", () => {
		const value = { email: "a@b.io", name: "Alice", count: 3, ok: true, when: new Date(0) };
		expect(maskSecrets(value)).toEqual(value);
	});

	test("nested objects and arrays are masked at any level", () => {
		expect(
			maskSecrets({
				ctx: { params: { email: "a@b.io", password: "hunter2", nested: [{ token: "t1" }, { name: "x" }] } },
				list: [{ secret: "s" }, "Bearer abc.def", 5],
			}),
		).toEqual({
			ctx: { params: { email: "a@b.io", password: M, nested: [{ token: M }, { name: "x" }] } },
			list: [{ secret: M }, `Bearer ${M}`, 5],
		});
	});

	test("a Date or Buffer is passed through unchanged", () => {
		const d = new Date(0);
		const b = Buffer.from("abc");
		const out = maskSecrets({ d, b }) as { d: unknown; b: unknown };
		expect(out.d).toBe(d);
		expect(out.b).toBe(b);
	});

	test("the input is not modified", () => {
		const input = { password: "hunter2", nested: { token: "t" } };
		maskSecrets(input);
		expect(input).toEqual({ password: "hunter2", nested: { token: "t" } });
	});
});

describe("maskSecrets: errors", () => {
	test("message and stack are masked, name, code and type are kept", () => {
		const err = Object.assign(new Error("SMTP failed for smtp://mailer:pa55word@mail.example.com with Bearer abc.def"), {
			code: 422,
			type: "VALIDATION_ERROR",
		});
		const out = maskSecrets(err) as Error & { code: number; type: string };
		expect(out).toBeInstanceOf(Error);
		expect(out.message).toBe(`SMTP failed for smtp://mailer:${M}@mail.example.com with Bearer ${M}`);
		expect(out.stack).toContain(`smtp://mailer:${M}@`);
		expect(out.stack).not.toContain("pa55word");
		expect(out.stack).not.toContain("abc.def");
		expect(out.code).toBe(422);
		expect(out.type).toBe("VALIDATION_ERROR");
	});

	test("the error's name is kept", () => {
		const err = new TypeError("bad");
		expect((maskSecrets(err) as Error).name).toBe("TypeError");
	});

	test("an error nested in an object is masked too", () => {
		const out = maskSecrets({ err: new Error("token qm_pat_abc123 refused") }) as { err: Error };
		expect(out.err.message).toBe(`token qm_pat_${M} refused`);
	});
});

describe("maskSecrets: cycles and depth", () => {
	test("a circular reference does not crash", () => {
		const a: Record<string, unknown> = { name: "a", password: "x" };
		a.self = a;
		const out = maskSecrets(a) as Record<string, unknown>;
		expect(out.name).toBe("a");
		expect(out.password).toBe(M);
		expect(out.self).toBe("[…]");
	});

	test("a circular array does not crash", () => {
		const list: unknown[] = ["Bearer abc"];
		list.push(list);
		expect(maskSecrets(list)).toEqual([`Bearer ${M}`, "[…]"]);
	});

	test("very deep structures are cut instead of walked forever", () => {
		let deep: Record<string, unknown> = { password: "x" };
		for (let i = 0; i < 20; i++) deep = { child: deep };
		const out = JSON.stringify(maskSecrets(deep));
		expect(out).toContain('"child":"[…]"');
		expect(out).not.toContain('"x"');
	});
});

describe("maskString", () => {
	test.each([
		["a bearer token", "Authorization: Bearer eyJhbGci.eyJzdWIi.sig-_~+/=", `Authorization: Bearer ${M}`],
		["a bearer token, lower case", "bearer abc123 then", `bearer ${M} then`],
		["a personal access token", "used qm_pat_AbC123xyz for it", `used qm_pat_${M} for it`],
		["a session in a query string", "GET /api/v1/account?session=qm_ses_abc-def_123&page=2", `GET /api/v1/account?session=${M}&page=2`],
		["a session after another parameter", "/x?page=2&session=abc", `/x?page=2&session=${M}`],
		["a token in a query string", "/activate?token=abc123", `/activate?token=${M}`],
		["a code in a query string", "/cb?code=123456&state=s", `/cb?code=${M}&state=s`],
		["SMTP credentials in a URL", "connecting to smtp://user:pass@mail.example.com:587", `connecting to smtp://user:${M}@mail.example.com:587`],
		["MongoDB credentials in a URL", "mongodb://qm:hunter2@db:27017/qm", `mongodb://qm:${M}@db:27017/qm`],
		["a bcrypt hash", `hash is ${BCRYPT_HASH}.`, `hash is ${M}.`],
		["several secrets in one string", "Bearer a1 and qm_pat_b2", `Bearer ${M} and qm_pat_${M}`],
	])("%s is cut", (_name, input, expected) => {
		expect(maskString(input)).toBe(expected);
		expect(maskSecrets(input)).toBe(expected);
	});

	test.each([
		["plain text", "Account alice@example.com signed in"],
		["a URL without credentials", "https://example.com:8443/api/v1/account?page=2"],
		["a URL with a user but no password", "smtp://mailer@mail.example.com"],
		["an ordinary query parameter", "/search?q=session"],
	])("%s is left alone", (_name, input) => {
		expect(maskString(input)).toBe(input);
	});

	test("a session token (qm_ses_) anywhere in a free string is cut", () => {
		const token = "qm_ses_" + "Ab-_9".repeat(8) + "xyz";
		expect(token).toMatch(/^qm_ses_[A-Za-z0-9_-]{43}$/);
		expect(maskString(`session ${token} expired`)).not.toContain("Ab-_9");
	});

	test("a personal access token with base64url characters (- and _) is cut entirely", () => {
		expect(maskString("used qm_pat_abc-def_ghi for it")).toBe(`used qm_pat_${M} for it`);
	});
});

describe("maskSecrets: shapes seen twice", () => {
	test("an object that appears twice (not a cycle) is printed both times", () => {
		const shared = { city: "Berlin" };
		expect(maskSecrets({ a: shared, b: shared })).toEqual({ a: { city: "Berlin" }, b: { city: "Berlin" } });
	});

	test("an error's data is kept, masked", () => {
		const err = Object.assign(new Error("bad"), {
			code: 422,
			type: "VALIDATION_ERROR",
			data: [{ field: "password", message: "too short", password: "hunter22" }],
		});
		expect((maskSecrets(err) as { data: unknown }).data).toEqual([{ field: "password", message: "too short", password: "[masked]" }]);
	});
});
