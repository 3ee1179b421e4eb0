// BIL-2: one charge per environment-hour, keyed so that a replay, a redelivery or a restart can
// never charge it twice; a late correction charges the difference only. One use case, one unit:
// `chargeEnvironmentHour(record)`.
//
// Each environment-hour has one charge document (`_id` = `<envId>:<hour>`) holding the revision
// it was rated at, what the ledger has been asked for so far (`charged`), and the ledger entry
// its last change asked for (`lastKey`). Charging a record:
//   0. the last entry asked for is posted if the ledger does not hold it yet (its key makes that
//      idempotent) — a crash between 2 and 3 below left it unposted;
//   1. a record at or below the document's revision is old news: nothing more to do;
//   2. the record is rated; the difference to `charged` is written to the document, with the key
//      of its entry, in ONE conditional write (an insert, or an update on the revision read) — a
//      concurrent charge of the same hour loses this race and starts again from the new state;
//   3. the ledger entry is posted under the key `charge:<envId>:<hour>:<rev>`.
// The stream acknowledges a record only once this has returned: a crash between 2 and 3 means
// the record (or a later revision of the hour) is delivered again, and its step 0 posts the
// entry. So Σ ledger for the hour = `charged`, with one write to the document per change.
import Big from "big.js";
import { DuplicateKeyError, type Doc, type Store } from "../../mixins/db.mixin";
import { now } from "../../lib/clock";
import { TtlCache } from "../../lib/ttl-cache";
import type { Micros } from "../../lib/money";
import type { Initiator, UsageRecord } from "../../lib/usage-record";
import { hourRow, type HourRow } from "./history";
import { rateEnvHour, type PriceList, type RatedEnvHour } from "./rating";

export interface ChargeDoc extends Doc {
	envId: string;
	accountId: string;
	name: string;
	/** COL-8: the member who created the environment for the account (absent: the account itself) */
	initiator?: Initiator;
	/** the hour's start, epoch ms */
	hour: number;
	rev: number;
	running: boolean;
	subscription: boolean;
	/** Σ of the amounts (positive = taken) asked of the ledger for this hour, the last one included */
	charged: Micros;
	/** ledger entries asked for */
	entries: number;
	/** the entry the last change asked for ("" when it asked for none), its kind and the amount taken */
	lastKey: string;
	lastKind: "charge" | "correction";
	lastAmount: Micros;
	/** external traffic of the hour (DSC-2: next month's traffic tier) */
	trafficMB: number;
	/** the price list the hour was rated with */
	pricesId: string;
	rated: RatedEnvHour;
	/** the hour as the hourly billing history shows it (absent on hours charged before it was kept) */
	historyRow?: HourRow;
	createdAt: Date;
	updatedAt: Date;
}

export interface AccountTerms {
	prices: PriceList;
	/** names `prices` for later corrections (see PriceBook.snapshot) */
	pricesId: string;
	/** BIL-3: account.charge.balance.first = 1 */
	mainFirst: boolean;
	/** an administrator's account: staff, never charged for usage */
	staff?: boolean;
}

export interface LedgerPost {
	accountId: string;
	key: string;
	kind: "charge" | "correction";
	/** signed micros: negative takes money */
	amount: Micros;
	envId: string;
	/** COL-8: the member whose environment this charge is for (carried, never priced) */
	initiator?: Initiator;
	description: string;
	mainFirst: boolean;
}

export type ChargeOutcome = "charged" | "corrected" | "unchanged" | "old" | "staff";

/** What the charger asks of the ledger. */
export interface ChargeLedger {
	post(entry: LedgerPost): Promise<void>;
	/** whether the ledger holds the entry of this key, applied or refused (a cheap read; false sends it to `post`) */
	posted(key: string): Promise<boolean>;
}

/** Where the charger learns what an account pays. */
export interface Terms {
	of(accountId: string): Promise<AccountTerms>;
	/** the price list a charge document names (PriceBook.snapshot), for corrections */
	pricesById(id: string): Promise<PriceList>;
}

/** Every input of charging an environment-hour, as one object. */
export interface ChargerParams {
	charges: Store<ChargeDoc>;
	ledger: ChargeLedger;
	terms: Terms;
}

const MONTH_CACHE_MS = 10 * 60_000;

export class Charger {
	private monthTraffic = new TtlCache<string, string>(MONTH_CACHE_MS, 100_000);
	private charges: Store<ChargeDoc>;
	private ledger: ChargeLedger;
	private terms: Terms;

	constructor({ charges, ledger, terms }: ChargerParams) {
		this.charges = charges;
		this.ledger = ledger;
		this.terms = terms;
	}

	/** Charges (or corrects) one environment-hour; safe to call any number of times, concurrently. */
	async chargeEnvironmentHour(record: UsageRecord): Promise<ChargeOutcome> {
		const id = `${record.envId}:${record.hour}`;
		for (let attempt = 1; attempt <= 50; attempt++) {
			const doc = await this.charges.findById(id);
			// Past hours stay with the account that owned the environment then (ENV-3: future charges go to the new owner).
			const accountId = doc?.accountId ?? record.ownerId;
			// Administrators are staff, not customers: their hours are never charged.
			if ((await this.terms.of(accountId)).staff) return "staff";
			if (doc?.lastKey) await this.ensurePosted(doc);
			if (doc && doc.rev >= record.rev) return "old";
			// A correction re-rates the hour at the prices it was first charged at: only the usage differs.
			const terms = doc ? null : await this.terms.of(accountId);
			const pricesId = doc ? doc.pricesId : terms!.pricesId;
			const prices = doc ? await this.terms.pricesById(doc.pricesId) : terms!.prices;
			const rated = rateEnvHour(
				{
					running: record.running,
					subscription: record.subscription,
					ssl: record.ssl,
					previousMonthTrafficGB: await this.previousMonthTrafficGB(record.envId, record.hour),
					nodes: record.nodes.map(n => ({
						nodeId: n.nodeId,
						layer: n.layer,
						reservedCloudlets: n.reservedCloudlets,
						scalingLimit: n.scalingLimit,
						publicIPv4: n.publicIPv4,
						publicIPv6: n.publicIPv6,
						peakRamMiB: n.peakRamMiB,
						avgCpuMHz: n.avgCpuMHz,
						peakDiskMB: n.peakDiskMB,
						trafficMB: n.trafficInMB + n.trafficOutMB,
					})),
				},
				prices,
			);
			const diff = rated.total - (doc?.charged ?? 0);
			const entries = doc?.entries ?? 0;
			const kind = entries === 0 ? "charge" : "correction";
			const key = diff !== 0 ? `charge:${record.envId}:${record.hour}:${record.rev}` : "";
			const set = {
				rev: record.rev,
				running: record.running,
				subscription: record.subscription,
				charged: rated.total,
				entries: entries + (diff !== 0 ? 1 : 0),
				lastKey: key,
				lastKind: kind,
				lastAmount: diff,
				pricesId,
				trafficMB: record.running ? record.nodes.reduce((a, n) => a + n.trafficInMB + n.trafficOutMB, 0) : 0,
				rated,
				historyRow: hourRow({ envId: record.envId, name: record.name, initiator: record.initiator, hour: record.hour, rated }),
				...(record.initiator ? { initiator: record.initiator } : {}),
				updatedAt: now(),
			} as const;
			let saved: ChargeDoc | null;
			if (!doc) {
				try {
					saved = await this.charges.insert({ _id: id, envId: record.envId, accountId, name: record.name, hour: record.hour, createdAt: now(), ...set });
				} catch (err) {
					if (!(err instanceof DuplicateKeyError)) throw err;
					saved = null;
				}
			} else {
				saved = await this.charges.updateOne({ _id: id, rev: doc.rev }, { $set: { ...set, name: record.name } });
			}
			if (!saved) continue; // another delivery of this hour moved first: look again
			if (!key) return "unchanged";
			await this.postLast(saved);
			return kind === "charge" ? "charged" : "corrected";
		}
		throw new Error(`Environment-hour ${id} kept changing while being charged`);
	}

	/** Step 0: the document's last entry, posted unless the ledger holds it already. */
	private async ensurePosted(doc: ChargeDoc): Promise<void> {
		if (!(await this.ledger.posted(doc.lastKey))) await this.postLast(doc);
	}

	/** Posts the entry the document's last change asked for (a replay if it was posted already). */
	private async postLast(doc: ChargeDoc): Promise<void> {
		const hour = new Date(doc.hour).toISOString().slice(0, 13).replace("T", " ");
		await this.ledger.post({
			accountId: doc.accountId,
			key: doc.lastKey,
			kind: doc.lastKind,
			amount: -doc.lastAmount,
			envId: doc.envId,
			...(doc.initiator ? { initiator: doc.initiator } : {}),
			description: `${doc.lastKind === "charge" ? "Usage" : "Usage correction"}: ${doc.name}, ${hour}:00 UTC`,
			mainFirst: (await this.terms.of(doc.accountId)).mainFirst,
		});
	}

	/** DSC-2: the environment's external traffic in the calendar month before the hour's, in GB. */
	async previousMonthTrafficGB(envId: string, hour: number): Promise<string> {
		const d = new Date(hour);
		const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1);
		const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
		const key = `${envId}:${start}`;
		const hit = this.monthTraffic.get(key, Date.now());
		if (hit) return hit;
		const docs = await this.charges.find({ envId, hour: { $gte: start, $lt: end } });
		// A quantity (it picks the traffic tier), not money: MB kept to 6 decimals, GB as a decimal string.
		const mb = docs.reduce((a, c) => a + (c.trafficMB ?? 0), 0);
		const gb = new Big(mb.toFixed(6)).div(1000).toFixed();
		this.monthTraffic.set(key, gb, Date.now());
		return gb;
	}
}
