// Starts the platform inside the test process: one broker, in-memory storage unless DATA_DIR is
// given, cheap bcrypt, a gateway on a free port. The same services and config as production.
import type { AddressInfo } from "net";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { brokerConfig } from "../../moleculer.config";
import { resetClock } from "../../lib/clock";
import { selectServices } from "../../services";
import { api, type Api } from "./http";

export const TEST_ENV: Record<string, string> = {
	DATA_DIR: ":memory:",
	BCRYPT_COST: "4",
	PORT: "0",
	HOST: "127.0.0.1",
	QM_JOBS: "off",
	LOG_LEVEL: "warn",
};

export interface Platform {
	broker: ServiceBroker;
	url: string;
	http: Api;
	logs: string[];
	stop(): Promise<void>;
}

export async function startPlatform(
	opts: {
		env?: Record<string, string | undefined>;
		services?: string[];
		replace?: Record<string, ServiceSchema>;
		/** more services, e.g. a listener that records events */
		extra?: ServiceSchema[];
		captureLogs?: boolean;
		nodeID?: string;
	} = {},
): Promise<Platform> {
	for (const [k, v] of Object.entries({ ...TEST_ENV, ...(opts.env ?? {}) })) {
		if (v === undefined) delete process.env[k];
		else process.env[k] = v;
	}
	resetClock();
	const logs: string[] = [];
	const spies: jest.SpyInstance[] = [];
	if (opts.captureLogs) {
		for (const fn of ["log", "info", "warn", "error"] as const) {
			spies.push(jest.spyOn(console, fn).mockImplementation((...args: unknown[]) => void logs.push(args.map(String).join(" "))));
		}
	}
	const broker = new ServiceBroker(
		brokerConfig({
			nodeID: opts.nodeID ?? `test-${Math.random().toString(36).slice(2, 8)}`,
			...(opts.captureLogs ? {} : { logger: false }),
		}),
	);
	for (const schema of selectServices(opts.services ?? [])) {
		broker.createService(opts.replace?.[schema.name] ?? schema);
	}
	for (const schema of opts.extra ?? []) broker.createService(schema);
	await broker.start();
	const gateway = broker.getLocalService("gateway") as unknown as { server?: { address(): AddressInfo } } | undefined;
	const url = gateway?.server ? `http://127.0.0.1:${gateway.server.address().port}/api/v1` : "";
	return {
		broker,
		url,
		http: api(url),
		logs,
		async stop() {
			await broker.stop();
			for (const s of spies) s.mockRestore();
			resetClock();
		},
	};
}

/**
 * Signs up and activates an account the way a customer does, taking the link from the outbox;
 * `headers` go with both requests (e.g. an X-Forwarded-For of its own behind TRUST_PROXY).
 */
export async function createAccount(
	p: Platform,
	email: string,
	password: string,
	headers: Record<string, string> = {},
): Promise<{ id: string; email: string }> {
	const signup = await p.http.post("/auth/signup", { email, acceptTerms: true }, { headers });
	if (signup.status !== 202) throw new Error(`sign-up of ${email} answered ${signup.status}: ${signup.text}`);
	const mail = (await p.broker.call("notifications.adminOutbox", { to: email })) as { rows: { template: string; links: string[] }[] };
	const link = mail.rows.find(m => m.template === "activation")?.links[0];
	if (!link) throw new Error(`no activation email for ${email}`);
	const activated = await p.http.post("/auth/activate", { token: new URL(link).searchParams.get("token"), password }, { headers });
	if (activated.status !== 200) throw new Error(`activation of ${email} answered ${activated.status}: ${activated.text}`);
	return activated.body.account;
}

/**
 * Two brokers joined over real NATS (NATS_URL or 127.0.0.1:4222): `main` runs every service,
 * `replica` runs `services` only, and both share one in-memory store (DATA_DIR=:memory:shared),
 * as replicas share MongoDB. Answers once each broker knows the other's services.
 */
export async function startReplicaPair(label: string, services: string[], env: Record<string, string> = {}) {
	// Imported here so tests that never use NATS do not load the process helpers.
	const { assertNatsListening, natsUrl } = await import("./processes");
	await assertNatsListening();
	const shared = {
		TRANSPORTER: natsUrl(),
		NAMESPACE: `qm-${label}-${process.pid}-${Date.now()}`,
		DATA_DIR: ":memory:shared",
		QM_MASTER_KEY: Buffer.alloc(32, 7).toString("base64"),
		...env,
	};
	const main = await startPlatform({ env: shared, nodeID: "main" });
	const replica = await startPlatform({ env: shared, services, nodeID: "replica" });
	// Broadcasts and balanced calls reach the nodes a broker knows: wait until both know both.
	await replica.broker.waitForServices(Object.keys((await import("../../services")).ALL_SERVICES), 10_000);
	const deadline = Date.now() + 10_000;
	while (!main.broker.registry.getNodeList({ onlyAvailable: true, withServices: false }).some((n: { id: string }) => n.id === "replica")) {
		if (Date.now() > deadline) throw new Error("the main broker never saw the replica");
		await new Promise(r => setTimeout(r, 20));
	}
	await main.broker.waitForServices(
		services.map(name => ({ name })),
		10_000,
	);
	return {
		main,
		replica,
		async stop() {
			await replica.stop();
			await main.stop();
			await (await import("./processes")).deleteUsageStream(shared.NAMESPACE);
		},
	};
}

/** MONGO_URI as the run was given it (startPlatform writes each platform's env into process.env). */
const BASE_MONGO_URI = process.env.MONGO_URI;

/**
 * On the MongoDB leg (MONGO_URI set), a database of its own for one part of a test file, beside
 * MONGO_URI's (a file's parts would otherwise meet each other's data, as they never do with their
 * own DATA_DIR); embedded: nothing.
 */
export function ownDatabase(label: string): Record<string, string> {
	const uri = BASE_MONGO_URI;
	if (!uri) return {};
	const u = new URL(uri);
	u.pathname = `/${u.pathname.slice(1) || "qm"}_${label}_${process.pid.toString(36)}`;
	return { MONGO_URI: u.toString() };
}

/**
 * The environment of a billing platform under test: the test clock, the loopback proxy trusted, a
 * bootstrap administrator, and the manual and test payment providers (plus `extra`).
 */
export function billingEnv(admin: { email: string; password: string }, extra: Record<string, string> = {}): Record<string, string> {
	return {
		QM_TEST_CLOCK: "1",
		TRUST_PROXY: "127.0.0.1,::1",
		QM_ADMIN_EMAIL: admin.email,
		QM_ADMIN_PASSWORD: admin.password,
		QM_PAYMENT_PROVIDERS: "manual,test",
		...extra,
	};
}
