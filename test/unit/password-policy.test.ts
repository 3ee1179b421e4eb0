/**
 * PWD-1: the password policy. Each refusal names exactly the broken rules (the client shows them
 * all at once), lengths are counted in characters (code points), not UTF-16 units.
 */
import { DEFAULT_POLICY, policyViolations } from "../../services/auth/password-policy";

const EMAIL = "alice@example.com";
const COMPLIANT = "Correct-Horse7";

// A compliant password of exactly `n` characters, padded with a character of the given kind.
const ofLength = (n: number, pad = "x") => "Aa1!" + pad.repeat(n - 4);

describe("policyViolations", () => {
	test("a compliant password has no violation", () => {
		expect(policyViolations(COMPLIANT, { email: EMAIL })).toEqual([]);
	});

	test.each([
		["minLength", "Ab1!efghi"], // 9 characters
		["maxLength", ofLength(257)],
		["digit", "Correct-Horse"],
		["lowercase", "CORRECT-HORSE7"],
		["uppercase", "correct-horse7"],
		["special", "CorrectHorse7"],
		["notEmail", "Alice-Horse7"], // contains the email's local part, case-insensitively
	])("breaking only %s yields exactly that rule", (rule, password) => {
		expect(policyViolations(password, { email: EMAIL })).toEqual([rule]);
	});

	test("several broken rules are all named, in the documented order", () => {
		expect(policyViolations("alice", { email: EMAIL })).toEqual(["minLength", "digit", "uppercase", "special", "notEmail"]);
		expect(policyViolations("", {})).toEqual(["minLength", "digit", "lowercase", "uppercase", "special"]);
	});

	test.each([
		[10, []],
		[9, ["minLength"]],
		[256, []],
		[257, ["maxLength"]],
	])("length %i → %j", (n, expected) => {
		expect(policyViolations(ofLength(n as number), {})).toEqual(expected);
	});

	test.each([
		// 256 emoji-padded characters are 508 UTF-16 units: still accepted
		["256 characters of astral-plane emoji", ofLength(256, "😀"), []],
		["257 characters of astral-plane emoji", ofLength(257, "😀"), ["maxLength"]],
		// 9 characters but 14 UTF-16 units: still too short
		["9 characters of which 5 are emoji", ofLength(9, "😀"), ["minLength"]],
		["accented letters count as lower- and uppercase", "Éléphant-42", []],
		["Greek letters count as lower- and uppercase", "Σοφία-2024!", []],
		["an emoji counts as a special character", "CorrectHorse7😀", []],
		["a space counts as a special character", "Correct Horse 7", []],
		["non-ASCII decimal digits count as digits", "Correct-Horse٧", []],
		["a caseless script has neither lower- nor uppercase", "密码密码密码密码1!", ["lowercase", "uppercase"]],
	])("%s", (_name, password, expected) => {
		expect(policyViolations(password as string, { email: EMAIL })).toEqual(expected);
	});

	describe("notEmail", () => {
		test.each([
			["the password is the email itself, whatever the case", "Jo9@Example.com", "jo9@example.com", ["notEmail"]],
			["the local part (≥ 4 characters) inside the password", "My-Bob.Smith-7", "bob.smith@example.com", ["notEmail"]],
			["the local part in another case", "xxBOBBY-42a", "Bobby@example.com", ["notEmail"]],
			["a local part of 3 characters is not looked for", "Bob-Horse-7", "bob@example.com", []],
			["a local part of exactly 4 characters is looked for", "Bobs-Horse-7", "bobs@example.com", ["notEmail"]],
			["the domain alone is allowed", "Example.com-7", "alice@example.com", []],
		])("%s", (_name, password, email, expected) => {
			expect(policyViolations(password as string, { email: email as string })).toEqual(expected);
		});

		test("without a known email the rule is not checked", () => {
			expect(policyViolations("Alice-Horse7", {})).toEqual([]);
			expect(policyViolations("Alice-Horse7", { email: "" })).toEqual([]);
		});
	});

	test("a policy with a rule switched off does not report it", () => {
		expect(policyViolations("CorrectHorse7", {}, { ...DEFAULT_POLICY, special: false })).toEqual([]);
		expect(policyViolations("Ab1!e", {}, { ...DEFAULT_POLICY, minLength: 5 })).toEqual([]);
		expect(policyViolations("Alice-Horse7", { email: EMAIL }, { ...DEFAULT_POLICY, notEmail: false })).toEqual([]);
	});
});
