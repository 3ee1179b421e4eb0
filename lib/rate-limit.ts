// In-memory sliding-log rate limiter: the gateway's per-IP limits on public routes. Each gateway
// replica counts on its own (documented); per-address limits that must hold across replicas
// (REG-3) are counted in the database by the service that owns the address.

export interface Limit {
	limit: number;
	windowSeconds: number;
}

export class RateLimiter {
	private hits = new Map<string, number[]>();
	private lastSweep = 0;

	/** Counts a hit for `key`; returns 0 if allowed, else the seconds until it would be. */
	hit(key: string, limits: Limit[], nowMs: number): number {
		this.sweep(nowMs, limits);
		const longest = Math.max(...limits.map(l => l.windowSeconds)) * 1000;
		const log = (this.hits.get(key) ?? []).filter(t => t > nowMs - longest);
		let retryAfter = 0;
		for (const l of limits) {
			const inWindow = log.filter(t => t > nowMs - l.windowSeconds * 1000);
			if (inWindow.length >= l.limit) {
				retryAfter = Math.max(retryAfter, (inWindow[0] + l.windowSeconds * 1000 - nowMs) / 1000);
			}
		}
		if (retryAfter === 0) log.push(nowMs);
		this.hits.set(key, log);
		return retryAfter;
	}

	private sweep(nowMs: number, limits: Limit[]) {
		if (nowMs - this.lastSweep < 60_000) return;
		this.lastSweep = nowMs;
		const longest = Math.max(...limits.map(l => l.windowSeconds), 3600) * 1000;
		for (const [k, log] of this.hits) if (!log.length || log[log.length - 1] <= nowMs - longest) this.hits.delete(k);
	}
}
