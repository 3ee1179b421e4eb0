// TOTP (TFA-1…4): RFC 6238 SHA-1 test vectors, the accepted window (current and previous step,
// later than the last used one), and codes from an independent implementation (oathtool).
import { spawnSync } from "child_process";
import { codeAt, matchStep, newSecret, PERIOD_SECONDS, stepAt } from "../../services/auth/totp";

const RFC_SECRET = new TextEncoder().encode("12345678901234567890");

// RFC 6238 Appendix B, SHA-1 column.
const VECTORS: [number, string][] = [
	[59, "94287082"],
	[1111111109, "07081804"],
	[1111111111, "14050471"],
	[1234567890, "89005924"],
	[2000000000, "69279037"],
	[20000000000, "65353130"],
];

describe("TOTP codes", () => {
	it.each(VECTORS)("gives the RFC 6238 code at %i s: %s", (t, expected) => {
		expect(codeAt(RFC_SECRET, stepAt(t * 1000), 8)).toBe(expected);
	});

	it.each(VECTORS)("gives the last 6 digits as the 6-digit code at %i s", (t, expected) => {
		expect(codeAt(RFC_SECRET, stepAt(t * 1000))).toBe(expected.slice(-6));
	});

	it("uses 30-second steps", () => {
		expect(PERIOD_SECONDS).toBe(30);
		expect(stepAt(0)).toBe(0);
		expect(stepAt(29_999)).toBe(0);
		expect(stepAt(30_000)).toBe(1);
		expect(stepAt(1111111109_000)).toBe(37037036);
	});

	it("makes 20-byte base32 secrets, different each time", () => {
		const a = newSecret();
		const b = newSecret();
		expect(a).toMatch(/^[A-Z2-7]{32}$/); // 160 bits
		expect(a).not.toBe(b);
	});
});

describe("matchStep", () => {
	const secret = newSecret();
	const t = 1_700_000_015_000; // the middle of a step
	const step = stepAt(t);
	const code = (s: number) => codeAt(secret, s);

	it("accepts the current step's code and tells its step", () => {
		expect(matchStep(secret, code(step), t)).toBe(step);
	});

	it("accepts the previous step's code", () => {
		expect(matchStep(secret, code(step - 1), t)).toBe(step - 1);
	});

	it("refuses a code from two steps ago", () => {
		expect(matchStep(secret, code(step - 2), t)).toBeNull();
	});

	it("refuses the next step's code", () => {
		expect(matchStep(secret, code(step + 1), t)).toBeNull();
	});

	it("refuses a code of a step at or before the last one used", () => {
		expect(matchStep(secret, code(step), t, step)).toBeNull();
		expect(matchStep(secret, code(step - 1), t, step - 1)).toBeNull();
		expect(matchStep(secret, code(step - 1), t, step)).toBeNull();
		// …but a later step is still fine
		expect(matchStep(secret, code(step), t, step - 1)).toBe(step);
	});

	it("refuses anything but exactly 6 digits", () => {
		const c = code(step);
		for (const bad of ["", "12345", "1234567", ` ${c}`, `${c} `, `${c.slice(0, 3)} ${c.slice(3)}`, "abcdef", "12345a", `${c}0`, codeAt(secret, step, 8)]) {
			expect(matchStep(secret, bad, t)).toBeNull();
		}
	});

	it("refuses the code of another secret", () => {
		expect(matchStep(newSecret(), code(step), t)).toBeNull();
	});
});

describe("codes from oathtool (an independent implementation)", () => {
	const probe = spawnSync("oathtool", ["--version"], { encoding: "utf8" });
	const has = !probe.error && probe.status === 0;
	if (!has) console.warn(`oathtool is not available (${probe.error?.message ?? `exit ${probe.status}`}): install the Debian package oathtool to run this test`);

	(has ? it : it.skip)("are accepted by matchStep for a generated secret", () => {
		const secret = newSecret();
		const oath = (args: string[]) => {
			const r = spawnSync("oathtool", ["--totp", "-b", ...args, secret], { encoding: "utf8" });
			expect(r.status).toBe(0);
			return r.stdout.trim();
		};
		for (const seconds of [59, 1_111_111_109, 1_234_567_890, 1_700_000_000, 2_000_000_000]) {
			const c = oath(["-N", `@${seconds}`]);
			expect(c).toMatch(/^\d{6}$/);
			expect(matchStep(secret, c, seconds * 1000)).toBe(stepAt(seconds * 1000));
			expect(matchStep(secret, c, seconds * 1000 + PERIOD_SECONDS * 1000)).toBe(stepAt(seconds * 1000)); // one step later
			expect(matchStep(secret, c, seconds * 1000 + 2 * PERIOD_SECONDS * 1000)).toBeNull(); // two steps later
		}
		// and right now (the step may turn between the two calls: then the code is the previous step's)
		const c = oath([]);
		expect(matchStep(secret, c, Date.now())).not.toBeNull();
	});
});
