// TFA-3 at the storage level: the check and the consumption of a code are two operations, so the
// guarantee must come from the conditional update. Here 50 verifications of one code (and of one
// recovery code) read the 2FA state before any of them writes — the interleaving HTTP requests
// rarely produce — and exactly one may succeed.
import { nowMs } from "../../lib/clock";
import type { SecondFactor } from "../../services/auth/second-factor";
import { codeAt, stepAt } from "../../services/auth/totp";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

type Auth = { secondFactor: SecondFactor };

describe("one-time codes under truly parallel verification", () => {
	let p: Platform;
	let auth: Auth;
	let account: { id: string; email: string };
	let secret: string;
	let recovery: string[];

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_TEST_CLOCK: "1" } });
		auth = p.broker.getLocalService("auth") as unknown as Auth;
		const user = { email: "twice@example.com", password: "Only-once-please-1!" };
		account = await createAccount(p, user.email, user.password);
		const session = (await p.http.post("/auth/signin", user)).body.session;
		// Start in the middle of a 30-second step, so the codes below stay current.
		await p.broker.call("clock.set", { now: new Date((stepAt(Date.now()) + 10) * 30_000 + 15_000).toISOString() });
		secret = (await p.http.post("/auth/2fa/setup", { password: user.password }, { token: session })).body.secret;
		recovery = (await p.http.post("/auth/2fa/enable", { code: codeAt(secret, stepAt(nowMs())) }, { token: session })).body.recoveryCodes;
	});
	afterAll(() => p?.stop());

	it("accepts one of 50 parallel verifications of the same TOTP code", async () => {
		await p.broker.call("clock.set", { now: new Date(nowMs() + 30_000).toISOString() }); // the next step: a fresh code
		const code = codeAt(secret, stepAt(nowMs()));
		const results = await Promise.all(Array.from({ length: 50 }, () => auth.secondFactor.verify(account.id, code)));
		expect(results.filter(r => r === "totp")).toHaveLength(1);
		expect(results.filter(r => r === null)).toHaveLength(49);
	});

	it("accepts one of 50 parallel uses of the same recovery code", async () => {
		const results = await Promise.all(Array.from({ length: 50 }, () => auth.secondFactor.verify(account.id, recovery[0])));
		expect(results.filter(r => r === "recovery")).toHaveLength(1);
	});
});
