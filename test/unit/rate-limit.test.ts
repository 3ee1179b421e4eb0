/**
 * The gateway's in-memory sliding-log rate limiter (time injected).
 */
import { RateLimiter, type Limit } from "../../lib/rate-limit";

const T0 = Date.UTC(2030, 0, 1);
const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;
const PER_MINUTE: Limit[] = [{ limit: 3, windowSeconds: 60 }];
const AUTH: Limit[] = [
	{ limit: 10, windowSeconds: 60 },
	{ limit: 100, windowSeconds: 3600 },
];

const keysOf = (limiter: RateLimiter) => (limiter as unknown as { hits: Map<string, number[]> }).hits;

describe("RateLimiter", () => {
	test("allows `limit` hits per window, then answers the seconds until the oldest hit leaves it", () => {
		const rl = new RateLimiter();
		expect(rl.hit("k", PER_MINUTE, T0)).toBe(0);
		expect(rl.hit("k", PER_MINUTE, T0 + 10 * S)).toBe(0);
		expect(rl.hit("k", PER_MINUTE, T0 + 20 * S)).toBe(0);
		expect(rl.hit("k", PER_MINUTE, T0 + 30 * S)).toBe(30);
		expect(rl.hit("k", PER_MINUTE, T0 + 59.5 * S)).toBe(0.5);
		// the first hit leaves the window exactly one window later
		expect(rl.hit("k", PER_MINUTE, T0 + MIN)).toBe(0);
		// now hits at 10 s, 20 s and 60 s are in the window: the next slot frees at 70 s
		expect(rl.hit("k", PER_MINUTE, T0 + 61 * S)).toBe(9);
		expect(rl.hit("k", PER_MINUTE, T0 + 70 * S)).toBe(0);
	});

	test("hits at the same instant count separately", () => {
		const rl = new RateLimiter();
		for (let i = 0; i < 3; i++) expect(rl.hit("k", PER_MINUTE, T0)).toBe(0);
		expect(rl.hit("k", PER_MINUTE, T0)).toBe(60);
	});

	test("a refused hit is not counted", () => {
		const rl = new RateLimiter();
		for (let i = 0; i < 3; i++) rl.hit("k", PER_MINUTE, T0);
		// hammering while refused does not push the window further
		for (let t = T0 + S; t < T0 + MIN; t += S) expect(rl.hit("k", PER_MINUTE, t)).toBeGreaterThan(0);
		for (let i = 0; i < 3; i++) expect(rl.hit("k", PER_MINUTE, T0 + MIN)).toBe(0);
		expect(rl.hit("k", PER_MINUTE, T0 + MIN)).toBe(60);
	});

	describe("several limits at once (10/min and 100/h)", () => {
		test("the shorter limit refuses the 11th hit of a minute", () => {
			const rl = new RateLimiter();
			for (let i = 0; i < 10; i++) expect(rl.hit("ip", AUTH, T0 + i * S)).toBe(0);
			expect(rl.hit("ip", AUTH, T0 + 30 * S)).toBe(30);
			expect(rl.hit("ip", AUTH, T0 + MIN)).toBe(0);
		});

		test("the longer limit refuses the 101st hit of an hour, with the longer wait", () => {
			const rl = new RateLimiter();
			// 10 hits in each of the first 10 minutes: 100 hits, no minute over its limit
			for (let m = 0; m < 10; m++) for (let i = 0; i < 10; i++) expect(rl.hit("ip", AUTH, T0 + m * MIN + i * S)).toBe(0);
			// minute 11: the minute window is empty but the hour is full until the first hit leaves it
			expect(rl.hit("ip", AUTH, T0 + 10 * MIN)).toBe(50 * 60);
			expect(rl.hit("ip", AUTH, T0 + HOUR - S)).toBe(1);
			expect(rl.hit("ip", AUTH, T0 + HOUR)).toBe(0);
		});

		test("when both limits refuse, the longer wait is answered", () => {
			const rl = new RateLimiter();
			const limits: Limit[] = [
				{ limit: 2, windowSeconds: 60 },
				{ limit: 2, windowSeconds: 600 },
			];
			rl.hit("ip", limits, T0);
			rl.hit("ip", limits, T0 + S);
			expect(rl.hit("ip", limits, T0 + 2 * S)).toBe(598);
		});
	});

	test("different keys are counted independently", () => {
		const rl = new RateLimiter();
		for (let i = 0; i < 3; i++) rl.hit("POST /auth/signin|1.1.1.1", PER_MINUTE, T0);
		expect(rl.hit("POST /auth/signin|1.1.1.1", PER_MINUTE, T0)).toBeGreaterThan(0);
		expect(rl.hit("POST /auth/signin|2.2.2.2", PER_MINUTE, T0)).toBe(0);
		expect(rl.hit("POST /auth/signup|1.1.1.1", PER_MINUTE, T0)).toBe(0);
	});

	test("keys without a recent hit are swept, so memory does not grow with every address ever seen", () => {
		const rl = new RateLimiter();
		for (let i = 0; i < 1000; i++) rl.hit(`old|${i}`, PER_MINUTE, T0 + i);
		rl.hit("recent", PER_MINUTE, T0 + HOUR - MIN);
		expect(keysOf(rl).size).toBe(1001);
		// more than an hour after the old hits: they go at the next sweep, the recent key stays
		rl.hit("new", PER_MINUTE, T0 + HOUR + 2 * MIN);
		expect([...keysOf(rl).keys()].sort()).toEqual(["new", "recent"]);
		// and a swept key starts afresh
		expect(rl.hit("old|0", PER_MINUTE, T0 + HOUR + 2 * MIN)).toBe(0);
	});
});
