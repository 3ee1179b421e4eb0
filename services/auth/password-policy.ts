// PWD-1: the password policy as a pure function. Refusals name the broken rules so the client
// can show all of them at once (422 PASSWORD_POLICY, data.violations).

export interface PasswordPolicy {
	minLength: number;
	maxLength: number;
	digit: boolean;
	lowercase: boolean;
	uppercase: boolean;
	special: boolean;
	notEmail: boolean;
}

export const DEFAULT_POLICY: PasswordPolicy = {
	minLength: 10,
	maxLength: 256,
	digit: true,
	lowercase: true,
	uppercase: true,
	special: true,
	notEmail: true,
};

/** Rule names, in a stable order: minLength, maxLength, digit, lowercase, uppercase, special, notEmail. */
export function policyViolations(password: string, context: { email?: string }, policy: PasswordPolicy = DEFAULT_POLICY): string[] {
	const v: string[] = [];
	const length = [...password].length; // characters, not UTF-16 units
	if (length < policy.minLength) v.push("minLength");
	if (length > policy.maxLength) v.push("maxLength");
	if (policy.digit && !/\p{Nd}/u.test(password)) v.push("digit");
	if (policy.lowercase && !/\p{Ll}/u.test(password)) v.push("lowercase");
	if (policy.uppercase && !/\p{Lu}/u.test(password)) v.push("uppercase");
	if (policy.special && !/[^\p{L}\p{Nd}]/u.test(password)) v.push("special");
	if (policy.notEmail && context.email) {
		const email = context.email.toLowerCase();
		const local = email.split("@")[0];
		const p = password.toLowerCase();
		if (p === email || (local.length >= 4 && p.includes(local))) v.push("notEmail");
	}
	return v;
}
