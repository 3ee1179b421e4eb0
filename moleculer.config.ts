// One typed BrokerOptions object; everything deployment-specific comes from the environment, so one
// image serves every container (SERVICES picks what a process runs, TRANSPORTER joins them).
import type { BrokerOptions } from "moleculer";
import { envInt, envString } from "./lib/config";
import { MaskingConsoleLogger } from "./lib/logger";
import { StrictValidator } from "./lib/validator";

export function brokerConfig(overrides: Partial<BrokerOptions> = {}): BrokerOptions {
	const metricsPort = envInt("METRICS_PORT", 0);
	const transporter = envString("TRANSPORTER");
	return {
		namespace: envString("NAMESPACE", "qm"),
		nodeID: envString("NODE_ID") || undefined,
		// No transporter = every service in one broker (embedded mode).
		transporter: transporter && transporter !== "none" ? (transporter as BrokerOptions["transporter"]) : null,
		logger: new MaskingConsoleLogger({
			level: envString("LOG_LEVEL", "info") as "info",
			formatter: envString("LOG_FORMAT", "short") as "short",
			colors: process.stdout.isTTY === true,
		}),
		requestTimeout: 30_000,
		retryPolicy: { enabled: false },
		registry: { strategy: "RoundRobin", preferLocal: true },
		circuitBreaker: { enabled: false },
		validator: new StrictValidator(),
		errorHandler(err) {
			throw err;
		},
		metrics: metricsPort ? { enabled: true, reporter: [{ type: "Prometheus", options: { port: metricsPort, path: "/metrics" } }] } : { enabled: false },
		tracing: { enabled: false },
		...overrides,
	};
}

export default brokerConfig();
