// One try of a webhook: POST the body to the checked addresses, 5 s at most. The connection goes
// to the addresses target.ts checked, not to a second DNS answer (rebinding between the check and
// the connection). Redirects are not followed: a 3xx is a failed try like any other non-2xx.
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import type { ResolvedAddress } from "./target";

export const SEND_TIMEOUT_MS = 5_000;

export interface TryResult {
	ok: boolean;
	statusCode?: number;
	error?: string;
	durationMs: number;
}

/** A lookup that answers the checked addresses whatever it is asked. */
function pinned(addresses: ResolvedAddress[]): LookupFunction {
	return (_hostname, options, callback) => {
		if (options.all) callback(null, addresses);
		else callback(null, addresses[0].address, addresses[0].family);
	};
}

export function sendWebhook(
	url: URL,
	addresses: ResolvedAddress[],
	body: string,
	headers: Record<string, string>,
	timeoutMs = SEND_TIMEOUT_MS,
): Promise<TryResult> {
	const started = Date.now();
	const done = (r: Omit<TryResult, "durationMs">): TryResult => ({ ...r, durationMs: Date.now() - started });
	return new Promise(resolve => {
		const req = (url.protocol === "https:" ? https : http).request(url, {
			method: "POST",
			headers: { ...headers, "Content-Length": Buffer.byteLength(body), "User-Agent": "Quartermaster-Webhooks/1" },
			lookup: pinned(addresses),
			agent: false,
		});
		// Also cuts an answer whose body never ends (the try is settled by its status already).
		const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
		req.on("close", () => clearTimeout(timer));
		req.on("response", res => {
			res.resume(); // the answer's body is not read, only drained
			const statusCode = res.statusCode ?? 0;
			resolve(done({ ok: statusCode >= 200 && statusCode < 300, statusCode }));
		});
		req.on("error", err => resolve(done({ ok: false, error: err.message.slice(0, 200) })));
		req.end(body);
	});
}
