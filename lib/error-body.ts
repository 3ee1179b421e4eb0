// Every error the API answers, shaped as API.md says: stable types, field lists for validation
// errors, 503 for a service that is not there (every route is catalogued, so that is an outage,
// not a 404), and a generic 500 with only the request id for anything unexpected. Pure: the
// gateway logs the unexpected ones and sends what this answers.
import { validationError } from "./errors";
import { bodyParserRefusal } from "./request-shape";
import { toFieldErrors } from "./validator";

/** What reaches the gateway's onError: a Moleculer error, a body-parser error, or anything thrown. */
export type RaisedError = Error & { code?: unknown; type?: string; data?: unknown; status?: number };

export interface ErrorBody {
	name: string;
	message: string;
	code: number;
	type: string;
	data?: unknown;
}

export interface ShapedError {
	status: number;
	body: ErrorBody;
	/** not a client's mistake: the gateway logs it with the request id */
	unexpected: boolean;
	/** seconds, for the Retry-After header (429, and a 409 whose twin is still running) */
	retryAfter?: number;
}

/** The HTTP status and body answered for `err` on the request `requestId`. */
export function shapeError(err: RaisedError, requestId: string): ShapedError {
	const shaped = bodyOf(err, requestId);
	const retryAfter = (shaped.body.data as { retryAfter?: number } | undefined)?.retryAfter;
	return (shaped.status === 429 || shaped.status === 409) && retryAfter ? { ...shaped, retryAfter } : shaped;
}

function bodyOf(err: RaisedError, requestId: string): ShapedError {
	const status = typeof err.code === "number" ? err.code : 500;
	const refused = bodyParserRefusal(err);
	if (refused) return expected(refused.status, refused.body);
	if (err.type === "VALIDATION_ERROR" && status === 422) {
		// Ours come as [{field, message}] already; fastest-validator's are translated.
		const data =
			Array.isArray(err.data) && err.data.every(e => e && typeof e === "object" && "field" in e && !("type" in e)) ? err.data : toFieldErrors(err.data);
		return expected(422, { name: "ValidationError", message: validationError(data as never).message, code: 422, type: "VALIDATION_ERROR", data });
	}
	if (status === 503 || err.type === "SERVICE_NOT_AVAILABLE" || err.type === "SERVICE_NOT_FOUND") {
		const message = "The service is temporarily unavailable, try again shortly";
		return expected(503, { name: "ServiceUnavailableError", message, code: 503, type: "SERVICE_UNAVAILABLE", data: { requestId } });
	}
	if (status === 404 || err.type === "NOT_FOUND") {
		return expected(404, { name: "NotFoundError", message: err.type === "NOT_FOUND" && err.message ? err.message : "Not found", code: 404, type: "NOT_FOUND" });
	}
	if (status === 504 || err.type === "REQUEST_TIMEOUT") {
		return expected(504, { name: "GatewayTimeout", message: "The request took too long", code: 504, type: "TIMEOUT", data: { requestId } });
	}
	if (status >= 400 && status < 500 && err.type) {
		// moleculer's own rate limiter: one type for every limit.
		if (err.type === "RATE_LIMIT_EXCEEDED") return expected(status, { name: "RateLimited", message: "Too many requests, try again later", code: 429, type: "RATE_LIMITED" });
		return expected(status, { name: err.name, message: err.message, code: status, type: err.type, ...(err.data !== undefined ? { data: err.data } : {}) });
	}
	// Unexpected: the client is told only the request id, never the message.
	return { status: 500, body: { name: "InternalServerError", message: "Internal server error", code: 500, type: "INTERNAL_ERROR", data: { requestId } }, unexpected: true };
}

function expected(status: number, body: ErrorBody): ShapedError {
	return { status, body, unexpected: false };
}
