// Business errors with the stable types of API.md. Services throw these; the gateway turns them
// into the JSON error shape, and anything that is not one of them into a generic 500.
import { Errors } from "moleculer";

const { MoleculerClientError } = Errors;

export interface FieldError {
	field: string;
	message: string;
}

export function validationError(errors: FieldError[] | FieldError): Errors.MoleculerClientError {
	const list = Array.isArray(errors) ? errors : [errors];
	const message = list.map(e => `${e.field}: ${e.message}`).join("; ");
	return new MoleculerClientError(message, 422, "VALIDATION_ERROR", list);
}

export function badRequest(message: string, data?: unknown) {
	return new MoleculerClientError(message, 400, "BAD_REQUEST", data);
}

export function unauthorized(message = "Authentication required", type = "UNAUTHORIZED") {
	return new MoleculerClientError(message, 401, type);
}

export function invalidCredentials() {
	return new MoleculerClientError("Wrong email or password", 401, "INVALID_CREDENTIALS");
}

export function forbidden(message = "Not allowed", data?: unknown, type = "FORBIDDEN") {
	return new MoleculerClientError(message, 403, type, data);
}

export function notFound(what = "Resource") {
	return new MoleculerClientError(`${what} not found`, 404, "NOT_FOUND");
}

export function conflict(message: string, data?: unknown) {
	return new MoleculerClientError(message, 409, "CONFLICT", data);
}

export function linkInvalid(message = "This link is invalid, already used or expired") {
	return new MoleculerClientError(message, 422, "LINK_INVALID");
}

export function passwordPolicy(violations: string[]) {
	return new MoleculerClientError(`The password does not meet the policy: ${violations.join(", ")}`, 422, "PASSWORD_POLICY", { violations });
}

export function rateLimited(retryAfterSeconds: number, type = "RATE_LIMITED") {
	return new MoleculerClientError("Too many requests, try again later", 429, type, {
		retryAfter: Math.max(1, Math.ceil(retryAfterSeconds)),
	});
}

export function invalidState(message: string, data?: unknown) {
	return new MoleculerClientError(message, 422, "INVALID_STATE", data);
}

export function passwordRequired() {
	return new MoleculerClientError("The password is not correct", 403, "PASSWORD_REQUIRED", { field: "password" });
}

export function wrongCode(status: 401 | 422, message = "is not a current code of the authenticator app nor an unused recovery code") {
	return status === 401
		? new MoleculerClientError("Wrong code", 401, "INVALID_CREDENTIALS")
		: new MoleculerClientError(`code: ${message}`, 422, "VALIDATION_ERROR", [{ field: "code", message }]);
}

/** QTA-3: a refusal names the quota, the limit and the requested value. */
export function quotaExceeded(quota: string, limit: number, requested: number) {
	return new MoleculerClientError(`Quota ${quota} exceeded: limit ${limit}, requested ${requested}`, 422, "QUOTA_EXCEEDED", { quota, limit, requested });
}

/** BIL-3: only a bonus balance refuses to go below zero (a charge never is refused). */
export function insufficientBalance(message: string, data: unknown) {
	return new MoleculerClientError(message, 422, "INSUFFICIENT_BALANCE", data);
}

/** PAY-1: the same Idempotency-Key with a different request. */
export function idempotencyKeyReused() {
	return new MoleculerClientError("This Idempotency-Key was already used for a different request", 409, "IDEMPOTENCY_KEY_REUSED", { field: "Idempotency-Key" });
}
