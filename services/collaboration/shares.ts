// COL-4: the items a membership shares — environments, environment groups (without an id: all of
// them, the groups' default) or the account root (ACCOUNT) — each with at least one role. Pure: the
// shape; whether the ids are the owner's is asked of the stores and of `environments` by the shell.
import type { FieldError } from "../../lib/errors";
import type { ResourceType, Share } from "./resolve";

export interface ShareInput {
	type: ResourceType;
	id?: string;
	roleIds: string[];
}

/** What is wrong with the shares as given: an ENV without id, an ACCOUNT with one, an item twice. */
export function shareErrors(resources: ShareInput[]): FieldError[] {
	const seen = new Set<string>();
	return resources.flatMap((r, i) => {
		if (r.type === "ENV" && !r.id) return [{ field: `resources[${i}].id`, message: "is required for an environment" }];
		if (r.type === "ACCOUNT" && r.id) return [{ field: `resources[${i}].id`, message: "must be left out: ACCOUNT is the whole account root" }];
		const key = `${r.type}|${r.id ?? ""}`;
		if (seen.has(key)) return [{ field: `resources[${i}]`, message: "is shared twice; give all its roles in one item" }];
		seen.add(key);
		return [];
	});
}

/** The shares as stored: each role once, no id on the account root or the groups' default. */
export function normaliseShares(resources: ShareInput[]): Share[] {
	return resources.map(r => ({ type: r.type, ...(r.id ? { id: r.id } : {}), roleIds: [...new Set(r.roleIds)] }));
}

/** Every role id the shares name. */
export function roleIdsOf(shares: Share[]): string[] {
	return [...new Set(shares.flatMap(s => s.roleIds))];
}
