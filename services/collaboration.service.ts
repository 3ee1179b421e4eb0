// collaboration: a primary account shares environments with members through roles made of policies
// (COL-1…COL-9). It owns custom policies, roles, memberships (with their shared items and the
// invitation links, as digests) and answers `collaboration.can` for the gateway: may this member call
// this API method on this owner's environment (COL-6)? Every change that can take a right away is
// broadcast (`collaboration.changed`), so each gateway drops its cached answers at once (COL-9).
// The thin shell: the rules are in services/collaboration/ (see its README.md).
import type { Context, Service } from "moleculer";
import { now } from "../lib/clock";
import { newId } from "../lib/crypto";
import { conflict, invalidState, notFound, validationError } from "../lib/errors";
import { pageOf, pageParams, skipOf } from "../lib/pagination";
import { defineService } from "../lib/service-schema";
import { createDbMixin, DuplicateKeyError } from "../mixins/db.mixin";
import { collabPolicies, collabRoles, collabSeeds, collaborations } from "../models/collaboration";
import {
	answer,
	checkMayShare,
	checkShares,
	invite,
	leave,
	move,
	sendInvitation,
	type MemberDeps,
	type OwnedItems,
	type Person,
} from "./collaboration/members";
import { policyMethodErrors } from "./collaboration/policies";
import { memberAccess, sharedEnvironments } from "./collaboration/access";
import type { ShareInput } from "./collaboration/shares";
import type { MemberStatus } from "./collaboration/states";
import { descriptionRule, displayNameRule, emailRule, idRule, nameRule, policiesRule, resourcesRule, roleFields } from "./collaboration/rules";
import { memberView, newLink, ownMember, ownPolicy, ownRole, ownerName, policyUses, policyView, roleUses, roleView } from "./collaboration/store";
import { sharedView, systemPolicyViews, unknownPolicies, type CollabDb, type MemberDoc, type RoleDoc } from "./collaboration/store";
import { ownerIdParam } from "../lib/acting-for";
import { memberStatusRule, policyMethodsRule } from "./collaboration/rules";
import { actingOwner } from "./collaboration/owner";

type Meta = { user: Person; onBehalfOf?: { accountId: string; email: string } };

type Self = Service & {
	db: CollabDb;
	/** accounts whose role templates this process knows are seeded */
	seeded: Set<string>;
	deps(ctx: Context): MemberDeps;
	/** the caller as a primary account: its role templates seeded */
	owner(ctx: Context): Promise<Person>;
	checkPolicies(ctx: Context, ownerId: string, ids: string[]): Promise<void>;
	saveRole(ctx: Context, write: () => Promise<RoleDoc | null>, name: string): Promise<RoleDoc>;
	changed(ctx: Context, ownerId: string): void;
	ownerMove(ctx: Context<{ id: string }>, action: "suspend" | "activate"): Promise<ReturnType<typeof memberView>>;
};

type RoleParams = { name?: string; description?: string; policies?: string[]; receiveLoadAlerts?: boolean };

const CollaborationService = defineService<Self>({
	name: "collaboration",
	mixins: [createDbMixin([collabPolicies, collabRoles, collaborations, collabSeeds])],

	actions: {
		/* ---- the primary account: members (COL-4, COL-5) ---- */

		/** GET /collaboration/members?status= */
		members: {
			params: { status: memberStatusRule, ...pageParams, ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ status?: MemberStatus; page: number; pageSize: number }, Meta>) {
				const { id } = await this.owner(ctx);
				const { status, page, pageSize } = ctx.params;
				const q = { ownerId: id, ...(status ? { status } : {}) };
				const [rows, total] = await Promise.all([
					this.db.collaborations.find(q, { sort: { invitedAt: 1 }, skip: skipOf(page, pageSize), limit: pageSize }),
					this.db.collaborations.count(q),
				]);
				return pageOf(rows.map(memberView), total, page, pageSize);
			},
		},

		/** POST /collaboration/members {email, displayName?, resources} → 201 (COL-1, COL-4) */
		invite: {
			params: { email: emailRule, displayName: displayNameRule, resources: resourcesRule, ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ email: string; displayName?: string; resources: ShareInput[] }, Meta>) {
				const owner = await this.owner(ctx);
				const d = this.deps(ctx);
				await checkMayShare(d, owner.id);
				const shares = await checkShares(d, owner.id, ctx.params.resources);
				const m = await invite(d, owner, { email: ctx.params.email, displayName: ctx.params.displayName, shares });
				this.changed(ctx, owner.id);
				return memberView(m);
			},
		},

		/** PATCH /collaboration/members/{id} {displayName?, resources?} */
		editMember: {
			params: { id: idRule, displayName: displayNameRule, resources: { ...resourcesRule, optional: true }, ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ id: string; displayName?: string; resources?: ShareInput[] }, Meta>) {
				const owner = await this.owner(ctx);
				const m = await ownMember(this.db, owner.id, ctx.params.id);
				const d = this.deps(ctx);
				const set: Partial<MemberDoc> = {};
				if (ctx.params.displayName !== undefined) set.displayName = ctx.params.displayName;
				if (ctx.params.resources) set.resources = await checkShares(d, owner.id, ctx.params.resources);
				const edited = await move(d, m, "edit", set);
				this.changed(ctx, owner.id);
				return memberView(edited);
			},
		},

		/** DELETE /collaboration/members/{id} — sharing ends; the record stays (COL-5, COL-9). */
		removeMember: {
			params: { id: idRule, ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				const owner = await this.owner(ctx);
				const m = await ownMember(this.db, owner.id, ctx.params.id);
				await move(this.deps(ctx), m, "remove", { resources: [], tokenDigest: null, expiresAt: null });
				this.changed(ctx, owner.id);
				return null;
			},
		},

		/** POST /collaboration/members/{id}/suspend */
		suspendMember: {
			params: { id: idRule, ownerId: ownerIdParam },
			handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				return this.ownerMove(ctx, "suspend");
			},
		},

		/** POST /collaboration/members/{id}/activate */
		activateMember: {
			params: { id: idRule, ownerId: ownerIdParam },
			handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				return this.ownerMove(ctx, "activate");
			},
		},

		/** POST /collaboration/members/{id}/resend — a new link, valid 7 days; the previous one answers LINK_INVALID. */
		resendInvitation: {
			params: { id: idRule, ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				const owner = await this.owner(ctx);
				const m = await ownMember(this.db, owner.id, ctx.params.id);
				if (!m.resources.length) throw invalidState("A removed member has nothing shared: invite the address again");
				const d = this.deps(ctx);
				const link = newLink();
				const sent = await move(d, m, "resend", { tokenDigest: link.tokenDigest, expiresAt: link.expiresAt, memberId: null, invitedAt: now() });
				await sendInvitation(d, sent, link.token);
				this.changed(ctx, owner.id);
				return memberView(sent);
			},
		},

		/** POST /collaboration/members/{id}/copy {email, displayName?} → 201: the same shares for another address. */
		copyMember: {
			params: { id: idRule, email: emailRule, displayName: displayNameRule, ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ id: string; email: string; displayName?: string }, Meta>) {
				const owner = await this.owner(ctx);
				const source = await ownMember(this.db, owner.id, ctx.params.id);
				if (!source.resources.length) throw invalidState("This member has nothing shared to copy");
				const d = this.deps(ctx);
				await checkMayShare(d, owner.id);
				const shares = await checkShares(d, owner.id, source.resources as ShareInput[]);
				const m = await invite(d, owner, { email: ctx.params.email, displayName: ctx.params.displayName, shares });
				this.changed(ctx, owner.id);
				return memberView(m);
			},
		},

		/* ---- the primary account: roles (COL-3) and policies (COL-2) ---- */

		/** GET /collaboration/roles */
		roles: {
			params: { ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<Record<string, never>, Meta>) {
				const { id } = await this.owner(ctx);
				return (await this.db.collab_roles.find({ ownerId: id }, { sort: { createdAt: 1, name: 1 } })).map(roleView);
			},
		},

		/** POST /collaboration/roles {name, description?, policies, receiveLoadAlerts?} → 201 */
		addRole: {
			params: { name: nameRule, policies: policiesRule, ...roleFields, ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<Required<Pick<RoleParams, "name" | "policies">> & RoleParams, Meta>) {
				const { id } = await this.owner(ctx);
				const { name, description, policies, receiveLoadAlerts } = ctx.params;
				await this.checkPolicies(ctx, id, policies);
				const t = now();
				const role: RoleDoc = {
					_id: newId(),
					ownerId: id,
					ownerName: ownerName(id, name),
					name,
					description: description ?? "",
					policies: [...new Set(policies)],
					receiveLoadAlerts: receiveLoadAlerts ?? false,
					createdAt: t,
					updatedAt: t,
				};
				return roleView(await this.saveRole(ctx, () => this.db.collab_roles.insert(role), name));
			},
		},

		/** PATCH /collaboration/roles/{id} — members holding it get the new rights on their next request (COL-9). */
		editRole: {
			params: { id: idRule, name: { ...nameRule, optional: true }, policies: { ...policiesRule, optional: true }, ...roleFields, ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<RoleParams & { id: string }, Meta>) {
				const owner = await this.owner(ctx);
				const role = await ownRole(this.db, owner.id, ctx.params.id);
				const { name, description, policies, receiveLoadAlerts } = ctx.params;
				if (policies) await this.checkPolicies(ctx, owner.id, policies);
				const set = {
					...(name !== undefined ? { name, ownerName: ownerName(owner.id, name) } : {}),
					...(description !== undefined ? { description } : {}),
					...(policies ? { policies: [...new Set(policies)] } : {}),
					...(receiveLoadAlerts !== undefined ? { receiveLoadAlerts } : {}),
					updatedAt: now(),
				};
				const saved = await this.saveRole(ctx, () => this.db.collab_roles.updateOne({ _id: role._id, ownerId: owner.id }, { $set: set }), name ?? role.name);
				this.changed(ctx, owner.id);
				return roleView(saved);
			},
		},

		/** DELETE /collaboration/roles/{id} — 409 naming the members and items that hold it. */
		removeRole: {
			params: { id: idRule, ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				const owner = await this.owner(ctx);
				const role = await ownRole(this.db, owner.id, ctx.params.id);
				const uses = await roleUses(this.db, owner.id, role._id);
				if (uses.length) {
					const where = uses.map(u => `${u.email} (${u.type}${u.id ? ` ${u.id}` : ""})`).join(", ");
					throw conflict(`Role ${role.name} is in use: ${where}`, { usedBy: uses });
				}
				await this.db.collab_roles.remove({ _id: role._id, ownerId: owner.id });
				this.changed(ctx, owner.id);
				return null;
			},
		},

		/** POST /collaboration/roles/{id}/copy {name?} → 201 */
		copyRole: {
			params: { id: idRule, name: { ...nameRule, optional: true }, ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ id: string; name?: string }, Meta>) {
				const owner = await this.owner(ctx);
				const source = await ownRole(this.db, owner.id, ctx.params.id);
				const name = ctx.params.name ?? `Copy of ${source.name}`.slice(0, 64);
				const t = now();
				const role: RoleDoc = { ...source, _id: newId(), name, ownerName: ownerName(owner.id, name), createdAt: t, updatedAt: t };
				delete role.template;
				return roleView(await this.saveRole(ctx, () => this.db.collab_roles.insert(role), name));
			},
		},

		/** GET /collaboration/policies — the system tree's leaves (with their place in it), then my custom policies. */
		policies: {
			params: { ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<Record<string, never>, Meta>) {
				const { id } = await this.owner(ctx);
				const custom = await this.db.collab_policies.find({ ownerId: id }, { sort: { createdAt: 1 } });
				return [...systemPolicyViews(), ...custom.map(policyView)];
			},
		},

		/** POST /collaboration/policies {name, description?, methods} → 201; every method from the catalogue. */
		addPolicy: {
			params: { name: nameRule, description: descriptionRule, methods: policyMethodsRule, ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ name: string; description?: string; methods: string[] }, Meta>) {
				const { id } = await this.owner(ctx);
				const { name, description, methods } = ctx.params;
				const errors = policyMethodErrors(methods);
				if (errors.length) throw validationError(errors);
				const doc = {
					_id: newId(),
					ownerId: id,
					ownerName: ownerName(id, name),
					name,
					description: description ?? "",
					methods: [...new Set(methods)],
					createdAt: now(),
				};
				try {
					await this.db.collab_policies.insert(doc);
				} catch (err) {
					if (err instanceof DuplicateKeyError)
						throw conflict(`You have a policy named ${name} already`, [{ field: "name", message: "is taken by another of your policies" }]);
					throw err;
				}
				return policyView(doc);
			},
		},

		/** DELETE /collaboration/policies/{id} — 409 naming the roles that hold it. */
		removePolicy: {
			params: { id: idRule, ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				const { id } = await this.owner(ctx);
				const policy = await ownPolicy(this.db, id, ctx.params.id);
				const uses = await policyUses(this.db, id, policy._id);
				if (uses.length) throw conflict(`Policy ${policy.name} is in use by roles: ${uses.map(u => u.name).join(", ")}`, { usedBy: uses });
				await this.db.collab_policies.remove({ _id: policy._id, ownerId: id });
				this.changed(ctx, id);
				return null;
			},
		},

		/* ---- the member (COL-5) ---- */

		/** GET /collaboration/shared-with-me — invitations to my email, and my memberships, with owner, items and roles. */
		sharedWithMe: {
			params: {},
			async handler(this: Self, ctx: Context<Record<string, never>, Meta>) {
				const me = ctx.meta.user;
				const rows = await this.db.collaborations.find(
					{
						$or: [
							{ email: me.email.toLowerCase(), status: "pending" },
							{ memberId: me.id, status: { $in: ["active", "suspended"] } },
						],
					},
					{ sort: { invitedAt: 1 } },
				);
				const roleIds = [...new Set(rows.flatMap(m => m.resources.flatMap(r => r.roleIds)))];
				const roles = new Map((await this.db.collab_roles.find({ _id: { $in: roleIds } })).map(r => [r._id, r]));
				return Promise.all(
					rows.map(async m => {
						const envIds = m.resources.filter(r => r.type === "ENV").map(r => r.id as string);
						const owned = await ctx.call<OwnedItems, object>("environments.ownedItems", { accountId: m.ownerId, envIds });
						return sharedView(m, new Map([...owned.envs, ...owned.groups].map(x => [x.id, x.name])), roles);
					}),
				);
			},
		},

		/** POST /collaboration/invitations/{id}/accept {token?} */
		accept: {
			params: { id: idRule, token: { type: "string", min: 1, max: 200, optional: true } },
			async handler(this: Self, ctx: Context<{ id: string; token?: string }, Meta>) {
				const m = await answer(this.deps(ctx), ctx.meta.user, ctx.params.id, ctx.params.token, "accept");
				this.changed(ctx, m.ownerId);
				return { id: m._id, owner: { id: m.ownerId, email: m.primaryEmail }, status: m.status, resources: m.resources };
			},
		},

		/** POST /collaboration/invitations/{id}/reject {token?} */
		reject: {
			params: { id: idRule, token: { type: "string", min: 1, max: 200, optional: true } },
			async handler(this: Self, ctx: Context<{ id: string; token?: string }, Meta>) {
				const m = await answer(this.deps(ctx), ctx.meta.user, ctx.params.id, ctx.params.token, "reject");
				return { id: m._id, owner: { id: m.ownerId, email: m.primaryEmail }, status: m.status };
			},
		},

		/** POST /collaboration/{id}/leave */
		leave: {
			params: { id: idRule },
			async handler(this: Self, ctx: Context<{ id: string }, Meta>) {
				const m = await leave(this.deps(ctx), ctx.meta.user, ctx.params.id);
				this.changed(ctx, m.ownerId);
				return { id: m._id, owner: { id: m.ownerId, email: m.primaryEmail }, status: m.status };
			},
		},

		/* ---- internal: the gateway's questions (COL-6) ---- */

		/** Whether the account is an active member of anyone (the gateway asks nothing more of non-members). */
		isMember: {
			visibility: "public",
			params: { memberAccountId: idRule },
			async handler(this: Self, ctx: Context<{ memberAccountId: string }>) {
				return { member: (await this.db.collaborations.count({ memberId: ctx.params.memberAccountId, status: "active" })) > 0 };
			},
		},

		/**
		 * May the member call `method` on the owner's account (on `envId`, when given)? `member: false`
		 * when there is no active membership or nothing of it reaches the target: the request goes on
		 * as anyone else's, to a 404.
		 */
		can: {
			visibility: "public",
			params: { memberAccountId: idRule, ownerAccountId: idRule, method: { type: "string", min: 1, max: 200 }, envId: { ...idRule, optional: true } },
			async handler(this: Self, ctx: Context<{ memberAccountId: string; ownerAccountId: string; method: string; envId?: string }>) {
				const found = await memberAccess(this.deps(ctx), ctx.params);
				if (!found) return { member: false, allowed: false };
				const { access, membership } = found;
				// Not shared at all (no level has a role): as good as someone else's, the caller is not told it exists.
				return { member: access.level !== "none", allowed: access.methods.has(ctx.params.method), level: access.level, ownerEmail: membership.primaryEmail };
			},
		},

		/** COL-7: per owner, the environments shared with the member (GET /environments lists them beside its own). */
		sharedEnvironments: {
			visibility: "public",
			params: { memberAccountId: idRule },
			handler(this: Self, ctx: Context<{ memberAccountId: string }>) {
				return sharedEnvironments(this.deps(ctx), ctx.params.memberAccountId);
			},
		},
	},

	methods: {
		deps(this: Self, ctx: Context): MemberDeps {
			return { db: this.db, bus: { call: (action, params) => ctx.call(action, params) } };
		},

		/** COL-7: with `ownerId`, a member the gateway let act for the owner manages its members, roles and policies. */
		owner(this: Self, ctx: Context) {
			return actingOwner(this.db, this.seeded, ctx.meta as Meta, (ctx.params as { ownerId?: string }).ownerId);
		},

		async checkPolicies(this: Self, _ctx: Context, ownerId: string, ids: string[]) {
			const unknown = await unknownPolicies(this.db, ownerId, ids);
			if (unknown.length)
				throw validationError(unknown.map(([i, id]) => ({ field: `policies[${i}]`, message: `"${id}" is neither a system policy nor one of your policies` })));
		},

		/** Writes a role; a name another of the owner's roles has → 409. */
		async saveRole(this: Self, _ctx: Context, write: () => Promise<RoleDoc | null>, name: string) {
			try {
				const saved = await write();
				if (!saved) throw notFound("Role");
				return saved;
			} catch (err) {
				if (err instanceof DuplicateKeyError)
					throw conflict(`You have a role named ${name} already`, [{ field: "name", message: "is taken by another of your roles" }]);
				throw err;
			}
		},

		/** COL-9: every gateway drops what it knows of this owner's members' rights. */
		changed(ctx: Context, ownerId: string) {
			ctx.broadcast("collaboration.changed", { ownerId });
		},

		async ownerMove(this: Self, ctx: Context<{ id: string }>, action: "suspend" | "activate") {
			const owner = await this.owner(ctx);
			const m = await ownMember(this.db, owner.id, ctx.params.id);
			const moved = await move(this.deps(ctx), m, action);
			this.changed(ctx, owner.id);
			return memberView(moved);
		},
	},

	created(this: Self) {
		this.seeded = new Set();
	},
});

export default CollaborationService;
