// COL-6, COL-7: which of another account's resources a request is about, from its route and
// parameters alone — the gateway then asks whether the caller is a member of that account allowed
// the route's API method there. Pure. Three ways a request names another account's resource:
// - `/environments/{id}…`: that environment (its owner's roles there resolve, COL-6);
// - `envId` (a filter, e.g. `GET /billing/history?envId=`): that environment, the same way;
// - `ownerId` (`POST /environments`, `GET /pricing`, `GET /collaboration/members`, …): the owner's
//   account root, whose base roles answer.
// A route that names none acts on the caller's own account only.
import type { ApiEntry } from "../../lib/api-catalogue";

export type MemberTarget = { kind: "env"; envId: string } | { kind: "owner"; ownerId: string };

/** Routes about one environment: the owner is the environment's. */
const ENV_ROUTE = /^[A-Z]+ \/environments\/:id(\/|$)/;

/** An id as the actions' rules take it; anything else is left to the action's validation (422 naming the field). */
const given = (v: unknown): v is string => typeof v === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(v);

/** What the request is about when it may be another account's; null: only the caller's own account. */
export function memberTarget(entry: Pick<ApiEntry, "rest" | "access" | "method">, params: Record<string, unknown>, userId: string): MemberTarget | null {
	if (entry.access !== "user" || !entry.method) return null;
	if (ENV_ROUTE.test(entry.rest)) return given(params.id) ? { kind: "env", envId: params.id } : null;
	if (given(params.ownerId)) return params.ownerId === userId ? null : { kind: "owner", ownerId: params.ownerId };
	if (given(params.envId)) return { kind: "env", envId: params.envId };
	return null;
}
