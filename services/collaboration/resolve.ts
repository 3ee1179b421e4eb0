// COL-6: what a member may do with one resource of the owner — role resolution, pure. Levels from
// high to low: roles given on the environment itself (direct); else the roles of its shared groups,
// each group walking up to its nearest ancestor with a role and, failing that, to the roles given
// on all groups (a share of ENV_GROUP without an id); else the base roles given on the account root
// (ACCOUNT). Only the highest level that has roles applies; the roles of one level are united, and
// so are their policies' methods. A call about the account as a whole (no environment) gets the base.
import { methodsOfPolicies } from "./policies";

export type ResourceType = "ENV" | "ENV_GROUP" | "ACCOUNT";

/** One shared item of a membership: an environment, a group (no id: all groups) or the account root. */
export interface Share {
	type: ResourceType;
	id?: string;
	roleIds: string[];
}

/** Where the environment sits: its groups and the owner's group tree (child → parent, null at the top). */
export interface Target {
	envId?: string;
	groups?: string[];
	parentOf?: Record<string, string | null>;
}

export interface Access {
	level: "direct" | "group" | "base" | "none";
	roleIds: string[];
	/** the API methods allowed */
	methods: Set<string>;
}

/** COL-6 as one function: the shares of a membership and where the target sits → the level, its roles and the methods they allow. */
export function resolveAccess(
	shares: Share[],
	target: Target,
	roles: Map<string, { policies: string[] }>,
	customPolicies: Map<string, { methods: string[] }> = new Map(),
): Access {
	const rolesOn = (type: ResourceType, id?: string) => shares.filter(s => s.type === type && (s.id ?? undefined) === id).flatMap(s => s.roleIds);
	const done = (level: Access["level"], roleIds: string[]): Access => {
		const unique = [...new Set(roleIds)].filter(id => roles.has(id));
		return {
			level,
			roleIds: unique,
			methods: methodsOfPolicies(
				unique.flatMap(id => roles.get(id)!.policies),
				customPolicies,
			),
		};
	};

	if (target.envId) {
		const direct = rolesOn("ENV", target.envId);
		if (direct.length) return done("direct", direct);
		const viaGroups = (target.groups ?? []).flatMap(g => nearestGroupRoles(g, target.parentOf ?? {}, rolesOn));
		if (viaGroups.length) return done("group", viaGroups);
	}
	const base = rolesOn("ACCOUNT");
	return base.length ? done("base", base) : { level: "none", roleIds: [], methods: new Set() };
}

/** A group's roles: its own, else its nearest ancestor's, else those given on all groups. */
function nearestGroupRoles(groupId: string, parentOf: Record<string, string | null>, rolesOn: (type: ResourceType, id?: string) => string[]): string[] {
	const seen = new Set<string>();
	for (let g: string | null | undefined = groupId; g && !seen.has(g); g = parentOf[g]) {
		seen.add(g);
		const own = rolesOn("ENV_GROUP", g);
		if (own.length) return own;
	}
	return rolesOn("ENV_GROUP", undefined);
}
