// The first user journey over HTTP, as a client sees it (issue 2): sign up → activation email on a
// real SMTP server → activate → sign in → GET /account; plus the refusals around it.
import AccountsService from "../../services/accounts.service";
import { startMailServer, linkToken } from "../helpers/mail";
import { startPlatform, type Platform } from "../helpers/platform";
import { signInWhenReady, waitUntil, type Reply } from "../helpers/http";

const ADMIN = { email: "root@example.com", password: "Adm1n!password-for-tests" };
const PASSWORD = "Correct-horse-7-battery";

describe("sign-up, activation and sign-in over HTTP", () => {
	let mail: Awaited<ReturnType<typeof startMailServer>>;
	let p: Platform;
	const replies: (Reply & { path: string })[] = [];
	const secrets: string[] = [PASSWORD, ADMIN.password];

	// Every reply of this suite is kept, to check none carries a secret.
	const http = () => {
		const wrap =
			<A extends unknown[]>(fn: (...a: A) => Promise<Reply>, pathAt: number) =>
			async (...a: A) => {
				const r = await fn(...a);
				replies.push({ ...r, path: String(a[pathAt]) });
				return r;
			};
		return { get: wrap(p.http.get, 0), post: wrap(p.http.post, 0), patch: wrap(p.http.patch, 0), call: wrap(p.http.call, 1) };
	};

	// A fresh admin session each time: moving the clock by a day ends older ones (absolute timeout).
	const adminToken = () => signIn(ADMIN.email, ADMIN.password);

	async function setClock(iso: string) {
		const r = await http().post("/admin/clock", { now: iso }, { token: await adminToken() });
		expect(r.status).toBe(200);
	}

	async function signUpAndActivate(email: string, password = PASSWORD) {
		expect((await http().post("/auth/signup", { email, acceptTerms: true, name: "Ada" })).status).toBe(202);
		const token = linkToken(await mail.waitFor(email, /Activate/), "/activate");
		secrets.push(token);
		const r = await http().post("/auth/activate", { token, password });
		expect(r.status).toBe(200);
		return r.body.account;
	}

	async function signIn(email: string, password = PASSWORD): Promise<string> {
		const r = await http().post("/auth/signin", { email, password });
		expect(r.status).toBe(200);
		secrets.push(r.body.session);
		return r.body.session;
	}

	beforeAll(async () => {
		mail = await startMailServer();
		p = await startPlatform({
			env: {
				SMTP_URL: mail.url,
				QM_TEST_CLOCK: "1",
				QM_ADMIN_EMAIL: ADMIN.email,
				QM_ADMIN_PASSWORD: ADMIN.password,
				PUBLIC_URL: "https://console.example.test",
				LOG_LEVEL: "debug",
			},
			captureLogs: true,
		});
		await waitUntil(async () => (await p.http.post("/auth/signin", ADMIN)).status === 200); // bootstrap admin is in
	});

	afterAll(async () => {
		await p?.stop();
		await mail?.close();
	});

	it("signs up, activates from the emailed link, signs in and shows a trial account", async () => {
		const email = "Ada.Lovelace@Example.com";
		const signup = await http().post("/auth/signup", { email, acceptTerms: true, name: "Ada" });
		expect(signup.status).toBe(202);

		const activation = await mail.waitFor("ada.lovelace@example.com", /Activate/);
		expect(activation.text).toContain("https://console.example.test/activate?token=");
		const token = linkToken(activation, "/activate");
		secrets.push(token);
		expect(token.length).toBeGreaterThanOrEqual(22); // ≥128 bits

		const activated = await http().post("/auth/activate", { token, password: PASSWORD });
		expect(activated.status).toBe(200);
		expect(activated.body.account).toMatchObject({ email: "ada.lovelace@example.com", status: "active", type: "trial", group: "trial", name: "Ada" });
		await mail.waitFor("ada.lovelace@example.com", /ready/);

		const session = await signIn("ada.lovelace@example.com");
		expect(session).toMatch(/^qm_ses_[A-Za-z0-9_-]{43}$/);
		const me = await http().get("/account", { token: session });
		expect(me.status).toBe(200);
		expect(me.body).toMatchObject({
			email: "ada.lovelace@example.com",
			type: "trial",
			status: "active",
			group: "trial",
			role: "user",
			twoFactorEnabled: false,
		});
		const trialEnds = (new Date(me.body.trialEndsAt).getTime() - new Date(activated.body.account.createdAt).getTime()) / 86_400_000;
		expect(Math.round(trialEnds)).toBe(14); // account.trialperiod of the trial group
		expect(me.body.balance).toEqual({ main: "0.00", bonus: "10.00", currency: "USD" }); // the trial bonus
		const expires = new Date(me.body.passwordExpiresAt).getTime() - Date.now();
		expect(Math.round(expires / 86_400_000)).toBe(180);

		// The link works once.
		const again = await http().post("/auth/activate", { token, password: PASSWORD });
		expect(again.status).toBe(422);
		expect(again.body.type).toBe("LINK_INVALID");
	});

	it("answers a known email exactly like an unknown one, and emails the owner instead", async () => {
		await signUpAndActivate("known@example.com");
		await setClock(new Date(Date.now() + 2 * 60_000).toISOString()); // past the 1-per-minute limit

		const known = await http().post("/auth/signup", { email: "known@example.com", acceptTerms: true });
		const unknown = await http().post("/auth/signup", { email: "nobody-yet@example.com", acceptTerms: true });
		expect(known.status).toBe(202);
		expect(known.status).toBe(unknown.status);
		expect(known.body).toEqual(unknown.body);

		const notice = await mail.waitFor("known@example.com", /already have an account/);
		expect(notice.text).toContain("https://console.example.test/signin");
		expect(mail.messages.filter(m => m.to === "known@example.com" && /Activate/.test(m.subject))).toHaveLength(1);
		await mail.waitFor("nobody-yet@example.com", /Activate/);
	});

	it("keeps the link when the password breaks the policy, and refuses it after 24 hours", async () => {
		const email = "slow@example.com";
		expect((await http().post("/auth/signup", { email, acceptTerms: true })).status).toBe(202);
		const token = linkToken(await mail.waitFor(email, /Activate/), "/activate");

		const weak = await http().post("/auth/activate", { token, password: "short" });
		expect(weak.status).toBe(422);
		expect(weak.body.type).toBe("PASSWORD_POLICY");
		expect(weak.body.data.violations).toEqual(expect.arrayContaining(["minLength", "digit", "uppercase", "special"]));

		const notEmail = await http().post("/auth/activate", { token, password: "Slow@example.com1" });
		expect(notEmail.body.data.violations).toEqual(["notEmail"]);

		await setClock(new Date(Date.now() + 25 * 3_600_000).toISOString());
		const late = await http().post("/auth/activate", { token, password: PASSWORD });
		expect(late.status).toBe(422);
		expect(late.body.type).toBe("LINK_INVALID");
		expect((await http().post("/auth/signin", { email, password: PASSWORD })).status).toBe(401);
	});

	it("limits sign-up emails per address: the second within a minute gets 429 with Retry-After", async () => {
		expect((await http().post("/auth/signup", { email: "eager@example.com", acceptTerms: true })).status).toBe(202);
		const second = await http().post("/auth/signup", { email: "EAGER@example.com", acceptTerms: true });
		expect(second.status).toBe(429);
		expect(second.body.type).toBe("RATE_LIMITED");
		expect(Number(second.headers.get("retry-after"))).toBeGreaterThan(0);
		expect(Number(second.headers.get("retry-after"))).toBeLessThanOrEqual(60);
		await mail.waitFor("eager@example.com", /Activate/);
		expect(mail.messages.filter(m => m.to === "eager@example.com")).toHaveLength(1);
	});

	it("refuses malformed JSON with 400 and unknown or forbidden fields with 422 naming each", async () => {
		const malformed = await http().call("POST", "/auth/signup", { raw: '{"email": "x@example.com",' });
		expect(malformed.status).toBe(400);
		expect(malformed.body.type).toBe("BAD_REQUEST");

		const notObject = await http().call("POST", "/auth/signup", { raw: "[1,2]" });
		expect(notObject.status).toBe(400);

		const session = await signIn("ada.lovelace@example.com");
		const forbidden = await http().patch("/account", { name: "Eve", status: "active", role: "admin", group: "billing" }, { token: session });
		expect(forbidden.status).toBe(422);
		expect(forbidden.body.type).toBe("VALIDATION_ERROR");
		expect(forbidden.body.data.map((e: { field: string }) => e.field).sort()).toEqual(["group", "role", "status"]);
		const me = await http().get("/account", { token: session });
		expect(me.body).toMatchObject({ name: "Ada", role: "user", group: "trial" }); // nothing half-written

		const extra = await http().post("/auth/signup", { email: "extra@example.com", acceptTerms: true, plan: "gold" });
		expect(extra.status).toBe(422);
		expect(extra.body.data).toEqual([{ field: "plan", message: expect.any(String) }]);

		const noTerms = await http().post("/auth/signup", { email: "terms@example.com" });
		expect(noTerms.status).toBe(422);
		expect(noTerms.body.data[0].field).toBe("acceptTerms");

		const badEmail = await http().post("/auth/signup", { email: "not-an-email", acceptTerms: true });
		expect(badEmail.status).toBe(422);
		expect(badEmail.body.data[0].field).toBe("email");

		const badPhone = await http().patch("/account", { phone: "call me" }, { token: session });
		expect(badPhone.status).toBe(422);
		expect(badPhone.body.data[0]).toEqual({ field: "phone", message: expect.stringMatching(/phone number/) });

		await new Promise(r => setTimeout(r, 200));
		expect(mail.messages.filter(m => /extra@|terms@/.test(m.to))).toHaveLength(0);
	});

	it("changes the name and phone with PATCH /account", async () => {
		const session = await signIn("ada.lovelace@example.com");
		const r = await http().patch("/account", { name: "Ada King", phone: "+44 20 7946 0000" }, { token: session });
		expect(r.status).toBe(200);
		expect(r.body).toMatchObject({ name: "Ada King", phone: "+44 20 7946 0000" });
		expect((await http().get("/account", { token: session })).body.name).toBe("Ada King");
	});

	it("needs credentials, admin role for admin routes, and ends a session at sign-out", async () => {
		expect((await http().get("/account")).status).toBe(401);
		expect((await http().get("/account", { token: "qm_ses_made-up" })).body.type).toBe("UNAUTHORIZED");
		expect((await http().get("/account", { headers: { authorization: "Basic abc" } })).status).toBe(401);

		const session = await signIn("ada.lovelace@example.com");
		expect((await http().get(`/account?session=${session}`)).status).toBe(200);
		const denied = await http().get("/admin/accounts", { token: session });
		expect(denied.status).toBe(403);
		expect(denied.body.type).toBe("FORBIDDEN");

		const list = await http().get("/admin/accounts?search=lovelace", { token: await adminToken() });
		expect(list.status).toBe(200);
		expect(list.body).toMatchObject({ total: 1, page: 1, totalPages: 1 });
		expect(list.body.rows[0]).toMatchObject({ email: "ada.lovelace@example.com", status: "active" });
		expect(
			(await http().get("/admin/accounts?status=active&group=billing", { token: await adminToken() })).body.rows.map((a: { email: string }) => a.email),
		).toEqual([ADMIN.email]);

		const out = await http().post("/auth/signout", undefined, { token: session });
		expect(out.status).toBe(204);
		expect(out.text).toBe("");
		expect((await http().get("/account", { token: session })).status).toBe(401);
	});

	it("refuses a wrong password and an unknown email alike", async () => {
		const wrong = await http().post("/auth/signin", { email: "ada.lovelace@example.com", password: "Wrong-password-1" });
		const unknown = await http().post("/auth/signin", { email: "ghost@example.com", password: "Wrong-password-1" });
		expect(wrong.status).toBe(401);
		expect(wrong.body).toEqual(unknown.body);
		expect(wrong.body.type).toBe("INVALID_CREDENTIALS");
	});

	it("shows the welcome notice in the in-app feed and marks it read; other accounts cannot", async () => {
		const session = await signIn("ada.lovelace@example.com");
		const feed = await http().get("/account/notifications", { token: session });
		expect(feed.status).toBe(200);
		expect(feed.body.rows).toEqual([expect.objectContaining({ title: "Welcome!", read: false })]);
		const id = feed.body.rows[0].id;

		const other = await signIn("known@example.com");
		expect((await http().post(`/account/notifications/${id}/read`, undefined, { token: other })).status).toBe(404);
		expect((await http().post(`/account/notifications/${id}/read`, undefined, { token: session })).body.read).toBe(true);
		expect((await http().get("/account/notifications?unread=true", { token: session })).body.total).toBe(0);
	});

	it("lets admins read the outbox, with links, filtered by recipient", async () => {
		const r = await http().get("/admin/outbox?to=known@example.com", { token: await adminToken() });
		expect(r.status).toBe(200);
		expect(r.body.rows.map((m: { template: string }) => m.template).sort()).toEqual(["activation", "already-registered", "welcome"]);
		expect(r.body.rows.every((m: { status: string }) => m.status === "sent")).toBe(true);
		expect(r.body.rows.find((m: { template: string }) => m.template === "welcome").links).toEqual(["https://console.example.test/signin"]);
	});

	it("never puts a password, hash or token in a response or a log line", () => {
		expect(p.logs.length).toBeGreaterThan(10); // debug logging was on
		// A session token is in the answer to its sign-in and nowhere else; activation links are in the
		// admin outbox by design (API.md: "sent emails (subject, text, links)") and nowhere else.
		const everything = [...replies.filter(r => r.path !== "/auth/signin" && !r.path.startsWith("/admin/outbox")).map(r => r.text), ...p.logs].join("\n");
		expect(secrets.length).toBeGreaterThan(10);
		for (const s of secrets) expect(everything).not.toContain(s);
		expect(everything).not.toMatch(/\$2[aby]\$\d\d\$/); // bcrypt hashes
		expect(everything).not.toMatch(/tokenDigest|passwordHash/);
	});
});

describe("an unexpected failure inside a service", () => {
	let p: Platform;
	beforeAll(async () => {
		const broken = {
			...AccountsService,
			actions: {
				...AccountsService.actions,
				me: {
					handler() {
						throw new Error("connection to db://admin:hunter2@10.0.0.5 lost");
					},
				},
			},
		};
		p = await startPlatform({ env: { QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password }, replace: { accounts: broken } });
	});
	afterAll(() => p?.stop());

	it("answers 500 with a request id and without its message", async () => {
		const token = await signInWhenReady(p.http, ADMIN);
		const r = await p.http.get("/account", { token });
		expect(r.status).toBe(500);
		expect(r.body).toEqual({
			name: "InternalServerError",
			message: "Internal server error",
			code: 500,
			type: "INTERNAL_ERROR",
			data: { requestId: expect.any(String) },
		});
		expect(r.headers.get("x-request-id")).toBe(r.body.data.requestId);
		expect(r.text).not.toContain("hunter2");
	});

	it("answers 404 NOT_FOUND for a route that does not exist", async () => {
		const r = await p.http.get("/no/such/route");
		expect(r.status).toBe(404);
		expect(r.body.type).toBe("NOT_FOUND");
	});
});
