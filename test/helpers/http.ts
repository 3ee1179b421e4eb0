// A small HTTP client for tests: JSON in and out, a bearer token when given.
export interface Reply<T = any> {
	status: number;
	headers: Headers;
	body: T;
	text: string;
}

export function api(baseUrl: string) {
	async function call<T = any>(
		method: string,
		path: string,
		opts: { body?: unknown; raw?: string; token?: string; headers?: Record<string, string> } = {},
	): Promise<Reply<T>> {
		const headers: Record<string, string> = { ...(opts.headers ?? {}) };
		if (opts.body !== undefined || opts.raw !== undefined) headers["content-type"] = "application/json";
		if (opts.token) headers.authorization = `Bearer ${opts.token}`;
		const res = await fetch(baseUrl + path, { method, headers, body: opts.raw ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined) });
		const text = await res.text();
		let body: any = text;
		try {
			body = text ? JSON.parse(text) : null;
		} catch {
			/* not JSON: keep the text */
		}
		return { status: res.status, headers: res.headers, body, text };
	}
	return {
		get: <T = any>(path: string, opts?: Parameters<typeof call>[2]) => call<T>("GET", path, opts),
		post: <T = any>(path: string, body?: unknown, opts?: Parameters<typeof call>[2]) => call<T>("POST", path, { ...opts, body }),
		patch: <T = any>(path: string, body?: unknown, opts?: Parameters<typeof call>[2]) => call<T>("PATCH", path, { ...opts, body }),
		del: <T = any>(path: string, opts?: Parameters<typeof call>[2]) => call<T>("DELETE", path, opts),
		call,
	};
}

export type Api = ReturnType<typeof api>;

export async function waitUntil<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
	const end = Date.now() + timeoutMs;
	let last: unknown;
	while (Date.now() < end) {
		try {
			const v = await probe();
			if (v) return v;
		} catch (err) {
			last = err;
		}
		await new Promise(r => setTimeout(r, everyMs));
	}
	throw new Error(`Timed out after ${timeoutMs} ms${last ? `: ${String(last)}` : ""}`);
}
