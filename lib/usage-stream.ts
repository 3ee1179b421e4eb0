// Which way closed environment-hours travel from metering to billing (ARCHITECTURE "Usage
// stream"): through NATS JetStream when the services run distributed over NATS, through the
// metering store (an outbox billing pulls from) when everything runs in one process. Both are
// at-least-once; billing's charge keys make a second delivery harmless.
import { envInt, envString } from "./config";
import type { JetStreamQueue } from "./jetstream-queue";
import type { UsageRecord } from "./usage-record";

export type UsageStreamMode = "jetstream" | "store";

export function usageStreamMode(): UsageStreamMode {
	const forced = envString("USAGE_STREAM");
	if (forced === "jetstream" || forced === "store") return forced;
	if (forced) throw new Error(`Environment variable USAGE_STREAM must be "jetstream" or "store", got "${forced}"`);
	return envString("TRANSPORTER").startsWith("nats://") ? "jetstream" : "store";
}

/** The JetStream stream both sides agree on; NAMESPACE keeps platforms sharing one NATS apart. */
export function usageQueue(logger?: {
	info: (...a: unknown[]) => void;
	warn: (...a: unknown[]) => void;
	error: (...a: unknown[]) => void;
}): JetStreamQueue<UsageRecord> {
	// Required lazily: embedded mode never loads the NATS client.
	// eslint-disable-next-line @typescript-eslint/no-var-requires
	const { JetStreamQueue } = require("./jetstream-queue") as typeof import("./jetstream-queue");
	const ns = (envString("NAMESPACE") || "qm").replace(/[^A-Za-z0-9_-]/g, "_");
	return new JetStreamQueue<UsageRecord>({
		servers: envString("NATS_URL") || envString("TRANSPORTER"),
		stream: `${ns}_USAGE`,
		subject: `${ns}.usage.hourly`,
		durable: `${ns}_billing`,
		// Hours fetched by a billing replica that dies come back after this long; a live replica
		// keeps a slow batch of its own alive meanwhile, so short is safe.
		ackWaitMs: envInt("USAGE_ACK_WAIT_MS", 10_000),
		logger,
	});
}
