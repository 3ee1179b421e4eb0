// Counters over a Store: atomic increments (lockouts, sign-up limits, TOTP steps) and fixed-window
// rate limits built on them. Portable: one conditional upsert per hit on every store.
import { DuplicateKeyError, type Store } from "./store";

/**
 * Atomically adds 1 to the counter document `id` (created on first use) and returns the new
 * count. Parallel callers each see a different count, so a limit can never be overshot.
 */
export async function bumpCounter(store: Store, id: string, expiresAt: Date): Promise<number> {
	for (let attempt = 0; ; attempt++) {
		try {
			const doc = await store.updateOne({ _id: id }, { $inc: { count: 1 }, $set: { expiresAt } }, { upsert: true });
			return (doc?.count as number) ?? 1;
		} catch (err) {
			// Two first uses raced on MongoDB: the loser's upsert hits the unique _id; the next try increments.
			if (!(err instanceof DuplicateKeyError) || attempt > 2) throw err;
		}
	}
}

/**
 * Fixed-window limits on one key ("1 per minute and 5 per hour"): counts the hit in every window
 * and returns 0 when allowed, else the seconds until the fullest window ends.
 */
export async function hitLimits(store: Store, key: string, limits: { limit: number; windowSeconds: number }[], nowMs: number): Promise<number> {
	let retryAfter = 0;
	for (const l of limits) {
		const windowMs = l.windowSeconds * 1000;
		const bucket = Math.floor(nowMs / windowMs);
		const end = (bucket + 1) * windowMs;
		const count = await bumpCounter(store, `${key}|${l.windowSeconds}|${bucket}`, new Date(end));
		if (count > l.limit) retryAfter = Math.max(retryAfter, (end - nowMs) / 1000);
	}
	return retryAfter;
}
