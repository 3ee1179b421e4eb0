/**
 * REG-4, REG-6, TFA-6: when a session ends (the first of its idle and absolute expiry), when use
 * moves it out (at most once a minute), what the session list and a sign-in answer show.
 */
import { dueForTouch, endsAt, isLive, sessionView, signInAnswer, type SessionDoc } from "../../services/auth/sessions";

const at = (iso: string) => new Date(`2026-03-01T${iso}Z`);

describe("endsAt and isLive", () => {
	test.each([
		// idle expiry, absolute expiry, now, ends, live
		["14:00:00", "20:00:00", "13:00:00", "14:00:00", true],
		["14:00:00", "12:30:00", "12:00:00", "12:30:00", true], // the absolute expiry caps the idle one
		["14:00:00", "20:00:00", "14:00:00", "14:00:00", false], // ends at its expiry, not after
		["14:00:00", "12:30:00", "13:00:00", "12:30:00", false],
	])("idle %s, absolute %s, at %s: ends %s, live %s", (idle, absolute, now, ends, live) => {
		expect(endsAt(at(idle), at(absolute))).toEqual(at(ends));
		expect(isLive({ idleExpiresAt: at(idle), absoluteExpiresAt: at(absolute) }, at(now))).toBe(live);
	});
});

describe("dueForTouch", () => {
	test.each([
		["12:00:00", "12:00:00", false],
		["12:00:00", "12:00:59", false],
		["12:00:00", "12:01:00", true],
		["12:00:00", "13:00:00", true],
	])("last seen %s, used %s: %s", (lastSeen, now, due) => {
		expect(dueForTouch(at(lastSeen), at(now))).toBe(due);
	});
});

describe("sessionView", () => {
	const s: SessionDoc = {
		_id: "s1",
		accountId: "acc-1",
		tokenDigest: "d",
		createdAt: at("10:00:00"),
		lastSeenAt: at("11:00:00"),
		idleExpiresAt: at("13:00:00"),
		absoluteExpiresAt: at("23:00:00"),
		ip: "10.0.0.1",
		userAgent: "curl",
		scope: "full",
	};
	test.each([
		["s1", true],
		["s2", false],
		[undefined, false],
	])("caller's session %s: current %s", (currentId, current) => {
		// The digest and expiries are never shown.
		expect(sessionView(s, currentId)).toEqual({ id: "s1", createdAt: s.createdAt, lastSeenAt: s.lastSeenAt, ip: "10.0.0.1", userAgent: "curl", current });
	});
});

describe("signInAnswer", () => {
	const opened = { session: "qm_ses_x", expiresAt: at("14:00:00") };
	test.each([
		[false, { session: "qm_ses_x", expiresAt: at("14:00:00"), account: { id: "acc-1" } }],
		[true, { session: "qm_ses_x", expiresAt: at("14:00:00"), account: { id: "acc-1" }, twoFactorSetupRequired: true }], // TFA-6
	])("setup required %s", (setupRequired, answer) => {
		expect(signInAnswer(opened, { id: "acc-1" }, setupRequired)).toEqual(answer);
	});
});
