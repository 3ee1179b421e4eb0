/**
 * PWD-1, PWD-2: the pure parts of credentials — the group's policy, when a password expires (0 days:
 * never), which heads-up notice is due (14/7/3/1 days before, each once: keyed by the change it
 * warns about), and what GET /account shows.
 */
import { DEFAULT_GROUP_SETTINGS, type GroupSettings } from "../../lib/group-settings";
import { credentialFacts, expiryReminder, passwordExpiresAt, policyFor, type CredentialDoc } from "../../services/auth/credentials";
import { DEFAULT_POLICY } from "../../services/auth/password-policy";

const DAY = 86_400_000;
const CHANGED = new Date("2026-01-01T00:00:00Z");
const cred: CredentialDoc = { _id: "c1", accountId: "acc-1", passwordHash: "h", passwordChangedAt: CHANGED, previousHashes: [] };
const settings = (over: Partial<GroupSettings> = {}): GroupSettings => ({ ...DEFAULT_GROUP_SETTINGS, ...over });

describe("policyFor", () => {
	test.each([
		["no group: the default policy", undefined, DEFAULT_POLICY.minLength],
		["the group's minimum length", settings({ "password.min.length": 14 }), 14],
	])("%s", (_, s, minLength) => {
		expect(policyFor(s)).toEqual({ ...DEFAULT_POLICY, minLength });
	});
});

describe("passwordExpiresAt", () => {
	test.each([
		[180, new Date(CHANGED.getTime() + 180 * DAY)],
		[1, new Date(CHANGED.getTime() + DAY)],
		[0, null], // PWD-2: 0 = off
		[undefined, null],
	])("%s days → %s", (days, expiresAt) => {
		expect(passwordExpiresAt(CHANGED, days)).toEqual(expiresAt);
	});
});

describe("expiryReminder", () => {
	const expires = CHANGED.getTime() + 180 * DAY;
	test.each([
		// days before expiry, notice due, days the email says
		[30, null, null],
		[14, 14, 14],
		[10, 14, 10], // a late run still sends the 14-day notice, with the days really left
		[7, 7, 7],
		[3, 3, 3],
		[1, 1, 1],
		[0.4, 1, 1],
		[0, null, null], // expired: no heads-up any more
	])("%d days before: notice %s", (before, notice, daysLeft) => {
		const r = expiryReminder(cred, settings(), expires - before * DAY);
		if (notice === null) return expect(r).toBeNull();
		expect(r).toEqual({ expiresAt: new Date(expires), daysLeft, dedupKey: `password-expiry:acc-1:${CHANGED.toISOString()}:${notice}` });
	});

	test("no reminders when passwords never expire", () => {
		expect(expiryReminder(cred, settings({ "password.expiry.days": 0 }), CHANGED.getTime() + DAY)).toBeNull();
	});
});

describe("credentialFacts", () => {
	test.each([
		["no credentials", null, true, 180, { twoFactorEnabled: true, passwordChangedAt: null, passwordExpiresAt: null }],
		["expiring", cred, false, 180, { twoFactorEnabled: false, passwordChangedAt: CHANGED, passwordExpiresAt: new Date(CHANGED.getTime() + 180 * DAY) }],
		["never expiring", cred, false, 0, { twoFactorEnabled: false, passwordChangedAt: CHANGED, passwordExpiresAt: null }],
	] as const)("%s", (_, c, twoFactor, days, facts) => {
		expect(credentialFacts(c, twoFactor, days)).toEqual(facts);
	});
});
