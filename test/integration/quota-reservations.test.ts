// QTA-4: reservations never overshoot a limit and never refuse below it — 100 parallel reservations
// against an allowance of 7, twenty times over, on one broker and on two quotas brokers joined
// over NATS that share one store (as replicas share MongoDB).
import { createAccount, startPlatform, startReplicaPair, type Platform } from "../helpers/platform";

// 2,000 reservations a test: on FerretDB (the MongoDB leg), where every conditional update scans
// its table in PostgreSQL, a test takes 25-60 s on this 2-core machine. Speed is the benchmarks'
// business; this file checks that no reservation overshoots or is refused below the limit.
jest.setTimeout(180_000);

async function race(brokers: Platform[], accountId: string): Promise<{ ok: number; refused: { quota: string; limit: number; requested: number }[] }> {
	const outcomes = await Promise.allSettled(
		Array.from({ length: 100 }, (_, i) => brokers[i % brokers.length].broker.call("quotas.reserve", { accountId, key: "environment.maxcount", amount: 1 })),
	);
	return {
		ok: outcomes.filter(o => o.status === "fulfilled").length,
		refused: outcomes.filter(o => o.status === "rejected").map(o => (o as PromiseRejectedResult).reason.data),
	};
}

async function releaseAll(p: Platform, accountId: string) {
	const usage = (await p.broker.call("quotas.usage", { accountId, key: "environment.maxcount" })) as { used: number };
	if (usage.used) await p.broker.call("quotas.free", { accountId, key: "environment.maxcount", amount: usage.used });
}

describe("quota reservations on one broker", () => {
	let p: Platform;
	let accountId: string;
	beforeAll(async () => {
		p = await startPlatform({ env: { QM_TEST_CLOCK: "1" } });
		accountId = (await createAccount(p, "racer@example.com", "Parallel-creates-1!")).id;
	});
	afterAll(() => p?.stop());

	it("grants exactly 7 of 100 parallel reservations against an allowance of 7, twenty times", async () => {
		await p.broker.call("quotas.adminSetOverride", { id: accountId, key: "environment.maxcount", value: 7 });
		for (let run = 0; run < 20; run++) {
			const { ok, refused } = await race([p], accountId);
			expect({ run, ok }).toEqual({ run, ok: 7 });
			expect(refused[0]).toEqual({ quota: "environment.maxcount", limit: 7, requested: 8 });
			await releaseAll(p, accountId);
		}
	});

	it("counts released and expired reservations back, and commits keep their amount", async () => {
		await p.broker.call("quotas.adminSetOverride", { id: accountId, key: "environment.maxcount", value: 2 });
		const a = (await p.broker.call("quotas.reserve", { accountId, key: "environment.maxcount", amount: 1 })) as { reservationId: string };
		const b = (await p.broker.call("quotas.reserve", { accountId, key: "environment.maxcount", amount: 1, ttlSeconds: 1 })) as { reservationId: string };
		await expect(p.broker.call("quotas.reserve", { accountId, key: "environment.maxcount", amount: 1 })).rejects.toMatchObject({ type: "QUOTA_EXCEEDED" });
		await p.broker.call("quotas.commit", { reservationId: a.reservationId });
		await p.broker.call("clock.set", { now: new Date(Date.now() + 5_000).toISOString() }); // past b's one second
		expect(await p.broker.call("quotas.runJob", { job: "release-expired" })).toMatchObject({ processed: 1 });
		expect(((await p.broker.call("quotas.usage", { accountId, key: "environment.maxcount" })) as { used: number }).used).toBe(1);
		await expect(p.broker.call("quotas.commit", { reservationId: b.reservationId })).rejects.toMatchObject({ type: "CONFLICT" });
		await p.broker.call("quotas.reserve", { accountId, key: "environment.maxcount", amount: 1 });
	});
});

describe("quota reservations on two quotas brokers over NATS", () => {
	let main: Platform;
	let pair: Awaited<ReturnType<typeof startReplicaPair>>;
	let accountId: string;
	beforeAll(async () => {
		pair = await startReplicaPair("quotas", ["quotas"]);
		main = pair.main;
		accountId = (await createAccount(main, "racer2@example.com", "Parallel-creates-2!")).id;
		await main.broker.call("quotas.adminSetOverride", { id: accountId, key: "environment.maxcount", value: 7 });
	});
	afterAll(() => pair?.stop());

	it("grants exactly 7 of 100 parallel reservations split over both brokers, twenty times", async () => {
		for (let run = 0; run < 20; run++) {
			const outcomes = await Promise.allSettled(
				Array.from({ length: 100 }, (_, i) =>
					main.broker.call("quotas.reserve", { accountId, key: "environment.maxcount", amount: 1 }, { nodeID: i % 2 ? "main" : "replica" }),
				),
			);
			expect({ run, ok: outcomes.filter(o => o.status === "fulfilled").length }).toEqual({ run, ok: 7 });
			await releaseAll(main, accountId);
		}
	});
});

describe("environment creates on two environments brokers over NATS", () => {
	let main: Platform;
	let pair: Awaited<ReturnType<typeof startReplicaPair>>;
	let accountId: string;
	beforeAll(async () => {
		pair = await startReplicaPair("envs", ["environments"]);
		main = pair.main;
		accountId = (await createAccount(main, "fleet@example.com", "Parallel-creates-3!")).id;
		await main.broker.call("quotas.adminSetOverride", { id: accountId, key: "environment.maxcount", value: 7 });
	});
	afterAll(() => pair?.stop());

	it("creates exactly 7 of 100 parallel environments split over both brokers, twenty times", async () => {
		const meta = { user: { id: accountId, email: "fleet@example.com", status: "active" } };
		const nodes = [{ layer: "cp", type: "nginx", reservedCloudlets: 1, scalingLimit: 2 }];
		for (let run = 0; run < 20; run++) {
			const outcomes = await Promise.allSettled(
				Array.from({ length: 100 }, (_, i) =>
					main.broker.call("environments.create", { name: `r${run}-e${i}`, nodes }, { meta, nodeID: i % 2 ? "main" : "replica" }),
				),
			);
			const created = outcomes.filter(o => o.status === "fulfilled").length;
			const listed = ((await main.broker.call("environments.list", {}, { meta })) as { total: number }).total;
			expect({ run, created, listed }).toEqual({ run, created: 7, listed: 7 });
			await main.broker.call("environments.deleteForAccount", { accountId });
		}
	});
});
