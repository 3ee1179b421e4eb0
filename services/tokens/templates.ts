// PAT-1: token templates, defined over the API method catalogue (PAT-6) so that they follow it as
// it grows. A template names method groups (prefixes) it includes; `extended-access` is every
// method a token may call at all.
import { API_CATALOGUE, type ApiEntry } from "../../lib/api-catalogue";

export interface TokenTemplate {
	name: string;
	description: string;
	/** method-name prefixes; ["*"] = every method a token may call */
	include: string[];
}

export const TOKEN_TEMPLATES: TokenTemplate[] = [
	{ name: "extended-access", description: "Everything a token may do: all API methods except password, 2FA, tokens and email changes", include: ["*"] },
	{
		name: "ide-plugins",
		description: "What IDE plugins need: account info, environments and their deployments",
		include: ["users.account.GetUserInfo", "environment.control", "environment.deployment", "environment.file"],
	},
	{
		name: "marketplace",
		description: "Install marketplace solutions: account info, create and manage environments",
		include: ["users.account.GetUserInfo", "environment.control", "marketplace"],
	},
	{
		name: "maven-plugin",
		description: "Deploy from Maven builds: account info and environment deployments",
		include: ["users.account.GetUserInfo", "environment.control.GetEnvs", "environment.deployment"],
	},
];

/**
 * Methods a token can ever hold: catalogued, not public, not session-only. Admin methods are
 * included (an admin's extended-access token reaches the admin API, as on the original
 * platform); the gateway still checks the admin role on every call.
 */
export function tokenMethods(entries: ApiEntry[] = API_CATALOGUE): string[] {
	return [...new Set(entries.filter(e => e.method && (e.access === "user" || e.access === "admin")).map(e => e.method as string))].sort();
}

/** Methods a token must never reach, even with extended-access (PAT-3). */
export function sessionOnlyMethods(entries: ApiEntry[] = API_CATALOGUE): string[] {
	return [...new Set(entries.filter(e => e.method && e.access === "session").map(e => e.method as string))].sort();
}

export function templateMethods(name: string, entries: ApiEntry[] = API_CATALOGUE): string[] | null {
	const t = TOKEN_TEMPLATES.find(x => x.name === name);
	if (!t) return null;
	const all = tokenMethods(entries);
	if (t.include.includes("*")) return all;
	return all.filter(m => t.include.some(p => m === p || m.startsWith(`${p}.`)));
}
