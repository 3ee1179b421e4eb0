/**
 * PWD-1: password hashing — bcrypt over a SHA-256 pre-hash, run in worker threads.
 */
process.env.BCRYPT_COST = "4";

import { closeHashPool, dummyHash, hashPassword, verifyPassword } from "../../lib/password-hash";

const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;

afterAll(() => closeHashPool());

describe("hashPassword / verifyPassword", () => {
	test("a hash verifies against its password and uses the configured cost", async () => {
		const hash = await hashPassword("Correct-Horse7");
		expect(hash).toMatch(BCRYPT);
		expect(hash).toMatch(/^\$2[aby]\$04\$/);
		expect(await verifyPassword("Correct-Horse7", hash)).toBe(true);
	});

	test("two hashes of the same password differ (salted) and both verify", async () => {
		const [a, b] = await Promise.all([hashPassword("Correct-Horse7"), hashPassword("Correct-Horse7")]);
		expect(a).not.toBe(b);
		expect(await verifyPassword("Correct-Horse7", a)).toBe(true);
		expect(await verifyPassword("Correct-Horse7", b)).toBe(true);
	});

	test.each([
		["another password", "Correct-Horse8"],
		["another case", "correct-horse7"],
		["a prefix", "Correct-Horse"],
		["a trailing space", "Correct-Horse7 "],
		["the empty string", ""],
	])("%s is refused", async (_name, wrong) => {
		const hash = await hashPassword("Correct-Horse7");
		expect(await verifyPassword(wrong, hash)).toBe(false);
	});

	test("256-character passwords differing only in their last character do not match (no truncation at 72 bytes)", async () => {
		const a = "Aa1!" + "x".repeat(251) + "a";
		const b = "Aa1!" + "x".repeat(251) + "b";
		expect(a).toHaveLength(256);
		const hash = await hashPassword(a);
		expect(await verifyPassword(a, hash)).toBe(true);
		expect(await verifyPassword(b, hash)).toBe(false);
	});

	test("passwords with multibyte characters round-trip and differ from look-alikes", async () => {
		const password = "Пароль-密码-😀-é1";
		const hash = await hashPassword(password);
		expect(await verifyPassword(password, hash)).toBe(true);
		// NFC "é" vs "e" + combining acute: other bytes, other password
		expect(await verifyPassword(password.normalize("NFD"), hash)).toBe(false);
		expect(await verifyPassword("Пароль-密码-😁-é1", hash)).toBe(false);
	});

	test("a malformed hash never verifies", async () => {
		expect(await verifyPassword("Correct-Horse7", "not-a-bcrypt-hash")).toBe(false);
	});
});

describe("worker threads", () => {
	test("hashing does not block the main event loop", async () => {
		const previous = process.env.BCRYPT_COST;
		process.env.BCRYPT_COST = "10";
		try {
			// Warm the pool (worker start-up) and measure one hash at cost 10.
			await Promise.all([hashPassword("warm-1"), hashPassword("warm-2")]);
			const durations: number[] = [];
			for (let i = 0; i < 3; i++) {
				const t = performance.now();
				await hashPassword(`one-${i}`);
				durations.push(performance.now() - t);
			}
			const oneHash = durations.sort((a, b) => a - b)[1];

			let last = performance.now();
			let maxGap = 0;
			let ticks = 0;
			const timer = setInterval(() => {
				const t = performance.now();
				maxGap = Math.max(maxGap, t - last);
				last = t;
				ticks++;
			}, 5);
			const hashes = await Promise.all(Array.from({ length: 8 }, (_, i) => hashPassword(`parallel-${i}`)));
			clearInterval(timer);
			maxGap = Math.max(maxGap, performance.now() - last);

			expect(hashes.every(h => /^\$2[aby]\$10\$/.test(h))).toBe(true);
			expect(ticks).toBeGreaterThan(2);
			// On the main thread, bcrypt would hold the loop for about one hash (or one 100 ms chunk).
			expect(maxGap).toBeLessThan(oneHash / 2);
		} finally {
			process.env.BCRYPT_COST = previous;
		}
	});
});

describe("dummyHash", () => {
	test("is a bcrypt hash, memoised, that no ordinary password matches", async () => {
		const first = await dummyHash();
		expect(first).toMatch(BCRYPT);
		expect(await dummyHash()).toBe(first);
		expect(await verifyPassword("", first)).toBe(false);
		expect(await verifyPassword("dummy", first)).toBe(false);
	});
});
