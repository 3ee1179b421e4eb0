// The gateway's route for signed webhooks (PAY-2): a signature covers the bytes as sent, so the
// body is handed to the action unparsed (base64) with the request's headers (credentials left
// out), never re-serialised. Catalogue entries marked `rawBody` live under RAW_PREFIX, on a route
// of their own path (moleculer-web keeps one route per path).
import type { IncomingMessage, ServerResponse } from "http";
import type { ServiceBroker } from "moleculer";
import type { ApiEntry } from "./api-catalogue";

/** A webhook's largest body. */
export const RAW_BODY_LIMIT = 1024 * 1024;
/** Where the routes that take raw bodies live. */
export const RAW_PREFIX = "/billing/providers";

/** `POST /billing/providers/:name/webhook` → `POST /:name/webhook`. */
export function rawAliasPath(rest: string): string {
	const [verb, path] = rest.split(" ");
	if (!path.startsWith(`${RAW_PREFIX}/`)) throw new Error(`A raw-body route must live under ${RAW_PREFIX}: ${rest}`);
	return `${verb} ${path.slice(RAW_PREFIX.length)}`;
}

type Req = IncomingMessage & { $params?: Record<string, unknown> };
type RequestId = (req: Req, res: ServerResponse) => string;

/** What a raw-body alias uses of the gateway service it runs in (moleculer-web calls it as one of its methods). */
interface Gateway {
	broker: ServiceBroker;
	settings: { onError: (req: Req, res: ServerResponse, err: unknown) => void };
	sendJson(res: ServerResponse, status: number, body: unknown): void;
}

/** An alias that hands `action` the raw body, the path's parameters and the headers but credentials. */
function rawBodyAlias(action: string, requestId: RequestId) {
	return async function (this: Gateway, req: Req, res: ServerResponse) {
		try {
			const chunks: Buffer[] = [];
			let size = 0;
			for await (const chunk of req as AsyncIterable<Buffer>) {
				size += chunk.length;
				if (size > RAW_BODY_LIMIT) throw Object.assign(new Error("The request body is too large"), { type: "entity.too.large", status: 413 });
				chunks.push(chunk);
			}
			const headers = Object.fromEntries(Object.entries(req.headers).filter(([k, v]) => typeof v === "string" && k !== "authorization" && k !== "cookie"));
			const params = { ...(req.$params ?? {}), body: Buffer.concat(chunks).toString("base64"), headers };
			this.sendJson(res, 200, await this.broker.call(action, params, { meta: { requestId: requestId(req, res) } }));
		} catch (err) {
			// Shaped as every other error (moleculer-web leaves an alias function's errors to it).
			this.settings.onError.call(this, req, res, err);
		}
	};
}

/** The route of the `rawBody` entries, below `apiPath`. */
export function rawBodyRoute(apiPath: string, entries: ApiEntry[], requestId: RequestId) {
	return {
		path: apiPath + RAW_PREFIX,
		mappingPolicy: "restrict",
		autoAliases: false,
		bodyParsers: false,
		aliases: Object.fromEntries(entries.filter(e => e.rawBody).map(e => [rawAliasPath(e.rest), rawBodyAlias(e.action, requestId)])),
	};
}
