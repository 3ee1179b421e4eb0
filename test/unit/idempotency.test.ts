/**
 * PAY-1 (API.md, issue 14 item 7): one Idempotency-Key, one request, across every endpoint of the
 * caller; a replay is marked; a twin arriving while the first runs is refused 409 with a
 * Retry-After and never executes; a record left by a crashed request is taken over by the retry.
 */
import { LEASE_HOST } from "../../mixins/jobs.mixin";
import { DuplicateKeyError, type Store } from "../../mixins/db.mixin";
import { fingerprintOf, Idempotency, leaseIsDead, type IdempotencyDoc } from "../../services/billing/idempotency";

/** Just what Idempotency asks of a store: by id, insert, and a conditional update ($set). */
function memoryStore(insertReturnsAfterMs = 0) {
	const docs = new Map<string, IdempotencyDoc>();
	const matches = (doc: IdempotencyDoc, query: Record<string, unknown>) =>
		Object.entries(query).every(([k, want]) => {
			const have = (doc as unknown as Record<string, unknown>)[k];
			if (want && typeof want === "object" && "$exists" in want) return (have !== undefined) === (want as { $exists: boolean }).$exists;
			return have === want;
		});
	const store = {
		async findById(id: string) {
			const d = docs.get(id);
			return d ? structuredClone(d) : null;
		},
		async insert(doc: IdempotencyDoc) {
			if (docs.has(doc._id)) throw new DuplicateKeyError("idempotency");
			docs.set(doc._id, structuredClone(doc));
			// A networked store: the write is visible to others before its answer comes back.
			if (insertReturnsAfterMs) await new Promise(r => setTimeout(r, insertReturnsAfterMs));
			return structuredClone(doc);
		},
		async updateOne(query: Record<string, unknown>, update: { $set: Partial<IdempotencyDoc> }) {
			const d = [...docs.values()].find(x => matches(x, query));
			if (!d) return null;
			Object.assign(d, structuredClone(update.$set));
			return structuredClone(d);
		},
	};
	return { store: store as unknown as Store<IdempotencyDoc>, docs };
}

const FUND = { operation: "adminFund", caller: "admin-1", key: "k-1", body: { id: "a1", amount: "1.00", note: "n" } };

describe("Idempotency", () => {
	test("a replay answers the first answer and is marked; the first is not", async () => {
		const { store } = memoryStore();
		const idem = new Idempotency(store);
		let runs = 0;
		const first: { $responseHeaders?: Record<string, string> } = {};
		expect(await idem.run({ ...FUND, meta: first }, async nonce => ({ n: ++runs, nonce }))).toEqual({ n: 1, nonce: expect.any(String) });
		expect(first.$responseHeaders).toBeUndefined();
		const again: { $responseHeaders?: Record<string, string> } = { $responseHeaders: { "X-Other": "1" } };
		expect(await idem.run({ ...FUND, meta: again }, async () => ({ n: ++runs }))).toMatchObject({ n: 1 });
		expect(again.$responseHeaders).toEqual({ "X-Other": "1", "Idempotent-Replayed": "true" });
		expect(runs).toBe(1);
	});

	test.each([
		["another endpoint", { operation: "adminCharge", body: { id: "a1", amount: "1.00", description: "n" } }],
		["another body", { body: { ...FUND.body, amount: "2.00" } }],
		["another account in the path", { body: { ...FUND.body, id: "a2" } }],
	])("the same key on %s → 409 IDEMPOTENCY_KEY_REUSED", async (_name, change) => {
		const idem = new Idempotency(memoryStore().store);
		await idem.run(FUND, async () => "first");
		await expect(idem.run({ ...FUND, ...change }, async () => "second")).rejects.toMatchObject({
			code: 409,
			type: "IDEMPOTENCY_KEY_REUSED",
			data: { field: "Idempotency-Key" },
		});
	});

	test("another caller's key of the same text is another key", async () => {
		const idem = new Idempotency(memoryStore().store);
		await idem.run(FUND, async () => "first");
		expect(await idem.run({ ...FUND, caller: "admin-2" }, async () => "second")).toBe("second");
	});

	test("a twin while the first runs → 409 with retryAfter, never a second execution", async () => {
		const idem = new Idempotency(memoryStore().store);
		let release!: () => void;
		const gate = new Promise<void>(r => (release = r));
		let runs = 0;
		const first = idem.run(FUND, async () => {
			runs++;
			await gate;
			return "first";
		});
		await new Promise(r => setImmediate(r));
		await expect(idem.run(FUND, async () => (runs++, "twin"))).rejects.toMatchObject({
			code: 409,
			type: "CONFLICT",
			data: { field: "Idempotency-Key", retryAfter: 1 },
		});
		release();
		expect(await first).toBe("first");
		expect(await idem.run(FUND, async () => (runs++, "later"))).toBe("first");
		expect(runs).toBe(1);
	});

	test("a twin that reads the record before the first's insert has answered (MongoDB) → 409, one execution", async () => {
		const idem = new Idempotency(memoryStore(30).store);
		let runs = 0;
		const first = idem.run(FUND, async () => (runs++, "first"));
		await new Promise(r => setTimeout(r, 5)); // the record is written, its insert not yet answered
		await expect(idem.run(FUND, async () => (runs++, "twin"))).rejects.toMatchObject({ code: 409, data: { retryAfter: 1 } });
		expect(await first).toBe("first");
		expect(runs).toBe(1);
	});

	test("a failure that is no answer frees the key at once: the retry runs, with the same nonce", async () => {
		const idem = new Idempotency(memoryStore().store);
		const nonces: string[] = [];
		await expect(
			idem.run(FUND, async nonce => {
				nonces.push(nonce);
				throw new Error("transient");
			}),
		).rejects.toThrow("transient");
		expect(await idem.run(FUND, async nonce => (nonces.push(nonce), "ok"))).toBe("ok");
		expect(new Set(nonces).size).toBe(1);
	});

	describe("a record left by a crashed request", () => {
		const openRecord = (lease: string | undefined, leaseUntilMs: number) => {
			const { store, docs } = memoryStore();
			const t = new Date();
			const id = `${FUND.caller}|${FUND.key}`;
			const fingerprint = fingerprintOf(FUND.operation, FUND.body);
			docs.set(id, { _id: id, fingerprint, nonce: "n-1", state: "open", lease, leaseUntil: new Date(leaseUntilMs), createdAt: t, expiresAt: t });
			return store;
		};

		test.each([
			["a process of this host that is gone (this pid, a lease it does not hold)", "taken over", `${LEASE_HOST}:${process.pid}:gone`, Date.now() + 60_000],
			["a lease that lapsed", "taken over", "elsewhere:1:x", Date.now() - 1],
			["no lease at all (written before leases)", "taken over", undefined, 0],
			["a live lease of another host", "refused", "elsewhere:1:x", Date.now() + 60_000],
		])("held by %s → %s", async (_name, outcome, lease, until) => {
			const idem = new Idempotency(openRecord(lease, until));
			const run = idem.run(FUND, async nonce => `ran with ${nonce}`);
			if (outcome === "taken over") expect(await run).toBe("ran with n-1");
			else await expect(run).rejects.toMatchObject({ code: 409, data: { retryAfter: 1 } });
		});
	});

	test.each([
		[undefined, true],
		["not a lease", true],
		[`${LEASE_HOST}:${process.pid}:not-mine`, true],
		["another-host:1:x", false],
	])("leaseIsDead(%p) → %p", (lease, dead) => {
		expect(leaseIsDead(lease)).toBe(dead);
	});
});
