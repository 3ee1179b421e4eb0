/**
 * Deployment files: the Kubernetes manifests under k8s/ and docker-compose.yml.
 *
 * Every k8s document is validated against the Kubernetes OpenAPI schema (kubernetes-models) and,
 * because those schemas accept unknown fields, also checked for fields the API does not know
 * (a misspelt `livenesProbe` would otherwise pass here and be refused by `kubectl apply`).
 * Then the project's own rules: one Deployment per service with probes, resources, a
 * PodDisruptionBudget, the restricted pod security profile, HPAs for the scalable services,
 * MongoDB as a three-member replica set (rs0) with its init Job and MONGO_URI naming the set.
 * The mongosh scripts of the probes and the init Job run here against a stand-in of mongosh's
 * `rs`/`db` (no MongoDB server or Docker engine here): they are checked for what they decide,
 * not against a real server.
 *
 * docker-compose.yml is checked by `docker-compose config -q` when the command exists (Debian
 * package `docker-compose`), and structurally in any case.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as vm from "vm";
import * as ts from "typescript";
import { parse, parseAllDocuments } from "yaml";
import { ConfigMap, Namespace, Secret, Service } from "kubernetes-models/v1";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1";
import { Job } from "kubernetes-models/batch/v1";
import { ALL_SERVICES } from "../../services";

const ROOT = path.resolve(__dirname, "../..");
const K8S_DIR = path.join(ROOT, "k8s");
const COMPOSE_FILE = path.join(ROOT, "docker-compose.yml");
const NAMESPACE = "quartermaster";
const HEALTH_PORT = 8081;

// Every service the platform has (services/index.ts) is deployed, and nothing else: a service that
// is added without its Deployment and compose entry fails here.
const QM_SERVICES = Object.keys(ALL_SERVICES);
const AUTOSCALED = ["gateway", "metering", "billing"].filter(s => QM_SERVICES.includes(s));

// ---------------------------------------------------------------------------------------------
// Models: the kinds the manifests may use. Anything else fails (a kind nobody validated must not
// slip through), and so does a kind with the wrong apiVersion.

type Model = { validate(): void };
const MODELS: Record<string, new (data: any) => Model> = {
	"v1/Namespace": Namespace,
	"v1/ConfigMap": ConfigMap,
	"v1/Secret": Secret,
	"v1/Service": Service,
	"apps/v1/Deployment": Deployment,
	"apps/v1/StatefulSet": StatefulSet,
	"policy/v1/PodDisruptionBudget": PodDisruptionBudget,
	"autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
	"networking.k8s.io/v1/Ingress": Ingress,
	"batch/v1/Job": Job,
};

function modelKey(doc: any): string {
	return `${doc?.apiVersion}/${doc?.kind}`;
}

/** Validates against the schema of its apiVersion/kind; throws on an unknown kind or a bad doc. */
function validateManifest(doc: any): void {
	const ModelClass = MODELS[modelKey(doc)];
	if (!ModelClass) {
		throw new Error(`no model for ${modelKey(doc)}: add it to MODELS in this test (or fix the kind)`);
	}
	new ModelClass(doc).validate();
}

// ---------------------------------------------------------------------------------------------
// Unknown fields. kubernetes-models' JSON schemas leave additionalProperties open, so the typed
// interfaces in its .d.ts files are the only complete list of fields: walk the document along
// them with the TypeScript compiler's type checker (built once, for the kinds above only).

let checker: ts.TypeChecker | undefined;
const rootTypes = new Map<string, ts.Type>();

function rootType(doc: any): ts.Type {
	const key = modelKey(doc);
	if (!checker) {
		const files = Object.keys(MODELS).map(k => dtsOf(k));
		const program = ts.createProgram(files, {
			noEmit: true,
			strict: true,
			skipLibCheck: true,
			types: [],
			moduleResolution: ts.ModuleResolutionKind.Node10,
		});
		checker = program.getTypeChecker();
		for (const k of Object.keys(MODELS)) {
			const kind = k.slice(k.lastIndexOf("/") + 1);
			const source = program.getSourceFile(dtsOf(k));
			const decl = source?.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === `I${kind}`);
			if (!decl) throw new Error(`interface I${kind} not found in ${dtsOf(k)}`);
			rootTypes.set(k, checker.getTypeAtLocation(decl.name));
		}
	}
	const type = rootTypes.get(key);
	if (!type) throw new Error(`no model for ${key}`);
	return type;
}

function dtsOf(key: string): string {
	const kind = key.slice(key.lastIndexOf("/") + 1);
	const apiVersion = key.slice(0, key.lastIndexOf("/"));
	return require.resolve(`kubernetes-models/${apiVersion}/${kind}`).replace(/\.js$/, ".d.ts");
}

/** Paths of the fields of `doc` that its kind's API type does not have. */
function unknownFields(doc: any): string[] {
	const found: string[] = [];
	walk(doc, rootType(doc), "", found);
	return found;
}

function walk(value: unknown, declared: ts.Type, at: string, found: string[]): void {
	if (value === null || typeof value !== "object") return; // scalars: the schema checks types
	const c = checker!;
	let type = c.getNonNullableType(declared);
	if (Array.isArray(value)) {
		if (c.isArrayType(type)) {
			const item = c.getTypeArguments(type as ts.TypeReference)[0];
			value.forEach((v, i) => walk(v, item, `${at}[${i}]`, found));
		}
		return;
	}
	if (type.isUnion()) {
		// e.g. IntOrString: only follow a union that has exactly one object member.
		const objects = type.types.filter(t => t.flags & ts.TypeFlags.Object);
		if (objects.length !== 1) return;
		type = objects[0];
	}
	if (!(type.flags & ts.TypeFlags.Object)) return; // any/unknown: free-form
	const index = type.getStringIndexType(); // maps such as labels, data, resources.limits
	for (const [key, child] of Object.entries(value)) {
		const prop = type.getProperty(key);
		if (prop) walk(child, c.getTypeOfSymbol(prop), `${at}.${key}`, found);
		else if (index) walk(child, index, `${at}.${key}`, found);
		else found.push(`${at}.${key}`.slice(1));
	}
}

// ---------------------------------------------------------------------------------------------
// Loading

interface Manifest {
	file: string;
	doc: any;
}

/**
 * Every document of every YAML file under k8s/. Parsed as YAML 1.1, which is what kubectl
 * (sigs.k8s.io/yaml) and docker-compose (PyYAML) read: `yes`/`on` are booleans there.
 */
function loadManifests(): Manifest[] {
	const files = fs
		.readdirSync(K8S_DIR)
		.filter(f => /\.ya?ml$/.test(f))
		.sort();
	const out: Manifest[] = [];
	for (const file of files) {
		const text = fs.readFileSync(path.join(K8S_DIR, file), "utf8");
		for (const d of parseAllDocuments(text, { version: "1.1" })) {
			const problems = [...d.errors, ...d.warnings];
			if (problems.length) throw new Error(`${file}: ${problems.map(e => e.message).join("; ")}`);
			const doc = d.toJS();
			if (doc != null) out.push({ file, doc }); // a document of comments only
		}
	}
	return out;
}

const manifests = loadManifests();
const byKind = (kind: string) => manifests.filter(m => m.doc.kind === kind);
const label = (m: Manifest) => `${m.file}: ${m.doc.kind} ${m.doc.metadata?.name}`;

/** A probe's or Service's port (number or name) as a container port number. */
function resolvePort(container: any, port: number | string): number | undefined {
	if (typeof port === "number") return port;
	return container.ports?.find((p: any) => p.name === port)?.containerPort;
}

function selects(selector: any, labels: Record<string, string>): boolean {
	const match: Record<string, string> = selector?.matchLabels ?? selector ?? {};
	return Object.keys(match).length > 0 && Object.entries(match).every(([k, v]) => labels?.[k] === v);
}

/** What a mongosh script is given: the globals it uses (rs, db, print, sleep) and what it did. */
interface FakeMongosh {
	status?: () => unknown; // rs.status(); throws like mongosh when the set is not initiated
	initiate?: (config: any) => unknown; // rs.initiate(config)
	hello: () => Record<string, unknown>; // db.hello()
}

/**
 * Runs a mongosh --eval script against the stand-in; resolves to the rs.initiate configurations it
 * passed, and throws what the script threw (mongosh would exit non-zero).
 */
function runMongosh(script: string, fake: FakeMongosh): any[] {
	const initiated: any[] = [];
	const rs = {
		status: fake.status ?? (() => ({ ok: 1 })),
		initiate: (config: any) => {
			initiated.push(config);
			return fake.initiate ? fake.initiate(config) : { ok: 1 };
		},
	};
	// The outer realm's Error and JSON, so that jest recognises what is thrown.
	vm.runInNewContext(script, { rs, db: { hello: fake.hello }, print: () => undefined, sleep: () => undefined, Error, JSON });
	return initiated;
}

/** A MongoDB server error the way the driver (and so mongosh) throws it. */
function serverError(code: number, codeName: string): Error {
	return Object.assign(new Error(`MongoServerError: ${codeName}`), { code, codeName });
}

/** mongodb://h1,h2/db?opts → its parts. */
function parseMongoUri(uri: string): { hosts: string[]; db: string; options: URLSearchParams } {
	const m = /^mongodb:\/\/([^/?]+)\/([^?]*)(?:\?(.*))?$/.exec(uri);
	if (!m) throw new Error(`not a mongodb:// URI: ${uri}`);
	return { hosts: m[1].split(","), db: m[2], options: new URLSearchParams(m[3] ?? "") };
}

// ---------------------------------------------------------------------------------------------

describe("k8s manifests", () => {
	it("are found", () => {
		expect(manifests.length).toBeGreaterThan(0);
	});

	describe.each(manifests.map(m => [label(m), m] as const))("%s", (_name, m) => {
		it("is valid for its apiVersion/kind", () => {
			expect(() => validateManifest(m.doc)).not.toThrow();
		});

		it("has no field unknown to the API", () => {
			expect(unknownFields(m.doc)).toEqual([]);
		});

		it(`lives in namespace ${NAMESPACE}`, () => {
			if (m.doc.kind === "Namespace") expect(m.doc.metadata.name).toBe(NAMESPACE);
			else expect(m.doc.metadata?.namespace).toBe(NAMESPACE);
		});
	});

	it("have no two objects with the same kind and name", () => {
		const keys = manifests.map(m => `${m.doc.kind}/${m.doc.metadata?.name}`);
		expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
	});

	describe("validation catches mistakes", () => {
		const good = () => ({
			apiVersion: "apps/v1",
			kind: "Deployment",
			metadata: { name: "broken", namespace: NAMESPACE },
			spec: {
				replicas: 2 as unknown,
				selector: { matchLabels: { app: "broken" } },
				template: {
					metadata: { labels: { app: "broken" } },
					spec: { containers: [{ name: "broken", image: "quartermaster:latest" } as Record<string, unknown>] },
				},
			},
		});

		it("accepts the unbroken sample (so the failures below are about the breakage)", () => {
			expect(() => validateManifest(good())).not.toThrow();
			expect(unknownFields(good())).toEqual([]);
		});

		it("rejects replicas that is not an integer", () => {
			const doc = good();
			doc.spec.replicas = "two";
			expect(() => validateManifest(doc)).toThrow(/replicas must be integer/);
		});

		it("rejects a container without a name", () => {
			const doc = good();
			delete doc.spec.template.spec.containers[0].name;
			expect(() => validateManifest(doc)).toThrow(/required property name/);
		});

		it("reports a misspelt field", () => {
			const doc = good();
			doc.spec.template.spec.containers[0].livenesProbe = { httpGet: { path: "/health", port: HEALTH_PORT } };
			expect(unknownFields(doc)).toEqual(["spec.template.spec.containers[0].livenesProbe"]);
		});

		it("refuses a kind it has no model for", () => {
			expect(() => validateManifest({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } })).toThrow(/no model for example.com\/v1\/Widget/);
		});
	});

	const workloads = [...byKind("Deployment"), ...byKind("StatefulSet")];
	// Jobs get their selector from the API server; their pods must meet the profile all the same.
	const podOwners = [...workloads, ...byKind("Job")];

	// The API server refuses a workload whose selector does not match its own pods; the schema
	// cannot express that.
	it.each(workloads.map(m => [label(m), m] as const))("%s selects its own pod template", (_name, m) => {
		expect(selects(m.doc.spec.selector, m.doc.spec.template.metadata.labels)).toBe(true);
	});

	describe("pod templates meet the namespace's restricted pod security profile", () => {
		it.each(podOwners.map(m => [label(m), m] as const))("%s", (_name, m) => {
			const pod = m.doc.spec.template.spec;
			expect(pod.securityContext?.seccompProfile?.type).toBe("RuntimeDefault");
			for (const c of pod.containers) {
				expect(c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot).toBe(true);
				expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
				expect(c.securityContext?.capabilities?.drop).toContain("ALL");
			}
		});
	});

	describe.each(QM_SERVICES.map(s => [s]))("service %s", service => {
		const file = `20-${service}.yaml`;
		const inFile = manifests.filter(m => m.file === file);
		const deployment = inFile.find(m => m.doc.kind === "Deployment")?.doc;
		const pod = deployment?.spec?.template?.spec;
		const container = pod?.containers?.[0];

		it(`has a Deployment "${service}" in ${file}`, () => {
			expect(deployment?.metadata?.name).toBe(service);
			expect(pod.containers).toHaveLength(1);
		});

		it("runs the shared image with SERVICES set to its own name", () => {
			expect(container.image).toBe("quartermaster:latest");
			expect(container.env).toContainEqual({ name: "SERVICES", value: service });
			expect(container.envFrom).toEqual(
				expect.arrayContaining([{ configMapRef: { name: "quartermaster-config" } }, { secretRef: { name: "quartermaster-secrets" } }]),
			);
		});

		it(`has a liveness probe on /health and a readiness probe on /ready, port ${HEALTH_PORT}`, () => {
			expect(container.livenessProbe?.httpGet?.path).toBe("/health");
			expect(resolvePort(container, container.livenessProbe?.httpGet?.port)).toBe(HEALTH_PORT);
			expect(container.readinessProbe?.httpGet?.path).toBe("/ready");
			expect(resolvePort(container, container.readinessProbe?.httpGet?.port)).toBe(HEALTH_PORT);
		});

		it("has CPU and memory requests and limits", () => {
			for (const kind of ["requests", "limits"]) {
				expect(container.resources?.[kind]?.cpu).toBeDefined();
				expect(container.resources?.[kind]?.memory).toBeDefined();
			}
		});

		it("runs non-root on a read-only root filesystem with an emptyDir /tmp", () => {
			expect(pod.securityContext?.runAsNonRoot).toBe(true);
			expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
			const tmp = container.volumeMounts?.find((v: any) => v.mountPath === "/tmp");
			expect(tmp).toBeDefined();
			expect(pod.volumes?.find((v: any) => v.name === tmp.name)?.emptyDir).toBeDefined();
		});

		it("has a PodDisruptionBudget (minAvailable 1) in the same file, selecting its pods", () => {
			const pdbs = inFile.filter(m => m.doc.kind === "PodDisruptionBudget").map(m => m.doc);
			expect(pdbs).toHaveLength(1);
			expect(pdbs[0].spec.minAvailable).toBe(1);
			expect(selects(pdbs[0].spec.selector, deployment.spec.template.metadata.labels)).toBe(true);
		});

		it("keeps at least 2 replicas, so the PodDisruptionBudget does not block node drains", () => {
			const hpa = byKind("HorizontalPodAutoscaler").find(m => m.doc.spec.scaleTargetRef.name === service)?.doc;
			if (hpa) {
				// The HPA owns the count: a `replicas` in the Deployment would be reset by every apply.
				expect(deployment.spec.replicas).toBeUndefined();
				expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
			} else {
				expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
			}
		});
	});

	it("has exactly one Deployment per service", () => {
		expect(
			byKind("Deployment")
				.map(m => m.doc.metadata.name)
				.sort(),
		).toEqual([...QM_SERVICES].sort());
	});

	it.each(AUTOSCALED.map(s => [s]))("autoscales %s on CPU at 70%%", service => {
		const hpas = byKind("HorizontalPodAutoscaler").filter(m => m.doc.spec.scaleTargetRef.name === service);
		expect(hpas).toHaveLength(1);
		const hpa = hpas[0].doc;
		expect(hpa.apiVersion).toBe("autoscaling/v2");
		expect(hpa.spec.scaleTargetRef).toMatchObject({ apiVersion: "apps/v1", kind: "Deployment" });
		expect(hpa.spec.metrics).toContainEqual({
			type: "Resource",
			resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
		});
	});

	it("routes the Ingress to the gateway Service and the Service to the gateway's port 3000", () => {
		const gateway = byKind("Deployment").find(m => m.doc.metadata.name === "gateway")!.doc;
		const container = gateway.spec.template.spec.containers[0];
		const service = byKind("Service").find(m => m.doc.metadata.name === "gateway")?.doc;
		expect(service).toBeDefined();
		expect(selects(service.spec.selector, gateway.spec.template.metadata.labels)).toBe(true);
		const port = service.spec.ports.find((p: any) => p.port === 80);
		expect(resolvePort(container, port?.targetPort)).toBe(3000);

		const ingresses = byKind("Ingress").map(m => m.doc);
		expect(ingresses).toHaveLength(1);
		const backends = ingresses[0].spec.rules.flatMap((r: any) => r.http.paths.map((p: any) => p.backend.service));
		expect(backends.length).toBeGreaterThan(0);
		for (const b of backends) {
			expect(b.name).toBe("gateway");
			expect(b.port.number === 80 || b.port.name === port.name).toBe(true);
		}
	});

	it("defines the ConfigMap and Secret the Deployments read, and NATS and MongoDB as StatefulSets", () => {
		expect(byKind("ConfigMap").map(m => m.doc.metadata.name)).toContain("quartermaster-config");
		expect(byKind("Secret").map(m => m.doc.metadata.name)).toContain("quartermaster-secrets");
		const config = byKind("ConfigMap").find(m => m.doc.metadata.name === "quartermaster-config")!.doc;
		expect(config.data).toMatchObject({ TRANSPORTER: "nats://nats:4222", HEALTH_PORT: String(HEALTH_PORT) });
		for (const key of ["MONGO_URI", "PUBLIC_URL", "MAIL_FROM", "LOG_LEVEL", "TRUST_PROXY"]) {
			expect(config.data[key]).toBeDefined();
		}

		const statefulSets = byKind("StatefulSet").map(m => m.doc);
		const nats = statefulSets.find(s => s.metadata.name === "nats");
		expect(nats.spec.template.spec.containers[0].args).toEqual(expect.arrayContaining(["-js", "-sd", "/data"]));
		expect(nats.spec.volumeClaimTemplates).toHaveLength(1);
		const mongo = statefulSets.find(s => s.metadata.name === "mongodb");
		expect(mongo.spec.template.spec.containers[0].image).toBe("mongo:7");
		expect(mongo.spec.volumeClaimTemplates).toHaveLength(1);
		// Each StatefulSet's serviceName is a headless Service.
		for (const s of statefulSets) {
			const svc = byKind("Service").find(m => m.doc.metadata.name === s.spec.serviceName)?.doc;
			expect(svc?.spec.clusterIP).toBe("None");
		}
		// TRANSPORTER points at a client Service on 4222.
		const client = byKind("Service").find(m => m.doc.metadata.name === "nats")?.doc;
		expect(client?.spec.ports.map((p: any) => p.port)).toContain(4222);
	});

	describe("MongoDB replica set rs0", () => {
		const statefulSet = byKind("StatefulSet").find(m => m.doc.metadata.name === "mongodb")!.doc;
		const podLabels = statefulSet.spec.template.metadata.labels;
		const container = statefulSet.spec.template.spec.containers[0];
		const service = byKind("Service").find(m => m.doc.metadata.name === statefulSet.spec.serviceName)?.doc;
		const jobs = byKind("Job").filter(m => m.doc.metadata.name === "mongodb-init");
		const job = jobs[0]?.doc;
		const jobContainer = job?.spec.template.spec.containers[0];
		const jobEnv = (name: string): string | undefined => jobContainer?.env?.find((e: any) => e.name === name)?.value;
		// The members' DNS names, as the StatefulSet and its headless Service give them.
		const members = [0, 1, 2].map(i => `${statefulSet.metadata.name}-${i}.${statefulSet.spec.serviceName}.${NAMESPACE}.svc:27017`);
		const readiness = (): string => {
			const cmd: string[] = container.readinessProbe?.exec?.command ?? [];
			expect(cmd.slice(0, 3)).toEqual(["mongosh", "--quiet", "--eval"]);
			return cmd[3];
		};

		it("runs three members of rs0 (mongod --replSet rs0 --bind_ip_all), started together", () => {
			expect(statefulSet.spec.replicas).toBe(3);
			expect(container.image).toBe("mongo:7");
			expect(container.args).toEqual(["mongod", "--replSet", "rs0", "--bind_ip_all"]);
			expect(container.command).toBeUndefined(); // the image's entrypoint stays
			// OrderedReady would wait for mongodb-0 to be ready, which needs the set initiated with all three.
			expect(statefulSet.spec.podManagementPolicy).toBe("Parallel");
		});

		it("has a headless Service that publishes members before they are ready", () => {
			expect(service?.spec.clusterIP).toBe("None");
			expect(service?.spec.publishNotReadyAddresses).toBe(true);
			expect(selects(service?.spec.selector, podLabels)).toBe(true);
			const port = service?.spec.ports.find((p: any) => p.port === 27017);
			expect(resolvePort(container, port?.targetPort)).toBe(27017);
		});

		it("counts a member ready as a primary or a secondary only", () => {
			const script = readiness();
			expect(() => runMongosh(script, { hello: () => ({ isWritablePrimary: true, secondary: false }) })).not.toThrow();
			expect(() => runMongosh(script, { hello: () => ({ isWritablePrimary: false, secondary: true }) })).not.toThrow();
			// Before rs.initiate, and while starting up or recovering.
			expect(() => runMongosh(script, { hello: () => ({ isWritablePrimary: false, secondary: false }) })).toThrow(/neither primary nor secondary/);
			expect(() => runMongosh(script, { hello: () => ({ isWritablePrimary: false }) })).toThrow();
			expect(container.livenessProbe).toBeDefined(); // liveness stays a TCP check: a secondary is alive
		});

		it("has a PodDisruptionBudget letting one member go at a time", () => {
			const pdbs = byKind("PodDisruptionBudget").filter(m => selects(m.doc.spec.selector, podLabels));
			expect(pdbs).toHaveLength(1);
			expect(pdbs[0].doc.spec.maxUnavailable).toBe(1);
			expect(pdbs[0].doc.spec.minAvailable).toBeUndefined();
		});

		it("is initiated by one Job (mongodb-init) that waits for the three members, then initiates on mongodb-0", () => {
			expect(jobs).toHaveLength(1);
			expect(jobs[0].file).toBe("12-mongodb-init.yaml"); // applied after the StatefulSet
			expect(["OnFailure", "Never"]).toContain(job.spec.template.spec.restartPolicy);
			expect(jobContainer.image).toBe(container.image);
			expect(jobEnv("MEMBERS")).toBe(members.join(" "));
			const [shell, flags] = jobContainer.command;
			expect([shell, flags]).toEqual(["bash", "-ec"]);
			const script: string = jobContainer.args[0];
			const syntax = spawnSync("bash", ["-n", "-c", script], { encoding: "utf8" });
			expect({ status: syntax.status, stderr: syntax.stderr }).toEqual({ status: 0, stderr: "" });

			// Run the script with a stand-in mongosh on PATH that logs what it is asked.
			const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qm-mongosh-"));
			try {
				const log = path.join(dir, "log");
				fs.writeFileSync(
					path.join(dir, "mongosh"),
					'#!/bin/sh\n[ "$2" = --host ] || exit 2\nif [ "$4" = --eval ] && [ "$5" = "$INIT_JS" ]; then echo "init $3"; else echo "ping $3"; fi >>"$LOG"\n',
					{ mode: 0o755 },
				);
				const run = spawnSync(shell, [flags, script], {
					encoding: "utf8",
					timeout: 10_000,
					env: { PATH: `${dir}:${process.env.PATH}`, LOG: log, MEMBERS: jobEnv("MEMBERS"), INIT_JS: jobEnv("INIT_JS") },
				});
				expect(run.status).toBe(0);
				expect(fs.readFileSync(log, "utf8").trim().split("\n")).toEqual([...members.map(m => `ping ${m}`), `init ${members[0]}`]);
			} finally {
				fs.rmSync(dir, { recursive: true, force: true });
			}
		});

		it("initiates rs0 with the three members, idempotently (AlreadyInitialized is success)", () => {
			const script = jobEnv("INIT_JS")!;
			const primary = () => ({ isWritablePrimary: true, primary: members[0] });
			const [config] = runMongosh(script, { hello: primary });
			expect(config).toEqual({ _id: "rs0", members: members.map((host, i) => ({ _id: i, host })) });

			// Applied again, or the Job re-run: mongosh throws the server's AlreadyInitialized (23).
			expect(() =>
				runMongosh(script, {
					hello: primary,
					initiate: () => {
						throw serverError(23, "AlreadyInitialized");
					},
				}),
			).not.toThrow();
			// Any other refusal fails the Job (which retries).
			expect(() =>
				runMongosh(script, {
					hello: primary,
					initiate: () => {
						throw serverError(93, "InvalidReplicaSetConfig");
					},
				}),
			).toThrow(/rs.initiate failed.*InvalidReplicaSetConfig/);
			// It waits for a primary, and gives up (to be retried) when none comes.
			let calls = 0;
			expect(() => runMongosh(script, { hello: () => (++calls > 3 ? primary() : {}) })).not.toThrow();
			expect(() => runMongosh(script, { hello: () => ({}) })).toThrow(/no primary/);
		});

		it("MONGO_URI in the ConfigMap names the three members and replicaSet=rs0", () => {
			const config = byKind("ConfigMap").find(m => m.doc.metadata.name === "quartermaster-config")!.doc;
			const uri = parseMongoUri(config.data.MONGO_URI);
			expect(uri.hosts).toEqual(members);
			expect(uri.db).toBe("quartermaster");
			expect(uri.options.get("replicaSet")).toBe("rs0");
		});
	});
});

// ---------------------------------------------------------------------------------------------

describe("docker-compose.yml", () => {
	const text = fs.readFileSync(COMPOSE_FILE, "utf8");
	// YAML 1.1 as docker-compose reads it: merge keys (<<: *qm) resolve as they do there.
	const compose = parse(text, { version: "1.1", merge: true });
	const services: Record<string, any> = compose.services;

	const which = spawnSync("docker-compose", ["version", "--short"], { encoding: "utf8" });
	const hasCompose = which.status === 0;
	if (!hasCompose) {
		console.warn(
			"SKIPPED: `docker-compose config -q` — the docker-compose command is not installed " +
				"(Debian: apt-get install docker-compose). The structural checks still run.",
		);
	}

	/** Environment without the variables the file substitutes: its defaults must be enough. */
	function bareEnv(): NodeJS.ProcessEnv {
		const env = { ...process.env };
		for (const [, name] of text.matchAll(/\$\{([A-Z0-9_]+)/g)) delete env[name];
		for (const name of Object.keys(env)) if (name.startsWith("COMPOSE_")) delete env[name];
		return env;
	}

	function envOf(service: any): Record<string, unknown> {
		const env = service.environment ?? {};
		if (!Array.isArray(env)) return env;
		return Object.fromEntries(env.map((e: string) => [e.split("=")[0], e.includes("=") ? e.slice(e.indexOf("=") + 1) : null]));
	}

	function dependsOn(service: any): string[] {
		const d = service.depends_on ?? [];
		return Array.isArray(d) ? d : Object.keys(d);
	}

	/** "host:container" for short ("3000:3000") and long ({published, target}) port syntax. */
	function portsOf(service: any): string[] {
		return (service.ports ?? []).map((p: any) => (typeof p === "object" ? `${p.published}:${p.target}` : String(p)));
	}

	function checkServices(all: Record<string, any>): void {
		expect(Object.keys(all).sort()).toEqual([...QM_SERVICES, "mongo", "nats"].sort());
		const { build, image } = all.gateway;
		expect(build).toBeDefined();
		expect(image).toBeDefined();
		for (const name of QM_SERVICES) {
			const s = all[name];
			const env = envOf(s);
			expect({ name, SERVICES: env.SERVICES }).toEqual({ name, SERVICES: name });
			expect({ name, build: s.build, image: s.image }).toEqual({ name, build, image });
			expect(env).toMatchObject({
				TRANSPORTER: "nats://nats:4222",
				MONGO_URI: "mongodb://mongo:27017/quartermaster?replicaSet=rs0",
				HEALTH_PORT: String(HEALTH_PORT),
			});
			for (const key of ["PUBLIC_URL", "QM_MASTER_KEY", "SMTP_URL", "MAIL_FROM"]) expect(env).toHaveProperty(key);
			expect(dependsOn(s)).toEqual(expect.arrayContaining(["nats", "mongo"]));
			expect(JSON.stringify(s.healthcheck?.test)).toContain(`${HEALTH_PORT}/health`);
			expect(s.restart).toBe("unless-stopped");
		}
		expect(portsOf(all.gateway)).toContain("3000:3000");
		expect(all.nats.image).toBe("nats:2.10");
		expect(all.mongo.image).toBe("mongo:7");
		const mongoCommand = all.mongo.command;
		expect(Array.isArray(mongoCommand) ? mongoCommand.join(" ") : mongoCommand).toBe("mongod --replSet rs0 --bind_ip_all");
		const probe = all.mongo.healthcheck?.test;
		expect(probe?.slice(0, 5)).toEqual(["CMD", "mongosh", "--quiet", "--eval", expect.any(String)]);
		const services = QM_SERVICES.map(name => ({ name, mongo: all[name].depends_on?.mongo?.condition }));
		expect(services).toEqual(QM_SERVICES.map(name => ({ name, mongo: "service_healthy" })));
	}

	/** The mongo healthcheck's mongosh script. */
	const healthScript = (): string => services.mongo.healthcheck.test[4];

	it('uses format "3.8" (readable by docker-compose 1.29)', () => {
		expect(compose.version).toBe("3.8");
	});

	it("runs every service from one image, each with SERVICES set to its own name", () => {
		checkServices(services);
	});

	it("runs NATS with JetStream on a volume", () => {
		const command = services.nats.command;
		expect(Array.isArray(command) ? command.join(" ") : command).toBe("-js -sd /data");
		expect(services.nats.volumes?.some((v: string) => v.endsWith(":/data"))).toBe(true);
		expect(services.mongo.volumes?.some((v: string) => v.endsWith(":/data/db"))).toBe(true);
	});

	describe("MongoDB as the one-member replica set rs0", () => {
		const member = "mongo:27017";

		it("MONGO_URI names the member and replicaSet=rs0, and the member name is the service's", () => {
			const uri = parseMongoUri(String(envOf(services.gateway).MONGO_URI));
			expect(uri.hosts).toEqual([member]);
			expect(uri.db).toBe("quartermaster");
			expect(uri.options.get("replicaSet")).toBe("rs0");
			expect(member.split(":")[0] in services).toBe(true);
		});

		it("healthcheck: on first start initiates rs0 with the member, and is not healthy before a writable primary", () => {
			const notInitiated = () => {
				throw serverError(94, "NotYetInitialized");
			};
			const initiated = runMongosh(healthScript(), { status: notInitiated, hello: () => ({ isWritablePrimary: true }) });
			expect(initiated).toEqual([{ _id: "rs0", members: [{ _id: 0, host: member }] }]);
			// Just initiated, the election not done yet: unhealthy.
			expect(() => runMongosh(healthScript(), { status: notInitiated, hello: () => ({ isWritablePrimary: false }) })).toThrow(/no writable primary/);
		});

		it("healthcheck: an initiated set is left alone; healthy only as a writable primary", () => {
			const initiatedSet = () => ({ ok: 1 });
			expect(runMongosh(healthScript(), { status: initiatedSet, hello: () => ({ isWritablePrimary: true }) })).toEqual([]);
			expect(() => runMongosh(healthScript(), { status: initiatedSet, hello: () => ({ isWritablePrimary: false, secondary: true }) })).toThrow();
		});

		it("healthcheck: a refused rs.initiate makes it unhealthy (and it tries again next time)", () => {
			const run = () =>
				runMongosh(healthScript(), {
					status: () => {
						throw serverError(94, "NotYetInitialized");
					},
					initiate: () => {
						throw serverError(93, "InvalidReplicaSetConfig");
					},
					hello: () => ({ isWritablePrimary: false }),
				});
			expect(run).toThrow(/InvalidReplicaSetConfig/);
		});
	});

	(hasCompose ? it : it.skip)("passes `docker-compose config -q` with no variables set", () => {
		const run = spawnSync("docker-compose", ["-f", COMPOSE_FILE, "config", "-q"], {
			cwd: ROOT,
			env: bareEnv(),
			encoding: "utf8",
			timeout: 60_000,
		});
		expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: "" });
	});

	(hasCompose ? it : it.skip)("resolves, as docker-compose sees it, to the same services", () => {
		const run = spawnSync("docker-compose", ["-f", COMPOSE_FILE, "config"], {
			cwd: ROOT,
			env: bareEnv(),
			encoding: "utf8",
			timeout: 60_000,
		});
		expect(run.status).toBe(0);
		checkServices(parse(run.stdout).services);
	});
});
