// Hourly charging (ARCHITECTURE.md budget; issue "Metering"): 100,000 environment-hours rated and
// committed — a charge document and a ledger entry each, balances moved, status checked — in
// under 60 s. Embedded (one process, SQLite files under a temporary DATA_DIR), driving billing's
// charge path (`billing.chargeRecords`, what the charge job and the stream consumer run) with
// closed environment-hours shaped like metering's records: 1,000 accounts × 10 environments ×
// 10 hours, 3 nodes each, usage varying so tiers vary.
// BENCH_STORE=mongo: the same on MongoDB (MONGO_URI, or a FerretDB started by bench/mongo-server.ts);
// target there < 120 s (issue 13, the production path).
// Run: npm run build && node dist/bench/charge.js   (BENCH_HOURS, BENCH_ACCOUNTS to resize; BENCH_STORE)
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { ServiceBroker } from "moleculer";
import type { UsageRecord } from "../lib/usage-record";
import { brokerConfig } from "../moleculer.config";
import { selectServices } from "../services";
import { rateEnvHour } from "../services/billing/rating";
import { DEFAULT_PRICES } from "../services/billing/tariffs";
import { benchStore } from "./mongo-server";

const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 1000);
const ENVS = 10;
const HOURS = Number(process.env.BENCH_HOURS ?? 10);
const CHUNK = 2000;
const T0 = Date.UTC(2026, 10, 2, 0, 0, 0);

function record(a: number, e: number, h: number): UsageRecord {
	const envId = `env-${a}-${e}`;
	return {
		envId,
		hour: T0 + h * 3_600_000,
		rev: 1,
		ownerId: `acct-${a}`,
		name: `app-${e}`,
		running: (a + e + h) % 7 !== 0,
		subscription: false,
		ssl: e % 2 === 0,
		nodes: ["cp", "bl", "sqldb"].map((layer, n) => ({
			nodeId: `${envId}-n${n}`,
			layer,
			reservedCloudlets: 1 + ((a + n) % 4),
			scalingLimit: 16,
			diskLimitGB: 10,
			publicIPv4: n === 1 ? 1 : 0,
			publicIPv6: 0,
			peakRamMiB: ((a * 3 + e * 5 + h * 7 + n) % 17) * 128,
			avgCpuMHz: ((a + h + n) % 9) * 400,
			peakDiskMB: 500 + ((a + e + n) % 20) * 100,
			trafficInMB: 12,
			trafficOutMB: 30,
			samples: 180,
		})),
	};
}

async function main() {
	const store = await benchStore("charge");
	const limit = store.kind === "mongo" ? 120 : 60;
	const dir = mkdtempSync(join(tmpdir(), "qm-bench-charge-"));
	Object.assign(process.env, { DATA_DIR: dir, QM_JOBS: "off", LOG_LEVEL: "warn" }, store.env);
	const broker = new ServiceBroker(brokerConfig({ nodeID: "bench-charge", logger: false }));
	for (const s of selectServices(["accounts", "auth", "notifications", "quotas", "environments", "billing"])) broker.createService(s);
	await broker.start().catch(async err => {
		await store.stop();
		throw err;
	});
	try {
		// Accounts straight into the accounts store (signing up 1,000 people would measure bcrypt), funded through the ledger.
		const accounts = broker.getLocalService("accounts") as unknown as { db: { accounts: { insert(d: object): Promise<unknown> } } };
		const t = new Date();
		for (let a = 0; a < ACCOUNTS; a++) {
			const id = `acct-${a}`;
			await accounts.db.accounts.insert({
				_id: id,
				email: `a${a}@bench.test`,
				name: "",
				phone: "",
				group: "billing",
				role: "user",
				status: "active",
				createdAt: t,
				activatedAt: t,
				updatedAt: t,
			});
			await broker.call("billing.post", { accountId: id, key: `refill:bench:${id}`, kind: "refill", amount: 100_000_000, description: "bench" });
		}
		const records: UsageRecord[] = [];
		for (let h = 0; h < HOURS; h++) for (let a = 0; a < ACCOUNTS; a++) for (let e = 0; e < ENVS; e++) records.push(record(a, e, h));
		const expected = records.reduce(
			(sum, r) =>
				sum +
				rateEnvHour({ ...r, previousMonthTrafficGB: "0", nodes: r.nodes.map(n => ({ ...n, trafficMB: n.trafficInMB + n.trafficOutMB })) }, DEFAULT_PRICES)
					.total,
			0,
		);

		const started = Date.now();
		let charged = 0;
		for (let i = 0; i < records.length; i += CHUNK) {
			// No request timeout for the driver's calls: a chunk of 2,000 takes longer than 30 s on FerretDB.
			const r = await broker.call<{ charged: number; failed: number }, { records: UsageRecord[] }>(
				"billing.chargeRecords",
				{ records: records.slice(i, i + CHUNK) },
				{ timeout: 0 },
			);
			if (r.failed) throw new Error(`${r.failed} environment-hours failed to charge`);
			charged += r.charged;
			if (store.kind === "mongo") console.error(`charge: ${charged} charged, ${((Date.now() - started) / 1000).toFixed(1)} s`);
		}
		const seconds = (Date.now() - started) / 1000;

		// Every hour once, exactly: charging all of them again adds nothing, and the ledger holds what the rating says.
		const again = Date.now();
		await broker.call("billing.chargeRecords", { records: records.slice(0, CHUNK) }, { timeout: 0 });
		const replaySeconds = (Date.now() - again) / 1000;
		const rec = await broker.call<{ balance: { main: number; bonus: number }; ledger: { main: number; bonus: number }; ok: boolean }[], Record<string, never>>(
			"billing.reconcile",
			{},
			{ timeout: 0 },
		);
		const total = rec.reduce((s, r) => s + r.ledger.main + r.ledger.bonus, 0);
		const ok = rec.every(r => r.ok) && total === ACCOUNTS * 100_000_000 - expected;
		const result = {
			store: store.label,
			accounts: ACCOUNTS,
			environmentHours: records.length,
			charged,
			seconds: Math.round(seconds * 10) / 10,
			perSecond: Math.round(records.length / seconds),
			replayOf2000Seconds: Math.round(replaySeconds * 100) / 100,
			ledgerMatchesRating: ok,
		};
		console.log(JSON.stringify(result));
		console.log(
			`charge [${store.label}]: ${records.length} environment-hours (${ACCOUNTS} accounts × ${ENVS} environments × ${HOURS} hours) in ${result.seconds} s (${result.perSecond}/s; target 100,000 in < ${limit} s); ledger = rating: ${ok} → ${
				records.length >= 100_000
					? seconds < limit && ok
						? "PASS"
						: "FAIL"
					: `${ok ? "" : "FAIL; "}100,000 at this rate ≈ ${Math.round(100_000 / (records.length / seconds))} s`
			}`,
		);
	} finally {
		await broker.stop();
		await store.stop();
		rmSync(dir, { recursive: true, force: true });
	}
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
