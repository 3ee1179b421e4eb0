// Every action's params are validated strictly: unknown fields are refused, never stored (NFR-1).
// A schema may still opt out with an explicit `$$strict` (e.g. "remove"), which none does today.
import { Validators, Errors } from "moleculer";
import type { FieldError } from "./errors";

/**
 * Text never carries control characters (C0, DEL, C1), bidirectional overrides or isolates
 * (U+202A-202E, U+2066-2069), nor lone surrogates: they forge log lines, hide what a name really
 * says in a UI or an email, and break JSON encoders. One rule, added to every string field.
 */
export const UNSAFE_TEXT = /[\p{Cc}\p{Cs}\u202A-\u202E\u2066-\u2069]/u;
const UNSAFE_TEXT_MESSAGE = "must not contain control characters, bidirectional overrides or lone surrogates";

type RuleFn = (this: FvInternals, rule: { messages: Record<string, string> }, path: string, context: unknown) => { sanitized?: boolean; source: string };
interface FvInternals {
	rules: Record<string, RuleFn>;
	messages: Record<string, string>;
	add(type: string, fn: RuleFn): void;
	makeError(opts: { type: string; actual?: string; messages: Record<string, string> }): string;
}

export class StrictValidator extends Validators.Fastest {
	constructor(opts?: ConstructorParameters<typeof Validators.Fastest>[0]) {
		super(opts);
		const fv = (this as unknown as { validator: FvInternals }).validator;
		const checkString = fv.rules.string;
		fv.messages.stringUnsafe = `The '{field}' field ${UNSAFE_TEXT_MESSAGE}.`;
		fv.add("string", function (this: FvInternals, rule, path, context) {
			const out = checkString.call(this, rule, path, context);
			const at = out.source.lastIndexOf("return value;");
			const check = `if (${UNSAFE_TEXT.toString()}.test(value)) { ${this.makeError({ type: "stringUnsafe", messages: rule.messages })} }\n`;
			return { ...out, source: out.source.slice(0, at) + check + out.source.slice(at) };
		});
	}

	override compile(schema: Record<string, unknown>) {
		const strictSchema = "$$strict" in schema || "$$root" in schema ? schema : { $$strict: true, ...schema };
		return super.compile(strictNested(strictSchema) as Record<string, unknown>);
	}

	// Events are facts published by our own services and gain fields over time: a listener checks
	// the fields it needs and ignores the rest, so a new field never silently drops an event.
	override middleware(broker: Parameters<Validators.Fastest["middleware"]>[0]) {
		const mw = super.middleware(broker) as ReturnType<Validators.Fastest["middleware"]> & { localEvent: (h: unknown, e: Record<string, unknown>) => unknown };
		const localEvent = mw.localEvent;
		mw.localEvent = function (handler: unknown, event: Record<string, unknown>) {
			const params = event.params as Record<string, unknown> | undefined;
			const open = params && typeof params === "object" && !("$$strict" in params) ? { ...event, params: { $$strict: false, ...params } } : event;
			return localEvent.call(this, handler, open);
		};
		return mw;
	}
}

/** Nested objects with declared `props` are strict too, unless they say otherwise. */
function strictNested(rule: unknown): unknown {
	if (Array.isArray(rule)) return rule.map(strictNested);
	if (!rule || typeof rule !== "object" || rule instanceof RegExp) return rule;
	const out: Record<string, unknown> = {};
	for (const [k, v] of Object.entries(rule)) out[k] = k === "props" || k === "items" || !k.startsWith("$$") ? strictNested(v) : v;
	if (out.type === "object" && out.props && !("strict" in out)) out.strict = true;
	return out;
}

interface FvError {
	type?: string;
	field?: string;
	message?: string;
	actual?: unknown;
	expected?: unknown;
}

/** fastest-validator's error list → `[{field, message}]` of API.md, one row per forbidden key. */
export function toFieldErrors(data: unknown): FieldError[] {
	if (!Array.isArray(data)) return [];
	const out: FieldError[] = [];
	for (const e of data as FvError[]) {
		if (e.type === "objectStrict") {
			const parent = e.field ? `${e.field}.` : "";
			for (const key of String(e.actual ?? "")
				.split(",")
				.map(s => s.trim())
				.filter(Boolean)) {
				out.push({ field: parent + key, message: "is not an accepted field" });
			}
			continue;
		}
		const field = e.field ?? "";
		// fastest-validator writes "The 'email' field must be ..." — keep the reason, drop the echo.
		const message = (e.message ?? "is invalid").replace(/^The '[^']*' field /, "").replace(/^The '[^']*' /, "");
		out.push({ field, message });
	}
	return out;
}

export function isValidationError(err: unknown): err is Errors.ValidationError {
	return err instanceof Errors.ValidationError || (err as { type?: string })?.type === "VALIDATION_ERROR";
}
