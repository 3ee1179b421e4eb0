// The inventory's documents and its history (MTR-3). Every change of an environment bumps its
// `rev` and appends a revision — the full state after the change — to `env_revisions`; billing
// reads environment-hours back from them and metering the nodes samples may name. Only `_id`,
// `envId` and `at` (never null) are compared, so every query means the same on NeDB and MongoDB.
import { now } from "../../lib/clock";
import { conflict } from "../../lib/errors";
import { DuplicateKeyError, type Doc, type Store } from "../../mixins/db.mixin";
import type { Initiator } from "../../lib/usage-record";
import { rowForInterval, type EnvState, type InventoryRow } from "./inventory";
import { assignNodeIds, flattenNodes, newNodeId, type StoredNodeGroup } from "./nodes";
import type { StoredTopology, Topology } from "./topology";

export interface EnvDoc extends Doc, Topology {
	ownerId: string;
	ownerName: string;
	name: string;
	status: "running" | "stopped";
	nodes: StoredNodeGroup[];
	/** MTR-5: created from a subscription, free of usage charges; set by administrators only */
	subscription: boolean;
	/** grows by one with every change: the revision this document matches */
	rev: number;
	groups: string[];
	/** COL-8: the member who created it for the owner (absent or null: the owner, or it was transferred since) */
	initiator?: Initiator | null;
	/** stopped by a deactivation or suspension: started again on reactivation (STS-2/3) */
	rememberedRunning?: boolean;
	createdAt: Date;
	updatedAt: Date;
}

/** One state of an environment, as its history keeps it (`_id` = `<envId>-<rev>`). */
export interface RevisionDoc extends Doc, EnvState {
	envId: string;
}

export interface InventoryStores {
	environments: Store<EnvDoc>;
	env_revisions: Store<RevisionDoc>;
}

/** ENV-1: a new environment of `ownerId`, running, at revision 1 (names are unique per owner: `ownerName`). */
export function newEnvironment(
	e: { id: string; ownerId: string; name: string; subscription: boolean; groups: string[]; initiator?: Initiator },
	t: StoredTopology,
	time: Date,
): EnvDoc {
	return {
		_id: e.id,
		ownerId: e.ownerId,
		ownerName: `${e.ownerId}|${e.name.toLowerCase()}`,
		name: e.name,
		status: "running",
		subscription: e.subscription,
		rev: 1,
		groups: e.groups,
		...(e.initiator ? { initiator: e.initiator } : {}),
		createdAt: time,
		updatedAt: time,
		...t,
	};
}

/** Later than any interval asked about: "from `since` on". */
const FOREVER = new Date(8.64e15);

/** The state `e` is in; with `deletedAt`, its deletion (the revision after its last). */
export function revisionOf(e: EnvDoc, deletedAt?: Date): RevisionDoc {
	const rev = (e.rev ?? 0) + (deletedAt ? 1 : 0);
	return {
		_id: `${e._id}-${rev}`,
		envId: e._id,
		rev,
		at: deletedAt ?? e.updatedAt,
		ownerId: e.ownerId,
		...(e.initiator ? { initiator: e.initiator } : {}),
		name: e.name,
		status: deletedAt ? "deleted" : e.status,
		ssl: !!e.ssl,
		subscription: !!e.subscription,
		nodes: flattenNodes(e.nodes),
	};
}

/** Appended after the document is written; a revision written twice (a retry) is kept once. */
export async function appendRevision(revisions: Store<RevisionDoc>, e: EnvDoc, deletedAt?: Date): Promise<void> {
	try {
		await revisions.insert(revisionOf(e, deletedAt));
	} catch (err) {
		if (!(err instanceof DuplicateKeyError)) throw err;
	}
}

/** When the first environment appeared, deleted ones included: its first revision (null before any). */
export async function firstRevisionAt(revisions: Store<RevisionDoc>): Promise<Date | null> {
	const [first] = await revisions.find({}, { sort: { at: 1 }, limit: 1 });
	return first ? new Date(first.at) : null;
}

/**
 * Environments stored before node ids and revisions existed get ids for their nodes, rev 1 and a
 * first revision dated at their creation (the best knowledge there is of their past).
 */
export async function backfillRevisions(db: InventoryStores): Promise<number> {
	let done = 0;
	for (const e of await db.environments.find({ rev: { $exists: false } })) {
		const updated = await db.environments.updateOne(
			{ _id: e._id, rev: { $exists: false } },
			{ $set: { nodes: assignNodeIds(e.nodes, e.nodes, newNodeId), subscription: !!e.subscription, rev: 1 } },
		);
		if (!updated) continue; // another replica did it
		await appendRevision(db.env_revisions, { ...updated, updatedAt: updated.createdAt });
		done++;
	}
	return done;
}

function stateOfRevision(r: RevisionDoc): EnvState {
	const { at, rev, ownerId, initiator, name, status, ssl, subscription, nodes } = r;
	return { at, rev, ownerId, ...(initiator ? { initiator } : {}), name, status, ssl, subscription, nodes };
}

function stateOfDoc(e: EnvDoc, at: Date): EnvState {
	return {
		at,
		rev: e.rev ?? 0,
		ownerId: e.ownerId,
		...(e.initiator ? { initiator: e.initiator } : {}),
		name: e.name,
		status: e.status,
		ssl: !!e.ssl,
		subscription: !!e.subscription,
		nodes: flattenNodes(e.nodes),
	};
}

function byEnv(revisions: RevisionDoc[]): Map<string, RevisionDoc[]> {
	const out = new Map<string, RevisionDoc[]>();
	for (const r of revisions) {
		const list = out.get(r.envId);
		if (list) list.push(r);
		else out.set(r.envId, [r]);
	}
	return out;
}

/**
 * Rows for `ids` during [from, to), given their live documents and their revisions at or after
 * `from`. An environment that has not changed since `from` has been as its document says since
 * before `from`. The others need the state in effect at `from` (their latest earlier revision)
 * and, as a final state, the live document — which also stands in for its revision should a
 * process have stopped between writing the one and appending the other.
 */
async function rowsFor(revisions: Store<RevisionDoc>, ids: string[], docs: Map<string, EnvDoc>, recent: Map<string, RevisionDoc[]>, from: Date, to: Date) {
	const changed = new Set(ids.filter(id => recent.has(id) || (docs.get(id)?.updatedAt.getTime() ?? 0) >= from.getTime()));
	const atFrom = new Map<string, RevisionDoc>();
	const list = [...changed];
	for (let i = 0; i < list.length; i += 50) {
		const found = await Promise.all(list.slice(i, i + 50).map(envId => revisions.find({ envId, at: { $lt: from } }, { sort: { rev: -1 }, limit: 1 })));
		for (const [r] of found) if (r) atFrom.set(r.envId, r);
	}
	const rows: InventoryRow[] = [];
	for (const id of ids) {
		const doc = docs.get(id);
		const states: EnvState[] = [];
		if (changed.has(id)) {
			const before = atFrom.get(id);
			states.push(...[...(before ? [before] : []), ...(recent.get(id) ?? [])].map(stateOfRevision));
			if (doc) states.push(stateOfDoc(doc, doc.updatedAt));
		} else if (doc) states.push(stateOfDoc(doc, doc.createdAt));
		const row = rowForInterval(id, states, from, to);
		if (row) rows.push(row);
	}
	return rows;
}

/**
 * MTR-3: one row per environment that existed in any part of [from, to), by envId after
 * `afterEnvId`; `next` is the cursor of the following page, null after the last. A page may hold
 * fewer rows than `limit` (environments that changed since `from` but did not exist within it).
 */
export async function inventoryPage(
	db: InventoryStores,
	q: { from: Date; to: Date; afterEnvId?: string; limit: number },
): Promise<{ rows: InventoryRow[]; next: string | null }> {
	const after = q.afterEnvId ?? "";
	const [docs, recentList] = await Promise.all([
		db.environments.find({ _id: { $gt: after }, createdAt: { $lt: q.to } }, { sort: { _id: 1 }, limit: q.limit }),
		db.env_revisions.find({ envId: { $gt: after }, at: { $gte: q.from } }),
	]);
	const recent = byEnv(recentList);
	// With a full page of documents, ids past the last one wait for the next page.
	const full = docs.length === q.limit;
	const boundary = full ? docs[docs.length - 1]._id : null;
	const candidates = [...new Set([...docs.map(d => d._id), ...recent.keys()])].filter(id => boundary === null || id <= boundary).sort();
	const ids = candidates.slice(0, q.limit);
	const rows = await rowsFor(db.env_revisions, ids, new Map(docs.map(d => [d._id, d])), recent, q.from, q.to);
	return { rows, next: full || candidates.length > ids.length ? ids[ids.length - 1] : null };
}

/** The nodes each environment had at any time since `since` (samples arrive up to 35 days late, MTR-2). */
export async function nodesSince(db: InventoryStores, envIds: string[], since: Date): Promise<{ envId: string; ownerId: string; nodeIds: string[] }[]> {
	const ids = [...new Set(envIds)];
	const [docs, recentList] = await Promise.all([
		db.environments.find({ _id: { $in: ids } }),
		db.env_revisions.find({ envId: { $in: ids }, at: { $gte: since } }),
	]);
	const rows = await rowsFor(db.env_revisions, ids, new Map(docs.map(d => [d._id, d])), byEnv(recentList), since, FOREVER);
	return rows.map(r => ({ envId: r.envId, ownerId: r.ownerId, nodeIds: r.nodes.map(n => n.nodeId) }));
}

/**
 * Deletes the environment as it is now — only from the revision that was read, so the "deleted"
 * revision follows the last state exactly — and returns what was deleted, or null when it is
 * gone or no longer this owner's.
 */
export async function removeCurrent(db: InventoryStores, e: EnvDoc): Promise<EnvDoc | null> {
	let current: EnvDoc | null = e;
	for (let attempt = 0; current && attempt < 5; attempt++) {
		if (await db.environments.remove({ _id: current._id, ownerId: current.ownerId, rev: current.rev })) {
			await appendRevision(db.env_revisions, current, now());
			return current;
		}
		current = await db.environments.findOne({ _id: e._id, ownerId: e.ownerId });
	}
	if (current) throw conflict("The environment changed at the same moment; read it again and retry");
	return null;
}

/** QTA-4: how many environments each owner has (owners without any are not listed). */
export async function countByOwner(environments: Store<EnvDoc>): Promise<Map<string, number>> {
	const counts = new Map<string, number>();
	for (const e of await environments.find({})) counts.set(e.ownerId, (counts.get(e.ownerId) ?? 0) + 1);
	return counts;
}

/** COL-7: one page of the caller's environments and those shared with it (by owner), oldest first. */
export async function visiblePage(
	environments: Store<EnvDoc>,
	me: { id: string; email: string },
	shared: { ownerId: string; ownerEmail: string; envIds: string[] }[],
	page: { skip: number; limit: number },
): Promise<{ rows: { doc: EnvDoc; ownerEmail: string; shared: boolean }[]; total: number }> {
	const sharedIds = shared.flatMap(s => s.envIds);
	const q = sharedIds.length ? { $or: [{ ownerId: me.id }, { _id: { $in: sharedIds } }] } : { ownerId: me.id };
	const [docs, total] = await Promise.all([environments.find(q, { sort: { createdAt: 1 }, ...page }), environments.count(q)]);
	const emailOf = new Map(shared.map(s => [s.ownerId, s.ownerEmail]));
	return {
		rows: docs.map(doc => ({ doc, shared: doc.ownerId !== me.id, ownerEmail: doc.ownerId === me.id ? me.email : (emailOf.get(doc.ownerId) ?? "") })),
		total,
	};
}
