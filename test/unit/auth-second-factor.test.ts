/**
 * TFA-2, TFA-4, TFA-5: recovery codes — 12 of `XXXXX-XXXXX` from an unambiguous alphabet, found
 * however they are typed, bound to their account — and the warning when few are left.
 */
import { generateRecoveryCode, normaliseRecoveryCode, RECOVERY_CODES, recoveryCodesLeft, recoveryDigest } from "../../services/auth/second-factor";

test("a set has 12 codes (TFA-2)", () => {
	expect(RECOVERY_CODES).toBe(12);
});

describe("generateRecoveryCode", () => {
	test("XXXXX-XXXXX without 0, 1, I or O, and never the same twice in a set", () => {
		const codes = Array.from({ length: 200 }, generateRecoveryCode);
		for (const code of codes) expect(code).toMatch(/^[A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5}$/);
		expect(new Set(codes).size).toBe(codes.length);
	});
});

describe("normaliseRecoveryCode and recoveryDigest", () => {
	test.each([
		["ABCDE-FGHJK", "ABCDEFGHJK"],
		["abcde-fghjk", "ABCDEFGHJK"],
		[" ABCDE FGHJK ", "ABCDEFGHJK"],
		["ab-cd-ef-gh-jk", "ABCDEFGHJK"],
		["ABCDE\tFGHJK", "ABCDEFGHJK"],
	])("%j is %s", (typed, normal) => {
		expect(normaliseRecoveryCode(typed)).toBe(normal);
		expect(recoveryDigest("acc-1", typed)).toBe(recoveryDigest("acc-1", "ABCDE-FGHJK"));
	});

	test("the same code of two accounts has two digests", () => {
		expect(recoveryDigest("acc-1", "ABCDE-FGHJK")).not.toBe(recoveryDigest("acc-2", "ABCDE-FGHJK"));
	});
});

describe("recoveryCodesLeft (TFA-4)", () => {
	test.each([
		[11, undefined],
		[4, undefined],
		[3, "Only 3 recovery codes left: generate new ones."],
		[1, "Only 1 recovery codes left: generate new ones."],
		[0, "Only 0 recovery codes left: generate new ones."],
	])("%d left: warning %s", (remaining, warning) => {
		expect(recoveryCodesLeft(remaining)).toEqual({ recoveryCodesRemaining: remaining, ...(warning ? { warning } : {}) });
	});
});
