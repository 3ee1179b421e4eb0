// Billing over HTTP (BIL-1, BIL-3, ACC-2, ADM-1, API.md): an admin funds, unfunds and charges a
// user with an Idempotency-Key (a replay answers the first answer, another body under the same
// key is refused, nothing moves twice); the user sees the balances and the ledger, where a
// charge takes bonus first (main first with `account.charge.balance.first` = 1) and may take main
// below zero; a new trial account starts with its trial bonus.
import { signInWhenReady, waitUntil, type Reply } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "treasurer@example.com", password: "Billing-adm1n-pass!" };
const USER = { email: "payer@example.com", password: "Pays-the-bills-1!" };

describe("billing", () => {
	let p: Platform;
	let admin: string;
	let user: { id: string; session: string };
	let keyCount = 0;
	let envId = "";
	const newKey = () => `e2e-${Date.now()}-${++keyCount}`;

	const fund = (id: string, body: Record<string, unknown>, key?: string, token = admin) =>
		p.http.post(`/admin/accounts/${id}/fund`, body, { token, ...(key !== undefined ? { headers: { "Idempotency-Key": key } } : {}) });
	const charge = (id: string, body: Record<string, unknown>, key?: string, token = admin) =>
		p.http.post(`/admin/accounts/${id}/charge`, body, { token, ...(key !== undefined ? { headers: { "Idempotency-Key": key } } : {}) });
	const balance = async () => (await p.http.get("/billing/balance", { token: user.session })).body;
	const fieldsOf = (r: Reply) => (r.body.data as { field: string }[]).map(d => d.field);

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		admin = await signInWhenReady(p.http, ADMIN);
		const account = await createAccount(p, USER.email, USER.password);
		user = { id: account.id, session: (await p.http.post("/auth/signin", USER)).body.session };
	});
	afterAll(() => p?.stop());

	it("credits a new trial account its trial bonus once (ACC-2)", async () => {
		// The bonus follows the `accounts.created` event: it lands a moment after activation.
		const b = await waitUntil(async () => {
			const r = await balance();
			return r.bonus === "10.00" && r;
		});
		expect(b).toEqual({ main: "0.00", bonus: "10.00", total: "10.00", currency: "USD", minBalance: "0.00", autoRefill: null, daysLeft: null });
		const tx = (await p.http.get("/billing/transactions", { token: user.session })).body;
		expect(tx).toMatchObject({ total: 1, page: 1, pageSize: 20, totalPages: 1 });
		expect(tx.rows).toEqual([
			{
				id: expect.any(String),
				time: expect.any(String),
				kind: "bonus",
				amount: "10.00",
				balanceAfter: { main: "0.00", bonus: "10.00" },
				description: "Trial bonus",
			},
		]);
	});

	it("funds with an Idempotency-Key: 201 with the entry and the balance; a replay answers the same, moving nothing", async () => {
		const key = newKey();
		const first = await fund(user.id, { amount: "25.50", note: "Wire transfer 42" }, key);
		expect(first.status).toBe(201);
		expect(first.body).toEqual({
			entry: {
				id: expect.any(String),
				time: expect.any(String),
				kind: "refill",
				amount: "25.50",
				balanceAfter: { main: "25.50", bonus: "10.00" },
				description: "Wire transfer 42",
			},
			balance: { main: "25.50", bonus: "10.00", total: "35.50", currency: "USD", minBalance: "0.00", autoRefill: null, daysLeft: null },
		});
		const replay = await fund(user.id, { note: "Wire transfer 42", amount: "25.50" }, key); // same body, other key order
		expect(replay.status).toBe(201);
		expect(replay.body).toEqual(first.body);
		expect((await balance()).main).toBe("25.50");

		const reused = await fund(user.id, { amount: "99.00", note: "Wire transfer 42" }, key);
		expect(reused.status).toBe(409);
		expect(reused.body.type).toBe("IDEMPOTENCY_KEY_REUSED");
		expect((await balance()).main).toBe("25.50");
	});

	it("moves money once when the same request arrives several times at once", async () => {
		const key = newKey();
		// API.md: a twin arriving while the first still runs is told 409 with Retry-After and never
		// executes; a client retries it, and the retry replays the one answer.
		const send = async (): Promise<Reply> => {
			for (;;) {
				const r = await fund(user.id, { amount: "1.25", note: "retry storm" }, key);
				if (r.status !== 409) return r;
				expect(r.body.type).toBe("CONFLICT");
				expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
				await new Promise(resolve => setTimeout(resolve, 50));
			}
		};
		const replies = await Promise.all(Array.from({ length: 6 }, send));
		expect(replies.map(r => r.status)).toEqual([201, 201, 201, 201, 201, 201]);
		expect(new Set(replies.map(r => r.body.entry.id)).size).toBe(1);
		expect(replies.filter(r => r.headers.get("idempotent-replayed") === "true")).toHaveLength(5);
		expect(await balance()).toMatchObject({ main: "26.75", bonus: "10.00" });
	});

	it("charges bonus first, then main, and takes main below zero rather than refuse (BIL-3)", async () => {
		const key = newKey();
		const first = await charge(user.id, { amount: "12.00", description: "Support plan, March" }, key);
		expect(first.status).toBe(201);
		// 10.00 from bonus, 2.00 from main
		expect(first.body.entry).toMatchObject({
			kind: "charge",
			amount: "-12.00",
			balanceAfter: { main: "24.75", bonus: "0.00" },
			description: "Support plan, March",
		});
		expect(first.body.balance).toMatchObject({ main: "24.75", bonus: "0.00", total: "24.75" });
		expect((await charge(user.id, { amount: "12.00", description: "Support plan, March" }, key)).body).toEqual(first.body);
		expect((await charge(user.id, { amount: "12.01", description: "Support plan, March" }, key)).status).toBe(409);

		// An admin charge may name one of the account's environments (not another's: 404).
		const node = { layer: "cp", type: "tomcat", reservedCloudlets: 1, scalingLimit: 4 };
		envId = (await p.http.post("/environments", { name: "migrated", nodes: [node] }, { token: user.session })).body.id;
		const deep = await charge(user.id, { amount: "30", description: "Migration", envId }, newKey());
		expect(deep.status).toBe(201);
		expect(deep.body.entry).toMatchObject({ amount: "-30.00", balanceAfter: { main: "-5.25", bonus: "0.00" }, envId });
		expect(await balance()).toMatchObject({ main: "-5.25", bonus: "0.00", total: "-5.25" });
	});

	it("funds and unfunds the bonus, refusing to take it below zero with INSUFFICIENT_BALANCE; main may go negative", async () => {
		const granted = await fund(user.id, { amount: "5", bonus: true, note: "Apology for downtime" }, newKey());
		expect(granted.status).toBe(201);
		expect(granted.body.entry).toMatchObject({ kind: "bonus", amount: "5.00", balanceAfter: { main: "-5.25", bonus: "5.00" } });

		const key = newKey();
		const tooMuch = await fund(user.id, { amount: "-6", bonus: true, note: "Correction" }, key);
		expect(tooMuch.status).toBe(422);
		expect(tooMuch.body).toMatchObject({ type: "INSUFFICIENT_BALANCE", data: { field: "amount", balance: "bonus", available: "5.00", requested: "-6.00" } });
		// A replay answers the same refusal (the key's first answer), even after the bonus could cover it.
		await fund(user.id, { amount: "2", bonus: true, note: "More" }, newKey());
		expect((await fund(user.id, { amount: "-6", bonus: true, note: "Correction" }, key)).body).toEqual(tooMuch.body);
		expect((await balance()).bonus).toBe("7.00");

		const unfund = await fund(user.id, { amount: "-1.005", note: "Bank fee" }, newKey());
		expect(unfund.status).toBe(201);
		// Amounts are shown exactly: at least 2 decimals, more when the micros need them.
		expect(unfund.body.entry).toMatchObject({ kind: "adjustment", amount: "-1.005", balanceAfter: { main: "-6.255", bonus: "7.00" } });
		expect(await balance()).toMatchObject({ main: "-6.255", bonus: "7.00", total: "0.745" });
	});

	it("charges main first when the account's account.charge.balance.first is 1", async () => {
		const set = await p.http.call("PUT", `/admin/accounts/${user.id}/quotas/account.charge.balance.first`, { token: admin, body: { value: 1 } });
		expect(set.status).toBe(200);
		await fund(user.id, { amount: "10", note: "Top-up" }, newKey()); // main 3.745, bonus 7
		const r = await charge(user.id, { amount: "5", description: "Main first" }, newKey());
		// 3.745 from main, 1.255 from bonus
		expect(r.body.entry.balanceAfter).toEqual({ main: "0.00", bonus: "5.745" });
		expect((await p.http.del(`/admin/accounts/${user.id}/quotas/account.charge.balance.first`, { token: admin })).status).toBe(204);
		const bonusFirst = await charge(user.id, { amount: "1", description: "Bonus first again" }, newKey());
		expect(bonusFirst.body.entry.balanceAfter).toEqual({ main: "0.00", bonus: "4.745" });
	});

	it("refuses a money move without or with an overlong Idempotency-Key, with a bad amount, for an unknown account", async () => {
		const cases: [string, Reply, number, string, string?][] = [
			["no key", await fund(user.id, { amount: "1", note: "x" }), 422, "VALIDATION_ERROR", "Idempotency-Key"],
			["no key (charge)", await charge(user.id, { amount: "1", description: "x" }), 422, "VALIDATION_ERROR", "Idempotency-Key"],
			["empty key", await fund(user.id, { amount: "1", note: "x" }, ""), 422, "VALIDATION_ERROR", "Idempotency-Key"],
			["overlong key", await fund(user.id, { amount: "1", note: "x" }, "k".repeat(256)), 422, "VALIDATION_ERROR", "Idempotency-Key"],
			["7+ decimals", await fund(user.id, { amount: "12.345678912", note: "x" }, newKey()), 422, "VALIDATION_ERROR", "amount"],
			["not a number", await fund(user.id, { amount: "abc", note: "x" }, newKey()), 422, "VALIDATION_ERROR", "amount"],
			["exponent", await charge(user.id, { amount: "1e3", description: "x" }, newKey()), 422, "VALIDATION_ERROR", "amount"],
			["a JSON number", await fund(user.id, { amount: 5, note: "x" }, newKey()), 422, "VALIDATION_ERROR", "amount"],
			["zero fund", await fund(user.id, { amount: "0.00", note: "x" }, newKey()), 422, "VALIDATION_ERROR", "amount"],
			["negative charge", await charge(user.id, { amount: "-5", description: "x" }, newKey()), 422, "VALIDATION_ERROR", "amount"],
			["no note", await fund(user.id, { amount: "1" }, newKey()), 422, "VALIDATION_ERROR", "note"],
			["unknown field", await fund(user.id, { amount: "1", note: "x", currency: "EUR" }, newKey()), 422, "VALIDATION_ERROR", "currency"],
			["unknown account", await fund("no-such-account", { amount: "1", note: "x" }, newKey()), 404, "NOT_FOUND"],
			["unknown account (charge)", await charge("no-such-account", { amount: "1", description: "x" }, newKey()), 404, "NOT_FOUND"],
		];
		for (const [name, r, status, type, field] of cases) {
			expect({ name, status: r.status, type: r.body.type }).toEqual({ name, status, type });
			if (field) expect({ name, fields: fieldsOf(r) }).toEqual({ name, fields: [field] });
		}
		// A refused request does not use its key up: the same key with a good body goes through.
		const key = newKey();
		expect((await fund(user.id, { amount: "abc", note: "x" }, key)).status).toBe(422);
		expect((await fund(user.id, { amount: "0.25", note: "x" }, key)).status).toBe(201);
	});

	it("refuses admin money routes to users (403) and anonymous callers (401)", async () => {
		for (const r of [
			await fund(user.id, { amount: "100", note: "self-service?" }, newKey(), user.session),
			await charge(user.id, { amount: "1", description: "x" }, newKey(), user.session),
		]) {
			expect(r.status).toBe(403);
			expect(r.body.type).toBe("FORBIDDEN");
		}
		expect((await p.http.post(`/admin/accounts/${user.id}/fund`, { amount: "1", note: "x" }, { headers: { "Idempotency-Key": newKey() } })).status).toBe(401);
		expect((await p.http.get("/billing/balance")).status).toBe(401);
	});

	it("shows the user the ledger newest first, filtered and paginated, with balances after each movement", async () => {
		const all = (await p.http.get("/billing/transactions?pageSize=100", { token: user.session })).body;
		expect(all.rows.length).toBe(all.total);
		expect(all.rows[all.rows.length - 1]).toMatchObject({ kind: "bonus", description: "Trial bonus" });
		// Newest first: each row's balance is the next (older) row's plus what it moved.
		const cents = (s: string) => Math.round(Number(s) * 100);
		for (let i = 0; i < all.rows.length - 1; i++) {
			const [row, older] = [all.rows[i], all.rows[i + 1]];
			const moved = cents(row.balanceAfter.main) + cents(row.balanceAfter.bonus) - cents(older.balanceAfter.main) - cents(older.balanceAfter.bonus);
			expect(Math.abs(moved - cents(row.amount))).toBeLessThanOrEqual(1); // display rounding only
			expect(Date.parse(row.time)).toBeGreaterThanOrEqual(Date.parse(older.time));
		}
		const charges = (await p.http.get("/billing/transactions?kind=charge", { token: user.session })).body;
		expect(charges.rows.length).toBeGreaterThanOrEqual(2);
		expect(charges.rows.every((r: { kind: string }) => r.kind === "charge")).toBe(true);
		const env = (await p.http.get(`/billing/transactions?envId=${envId}`, { token: user.session })).body;
		expect(env.rows).toEqual([expect.objectContaining({ amount: "-30.00", envId })]);

		const page2 = (await p.http.get("/billing/transactions?pageSize=2&page=2", { token: user.session })).body;
		expect(page2).toMatchObject({ page: 2, pageSize: 2, total: all.total, totalPages: Math.ceil(all.total / 2) });
		expect(page2.rows).toEqual(all.rows.slice(2, 4));

		const future = (
			await p.http.get(`/billing/transactions?from=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`, { token: user.session })
		).body;
		expect(future).toMatchObject({ rows: [], total: 0 });
		const past = (await p.http.get(`/billing/transactions?to=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`, { token: user.session }))
			.body;
		expect(past.total).toBe(all.total);
		const bad = await p.http.get("/billing/transactions?from=yesterday&kind=gift", { token: user.session });
		expect(bad.status).toBe(422);
	});

	it("keeps each user's ledger to themselves", async () => {
		await createAccount(p, "other@example.com", "Someone-else-9!");
		const other = (await p.http.post("/auth/signin", { email: "other@example.com", password: "Someone-else-9!" })).body.session;
		const mine = (await p.http.get("/billing/transactions?pageSize=100", { token: user.session })).body.rows.map((r: { id: string }) => r.id);
		const theirs = (await p.http.get("/billing/transactions?pageSize=100", { token: other })).body.rows.map((r: { id: string }) => r.id);
		expect(theirs.filter((id: string) => mine.includes(id))).toEqual([]);
	});

	it("reconciles: every balance equals the sum of its applied ledger", async () => {
		const rows = await p.broker.call<{ accountId: string; ok: boolean; pending: number }[], Record<string, never>>("billing.reconcile", {});
		expect(rows.length).toBeGreaterThanOrEqual(2);
		expect(rows.filter(r => !r.ok || r.pending)).toEqual([]);
	});

	it("shows every balance change in GET /account at once, though accounts keeps the balance a moment", async () => {
		const account = async () => (await p.http.get("/account", { token: user.session })).body.balance;
		const before = await account();
		expect(before).toEqual({ main: (await balance()).main, bonus: (await balance()).bonus, currency: "USD" });
		await fund(user.id, { amount: "1.25", note: "Seen at once" }, newKey());
		expect((await account()).main).toBe((await balance()).main);
		expect((await account()).main).not.toBe(before.main);
		await charge(user.id, { amount: "0.5", description: "Seen at once too" }, newKey());
		expect(await account()).toEqual({ main: (await balance()).main, bonus: (await balance()).bonus, currency: "USD" });
	});
});
