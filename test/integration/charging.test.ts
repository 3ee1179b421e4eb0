// BIL-2, charging side: an environment-hour is charged exactly once through a crash between its
// charge document and its ledger entry (the stream delivers the record again, since it was not
// acknowledged), through a correction arriving before the crashed revision comes back, and
// through many deliveries of one record at once. Each hour is compared with a twin environment
// charged the same records without any fault, so the amounts are the platform's own pricing.
import type { Store } from "../../mixins/db.mixin";
import type { UsageRecord } from "../../lib/usage-record";
import type { ChargeDoc } from "../../services/billing/charging";
import type { EntryDoc, Ledger, Reconciliation } from "../../services/billing/ledger-store";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

type BillingInternals = { ledger: Ledger; db: { ledger: Store<EntryDoc>; env_charges: Store<ChargeDoc> } };

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 2, 10);

describe("charging an environment-hour exactly once", () => {
	let p: Platform;
	let billing: BillingInternals;
	let owner: string;

	const record = (envId: string, rev: number, ramMiB: number, hour = T0): UsageRecord => ({
		envId,
		hour,
		rev,
		ownerId: owner,
		name: envId,
		running: true,
		subscription: false,
		ssl: false,
		nodes: [
			{
				nodeId: `${envId}-n1`,
				layer: "cp",
				reservedCloudlets: 2,
				scalingLimit: 16,
				diskLimitGB: 10,
				publicIPv4: 1,
				publicIPv6: 0,
				peakRamMiB: ramMiB,
				avgCpuMHz: 400,
				peakDiskMB: 1500,
				trafficInMB: 10,
				trafficOutMB: 20,
				samples: 12,
			},
		],
	});
	const charge = (...records: UsageRecord[]) =>
		p.broker.call<{ charged: number; failed: number }, { records: UsageRecord[] }>("billing.chargeRecords", { records });
	/** The usage entries of an environment, oldest first: kind and amount taken (micros, signed as the ledger holds them). */
	const entriesOf = async (envId: string) =>
		(await billing.db.ledger.find({ envId }, { sort: { createdAt: 1 } })).map(e => ({ kind: e.kind, state: e.state, requested: e.requested }));
	const total = async (envId: string) => (await entriesOf(envId)).reduce((a, e) => a + e.requested, 0);
	const crashNextPost = () => jest.spyOn(billing.ledger, "post").mockRejectedValueOnce(new Error("simulated crash"));

	beforeAll(async () => {
		p = await startPlatform({ services: ["gateway", "accounts", "auth", "notifications", "quotas", "billing"] });
		billing = p.broker.getLocalService("billing") as unknown as BillingInternals;
		owner = (await createAccount(p, "hourly@example.com", "Charged-once-pass-1!")).id;
	});
	afterAll(() => p?.stop());
	afterEach(() => jest.restoreAllMocks());

	it("a crash between the charge document and its ledger entry: not acknowledged, and posted once when delivered again", async () => {
		expect(await charge(record("twin-a", 1, 900))).toEqual({ charged: 1, failed: 0 });
		const expected = await entriesOf("twin-a");
		expect(expected).toEqual([{ kind: "charge", state: "applied", requested: expect.any(Number) }]);
		expect(expected[0].requested).toBeLessThan(0);

		crashNextPost();
		expect(await charge(record("crashed-a", 1, 900))).toEqual({ charged: 0, failed: 1 });
		// The charge document is written, the money is not taken yet.
		expect(await billing.db.env_charges.findById(`crashed-a:${T0}`)).toMatchObject({ rev: 1, charged: -expected[0].requested });
		expect(await entriesOf("crashed-a")).toEqual([]);

		expect(await charge(record("crashed-a", 1, 900))).toEqual({ charged: 1, failed: 0 });
		expect(await charge(record("crashed-a", 1, 900))).toEqual({ charged: 1, failed: 0 });
		expect(await entriesOf("crashed-a")).toEqual(expected);
	});

	it("a correction delivered before the crashed revision comes back: the first charge and the difference, each once", async () => {
		await charge(record("twin-b", 1, 900));
		await charge(record("twin-b", 2, 2400));
		const expected = await entriesOf("twin-b");
		expect(expected.map(e => e.kind)).toEqual(["charge", "correction"]);
		expect(expected[1].requested).toBeLessThan(0); // more RAM costs more

		crashNextPost();
		expect(await charge(record("crashed-b", 1, 900))).toEqual({ charged: 0, failed: 1 });
		expect(await charge(record("crashed-b", 2, 2400))).toEqual({ charged: 1, failed: 0 });
		expect(await charge(record("crashed-b", 1, 900))).toEqual({ charged: 1, failed: 0 }); // the crashed revision, late: nothing more
		expect(await entriesOf("crashed-b")).toEqual(expected);
		expect(await total("crashed-b")).toBe(-(await billing.db.env_charges.findById(`crashed-b:${T0}`))!.charged);
	});

	it("ten deliveries of one record at once charge it once", async () => {
		await charge(record("twin-c", 1, 1700, T0 + HOUR));
		const expected = await entriesOf("twin-c");
		const results = await Promise.all(Array.from({ length: 10 }, () => charge(record("crowd-c", 1, 1700, T0 + HOUR))));
		expect(results.every(r => r.charged === 1 && r.failed === 0)).toBe(true);
		expect(await entriesOf("crowd-c")).toEqual(expected);
	});

	it("leaves the balance equal to the sum of the ledger, nothing pending", async () => {
		const [rec] = await p.broker.call<Reconciliation[], { accountId: string }>("billing.reconcile", { accountId: owner });
		expect(rec).toMatchObject({ ok: true, pending: 0 });
	});
});
