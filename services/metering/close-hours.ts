// MTR-2, MTR-3: closing environment-hours and building their records, the body of metering's
// close-hours job. An hour is closed once (a conditional upsert); a record is built for the
// hour's latest touch only (a sample arriving meanwhile leaves it dirty for the next run), and a
// late sample re-opens a closed hour as a new revision of its record. Store-taking: no Moleculer.
import { envInt } from "../../lib/config";
import { HOUR_MS, hourOf } from "../../lib/usage-record";
import { DuplicateKeyError } from "../../mixins/db.mixin";
import { buildRecord, type Inventory } from "./env-hours";
import { envHourId, type MeteringStores } from "./store";

/** MTR-2: an hour closes this long after its end (default 5 minutes). */
const GRACE_MS = envInt("METERING_GRACE_MINUTES", 5) * 60_000;
/** How many hours one run of close-hours closes at most (a platform down for days catches up over runs). */
const MAX_HOURS_PER_RUN = 24 * 40;

export interface InventoryPage {
	rows: Inventory[];
	next: string | null;
}

/** What closing hours needs: the store, the inventory (environments.inventory), and a wait before the first hour closes. */
export interface CloseHoursParams {
	db: MeteringStores;
	nowMs: number;
	inventory(q: { from: string; to: string; afterEnvId?: string; limit: number }): Promise<InventoryPage>;
	/** runs once, only when some hour is due: every replica's samples are in their hours by then */
	beforeClosing(): Promise<void>;
	/** when the first environment appeared (ms), null before any: asked once, on the first run */
	firstEnvironmentAt(): Promise<number | null>;
}

/**
 * The hour closing starts from on a new platform: the earliest of this run's, the first
 * sample's and the first environment's — no hour before the first run goes uncharged.
 */
export function firstHourToClose(nowMs: number, firstSampleHour: number | null, firstEnvironmentMs: number | null): number {
	return Math.min(hourOf(nowMs), firstSampleHour ?? Infinity, firstEnvironmentMs === null ? Infinity : hourOf(firstEnvironmentMs));
}

/** The state row, created on a new platform (the first run) with the hour closing starts from. */
async function closeState(db: MeteringStores, nowMs: number, firstEnvironmentAt: () => Promise<number | null>) {
	const state = await db.metering_state.findById("close");
	if (state) return state;
	// Once per platform: env_hours has no index on `hour`, and a new platform has few of them.
	const [firstSample] = await db.env_hours.find({}, { sort: { hour: 1 }, limit: 1 });
	const from = firstHourToClose(nowMs, firstSample?.hour ?? null, await firstEnvironmentAt());
	try {
		return await db.metering_state.insert({ _id: "close", closedUpTo: from });
	} catch (err) {
		if (!(err instanceof DuplicateKeyError)) throw err;
		return (await db.metering_state.findById("close"))!;
	}
}

/** Each hour past its grace period gets its inventory: one closed environment-hour per environment that existed. */
export async function closeHours({ db, nowMs, inventory, beforeClosing, firstEnvironmentAt }: CloseHoursParams): Promise<number> {
	const limit = hourOf(nowMs - GRACE_MS) - HOUR_MS; // the last hour whose grace is over
	const state = await closeState(db, nowMs, firstEnvironmentAt);
	let closed = 0;
	if (state.closedUpTo <= limit) await beforeClosing();
	for (let hour = state.closedUpTo, n = 0; hour <= limit && n < MAX_HOURS_PER_RUN; hour += HOUR_MS, n++) {
		let after: string | null = null;
		do {
			const page: InventoryPage = await inventory({
				from: new Date(hour).toISOString(),
				to: new Date(hour + HOUR_MS).toISOString(),
				...(after ? { afterEnvId: after } : {}),
				limit: 1000,
			});
			await Promise.all(
				page.rows.map(async inv => {
					try {
						// Closed once: a second run (or replica) finds it closed, and the upsert's insert fails.
						await db.env_hours.updateOne(
							{ _id: envHourId(inv.envId, hour), closed: { $ne: true } },
							{ $set: { envId: inv.envId, hour, closed: true, inventory: inv, dirty: true }, $inc: { touches: 1 } },
							{ upsert: true },
						);
						closed++;
					} catch (err) {
						if (!(err instanceof DuplicateKeyError)) throw err;
					}
				}),
			);
			after = page.next;
		} while (after);
		await db.metering_state.updateOne({ _id: "close", closedUpTo: hour }, { $set: { closedUpTo: hour + HOUR_MS } });
	}
	return closed;
}

/** The record of every dirty closed environment-hour, for its latest touch (a touch meanwhile leaves it dirty). */
export async function buildDirty(db: MeteringStores): Promise<number> {
	let built = 0;
	for (;;) {
		const dirty = await db.env_hours.find({ dirty: true, closed: true }, { sort: { hour: 1 }, limit: 500 });
		if (!dirty.length) return built;
		let progress = 0;
		for (const d of dirty) {
			const inv = d.inventory as Inventory;
			const buckets = Object.entries(d.nodes ?? {}).map(([nodeId, b]) => ({ nodeId, ...b }));
			// MTR-3: an hour without samples has the last known disk, which the hour before carries.
			const lastDisk = new Map<string, number>();
			if (inv.nodes.some(n => !d.nodes?.[n.nodeId])) {
				const before = await db.env_hours.findById(envHourId(d.envId, d.hour - HOUR_MS));
				for (const n of before?.record?.nodes ?? []) lastDisk.set(n.nodeId, n.peakDiskMB);
			}
			const rev = (d.rev ?? 0) + 1;
			const record = buildRecord(inv, d.hour, rev, buckets, lastDisk);
			const saved = await db.env_hours.updateOne(
				{ _id: d._id, touches: d.touches, rev: d.rev ?? { $exists: false } },
				{ $set: { rev, record, undelivered: true }, $unset: { dirty: true } },
			);
			if (saved) {
				built++;
				progress++;
			}
		}
		if (!progress) return built; // all raced with new samples: the next run takes them
	}
}
