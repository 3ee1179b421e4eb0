/**
 * REG-5, REG-6, TFA-4: the keys of every lockout counter, built in one place. A pair's key keeps
 * kinds, subjects and IPs apart; the admin reset finds a subject's hourly caps with the pattern
 * made from the same prefix that names them — every hour's, and never another subject's.
 */
import { attemptQuery, attemptView, capKey, capKeysOf, normaliseEmail, pairKey, subjectOf, type AttemptDoc } from "../../services/auth/attempts";

describe("pairKey", () => {
	test.each([
		["pw", "acc-1", "10.0.0.1", "pw|acc-1|10.0.0.1"],
		["2fa", "acc-1", "10.0.0.1", "2fa|acc-1|10.0.0.1"], // TFA-4: codes on their own counter
		["pw", "email:who@example.com", "::1", "pw|email:who@example.com|::1"],
		["pw", "acc-1", "", "pw|acc-1|"], // no known IP is a pair of its own
	] as const)("%s, %s, %s → %s", (kind, subject, ip, key) => {
		expect(pairKey(kind, subject, ip)).toBe(key);
	});
});

describe("subjectOf", () => {
	test.each([
		[{ id: "acc-1" }, "alice@example.com", "acc-1"],
		[null, "nobody@example.com", "email:nobody@example.com"], // unknown emails are locked like accounts
	])("%j, %s → %s", (account, email, subject) => {
		expect(subjectOf(account, email)).toBe(subject);
	});
});

describe("capKey and capKeysOf", () => {
	test("a cap is keyed by subject and hour", () => {
		expect(capKey("acc-1", 493_000)).toBe("cap|acc-1|493000");
	});

	test.each([
		// subject, key, matches
		["acc-1", capKey("acc-1", 1), true],
		["acc-1", capKey("acc-1", 493_000), true],
		["acc-1", capKey("acc-10", 1), false], // a subject that only starts the same
		["acc-1", capKey("xacc-1", 1), false],
		["acc-1", "reset:acc-1|60|1", false], // reset-link limits share the store
		["email:a.b+c@x.com", capKey("email:a.b+c@x.com", 7), true], // regex characters are literal
		["email:a.b+c@x.com", capKey("email:aXb+c@x.com", 7), false],
		["email:a.b+c@x.com", capKey("email:a.bbc@x.com", 7), false],
		["email:(a|b)@x.com", capKey("email:(a|b)@x.com", 7), true],
		["email:(a|b)@x.com", capKey("email:a@x.com", 7), false],
	])("subject %s: %s matches: %s", (subject, key, matches) => {
		expect(capKeysOf(subject).test(key)).toBe(matches);
	});
});

describe("normaliseEmail and attemptQuery", () => {
	test.each([
		[{}, {}],
		[{ email: "  Alice@Example.COM " }, { email: "alice@example.com" }],
		[{ ip: "10.0.0.1" }, { ip: "10.0.0.1" }],
		[
			{ email: "a@x.com", ip: "10.0.0.1" },
			{ email: "a@x.com", ip: "10.0.0.1" },
		],
		[{ email: "", ip: "" }, {}], // empty filters filter nothing
	])("%j → %j", (filter, query) => {
		expect(attemptQuery(filter)).toEqual(query);
	});

	test("addresses compare trimmed and lower-cased", () => {
		expect(normaliseEmail(" Bob@X.org")).toBe("bob@x.org");
	});
});

describe("attemptView", () => {
	const t = new Date("2026-03-01T12:00:00Z");
	const base: AttemptDoc = {
		_id: "pw|acc-1|10.0.0.1",
		kind: "pw",
		subject: "acc-1",
		email: "a@x.com",
		ip: "10.0.0.1",
		failures: 5,
		lockedUntil: new Date(0),
		expiresAt: new Date("2026-03-02T12:00:00Z"),
	};

	test.each([
		["not locked", new Date(0), false, null],
		["locked until later", new Date("2026-03-01T12:10:00Z"), true, new Date("2026-03-01T12:10:00Z")],
		["lock run out", new Date("2026-03-01T11:59:59Z"), false, null],
		["lock ends now", t, false, null],
	])("%s", (_, lockedUntil, locked, shown) => {
		const view = attemptView({ ...base, lockedUntil }, t);
		expect(view).toMatchObject({ kind: "password", email: "a@x.com", ip: "10.0.0.1", failures: 5, locked, lockedUntil: shown, lastFailureAt: null });
	});

	test("2FA pairs are shown as 2fa", () => {
		expect(attemptView({ ...base, kind: "2fa" }, t).kind).toBe("2fa");
	});
});
