// The console's one way to the API (/api/v1 on the same origin). The session token lives in memory
// and in sessionStorage (this tab only, gone when it closes); passwords are never kept anywhere.
import { signal } from "@preact/signals";

const KEY = "qm.session";

export interface FieldError {
	field: string;
	message: string;
}

/** An error answer of the API (API.md): status, stable type, message, and the fields it names. */
export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly type: string,
		message: string,
		readonly data: unknown,
	) {
		super(message);
	}
	get fields(): FieldError[] {
		return Array.isArray(this.data) ? (this.data as FieldError[]).filter(e => e && typeof e.field === "string") : [];
	}
}

function stored(): string | null {
	try {
		return sessionStorage.getItem(KEY);
	} catch {
		return null;
	}
}

export const session = signal<string | null>(stored());
/** Why the API refused the session (401, e.g. a suspended account): shown until the next sign-in. */
export const refusal = signal<string | null>(null);

export function signedIn(token: string) {
	session.value = token;
	refusal.value = null;
	try {
		sessionStorage.setItem(KEY, token);
	} catch {
		/* private mode: memory only */
	}
}

export function signedOut(why: string | null = null) {
	session.value = null;
	refusal.value = why;
	try {
		sessionStorage.removeItem(KEY);
	} catch {
		/* nothing kept */
	}
}

/** A fresh Idempotency-Key for one money-moving request (and its retries). */
export function idempotencyKey(): string {
	return crypto.randomUUID();
}

interface CallOptions {
	idempotencyKey?: string;
	/** answer the raw Response (a PDF) */
	raw?: boolean;
}

/** Calls the API; answers the JSON body, throws ApiError. A 401 on a signed-in call ends the session here. */
export async function call<T = any>(method: string, path: string, body?: unknown, opts: CallOptions = {}): Promise<T> {
	const headers: Record<string, string> = { accept: "application/json" };
	if (body !== undefined) headers["content-type"] = "application/json";
	const token = session.value;
	if (token) headers.authorization = `Bearer ${token}`;
	if (opts.idempotencyKey) headers["idempotency-key"] = opts.idempotencyKey;
	let res: Response;
	try {
		res = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
	} catch {
		throw new ApiError(0, "NETWORK", "The platform cannot be reached. Check your connection and try again.", null);
	}
	if (res.ok && opts.raw) return res as unknown as T;
	const text = await res.text();
	let json: any = null;
	try {
		json = text ? JSON.parse(text) : null;
	} catch {
		/* not JSON */
	}
	if (res.ok) return json as T;
	const err = new ApiError(res.status, json?.type ?? "ERROR", json?.message ?? `The request failed (${res.status})`, json?.data ?? null);
	if (res.status === 401 && token) signedOut(`You are signed out: ${err.message}.`);
	throw err;
}

export const get = <T = any>(path: string) => call<T>("GET", path);
export const post = <T = any>(path: string, body: unknown = {}, opts?: CallOptions) => call<T>("POST", path, body, opts);
export const put = <T = any>(path: string, body: unknown = {}) => call<T>("PUT", path, body);
export const patch = <T = any>(path: string, body: unknown = {}) => call<T>("PATCH", path, body);
export const del = <T = any>(path: string) => call<T>("DELETE", path);

/** Fetches a file with the session (a link cannot carry the Authorization header) and saves it. */
export async function download(path: string, filename: string) {
	const res = await call<Response>("GET", path, undefined, { raw: true });
	const url = URL.createObjectURL(await res.blob());
	const a = document.createElement("a");
	a.href = url;
	a.download = filename;
	document.body.appendChild(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
