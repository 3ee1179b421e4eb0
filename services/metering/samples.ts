// MTR-1: one usage sample checked on its own — a bad sample is rejected with a reason and the
// rest of its batch is kept. Pure: no Moleculer, no I/O.
import { parseIsoTime } from "../../lib/time-params";

// The time parser is the whole API's (lib/time-params.ts); ingestion is its hottest caller.
export { parseIsoTime };

export const MAX_BATCH = 1000;
export const MAX_FUTURE_MS = 5 * 60_000;
export const MAX_AGE_MS = 35 * 24 * 3_600_000;

const FIELDS = ["id", "envId", "nodeId", "time", "ramMiB", "cpuMHz", "diskMB", "trafficInMB", "trafficOutMB"] as const;
// Far above any real node (1 PiB of RAM, 100 THz): a larger value is a bug upstream, not usage.
const MAX_VALUE = 1e12;

// Every check below runs for every sample of every batch, so they are written out by hand: a
// regular expression and Date.parse per sample cost more than everything else ingestion does.

/** Ids are 1-128 letters, digits, dots, dashes, underscores or colons. */
const ID_CHAR = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") ID_CHAR[c.charCodeAt(0)] = 1;
function isId(s: unknown): s is string {
	if (typeof s !== "string" || s.length < 1 || s.length > 128) return false;
	for (let i = 0; i < s.length; i++) if (ID_CHAR[s.charCodeAt(i)] !== 1) return false;
	return true;
}

/** One of FIELDS (a switch: parsed keys are interned strings, compared by reference; faster than a Set). */
function isField(k: string): boolean {
	switch (k) {
		case "id":
		case "envId":
		case "nodeId":
		case "time":
		case "ramMiB":
		case "cpuMHz":
		case "diskMB":
		case "trafficInMB":
		case "trafficOutMB":
			return true;
		default:
			return false;
	}
}

function isShortText(s: unknown): s is string {
	return typeof s === "string" && s.length >= 1 && s.length <= 128;
}

export interface Sample {
	id: string;
	envId: string;
	nodeId: string;
	time: number;
	ramMiB: number;
	cpuMHz: number;
	diskMB: number;
	trafficInMB: number;
	trafficOutMB: number;
}

export type RejectionType = "INVALID_SAMPLE" | "UNKNOWN_ENVIRONMENT" | "UNKNOWN_NODE" | "TIME_IN_FUTURE" | "TOO_OLD";

export interface Rejection {
	index: number;
	type: RejectionType;
	field?: string;
	message: string;
}

/** The sample's shape and time; whether its environment and node exist is checked by the caller. */
export function checkSample(raw: unknown, index: number, nowMs: number): Sample | Rejection {
	if (!raw || typeof raw !== "object" || Array.isArray(raw)) return invalid(index, undefined, "must be an object");
	const s = raw as Record<string, unknown>;
	for (const k in s) if (!isField(k)) return invalid(index, k, `is not a sample field (fields: ${FIELDS.join(", ")})`);
	const { id, envId, nodeId, time, ramMiB, cpuMHz, diskMB, trafficInMB, trafficOutMB } = s;
	if (!isId(id)) return invalid(index, "id", ID_MESSAGE);
	// An environment or node id is looked up (UNKNOWN_ENVIRONMENT, UNKNOWN_NODE): only its shape here.
	if (!isShortText(envId)) return invalid(index, "envId", TEXT_MESSAGE);
	if (!isShortText(nodeId)) return invalid(index, "nodeId", TEXT_MESSAGE);
	const ms = typeof time === "string" ? parseIsoTime(time) : NaN;
	if (Number.isNaN(ms)) return invalid(index, "time", TIME_MESSAGE);
	const bad = badNumber(ramMiB) ?? badNumber(cpuMHz) ?? badNumber(diskMB) ?? badNumber(trafficInMB) ?? badNumber(trafficOutMB);
	if (bad) {
		const field = NUMBERS.find(f => badNumber(s[f])) as string;
		return invalid(index, field, bad);
	}
	if (ms > nowMs + MAX_FUTURE_MS) return { index, type: "TIME_IN_FUTURE", field: "time", message: "is more than 5 minutes in the future" };
	if (ms < nowMs - MAX_AGE_MS) return { index, type: "TOO_OLD", field: "time", message: "is more than 35 days old" };
	return {
		id,
		envId,
		nodeId,
		time: ms,
		ramMiB: ramMiB as number,
		cpuMHz: cpuMHz as number,
		diskMB: diskMB as number,
		trafficInMB: trafficInMB as number,
		trafficOutMB: trafficOutMB as number,
	};
}

const NUMBERS = ["ramMiB", "cpuMHz", "diskMB", "trafficInMB", "trafficOutMB"] as const;
const ID_MESSAGE = "must be 1-128 letters, digits, dots, dashes, underscores or colons";
const TEXT_MESSAGE = "must be a string of 1-128 characters";
const TIME_MESSAGE = "must be a real ISO-8601 date and time with a zone, such as 2026-11-26T10:00:20Z";

function invalid(index: number, field: string | undefined, message: string): Rejection {
	return { index, type: "INVALID_SAMPLE", ...(field ? { field } : {}), message };
}

/** Why a usage value is refused, or undefined. */
function badNumber(v: unknown): string | undefined {
	if (typeof v !== "number" || !Number.isFinite(v)) return "must be a number";
	if (v < 0) return "must not be negative";
	if (v > MAX_VALUE) return `must be at most ${MAX_VALUE}`;
	return undefined;
}

export function isRejection(x: Sample | Rejection): x is Rejection {
	return "type" in x;
}
