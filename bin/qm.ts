// Starts Quartermaster: all services in one process (default, embedded storage, no NATS), or the
// ones named in SERVICES, joined by TRANSPORTER. With HEALTH_PORT, a process that runs no gateway
// still answers /health and /ready for its orchestrator's probes.
import { createServer, type Server } from "http";
import { ServiceBroker } from "moleculer";
import { brokerConfig } from "../moleculer.config";
import { envInt, envList } from "../lib/config";
import { closeHashPool } from "../lib/password-hash";
import { processReadiness } from "../lib/readiness";
import { selectServices } from "../services";

export async function startPlatform(): Promise<{ broker: ServiceBroker; stop: () => Promise<void> }> {
	const broker = new ServiceBroker(brokerConfig());
	for (const schema of selectServices(envList("SERVICES"))) broker.createService(schema);

	let health: Server | undefined;
	const healthPort = envInt("HEALTH_PORT", 0);
	if (healthPort) {
		health = createServer((req, res) => {
			const { ready, problems } = processReadiness(broker);
			const body = req.url === "/health" ? { status: "ok" } : req.url === "/ready" ? { status: ready ? "ready" : "unavailable", problems } : null;
			res.statusCode = body === null ? 404 : req.url === "/ready" && !ready ? 503 : 200;
			res.setHeader("Content-Type", "application/json");
			res.end(JSON.stringify(body ?? { status: "not found" }));
		}).listen(healthPort);
	}

	await broker.start();
	const stop = async () => {
		health?.close();
		await broker.stop();
		await closeHashPool();
	};
	return { broker, stop };
}

if (require.main === module) {
	// Moleculer's own SIGINT/SIGTERM handler stops the broker gracefully (in-flight requests finish).
	startPlatform().catch(err => {
		console.error("Quartermaster failed to start:", err instanceof Error ? err.message : err);
		process.exit(1);
	});
}
