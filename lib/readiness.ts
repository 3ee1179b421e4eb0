// Readiness of this process (GET /ready, and the HEALTH_PORT probe of processes without a gateway):
// the broker has started, the transporter (if any) is connected, and MongoDB answers when a
// collection of this process is on it (a gateway-only process never connects, and is ready).
import type { ServiceBroker } from "moleculer";
import { databaseInUse } from "../mixins/mongo-store";

export function processReadiness(broker: ServiceBroker): { ready: boolean; problems: string[] } {
	const problems: string[] = [];
	if (!broker.started) problems.push("broker starting");
	const transit = (broker as unknown as { transit?: { connected: boolean } }).transit;
	if (transit && !transit.connected) problems.push("transporter disconnected");
	if (databaseInUse()) {
		// eslint-disable-next-line @typescript-eslint/no-var-requires
		const mongoose = require("mongoose");
		if (mongoose.connection.readyState !== 1) problems.push("database disconnected");
	}
	return { ready: problems.length === 0, problems };
}
