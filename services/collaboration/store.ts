// The collaboration service's documents, how an account's own ones are found (anything of another
// account is "not found", NFR-1), the seeding of role templates, what uses a role or a policy, and
// the views clients get (never a link's digest). Store-taking: no Moleculer, no other service.
import { addMs, DAY, now } from "../../lib/clock";
import { digest, randomToken } from "../../lib/crypto";
import { notFound } from "../../lib/errors";
import type { Doc, Store } from "../../mixins/db.mixin";
import { SYSTEM_POLICIES, systemPolicy } from "./policies";
import type { Share } from "./resolve";
import { ROLE_TEMPLATES, templateRoleId } from "./roles";
import { HOLDING, type MemberStatus } from "./states";

export interface PolicyDoc extends Doc {
	ownerId: string;
	ownerName: string;
	name: string;
	description: string;
	methods: string[];
	createdAt: Date;
}

export interface RoleDoc extends Doc {
	ownerId: string;
	ownerName: string;
	name: string;
	description: string;
	policies: string[];
	receiveLoadAlerts: boolean;
	template?: string;
	createdAt: Date;
	updatedAt: Date;
}

export interface MemberDoc extends Doc {
	ownerId: string;
	ownerEmail: string;
	/** the primary account's email, for the emails about the membership */
	primaryEmail: string;
	email: string;
	memberId: string | null;
	displayName: string;
	status: MemberStatus;
	resources: Share[];
	tokenDigest: string | null;
	expiresAt: Date | null;
	invitedAt: Date;
	acceptedAt: Date | null;
	updatedAt: Date;
}

export interface CollabDb {
	collab_policies: Store<PolicyDoc>;
	collab_roles: Store<RoleDoc>;
	collaborations: Store<MemberDoc>;
	collab_seeds: Store<Doc & { seededAt: Date }>;
}

/** COL-4: an invitation link is valid 7 days. */
export const INVITATION_VALID_MS = 7 * DAY;

export const ownerName = (ownerId: string, name: string) => `${ownerId}|${name.toLowerCase()}`;
export const ownerEmail = (ownerId: string, email: string) => `${ownerId}|${email.toLowerCase()}`;

/** A new single-use link: the token goes into the email, only its digest into the store. */
export function newLink(): { token: string; tokenDigest: string; expiresAt: Date } {
	const token = randomToken(24);
	return { token, tokenDigest: digest(token), expiresAt: addMs(now(), INVITATION_VALID_MS) };
}

/** COL-3: the role templates, created once per account on its first use of collaboration. */
export async function seedRoles(db: CollabDb, ownerId: string): Promise<void> {
	if (await db.collab_seeds.findById(ownerId)) return;
	const t = now();
	await db.collab_roles.insertMany(
		ROLE_TEMPLATES.map((r, i) => ({
			_id: templateRoleId(ownerId, r.key),
			ownerId,
			ownerName: ownerName(ownerId, r.name),
			name: r.name,
			description: r.description,
			policies: r.policies,
			receiveLoadAlerts: r.receiveLoadAlerts,
			template: r.key,
			createdAt: new Date(t.getTime() + i), // listed in the templates' order
			updatedAt: t,
		})),
	); // refused ones exist already (another request seeded them first)
	await db.collab_seeds.insertMany([{ _id: ownerId, seededAt: t }]);
}

export async function ownRole(db: CollabDb, ownerId: string, id: string): Promise<RoleDoc> {
	const r = await db.collab_roles.findOne({ _id: id, ownerId });
	if (!r) throw notFound("Role");
	return r;
}

export async function ownPolicy(db: CollabDb, ownerId: string, id: string): Promise<PolicyDoc> {
	const p = await db.collab_policies.findOne({ _id: id, ownerId });
	if (!p) throw notFound("Policy");
	return p;
}

export async function ownMember(db: CollabDb, ownerId: string, id: string): Promise<MemberDoc> {
	const m = await db.collaborations.findOne({ _id: id, ownerId });
	if (!m) throw notFound("Member");
	return m;
}

/** The owner's custom policies by id. */
export async function customPolicies(db: CollabDb, ownerId: string): Promise<Map<string, PolicyDoc>> {
	return new Map((await db.collab_policies.find({ ownerId })).map(p => [p._id, p]));
}

/** The policy ids that are neither system policies nor the owner's custom ones, as `[index, id]`. */
export async function unknownPolicies(db: CollabDb, ownerId: string, ids: string[]): Promise<[number, string][]> {
	const custom = await customPolicies(db, ownerId);
	return ids.flatMap((id, i): [number, string][] => (systemPolicy(id) || custom.has(id) ? [] : [[i, id]]));
}

/** The first role id that is not the owner's, or null. */
export async function firstUnknownRole(db: CollabDb, ownerId: string, ids: string[]): Promise<string | null> {
	const mine = new Set((await db.collab_roles.find({ ownerId, _id: { $in: ids } })).map(r => r._id));
	return ids.find(id => !mine.has(id)) ?? null;
}

/** COL-3: where a role is used — the memberships holding it, with the items it is given on. */
export async function roleUses(db: CollabDb, ownerId: string, roleId: string) {
	const holding = await db.collaborations.find({ ownerId, status: { $in: HOLDING } });
	return holding.flatMap(m =>
		m.resources.filter(r => r.roleIds.includes(roleId)).map(r => ({ memberId: m._id, email: m.email, type: r.type, ...(r.id ? { id: r.id } : {}) })),
	);
}

/** COL-2: the roles a custom policy is part of. */
export async function policyUses(db: CollabDb, ownerId: string, policyId: string) {
	return (await db.collab_roles.find({ ownerId, policies: policyId })).map(r => ({ roleId: r._id, name: r.name }));
}

export const systemPolicyViews = () => SYSTEM_POLICIES.map(p => ({ ...p, system: true }));

export const policyView = (p: PolicyDoc) => ({
	id: p._id,
	name: p.name,
	path: ["Custom", p.name],
	description: p.description,
	methods: p.methods,
	system: false,
	createdAt: p.createdAt,
});

export const roleView = (r: RoleDoc) => ({
	id: r._id,
	name: r.name,
	description: r.description,
	policies: r.policies,
	receiveLoadAlerts: r.receiveLoadAlerts,
	template: r.template ?? null,
	createdAt: r.createdAt,
	updatedAt: r.updatedAt,
});

/** A membership as its primary account sees it. */
export const memberView = (m: MemberDoc) => ({
	id: m._id,
	email: m.email,
	displayName: m.displayName,
	status: m.status,
	memberId: m.memberId,
	resources: m.resources,
	invitedAt: m.invitedAt,
	acceptedAt: m.acceptedAt,
	expiresAt: m.status === "pending" ? m.expiresAt : null,
});

/** A membership as its member sees it (COL-5): the owner, the items with their names and roles. */
export const sharedView = (m: MemberDoc, names: Map<string, string>, roles: Map<string, RoleDoc>) => ({
	id: m._id,
	owner: { id: m.ownerId, email: m.primaryEmail },
	displayName: m.displayName,
	status: m.status,
	resources: m.resources.map(r => ({
		...r,
		...(r.id ? { name: names.get(r.id) ?? null } : {}),
		roles: r.roleIds.flatMap(id => {
			const role = roles.get(id);
			return role ? [{ id, name: role.name, policies: role.policies }] : [];
		}),
	})),
	invitedAt: m.invitedAt,
	acceptedAt: m.acceptedAt,
	expiresAt: m.status === "pending" ? m.expiresAt : null,
});
