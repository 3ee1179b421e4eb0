// gateway: the one HTTP entrance (moleculer-web). Routes come from the API catalogue and nothing
// else is served. It authenticates (session → ctx.meta.user), authorizes by access level, rate-
// limits public auth routes per client IP, and shapes every error as API.md says: stable types,
// field lists for validation errors, and a generic 500 with a request id for anything unexpected.
import type { IncomingMessage, Server, ServerResponse } from "http";
import ApiGateway from "moleculer-web";
import type { Context, Service } from "moleculer";
import { defineService } from "../lib/service-schema";
import { API_CATALOGUE, apiMethods, servicesBehind, splitRest, type ApiEntry } from "../lib/api-catalogue";
import type { BlockList } from "net";
import { cidrList, clientIp, ipInList, normaliseIp, parseTrustList } from "../lib/client-ip";
import { nowMs, testClockEnabled } from "../lib/clock";
import { appVersion, envInt, envList, envString } from "../lib/config";
import { randomToken } from "../lib/crypto";
import { forbidden, notFound, rateLimited, unauthorized, validationError, type FieldError } from "../lib/errors";
import { timeParam } from "../lib/time-params";
import { buildOpenApi, type RouteRow } from "../lib/openapi";
import { RateLimiter } from "../lib/rate-limit";
import { rawBodyRoute } from "../lib/raw-body-route";
import { processReadiness } from "../lib/readiness";
import { answerClientError, shapeRequest } from "../lib/request-shape";
import { shapeError, type RaisedError } from "../lib/error-body";
import { TtlCache } from "../lib/ttl-cache";
import { looksLikePat, wellFormedPat } from "../lib/pat";
import { beginAudit, finishAudit, type PendingAudit } from "./gateway/audit-trail";
import { accessEvents, MemberAccess } from "./gateway/member-access";
import { consoleRoute } from "./gateway/console";

type Req = IncomingMessage & {
	$requestId?: string;
	$alias?: { method: string; path: string; fullPath: string; action: string | null; keys?: { name: string | number }[] };
	$params: Record<string, unknown>;
	$ctx?: Context;
	$audit?: PendingAudit | null;
	query: Record<string, string>;
	body?: unknown;
	parsedUrl?: string;
};
type Res = ServerResponse;

export interface Identity {
	id: string;
	email: string;
	role: "user" | "admin";
	status: string;
	group: string;
	type: string;
	via: "session" | "token";
	sessionId?: string;
	tokenId?: string;
	/** "2fa-setup": the group requires 2FA and this session may only set it up (TFA-6) */
	scope: "full" | "2fa-setup";
}

/** What a token allows, in ctx.meta beside the user (plain data: meta travels with every call). */
export interface Grant {
	tokenId: string;
	/** the API methods the token may call (PAT-1) */
	methods: string[];
}

interface TokenGrant extends Grant {
	accountId: string;
	allowedIps: BlockList | null;
	expiresAtMs: number | null;
}

type Self = Service & {
	tokenCache: TtlCache<string, TokenGrant>;
	identityCache: TtlCache<string, Omit<Identity, "via" | "sessionId" | "scope" | "tokenId">>;
	tokenUseReported: Map<string, number>;
	identityOf(ctx: Context, accountId: string, signingIn?: boolean): Promise<Omit<Identity, "via" | "sessionId" | "scope" | "tokenId">>;
	reportTokenUse(ctx: Context, tokenId: string, ip: string): void;
	entries: Map<string, ApiEntry>;
	/** COL-6: members' requests on other accounts' environments */
	members: MemberAccess;
	limiter: RateLimiter;
	/** null: no trusted proxies, the socket address is the client */
	trust: ReturnType<typeof parseTrustList> | null;
	aliases: { method: string; path: string; fullPath: string; action: string | null }[];
	entryOf(alias: Req["$alias"]): ApiEntry | undefined;
	routeTable(): RouteRow[];
	sendJson(res: Res, status: number, body: unknown): void;
};

const API_PATH = "/api/v1";
const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;
// Request ids: unique per process start (random prefix) and cheap per request (a counter).
const REQUEST_PREFIX = `${randomToken(6)}-`;
let requestCount = 0;

/** The catalogue entries this gateway serves (test-only routes only under the test clock). */
export function servedEntries(): ApiEntry[] {
	return API_CATALOGUE.filter(e => !e.testOnly || testClockEnabled());
}

function aliasKey(method: string, path: string) {
	return `${method.toUpperCase()} ${path.replace(/^\/+/, "")}`;
}

function bearer(req: Req): string | undefined {
	const h = req.headers.authorization;
	if (h) {
		const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
		if (!m) throw unauthorized("The Authorization header must be 'Bearer <token>'");
		return m[1];
	}
	const q = req.query?.session;
	return typeof q === "string" && q ? q : undefined;
}

function requestIdOf(req: Req, res: Res): string {
	if (!req.$requestId) {
		const incoming = req.headers["x-request-id"];
		req.$requestId = typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : `${REQUEST_PREFIX}${(++requestCount).toString(36)}`;
		if (!res.headersSent) res.setHeader("X-Request-Id", req.$requestId);
	}
	return req.$requestId;
}

function corsSettings() {
	const origins = envList("CORS_ORIGINS");
	if (!origins.length) return undefined;
	return {
		origin: origins.length === 1 && origins[0] === "*" ? "*" : origins,
		methods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
		allowedHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
		exposedHeaders: ["X-Request-Id", "Retry-After", "Idempotent-Replayed"],
		credentials: false,
		maxAge: 600,
	};
}

/** A factory: port, CORS and the test-only routes are read from the environment when it is called. */
export function createGatewayService() {
	return defineService<Self>({
		name: "gateway",
		mixins: [ApiGateway],

		settings: {
			port: envInt("PORT", 3000),
			ip: envString("HOST", "0.0.0.0"),
			cors: corsSettings(),
			use: [
				function requestId(req: Req, res: Res, next: () => void) {
					requestIdOf(req, res);
					res.setHeader("Cache-Control", "no-store");
					next();
				},
			],
			logRequest: "debug",
			logRouteRegistration: "debug", // the route table; the start line (bin/qm.ts) says where to go
			logRequestParams: null,
			logResponseData: null,
			log4XXResponses: false,
			routes: [
				// Signed webhooks (PAY-2): the body as sent (lib/raw-body-route.ts).
				rawBodyRoute(API_PATH, servedEntries(), (req, res) => requestIdOf(req as Req, res)),
				{
					path: API_PATH,
					mappingPolicy: "restrict",
					autoAliases: false,
					aliases: {
						...Object.fromEntries(
							servedEntries()
								.filter(e => !e.rawBody)
								.map(e => [e.rest, e.action]),
						),
						"GET /openapi.json"(this: Self, req: Req, res: Res) {
							this.sendJson(
								res,
								200,
								buildOpenApi(
									this.routeTable(),
									row => this.entryOf(row as Req["$alias"]),
									a => this.broker.registry.getActionList({} as never).find((x: { name: string }) => x.name === a)?.action?.params,
									{ title: "Quartermaster API", version: appVersion() },
								),
							);
						},
						"GET /api-methods"(this: Self, req: Req, res: Res) {
							const search = String(req.query?.search ?? "").toLowerCase();
							const group = String(req.query?.group ?? "");
							const rows = apiMethods(servedEntries()).filter(
								m =>
									(!group || m.group === group || m.group.startsWith(`${group}.`)) &&
									(!search || `${m.method} ${m.description}`.toLowerCase().includes(search)),
							);
							this.sendJson(res, 200, rows);
						},
					},
					bodyParsers: { json: { strict: true, limit: "1mb" }, urlencoded: false },
					authentication: true,
					authorization: true,
					callOptions: { timeout: 30_000 },
					onBeforeCall(this: Self, ctx: Context, _route: unknown, req: Req, res: Res) {
						const meta = ctx.meta as Record<string, unknown>;
						meta.requestId = requestIdOf(req, res);
						meta.ip = this.trust ? clientIp(req.socket.remoteAddress, req.headers["x-forwarded-for"], this.trust) : normaliseIp(req.socket.remoteAddress ?? "");
						meta.userAgent = String(req.headers["user-agent"] ?? "").slice(0, 300);
						// Content negotiation for the few answers that come as CSV too (BIL-4).
						if (typeof req.headers.accept === "string") meta.accept = req.headers.accept.slice(0, 200);
						// Money-moving POSTs (API.md): the service checks and remembers the key.
						const idem = req.headers["idempotency-key"];
						if (typeof idem === "string") meta.idempotencyKey = idem;
						// Issue 14: handlers only see own, checked fields, each from the one place its route says.
						req.$params = shapeRequest(req);
						const entry = this.entryOf(req.$alias);
						if (entry?.rateLimit) {
							const wait = this.limiter.hit(`${entry.rest}|${meta.ip}`, entry.rateLimit, nowMs());
							if (wait > 0) throw rateLimited(wait);
						}
					},
					async onAfterCall(this: Self, ctx: Context, _route: unknown, req: Req, _res: Res, data: unknown) {
						const entry = this.entryOf(req.$alias);
						if (req.$audit) await finishAudit(ctx, req.$audit, data, (msg, err) => this.logger.error(msg, err));
						if (entry?.status) (ctx.meta as Record<string, unknown>).$statusCode = entry.status;
						if (entry?.status === 201) (ctx.meta as Record<string, unknown>).$location = req.url;
						// Binary answers (an invoice's PDF) travel as base64 between services.
						if ((ctx.meta as Record<string, unknown>).$responseEncoding === "base64" && typeof data === "string") return Buffer.from(data, "base64");
						return entry?.status === 204 ? null : data;
					},
				},
				// The web console (issue 19): public/ at `/`, any other non-API GET its index.html.
				consoleRoute(),
				{
					name: "health", // named, as the console's route is: both are at "/", and moleculer-web keeps one route per unnamed path
					path: "",
					mappingPolicy: "restrict",
					autoAliases: false,
					bodyParsers: false,
					aliases: {
						"GET /health"(this: Self, _req: Req, res: Res) {
							this.sendJson(res, 200, { status: "ok" });
						},
						async "GET /ready"(this: Self, _req: Req, res: Res) {
							const missing = servicesBehind(servedEntries()).filter(s => !this.broker.registry.hasService(s, undefined as never));
							const { ready, problems } = processReadiness(this.broker);
							// Ready means a sign-in works: the built-in groups and the bootstrap admin exist.
							if (
								!missing.includes("accounts") &&
								!(await this.broker.call<{ seeded: boolean }, object>("accounts.seeded", {}, { timeout: 2000 }).catch(() => null))?.seeded
							)
								problems.push("accounts seeding");
							if (ready && problems.length === 0 && missing.length === 0) this.sendJson(res, 200, { status: "ready" });
							else this.sendJson(res, 503, { status: "unavailable", missing, problems });
						},
					},
				},
			],

			onError(this: Self, req: Req, res: Res, err: RaisedError) {
				const requestId = requestIdOf(req, res);
				const { status, body, unexpected, retryAfter } = shapeError(err, requestId);
				if (unexpected) this.logger.error(`Request ${requestId} ${req.method} ${req.url?.split("?")[0]} failed`, err);
				if (retryAfter) res.setHeader("Retry-After", String(retryAfter));
				this.sendJson(res, status, body);
			},
		},

		actions: {
			/** POST /admin/jobs/{service.job}/run */
			runJob: {
				params: {
					name: {
						type: "string",
						pattern: /^[a-z][a-z-]*\.[a-z][a-z0-9-]*$/,
						messages: { stringPattern: "must look like service.job-name, e.g. accounts.trial-expiry" },
					},
				},
				async handler(this: Self, ctx: Context<{ name: string }>) {
					const dot = ctx.params.name.indexOf(".");
					const service = ctx.params.name.slice(0, dot);
					const job = ctx.params.name.slice(dot + 1);
					if (!this.broker.registry.hasService(service, undefined as never)) throw notFound(`Job ${ctx.params.name}`);
					return ctx.call(`${service}.runJob`, { job }, { timeout: 15 * 60_000 });
				},
			},

			/** POST /admin/clock (QM_TEST_CLOCK=1 only): every node's clock, confirmed one by one. */
			setClock: {
				params: { now: { type: "string", min: 1, max: 40 } },
				async handler(this: Self, ctx: Context<{ now: string }>) {
					if (!testClockEnabled()) throw notFound("Test clock");
					const errors: FieldError[] = [];
					const t = timeParam(ctx.params.now, "now", errors);
					if (!t) throw validationError(errors);
					const iso = t.toISOString();
					ctx.broadcast("clock.set", { now: iso });
					const nodes = this.broker.registry.getNodeList({ onlyAvailable: true, withServices: true }) as unknown as {
						id: string;
						services: { name: string }[];
					}[];
					const withClock = nodes.filter(n => n.services.some(s => s.name === "clock"));
					await Promise.all(withClock.map(n => ctx.call("clock.set", { now: iso }, { nodeID: n.id })));
					return { now: iso, nodes: withClock.length };
				},
			},
		},

		methods: {
			async authenticate(this: Self, ctx: Context, _route: unknown, req: Req): Promise<Identity | null> {
				const entry = this.entryOf(req.$alias);
				if (!entry || entry.access === "public") return null;
				const token = bearer(req);
				if (!token) throw unauthorized();
				const ip = (ctx.meta as { ip: string }).ip;
				if (looksLikePat(token)) {
					// Cached by the value itself (this process holds it anyway): no hashing on the hot path.
					let grant = this.tokenCache.get(token, Date.now());
					if (!grant) {
						// PAT-2: a malformed token or a wrong checksum is refused without asking anyone.
						if (!wellFormedPat(token)) throw unauthorized("Unknown access token");
						const v = await ctx.call<
							{ tokenId: string; accountId: string; apiList: string[]; allowedIps: string[]; expiresAt: string | null },
							{ token: string }
						>("tokens.verify", {
							token,
						});
						grant = {
							tokenId: v.tokenId,
							accountId: v.accountId,
							methods: v.apiList,
							allowedIps: v.allowedIps.length ? cidrList(v.allowedIps, "allowedIps") : null,
							expiresAtMs: v.expiresAt ? new Date(v.expiresAt).getTime() : null,
						};
						this.tokenCache.set(token, grant, Date.now());
					}
					if (grant.expiresAtMs !== null && grant.expiresAtMs <= nowMs()) throw unauthorized("The access token has expired", "TOKEN_EXPIRED");
					if (grant.allowedIps && !ipInList(grant.allowedIps, ip)) throw forbidden("This access token may not be used from this address", { ip });
					const identity = await this.identityOf(ctx, grant.accountId);
					this.reportTokenUse(ctx, grant.tokenId, ip);
					(ctx.meta as { grant?: Grant }).grant = { tokenId: grant.tokenId, methods: grant.methods };
					return { ...identity, via: "token", tokenId: grant.tokenId, scope: "full" };
				}
				const session = await ctx.call<{ sessionId: string; accountId: string; scope: Identity["scope"] }, { token: string }>("auth.resolveSession", { token });
				const identity = await this.identityOf(ctx, session.accountId);
				return { ...identity, via: "session", sessionId: session.sessionId, scope: session.scope };
			},

			async authorize(this: Self, ctx: Context, _route: unknown, req: Req) {
				const entry = this.entryOf(req.$alias);
				if (!entry || entry.access === "public") return;
				const { user, grant } = ctx.meta as { user?: Identity; grant?: Grant };
				if (!user) throw unauthorized();
				if (entry.access === "session" && user.via !== "session")
					throw forbidden("This operation needs a signed-in session, not an access token", { method: entry.method });
				if (user.via === "token" && !grant?.methods.includes(entry.method as string)) {
					throw forbidden(`This access token does not allow ${entry.method}`, { method: entry.method });
				}
				if (entry.access === "admin" && user.role !== "admin") throw forbidden("Administrators only", { method: entry.method });
				if (user.scope === "2fa-setup" && !entry.setup2fa) {
					throw forbidden("Set up two-factor authentication first (POST /auth/2fa/setup)", { method: entry.method, reason: "2FA_SETUP_REQUIRED" });
				}
				// COL-6: a member acting on another account's environment, within its roles there (a token's scope was checked above).
				const onBehalfOf = await this.members.check(ctx, user.id, entry, req.$params, this.broker.registry.hasService("collaboration", undefined as never));
				// COL-7: the owner's account status applies to what its member does for it.
				if (onBehalfOf)
					(ctx.meta as { onBehalfOf?: unknown }).onBehalfOf = { ...onBehalfOf, status: (await this.identityOf(ctx, onBehalfOf.accountId, false)).status };
				if (this.broker.registry.hasService("audit", undefined as never)) req.$audit = await beginAudit(ctx, entry, req.$params, onBehalfOf); // COL-8, ADM-2
			},

			/** Who the account is, cached for a second (and dropped at once by status events); `signingIn`: the caller's own, refused when suspended. */
			async identityOf(this: Self, ctx: Context, accountId: string, signingIn = true) {
				let identity = this.identityCache.get(accountId, Date.now());
				if (!identity) {
					identity =
						(await ctx.call<Omit<Identity, "via" | "sessionId" | "scope" | "tokenId"> | null, { id: string }>("accounts.identity", { id: accountId })) ??
						undefined;
					if (!identity) throw unauthorized();
					this.identityCache.set(accountId, identity, Date.now());
				}
				// STS-1: a suspended account's sessions and tokens are refused.
				if (signingIn && identity.status === "suspended") throw unauthorized("This account is suspended", "ACCOUNT_SUSPENDED");
				return identity;
			},

			/** PAT-1 last-used time and IP, reported at most once a minute per token. */
			reportTokenUse(this: Self, ctx: Context, tokenId: string, ip: string) {
				const last = this.tokenUseReported.get(tokenId) ?? 0;
				if (Date.now() - last < 60_000) return;
				this.tokenUseReported.set(tokenId, Date.now());
				ctx.emit("tokens.used", { id: tokenId, ip });
			},

			entryOf(this: Self, alias: Req["$alias"]) {
				if (!alias?.action) return undefined;
				return this.entries.get(aliasKey(alias.method, alias.fullPath.slice(API_PATH.length)));
			},

			/** The real route table: every alias the gateway registered. */
			routeTable(this: Self): RouteRow[] {
				return this.aliases.map(a => ({ method: a.method, fullPath: a.fullPath, action: a.action }));
			},

			sendJson(res: Res, status: number, body: unknown) {
				if (res.headersSent) return;
				res.statusCode = status;
				res.setHeader("Content-Type", "application/json; charset=utf-8");
				res.end(JSON.stringify(body));
			},
		},

		events: {
			/** PAT-3: a regenerated, edited or deleted token is dropped from every gateway's cache. */
			"tokens.revoked": {
				params: { ids: { type: "array", items: "string" } },
				handler(this: Self, ctx: Context<{ ids: string[] }>) {
					const ids = new Set(ctx.params.ids);
					this.tokenCache.deleteWhere(g => ids.has(g.tokenId));
				},
			},
			"accounts.status.changed": {
				params: { id: "string" },
				handler(this: Self, ctx: Context<{ id: string }>) {
					this.identityCache.delete(ctx.params.id);
				},
			},
			/** COL-9: a membership, share, role or policy changed, or environments changed groups: every gateway forgets its answers. */
			...accessEvents<Self>(),
			"accounts.updated": {
				params: { id: "string" },
				handler(this: Self, ctx: Context<{ id: string }>) {
					this.identityCache.delete(ctx.params.id);
				},
			},
		},

		created(this: Self) {
			this.tokenCache = new TtlCache(30_000);
			this.identityCache = new TtlCache(1_000);
			this.tokenUseReported = new Map();
			this.limiter = new RateLimiter();
			this.members = new MemberAccess();
			(this as unknown as { server?: Server }).server?.on("clientError", answerClientError);
			const trusted = envList("TRUST_PROXY");
			this.trust = trusted.length ? parseTrustList(trusted) : null;
			this.entries = new Map(
				servedEntries().map(e => {
					const { verb, path } = splitRest(e.rest);
					return [aliasKey(verb, path), e];
				}),
			);
		},
	});
}

export default createGatewayService;
