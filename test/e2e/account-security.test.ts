// Account security over HTTP (issue "Authentication and account security"): brute-force lockout
// (REG-5), sessions (REG-6), password policy, expiry, change and reset (PWD-1…4), and groups that
// require 2FA (TFA-6). Client IPs come from X-Forwarded-For through a trusted proxy (TRUST_PROXY).
import * as passwordHash from "../../lib/password-hash";
import { nowMs } from "../../lib/clock";
import { waitUntil, type Reply } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "root@example.com", password: "Security-adm1n-pass!" };
const DAY = 86_400_000;

describe("account security", () => {
	let p: Platform;
	const replies: Reply[] = [];
	const from = (ip: string) => ({ headers: { "x-forwarded-for": ip } });

	async function post(path: string, body: unknown, opts: { token?: string; ip?: string } = {}) {
		const r = await p.http.post(path, body, { token: opts.token, ...(opts.ip ? from(opts.ip) : {}) });
		replies.push(r);
		return r;
	}
	async function get(path: string, token: string) {
		const r = await p.http.get(path, { token });
		replies.push(r);
		return r;
	}

	async function outbox(to: string): Promise<{ template: string; subject: string; links: string[]; text: string }[]> {
		return ((await p.broker.call("notifications.adminOutbox", { to, pageSize: 100 })) as { rows: never[] }).rows;
	}

	const createUser = (email: string, password: string) => createAccount(p, email, password);

	async function signIn(email: string, password: string, ip = "203.0.113.1") {
		const r = await post("/auth/signin", { email, password }, { ip });
		expect(r.status).toBe(200);
		return r.body.session as string;
	}

	const setClock = (ms: number) => p.broker.call("clock.set", { now: new Date(ms).toISOString() });
	/** Moves the platform clock forward from where it is (earlier tests moved it too). */
	const advance = (ms: number) => setClock(nowMs() + ms);

	beforeAll(async () => {
		p = await startPlatform({
			env: { QM_TEST_CLOCK: "1", TRUST_PROXY: "127.0.0.1,::1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password },
			captureLogs: true,
		});
		await waitUntil(async () => (await p.http.post("/auth/signin", ADMIN)).status === 200);
	});
	afterAll(() => p?.stop());

	describe("brute-force lockout (REG-5)", () => {
		const VICTIM = { email: "victim@example.com", password: "Hunter2-passw0rd!" };
		beforeAll(() => createUser(VICTIM.email, VICTIM.password));

		it("compares at most 5 passwords for 200 parallel wrong sign-ins from one IP, while 20 correct ones from other IPs succeed", async () => {
			const compare = jest.spyOn(passwordHash, "verifyPassword");
			try {
				const call = (password: string, ip: string) =>
					p.broker.call("auth.signin", { email: VICTIM.email, password }, { meta: { ip } }).then(
						() => 200,
						(err: { code: number; type: string }) => `${err.code} ${err.type}`,
					);
				const [wrong, right] = await Promise.all([
					Promise.all(Array.from({ length: 200 }, () => call("Wrong-passw0rd!", "198.51.100.7"))),
					Promise.all(Array.from({ length: 20 }, (_, i) => call(VICTIM.password, `192.0.2.${i + 1}`))),
				]);
				const wrongComparisons = compare.mock.calls.filter(([pw]) => pw === "Wrong-passw0rd!").length;
				expect(wrongComparisons).toBeLessThanOrEqual(5);
				expect(wrong.filter(r => r === "401 INVALID_CREDENTIALS").length).toBe(wrongComparisons);
				expect(wrong.filter(r => r === "429 TOO_MANY_ATTEMPTS").length).toBe(200 - wrongComparisons);
				expect(right).toEqual(Array(20).fill(200));
			} finally {
				compare.mockRestore();
			}
		});

		it("locks the pair for 15 minutes with Retry-After, even for the right password, and only that pair", async () => {
			const locked = await post("/auth/signin", VICTIM, { ip: "198.51.100.7" });
			expect(locked.status).toBe(429);
			expect(locked.body.type).toBe("TOO_MANY_ATTEMPTS");
			const retry = Number(locked.headers.get("retry-after"));
			expect(retry).toBeGreaterThan(14 * 60);
			expect(retry).toBeLessThanOrEqual(15 * 60);
			expect((await post("/auth/signin", VICTIM, { ip: "198.51.100.8" })).status).toBe(200);

			const admin = await signIn(ADMIN.email, ADMIN.password);
			const listed = await get(`/admin/signin-attempts?email=${VICTIM.email}`, admin);
			expect(listed.body).toContainEqual(expect.objectContaining({ kind: "password", ip: "198.51.100.7", failures: 5, locked: true }));

			await advance(16 * 60_000);
			expect((await post("/auth/signin", VICTIM, { ip: "198.51.100.7" })).status).toBe(200);
		});

		it("counts and locks unknown emails the same way, with the same answers", async () => {
			const answers: Reply[] = [];
			for (let i = 0; i < 6; i++) answers.push(await post("/auth/signin", { email: "ghost@example.com", password: "Wrong-passw0rd!" }, { ip: "198.51.100.9" }));
			const known: Reply[] = [];
			for (let i = 0; i < 6; i++) known.push(await post("/auth/signin", { email: VICTIM.email, password: "Wrong-passw0rd!" }, { ip: "198.51.100.9" }));
			expect(answers.map(r => r.status)).toEqual([401, 401, 401, 401, 401, 429]);
			expect(known.map(r => r.status)).toEqual(answers.map(r => r.status));
			expect(known.map(r => r.body)).toEqual(answers.map(r => ({ ...r.body, data: r.body.data && { retryAfter: expect.any(Number) } })));
		});

		it("lets an admin lift a lockout", async () => {
			const admin = await signIn(ADMIN.email, ADMIN.password);
			const reset = await p.http.del(`/admin/signin-attempts?email=${VICTIM.email}&ip=198.51.100.9`, { token: admin });
			expect(reset.status).toBe(200);
			expect(reset.body.reset).toBe(1);
			expect((await post("/auth/signin", VICTIM, { ip: "198.51.100.9" })).status).toBe(200);
			const forbidden = await p.http.del(`/admin/signin-attempts?email=${VICTIM.email}`, { token: await signIn(VICTIM.email, VICTIM.password) });
			expect(forbidden.status).toBe(403);
		});

		it("caps failures per account at 100 an hour, from any IPs", async () => {
			const CAPPED = { email: "capped@example.com", password: "Ceiling-passw0rd!" };
			await createUser(CAPPED.email, CAPPED.password);
			const results: string[] = [];
			for (let i = 0; i < 101; i++) {
				results.push(
					await p.broker.call("auth.signin", { email: CAPPED.email, password: "Nope-passw0rd!" }, { meta: { ip: `10.9.${Math.floor(i / 4)}.${i % 4}` } }).then(
						() => "200",
						(e: { type: string }) => e.type,
					),
				);
			}
			expect(results.slice(0, 100).every(r => r === "INVALID_CREDENTIALS")).toBe(true);
			expect(results[100]).toBe("TOO_MANY_ATTEMPTS");
			// Even the right password, from a fresh IP, waits for the hour to pass.
			expect((await post("/auth/signin", CAPPED, { ip: "10.99.0.1" })).status).toBe(429);
			await advance(2 * 3_600_000);
			expect((await post("/auth/signin", CAPPED, { ip: "10.99.0.1" })).status).toBe(200);
		});
	});

	describe("sessions (REG-6)", () => {
		const U = { email: "many-devices@example.com", password: "Devices-passw0rd!" };
		beforeAll(() => createUser(U.email, U.password));

		it("lists my sessions with IP and user agent, ends one, ends all others", async () => {
			const a = await signIn(U.email, U.password, "192.0.2.10");
			const b = await signIn(U.email, U.password, "192.0.2.11");
			const c = await signIn(U.email, U.password, "192.0.2.12");
			const list = await get("/auth/sessions", a);
			expect(list.status).toBe(200);
			expect(list.body).toHaveLength(3);
			expect(list.body.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
			expect(list.body.map((s: { ip: string }) => s.ip).sort()).toEqual(["192.0.2.10", "192.0.2.11", "192.0.2.12"]);
			expect(JSON.stringify(list.body)).not.toMatch(/qm_ses_|tokenDigest/);

			const idOfB = list.body.find((s: { ip: string }) => s.ip === "192.0.2.11").id;
			expect((await p.http.del(`/auth/sessions/${idOfB}`, { token: a })).status).toBe(204);
			expect((await get("/account", b)).status).toBe(401);

			const others = await post("/auth/sessions/revoke-others", {}, { token: a });
			expect(others.body).toEqual({ revoked: 1 });
			expect((await get("/account", c)).status).toBe(401);
			expect((await get("/account", a)).status).toBe(200);
		});

		it("does not let another account end my session (404)", async () => {
			const mine = await signIn(U.email, U.password);
			const myId = (await get("/auth/sessions", mine)).body.find((s: { current: boolean }) => s.current).id;
			const other = await signIn(ADMIN.email, ADMIN.password);
			expect((await p.http.del(`/auth/sessions/${myId}`, { token: other })).status).toBe(404);
			expect((await get("/account", mine)).status).toBe(200);
		});

		it("ends every session of an account that is suspended", async () => {
			const s = await signIn(U.email, U.password);
			const id = (await get("/account", s)).body.id;
			const admin = await signIn(ADMIN.email, ADMIN.password);
			expect((await post(`/admin/accounts/${id}/status`, { status: "suspended", reason: "terms violation" }, { token: admin })).status).toBe(200);
			await waitUntil(async () => (await p.http.get("/account", { token: s })).status === 401, 1000);
		});
	});

	describe("passwords (PWD-1…4)", () => {
		const U = { email: "careful@example.com", password: "First-passw0rd!" };
		beforeAll(() => createUser(U.email, U.password));

		it("changes the password with the current one, refuses reuse, and can end the other sessions", async () => {
			const keep = await signIn(U.email, U.password);
			const other = await signIn(U.email, U.password);
			const wrong = await post("/auth/password/change", { currentPassword: "Not-it-passw0rd!", newPassword: "Second-passw0rd!" }, { token: keep });
			expect(wrong.status).toBe(403);
			expect(wrong.body.type).toBe("PASSWORD_REQUIRED");
			const same = await post("/auth/password/change", { currentPassword: U.password, newPassword: U.password }, { token: keep });
			expect(same.status).toBe(422);
			expect(same.body.data.violations).toEqual(["notReused"]);
			const weak = await post("/auth/password/change", { currentPassword: U.password, newPassword: "weak" }, { token: keep });
			expect(weak.body.type).toBe("PASSWORD_POLICY");

			const ok = await post(
				"/auth/password/change",
				{ currentPassword: U.password, newPassword: "Second-passw0rd!", invalidateSessions: true },
				{ token: keep },
			);
			expect(ok.status).toBe(204);
			expect((await get("/account", keep)).status).toBe(200);
			expect((await get("/account", other)).status).toBe(401);
			expect((await outbox(U.email)).map(m => m.subject)).toContain("Your password was changed");

			// No earlier password comes back, however far back.
			const back = await post("/auth/password/change", { currentPassword: "Second-passw0rd!", newPassword: U.password }, { token: keep });
			expect(back.body.data.violations).toEqual(["notReused"]);
			expect((await post("/auth/password/change", { currentPassword: "Second-passw0rd!", newPassword: U.password + "x" }, { token: keep })).status).toBe(204);
			U.password = U.password + "x";
		});

		it("answers a reset request for known and unknown addresses alike; the link works once, for 30 minutes", async () => {
			const known = await post("/auth/password/reset", { email: U.email });
			const unknown = await post("/auth/password/reset", { email: "nobody@example.com" });
			expect(known.status).toBe(202);
			expect([unknown.status, unknown.body]).toEqual([known.status, known.body]);
			expect(await outbox("nobody@example.com")).toEqual([]);

			const mail = (await outbox(U.email)).find(m => m.template === "password-reset")!;
			const token = new URL(mail.links[0]).searchParams.get("token");
			const session = await signIn(U.email, U.password);
			const weak = await post("/auth/password/reset/confirm", { token, newPassword: "weak" });
			expect(weak.body.type).toBe("PASSWORD_POLICY"); // and the link still works:
			expect((await post("/auth/password/reset/confirm", { token, newPassword: "Reset-passw0rd!", invalidateSessions: true })).status).toBe(204);
			expect((await get("/account", session)).status).toBe(401);
			expect((await post("/auth/password/reset/confirm", { token, newPassword: "Again-passw0rd!" })).body.type).toBe("LINK_INVALID");
			await signIn(U.email, "Reset-passw0rd!");
			U.password = "Reset-passw0rd!";

			// A second link, used too late.
			await advance(2 * 60_000); // past the per-address limit of one a minute
			expect((await post("/auth/password/reset", { email: U.email })).status).toBe(202);
			const later = (await outbox(U.email)).filter(m => m.template === "password-reset")[0];
			const lateToken = new URL(later.links[0]).searchParams.get("token");
			expect(lateToken).not.toBe(token);
			await advance(31 * 60_000);
			expect((await post("/auth/password/reset/confirm", { token: lateToken, newPassword: "Late-passw0rd!1" })).body.type).toBe("LINK_INVALID");
		});

		it("answers PASSWORD_EXPIRED after 180 days, with a change token that leads back in; the old password is refused", async () => {
			const X = { email: "expired@example.com", password: "Stale-passw0rd!1" };
			const t0 = nowMs() + 300 * DAY;
			await setClock(t0);
			await createUser(X.email, X.password);
			await setClock(t0 + 181 * DAY);
			const expired = await post("/auth/signin", X);
			expect(expired.status).toBe(403);
			expect(expired.body.type).toBe("PASSWORD_EXPIRED");
			const { changeToken } = expired.body.data;
			expect(changeToken).toEqual(expect.any(String));

			const reuse = await post("/auth/password/expired", { changeToken, newPassword: X.password });
			expect(reuse.status).toBe(422);
			expect(reuse.body.data.violations).toEqual(["notReused"]);
			const renewed = await post("/auth/password/expired", { changeToken, newPassword: "Renewed-passw0rd!" });
			expect(renewed.status).toBe(200);
			expect((await get("/account", renewed.body.session)).body.email).toBe(X.email);
			expect((await post("/auth/password/expired", { changeToken, newPassword: "Third-passw0rd!!" })).body.type).toBe("LINK_INVALID");
			expect((await post("/auth/signin", X)).status).toBe(401);
			await signIn(X.email, "Renewed-passw0rd!");
		});
	});

	describe("groups that require 2FA (TFA-6)", () => {
		it("gives a session that can only set up 2FA until it is on", async () => {
			const R = { email: "strict@example.com", password: "Rules-passw0rd!1" };
			await createUser(R.email, R.password);
			await p.broker.call("accounts.setGroupSettings", { group: "trial", settings: { "2fa.required": 1 } });
			try {
				const r = await post("/auth/signin", R);
				expect(r.body.twoFactorSetupRequired).toBe(true);
				const s = r.body.session;
				expect((await get("/account", s)).status).toBe(200);
				const blocked = await get("/account/notifications", s);
				expect(blocked.status).toBe(403);
				expect(blocked.body.data.reason).toBe("2FA_SETUP_REQUIRED");
				const setup = await post("/auth/2fa/setup", { password: R.password }, { token: s });
				expect(setup.status).toBe(200);
				const { codeAt, stepAt } = await import("../../services/auth/totp");
				const { nowMs } = await import("../../lib/clock");
				expect((await post("/auth/2fa/enable", { code: codeAt(setup.body.secret, stepAt(nowMs())) }, { token: s })).status).toBe(200);
				expect((await get("/account/notifications", s)).status).toBe(200);
			} finally {
				await p.broker.call("accounts.setGroupSettings", { group: "trial", settings: { "2fa.required": 0 } });
			}
		});
	});

	it("never puts a password or a hash in a response or a log line", () => {
		expect(replies.length).toBeGreaterThan(50); // it runs last, after the others
		const everything = [...replies.map(r => r.text), ...p.logs].join("\n");
		for (const s of ["Hunter2-passw0rd!", "First-passw0rd!", "Second-passw0rd!", "Reset-passw0rd!", "Renewed-passw0rd!", ADMIN.password])
			expect(everything).not.toContain(s);
		expect(everything).not.toMatch(/\$2[aby]\$\d\d\$/);
	});
});
