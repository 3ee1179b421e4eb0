// ENV-2: environment groups, a tree per owner. A name is unique among the groups under one parent
// (case-insensitive); a group with subgroups is not deleted; an environment leaves a deleted group.
// Store-taking: no Moleculer.
import { newId } from "../../lib/crypto";
import { conflict, notFound, validationError, type FieldError } from "../../lib/errors";
import { now } from "../../lib/clock";
import { DuplicateKeyError, type Doc, type Store } from "../../mixins/db.mixin";
import type { EnvDoc } from "./store";

export interface GroupDoc extends Doc {
	ownerId: string;
	name: string;
	parentId: string | null;
	/** `<ownerId>|<parentId or "">|<lowercased name>`, unique; groups made before it existed have none */
	siblingName?: string;
	createdAt: Date;
}

export interface GroupStores {
	environments: Store<EnvDoc>;
	env_groups: Store<GroupDoc>;
}

/** A group as GET /env-groups shows it. */
export const groupView = (g: GroupDoc) => ({ id: g._id, name: g.name, parentId: g.parentId, createdAt: g.createdAt });

/** The owner's groups, by name. */
export async function listGroups(groups: Store<GroupDoc>, ownerId: string) {
	return (await groups.find({ ownerId }, { sort: { name: 1 } })).map(groupView);
}

/** A new group under `parentId` (null: at the top level), which must be the owner's. */
export async function createGroup(groups: Store<GroupDoc>, ownerId: string, name: string, parentId: string | null) {
	if (parentId !== null && !(await groups.findOne({ _id: parentId, ownerId }))) {
		throw validationError({ field: "parentId", message: "is not one of your environment groups" });
	}
	const siblingName = `${ownerId}|${parentId ?? ""}|${name.toLowerCase()}`;
	const taken = () =>
		conflict(`There is a group named ${name} ${parentId ? "in this group" : "at the top level"} already`, [
			{ field: "name", message: "is taken by another group under the same parent" },
		]);
	// Groups made before siblingName existed have none: compared by name as well.
	const siblings = await groups.find({ ownerId, parentId });
	if (siblings.some(s => s.name.toLowerCase() === name.toLowerCase())) throw taken();
	const g: GroupDoc = { _id: newId(), ownerId, name, parentId, siblingName, createdAt: now() };
	try {
		await groups.insert(g);
	} catch (err) {
		if (err instanceof DuplicateKeyError) throw taken();
		throw err;
	}
	return groupView(g);
}

/** Deletes the owner's group if it has no subgroups; its environments leave it. Answers the ids of those environments. */
export async function removeGroup(db: GroupStores, ownerId: string, id: string): Promise<string[]> {
	const g = await db.env_groups.findOne({ _id: id, ownerId });
	if (!g) throw notFound("Environment group");
	if (await db.env_groups.count({ parentId: g._id })) throw conflict("Delete or move its subgroups first", [{ field: "id", message: "has subgroups" }]);
	const leaving = await db.environments.find({ ownerId, groups: g._id });
	await db.env_groups.remove({ _id: g._id });
	await db.environments.updateMany({ ownerId, groups: g._id }, { $pull: { groups: g._id } });
	return leaving.map(e => e._id);
}

/** COL-9: the event every gateway drops its cached member answers on (services/gateway/member-access.ts). */
export const REGROUPED = "environments.regrouped";

/** Whether two group lists differ as sets. */
export function groupsDiffer(before: readonly string[], after: readonly string[]): boolean {
	const a = new Set(before);
	const b = new Set(after);
	return a.size !== b.size || [...a].some(g => !b.has(g));
}

/**
 * COL-6, COL-9: environments entered or left a group, so a member's roles on them may now come from
 * a shared group, or no longer. Broadcast (each gateway replica hears it, not one of them), so the
 * member's next request on any node is answered by the new roles. None: nothing is said.
 */
export function announceRegrouped(bus: { broadcast(event: string, payload: { ownerId: string; envIds: string[] }): unknown }, ownerId: string, envIds: string[]) {
	if (envIds.length) void bus.broadcast(REGROUPED, { ownerId, envIds });
}

/** The ids in `ids` that are not the owner's groups, as field errors of `groups[i]`. */
export async function foreignGroups(groups: Store<GroupDoc>, ownerId: string, ids: string[]): Promise<FieldError[]> {
	const mine = new Set((await groups.find({ ownerId, _id: { $in: ids } })).map(g => g._id));
	return ids.flatMap((id, i) => (mine.has(id) ? [] : [{ field: `groups[${i}]`, message: "is not one of your environment groups" }]));
}

/** COL-4, COL-6: which of `envIds` (null: all) the owner has (with their groups), and the owner's group tree. */
export async function ownedItems(db: GroupStores, ownerId: string, envIds: string[] | null) {
	const [envs, groups] = await Promise.all([db.environments.find(envIds ? { ownerId, _id: { $in: envIds } } : { ownerId }), db.env_groups.find({ ownerId })]);
	return { envs: envs.map(e => ({ id: e._id, name: e.name, groups: e.groups })), groups: groups.map(g => ({ id: g._id, name: g.name, parentId: g.parentId })) };
}
