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
		put: <T = any>(path: string, body?: unknown, opts?: Parameters<typeof call>[2]) => call<T>("PUT", path, { ...opts, body }),
		del: <T = any>(path: string, opts?: Parameters<typeof call>[2]) => call<T>("DELETE", path, opts),
		call,
	};
}

export type Api = ReturnType<typeof api>;

/** Any body with any headers, sent as is (no content type added): for tests of malformed requests. `body` is null unless JSON. */
export async function sendRaw(baseUrl: string, method: string, path: string, body: string | undefined, headers: Record<string, string> = {}): Promise<Reply> {
	const res = await fetch(baseUrl + path, { method, headers, body });
	const text = await res.text();
	let json: any = null;
	try {
		json = JSON.parse(text);
	} catch {
		/* not JSON */
	}
	return { status: res.status, headers: res.headers, body: json, text };
}

/** JSON content type, the bearer token if any, and more headers. */
export const jsonHeaders = (token?: string, more: Record<string, string> = {}): Record<string, string> => ({
	"content-type": "application/json",
	...(token ? { authorization: `Bearer ${token}` } : {}),
	...more,
});

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

/** Signs in as soon as the platform lets these credentials in (the bootstrap admin is seeded at start): the session. */
export function signInWhenReady(http: Pick<Api, "post">, credentials: { email: string; password: string }): Promise<string> {
	return waitUntil(async () => {
		const r = await http.post("/auth/signin", credentials);
		return r.status === 200 && (r.body.session as string);
	});
}
