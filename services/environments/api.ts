// The environments API's shapes, pure: the parameters a topology is given with (ENV-1), an
// environment as clients see it, and as the orchestrator's events carry it.
import { nodeGroupRule } from "../../lib/topology-rules";
import type { EnvDoc } from "./store";

export const idRule = { type: "string", min: 1, max: 64 } as const;

export const topologyRules = {
	nodes: { type: "array", items: nodeGroupRule, min: 1, max: 50 },
	ssl: { type: "boolean", optional: true },
	highAvailability: { type: "boolean", optional: true },
	customDomains: {
		type: "array",
		items: { type: "string", pattern: /^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$/i, messages: { stringPattern: "must be a domain name" } },
		max: 50,
		optional: true,
	},
	groups: { type: "array", items: { type: "string", min: 1, max: 64 }, max: 20, optional: true },
} as const;

export const nameRule = {
	type: "string",
	pattern: /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/,
	messages: { stringPattern: "must be 1-63 letters, digits and dashes" },
} as const;

/** An environment as GET /environments/{id} shows it; `shared`: the viewer is a member, not the owner (COL-7). */
export function envView(e: EnvDoc, ownerEmail?: string, shared = false) {
	return {
		id: e._id,
		name: e.name,
		ownerId: e.ownerId,
		ownerEmail: ownerEmail ?? null,
		owner: { id: e.ownerId, email: ownerEmail ?? null },
		shared,
		status: e.status,
		nodes: e.nodes,
		subscription: !!e.subscription,
		ssl: e.ssl,
		highAvailability: e.highAvailability,
		customDomains: e.customDomains,
		groups: e.groups,
		createdAt: e.createdAt,
	};
}

/** ENV-1: an environment as its lifecycle events carry it to the orchestrator. */
export function envEvent(e: EnvDoc & { previousOwnerId?: string }) {
	return { id: e._id, ownerId: e.ownerId, name: e.name, status: e.status, nodes: e.nodes, previousOwnerId: e.previousOwnerId };
}

/** COL-7: `ownerId` of a route that acts for the owner (creating groups, listing them). */
export { ownerIdParam } from "../../lib/acting-for";
