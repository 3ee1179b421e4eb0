// API.md's error shapes, pure (lib/error-body.ts): what each kind of failure answers — status,
// body, whether the gateway logs it, and the Retry-After it sends.
import { Errors } from "moleculer";
import { shapeError, type RaisedError } from "../../lib/error-body";
import { conflict, forbidden, notFound, rateLimited, unauthorized, validationError } from "../../lib/errors";

const RID = "req-0001";
/** An error as thrown by a library (body-parser, moleculer-web): fields set on a plain Error. */
const raised = (message: string, fields: Partial<RaisedError>): RaisedError => Object.assign(new Error(message), fields);

describe("shapeError", () => {
	test.each<[string, RaisedError, number, Record<string, unknown>]>([
		[
			"our validation error keeps its field list",
			validationError([{ field: "amount", message: "must not be zero" }]),
			422,
			{
				name: "ValidationError",
				code: 422,
				type: "VALIDATION_ERROR",
				message: "amount: must not be zero",
				data: [{ field: "amount", message: "must not be zero" }],
			},
		],
		[
			"fastest-validator's list becomes fields and reasons",
			new Errors.ValidationError("Parameters validation error!", "VALIDATION_ERROR", [
				{ type: "required", field: "email", message: "The 'email' field is required." },
			]) as RaisedError,
			422,
			{ name: "ValidationError", code: 422, type: "VALIDATION_ERROR", message: "email: is required.", data: [{ field: "email", message: "is required." }] },
		],
		[
			"a stray key of a strict object: one row per key",
			new Errors.ValidationError("Parameters validation error!", "VALIDATION_ERROR", [
				{ type: "objectStrict", field: "", actual: "admin, role" },
			]) as RaisedError,
			422,
			{
				data: [
					{ field: "admin", message: "is not an accepted field" },
					{ field: "role", message: "is not an accepted field" },
				],
			},
		],
		[
			"body-parser: not JSON",
			raised("Unexpected token", { type: "entity.parse.failed", status: 400 }),
			400,
			{ name: "BadRequest", code: 400, type: "BAD_REQUEST" },
		],
		["body-parser: too large", raised("request entity too large", { type: "entity.too.large", status: 413 }), 413, { code: 413, type: "PAYLOAD_TOO_LARGE" }],
		[
			"a service that is not there is an outage, with the request id",
			new Errors.ServiceNotFoundError({ action: "billing.balance" }) as RaisedError,
			503,
			{ name: "ServiceUnavailableError", code: 503, type: "SERVICE_UNAVAILABLE", data: { requestId: RID } },
		],
		[
			"a service not available either",
			new Errors.ServiceNotAvailableError({ action: "billing.balance", nodeID: "n1" }) as RaisedError,
			503,
			{ type: "SERVICE_UNAVAILABLE", data: { requestId: RID } },
		],
		["our not-found names what", notFound("Tariff"), 404, { name: "NotFoundError", message: "Tariff not found", code: 404, type: "NOT_FOUND" }],
		[
			"moleculer-web's unknown route: a plain 404",
			raised("Not found", { code: 404, type: "NOT_FOUND_ROUTE" }),
			404,
			{ message: "Not found", type: "NOT_FOUND" },
		],
		[
			"a timeout, with the request id",
			new Errors.RequestTimeoutError({ action: "billing.history", nodeID: "n1" }) as RaisedError,
			504,
			{ name: "GatewayTimeout", code: 504, type: "TIMEOUT", data: { requestId: RID } },
		],
		[
			"a client error passes as it is",
			forbidden("Administrators only", { method: "x" }),
			403,
			{ name: "MoleculerClientError", code: 403, type: "FORBIDDEN", data: { method: "x" } },
		],
		["a client error without data has none", unauthorized(), 401, { code: 401, type: "UNAUTHORIZED", message: "Authentication required" }],
		[
			"moleculer's rate limit becomes ours",
			raised("Rate limit exceeded", { code: 429, type: "RATE_LIMIT_EXCEEDED", data: { limit: 10 } }),
			429,
			{ name: "RateLimited", code: 429, type: "RATE_LIMITED", message: "Too many requests, try again later" },
		],
	])("%s", (_name, err, status, body) => {
		const shaped = shapeError(err, RID);
		expect(shaped.status).toBe(status);
		expect(shaped.body).toMatchObject(body);
		expect(shaped.unexpected).toBe(false);
	});

	test.each<[string, RaisedError]>([
		["a TypeError", new TypeError("Cannot read properties of undefined (reading 'x')")],
		["a 500 with a type", raised("db down", { code: 500, type: "MONGO_ERROR" })],
		["a 4xx without a type", raised("odd", { code: 418 })],
	])("anything unexpected (%s): a generic 500 with the request id only, to be logged", (_name, err) => {
		expect(shapeError(err, RID)).toEqual({
			status: 500,
			body: { name: "InternalServerError", message: "Internal server error", code: 500, type: "INTERNAL_ERROR", data: { requestId: RID } },
			unexpected: true,
		});
	});

	test.each<[string, RaisedError, number | undefined]>([
		["our rate limit", rateLimited(2.2), 3],
		["a conflict whose twin still runs", conflict("in use", { field: "Idempotency-Key", retryAfter: 1 }), 1],
		["a conflict without", conflict("taken", { field: "id" }), undefined],
		["a 422 never", raised("x", { code: 422, type: "INVALID_STATE", data: { retryAfter: 5 } }), undefined],
	])("Retry-After: %s", (_name, err, retryAfter) => {
		expect(shapeError(err, RID).retryAfter).toBe(retryAfter);
	});

	test("a client error's body never says more than its own fields", () => {
		const { body } = shapeError(conflict("taken"), RID);
		expect(Object.keys(body).sort()).toEqual(["code", "message", "name", "type"]);
	});
});
