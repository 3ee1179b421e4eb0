// COL-6, COL-7: what a member reaches of an owner's account, from its membership, the owner's roles
// and custom policies, and where each environment sits (environments.ownedItems). One place for the
// gateway's question (`can`) and for the list of environments shared with a member: both resolve
// through `resolveAccess`, so what a member may open and what it sees listed never differ.
import { resolveAccess, type Access, type Target } from "./resolve";
import { customPolicies, type CollabDb, type MemberDoc } from "./store";
import type { MemberDeps, OwnedItems } from "./members";

const LIST_ENVS = "environment.control.GetEnvs";

/** The environment's place in the owner's group tree, as `resolveAccess` takes it. */
export function targetOf(envId: string | undefined, owned: OwnedItems | null): Target {
	if (!envId) return {};
	const env = owned?.envs.find(e => e.id === envId);
	return { envId, groups: env?.groups ?? [], parentOf: Object.fromEntries((owned?.groups ?? []).map(g => [g.id, g.parentId])) };
}

/** The owner's roles and custom policies, as `resolveAccess` takes them. */
async function rulesOf(db: CollabDb, ownerId: string) {
	const [roles, custom] = await Promise.all([db.collab_roles.find({ ownerId }), customPolicies(db, ownerId)]);
	return { roles: new Map(roles.map(r => [r._id, r])), custom };
}

/** COL-6: the member's access to the owner's account (to `envId`, when given); null without an active membership. */
export async function memberAccess(
	d: MemberDeps,
	q: { memberAccountId: string; ownerAccountId: string; envId?: string },
): Promise<{ membership: MemberDoc; access: Access } | null> {
	const membership = await d.db.collaborations.findOne({ ownerId: q.ownerAccountId, memberId: q.memberAccountId, status: "active" });
	if (!membership) return null;
	const [rules, owned] = await Promise.all([
		rulesOf(d.db, q.ownerAccountId),
		q.envId ? d.bus.call<OwnedItems>("environments.ownedItems", { accountId: q.ownerAccountId, envIds: [q.envId] }) : null,
	]);
	return { membership, access: resolveAccess(membership.resources, targetOf(q.envId, owned), rules.roles, rules.custom) };
}

/** COL-7: per owner, the environments a member may list (GetEnvs in its roles there), for GET /environments. */
export async function sharedEnvironments(d: MemberDeps, memberAccountId: string): Promise<{ ownerId: string; ownerEmail: string; envIds: string[] }[]> {
	const memberships = await d.db.collaborations.find({ memberId: memberAccountId, status: "active" });
	return Promise.all(
		memberships.map(async m => {
			const [rules, owned] = await Promise.all([
				rulesOf(d.db, m.ownerId),
				d.bus.call<OwnedItems>("environments.ownedItems", { accountId: m.ownerId, envIds: [], all: true }),
			]);
			// Listed where the member's roles there allow listing (GetEnvs): a role without it reaches the environment by id only.
			const envIds = owned.envs.filter(e => resolveAccess(m.resources, targetOf(e.id, owned), rules.roles, rules.custom).methods.has(LIST_ENVS)).map(e => e.id);
			return { ownerId: m.ownerId, ownerEmail: m.primaryEmail, envIds };
		}),
	);
}
