// A small time-bounded cache: entries live `ttlMs` at most and may be dropped or replaced earlier
// by events (the gateway's credentials by `tokens.revoked`, accounts' balances by
// `billing.balance.changed`). Size-bounded, oldest first, so a flood of distinct keys cannot
// grow it without limit. Wall time, not the platform clock: it is about freshness, not dates.
export class TtlCache<K, V> {
	private map = new Map<K, { value: V; until: number }>();

	constructor(
		private ttlMs: number,
		private max = 10_000,
	) {}

	get(key: K, nowMs: number): V | undefined {
		const hit = this.map.get(key);
		if (!hit) return undefined;
		if (hit.until <= nowMs) {
			this.map.delete(key);
			return undefined;
		}
		return hit.value;
	}

	set(key: K, value: V, nowMs: number) {
		if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as K); // oldest first
		this.map.set(key, { value, until: nowMs + this.ttlMs });
	}

	delete(key: K) {
		this.map.delete(key);
	}

	deleteWhere(pred: (value: V, key: K) => boolean) {
		for (const [k, v] of this.map) if (pred(v.value, k)) this.map.delete(k);
	}

	clear() {
		this.map.clear();
	}
}
