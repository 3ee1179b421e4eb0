// NFR-1: no object of one account is reachable by another. Give it every id-taking route of the
// catalogue with an id that belongs to the owner; it calls each with the intruder's session and
// the intruder's extended-access token and expects 404 (a token on a session-only route gets its
// 403 first, which is just as closed). A catalogued id-taking route without an id here fails the
// check, so every new route must be added to it.
import { API_CATALOGUE, splitRest } from "../../lib/api-catalogue";
import type { Api } from "./http";

export interface Intruder {
	session: string;
	/** an extended-access personal access token of the intruder */
	token: string;
	/** the intruder's own password, for routes that ask for one */
	password: string;
}

export interface CrossAccountResult {
	route: string;
	credential: "session" | "token";
	status: number;
	type?: string;
}

/** The owner's id for each route, or the id and a valid body (so only ownership can refuse it). */
export type OwnersIds = Record<string, string | { id: string; body: Record<string, unknown> }>;

export async function crossAccountReplies(http: Api, intruder: Intruder, ownersIds: OwnersIds): Promise<CrossAccountResult[]> {
	const routes = API_CATALOGUE.filter(e => e.rest.includes("/:") && e.access !== "public" && e.access !== "admin");
	const missing = routes.filter(e => !(e.rest in ownersIds)).map(e => e.rest);
	if (missing.length) throw new Error(`No owner id given for these id-taking routes: ${missing.join(", ")}`);
	// Routes that ask for a password get the intruder's own (so only ownership can refuse them).
	const openapi = (await http.get("/openapi.json")).body as {
		paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: object } }> } }>>;
	};
	const asksPassword = (verb: string, path: string) =>
		!!openapi.paths[`/api/v1${path.replace(/:([A-Za-z]+)/g, "{$1}")}`]?.[verb.toLowerCase()]?.requestBody?.content[
			"application/json"
		].schema.properties?.hasOwnProperty("password");
	const out: CrossAccountResult[] = [];
	for (const e of routes) {
		const { verb, path } = splitRest(e.rest);
		const given = ownersIds[e.rest];
		const id = typeof given === "string" ? given : given.id;
		const url = path.replace(/:[A-Za-z]+/, encodeURIComponent(id));
		const extra = typeof given === "string" ? {} : given.body;
		const body = verb === "GET" || verb === "DELETE" ? undefined : { ...(asksPassword(verb, path) ? { password: intruder.password } : {}), ...extra };
		for (const credential of ["session", "token"] as const) {
			const r = await http.call(verb, url, { token: credential === "session" ? intruder.session : intruder.token, ...(body ? { body } : {}) });
			out.push({ route: e.rest, credential, status: r.status, type: r.body?.type });
		}
	}
	return out;
}

/** The expectation most tests want: every reply is 404, or 403 for a token on a session-only route. */
export function expectedClosed(results: CrossAccountResult[]) {
	return results.map(r => {
		const entry = API_CATALOGUE.find(e => e.rest === r.route)!;
		return { route: r.route, credential: r.credential, status: r.credential === "token" && entry.access === "session" ? 403 : 404 };
	});
}
