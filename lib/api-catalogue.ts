// PAT-6: the single catalogue of public operations. The gateway builds its routes from it (and
// serves nothing else), the OpenAPI document is generated from those routes, token scopes and
// collaboration policies name its `method`s. Adding an endpoint = adding an entry here.

/**
 * Who may call an entry:
 * - public:  nobody needs to be signed in
 * - user:    a session or a personal access token whose scope holds `method`
 * - session: a session only (password, 2FA, tokens, email — PAT-3)
 * - admin:   a session of an account with role admin
 */
export type Access = "public" | "user" | "session" | "admin";

export interface ApiEntry {
	/** HTTP verb and path below /api/v1, with `:param` placeholders */
	rest: string;
	/** the Moleculer action that serves it */
	action: string;
	/** the API method name (token scopes, policies); none for public endpoints */
	method?: string;
	access: Access;
	description: string;
	/** HTTP status of a success (default 200) */
	status?: 200 | 201 | 202 | 204;
	/** per client IP, per gateway: at most `limit` calls each `windowSeconds` */
	rateLimit?: { limit: number; windowSeconds: number }[];
	/** only served when QM_TEST_CLOCK=1 */
	testOnly?: boolean;
}

// Per client IP and gateway, in front of the per-address limits the services keep (REG-3).
// Generous enough for an office behind one NAT address, tight enough to stop a script.
const AUTH_PUBLIC_LIMITS = [
	{ limit: 20, windowSeconds: 60 },
	{ limit: 200, windowSeconds: 3600 },
];

export const API_CATALOGUE: ApiEntry[] = [
	// Registration and authentication
	{
		rest: "POST /auth/signup",
		action: "accounts.signup",
		access: "public",
		status: 202,
		rateLimit: AUTH_PUBLIC_LIMITS,
		description: "Sign up with an email address; an activation link is emailed (REG-1)",
	},
	{
		rest: "POST /auth/activate",
		action: "accounts.activate",
		access: "public",
		rateLimit: AUTH_PUBLIC_LIMITS,
		description: "Activate an account from the emailed link and set its password (REG-2)",
	},
	{
		rest: "POST /auth/signin",
		action: "auth.signin",
		access: "public",
		rateLimit: [{ limit: 60, windowSeconds: 60 }],
		description: "Sign in with email and password (REG-4)",
	},
	{
		rest: "POST /auth/signout",
		action: "auth.signout",
		method: "users.authentication.Signout",
		access: "session",
		status: 204,
		description: "End the current session (REG-6)",
	},

	// Account
	{ rest: "GET /account", action: "accounts.me", method: "users.account.GetUserInfo", access: "user", description: "The signed-in account" },
	{ rest: "PATCH /account", action: "accounts.update", method: "users.account.ChangeName", access: "user", description: "Change the account's name or phone" },
	{
		rest: "GET /account/notifications",
		action: "notifications.list",
		method: "users.account.GetNotifications",
		access: "user",
		description: "In-app notifications, newest first",
	},
	{
		rest: "POST /account/notifications/:id/read",
		action: "notifications.markRead",
		method: "users.account.GetNotifications",
		access: "user",
		description: "Mark an in-app notification read",
	},

	// Administration
	{
		rest: "GET /admin/accounts",
		action: "accounts.adminList",
		method: "admin.accounts.GetAccounts",
		access: "admin",
		description: "Search accounts by email/name, status and group",
	},
	{
		rest: "GET /admin/outbox",
		action: "notifications.adminOutbox",
		method: "admin.notifications.GetOutbox",
		access: "admin",
		description: "Emails the platform sent or queued (subject, text, links)",
	},
	{
		rest: "POST /admin/jobs/:name/run",
		action: "gateway.runJob",
		method: "admin.jobs.RunJob",
		access: "admin",
		description: "Run a scheduled job now and answer when it is done",
	},
	{
		rest: "POST /admin/clock",
		action: "gateway.setClock",
		method: "admin.clock.SetClock",
		access: "admin",
		testOnly: true,
		description: "Set the platform clock on every service (QM_TEST_CLOCK=1 only)",
	},
];

/** The API method's group: `users.account.GetUserInfo` → `users.account`. */
export function methodGroup(method: string): string {
	return method.split(".").slice(0, -1).join(".");
}

export function splitRest(rest: string): { verb: string; path: string } {
	const [verb, path] = rest.split(" ");
	return { verb, path };
}

/** The catalogue as GET /api/v1/api-methods shows it: one row per API method. */
export function apiMethods(entries: ApiEntry[] = API_CATALOGUE) {
	const byMethod = new Map<string, { method: string; group: string; description: string; rest: string; routes: string[] }>();
	for (const e of entries) {
		if (!e.method) continue;
		const row = byMethod.get(e.method) ?? { method: e.method, group: methodGroup(e.method), description: e.description, rest: e.rest, routes: [] };
		row.routes.push(e.rest);
		byMethod.set(e.method, row);
	}
	return [...byMethod.values()].sort((a, b) => a.method.localeCompare(b.method));
}

/** The services the gateway's routes call (readiness waits for them). */
export function servicesBehind(entries: ApiEntry[] = API_CATALOGUE): string[] {
	return [...new Set(entries.map(e => e.action.split(".")[0]).filter(s => s !== "gateway"))].sort();
}
