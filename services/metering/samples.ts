// MTR-1: one usage sample checked on its own — a bad sample is rejected with a reason and the
// rest of its batch is kept — and MTR-2: samples folded into hourly node buckets (UTC): peak RAM,
// average CPU (sum and count, so buckets add up across batches), peak disk, summed traffic.
// Pure: no Moleculer, no I/O.
import { hourOf } from "../../lib/usage-record";

export const MAX_BATCH = 1000;
export const MAX_FUTURE_MS = 5 * 60_000;
export const MAX_AGE_MS = 35 * 24 * 3_600_000;

const FIELDS = ["id", "envId", "nodeId", "time", "ramMiB", "cpuMHz", "diskMB", "trafficInMB", "trafficOutMB"] as const;
const NUMBERS = ["ramMiB", "cpuMHz", "diskMB", "trafficInMB", "trafficOutMB"] as const;
const ID = /^[A-Za-z0-9._:-]{1,128}$/;
// An ISO-8601 time with a zone: "2026-11-26T10:00:20Z", "…+02:00", fractions allowed.
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:\d\d)$/;
// Far above any real node (1 PiB of RAM, 100 THz): a larger value is a bug upstream, not usage.
const MAX_VALUE = 1e12;

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
	const invalid = (field: string | undefined, message: string): Rejection => ({ index, type: "INVALID_SAMPLE", ...(field ? { field } : {}), message });
	if (!raw || typeof raw !== "object" || Array.isArray(raw)) return invalid(undefined, "must be an object");
	const s = raw as Record<string, unknown>;
	const unknown = Object.keys(s).filter(k => !(FIELDS as readonly string[]).includes(k));
	if (unknown.length) return invalid(unknown[0], `is not a sample field (fields: ${FIELDS.join(", ")})`);
	for (const f of ["id", "envId", "nodeId"] as const) {
		if (typeof s[f] !== "string" || !ID.test(s[f] as string)) return invalid(f, "must be 1-128 letters, digits, dots, dashes, underscores or colons");
	}
	if (typeof s.time !== "string" || !ISO_TIME.test(s.time)) return invalid("time", "must be an ISO-8601 time with a zone, such as 2026-11-26T10:00:20Z");
	const time = Date.parse(s.time);
	if (Number.isNaN(time)) return invalid("time", "is not a real date and time");
	for (const f of NUMBERS) {
		const v = s[f];
		if (typeof v !== "number" || !Number.isFinite(v)) return invalid(f, "must be a number");
		if (v < 0) return invalid(f, "must not be negative");
		if (v > MAX_VALUE) return invalid(f, `must be at most ${MAX_VALUE}`);
	}
	if (time > nowMs + MAX_FUTURE_MS) return { index, type: "TIME_IN_FUTURE", field: "time", message: "is more than 5 minutes in the future" };
	if (time < nowMs - MAX_AGE_MS) return { index, type: "TOO_OLD", field: "time", message: "is more than 35 days old" };
	return {
		id: s.id as string,
		envId: s.envId as string,
		nodeId: s.nodeId as string,
		time,
		ramMiB: s.ramMiB as number,
		cpuMHz: s.cpuMHz as number,
		diskMB: s.diskMB as number,
		trafficInMB: s.trafficInMB as number,
		trafficOutMB: s.trafficOutMB as number,
	};
}

export function isRejection(x: Sample | Rejection): x is Rejection {
	return "type" in x;
}

/** What a set of samples adds to one node-hour bucket. */
export interface BucketDelta {
	envId: string;
	nodeId: string;
	hour: number;
	peakRamMiB: number;
	cpuSum: number;
	cpuCount: number;
	peakDiskMB: number;
	trafficInMB: number;
	trafficOutMB: number;
	samples: number;
}

export function bucketKey(nodeId: string, hour: number): string {
	return `${nodeId}:${hour}`;
}

/** MTR-2: the samples folded per node-hour, ready for one atomic `$max`/`$inc` update each. */
export function foldSamples(samples: Sample[]): BucketDelta[] {
	const out = new Map<string, BucketDelta>();
	for (const s of samples) {
		const hour = hourOf(s.time);
		const key = bucketKey(s.nodeId, hour);
		const b = out.get(key);
		if (!b) {
			out.set(key, {
				envId: s.envId,
				nodeId: s.nodeId,
				hour,
				peakRamMiB: s.ramMiB,
				cpuSum: s.cpuMHz,
				cpuCount: 1,
				peakDiskMB: s.diskMB,
				trafficInMB: s.trafficInMB,
				trafficOutMB: s.trafficOutMB,
				samples: 1,
			});
			continue;
		}
		b.peakRamMiB = Math.max(b.peakRamMiB, s.ramMiB);
		b.cpuSum += s.cpuMHz;
		b.cpuCount++;
		b.peakDiskMB = Math.max(b.peakDiskMB, s.diskMB);
		b.trafficInMB += s.trafficInMB;
		b.trafficOutMB += s.trafficOutMB;
		b.samples++;
	}
	return [...out.values()];
}
