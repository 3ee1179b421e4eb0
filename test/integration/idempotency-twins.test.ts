// Moved here from test/e2e/request-shape.test.ts (issue 15, item 7 of issue 14): "a twin arriving
// while the first still runs" needs the first request held inside billing at a known moment. Over
// HTTP alone the two requests race and the twin may arrive after the first is done, so this case
// wraps the billing service's postEntry to hold the first one; everything else goes through HTTP.
import { jsonHeaders, sendRaw, signInWhenReady, waitUntil } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "shape-admin@example.com", password: "Hardened-adm1n-pass!" };
const USER = { email: "shape-user@example.com", password: "Tidy-Bodies-only-1!" };

describe("Idempotency-Key: concurrent twins (PAY-1)", () => {
	let p: Platform;
	let admin: string;
	let user: { id: string; session: string };
	let keyCount = 0;
	const newKey = () => `twin-${Date.now()}-${++keyCount}`;

	const send = (method: string, path: string, body: string | undefined, headers: Record<string, string> = {}) => sendRaw(p.url, method, path, body, headers);
	const json = jsonHeaders;
	const ledger = async () => (await p.http.get("/billing/transactions", { token: user.session })).body.rows;

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		admin = await signInWhenReady(p.http, ADMIN);
		const account = await createAccount(p, USER.email, USER.password);
		user = { id: account.id, session: (await p.http.post("/auth/signin", USER)).body.session };
		// The trial bonus lands a moment after activation: wait, so it is not the entry held below.
		await waitUntil(async () => (await ledger()).length > 0, 20_000);
	});
	afterAll(() => p?.stop());

	it("a twin arriving while the first still runs → 409 with Retry-After, and runs never", async () => {
		const billing = p.broker.getLocalService("billing") as unknown as { postEntry: (...a: unknown[]) => Promise<unknown> };
		const original = billing.postEntry;
		let release!: () => void;
		const gate = new Promise<void>(r => (release = r));
		let entered!: () => void;
		const inside = new Promise<void>(r => (entered = r));
		let runs = 0;
		billing.postEntry = async function (this: unknown, ...args: unknown[]) {
			runs++;
			entered();
			await gate;
			return original.apply(this, args);
		};
		try {
			const key = newKey();
			const headers = json(admin, { "Idempotency-Key": key });
			const body = JSON.stringify({ amount: "3.00", note: "slow" });
			const first = send("POST", `/admin/accounts/${user.id}/fund`, body, headers);
			await inside;
			const twin = await send("POST", `/admin/accounts/${user.id}/fund`, body, headers);
			expect(twin.status).toBe(409);
			expect(twin.headers.get("retry-after")).toBe("1");
			expect(twin.body).toMatchObject({ data: { field: "Idempotency-Key" } });
			release();
			expect((await first).status).toBe(201);
			const after = await send("POST", `/admin/accounts/${user.id}/fund`, body, headers);
			expect(after.status).toBe(201);
			expect(after.headers.get("idempotent-replayed")).toBe("true");
			expect(runs).toBe(1);
			expect((await ledger()).filter((e: { description: string }) => e.description === "slow")).toHaveLength(1);
		} finally {
			release();
			billing.postEntry = original;
		}
	});
});
