// What an environment was during an interval, pure (MTR-3, MTR-5). An environment's history is a
// list of states, each holding from its `at` until the next one begins; `rev` orders them (two
// changes may share a millisecond). Billing charges every environment-hour from this, samples or
// not: an hour in which the environment ran for any part counts as running, and every node that
// existed in any part of it is charged, with the settings of the last state it appeared in.
import type { Initiator, InventoryRow } from "../../lib/usage-record";
import type { NodeState } from "./nodes";

export type EnvStatus = "running" | "stopped" | "deleted";

export interface EnvState {
	/** when this state began */
	at: Date;
	/** grows by one with every change of the environment */
	rev: number;
	ownerId: string;
	/** COL-8: the member who created it for the owner */
	initiator?: Initiator;
	name: string;
	status: EnvStatus;
	ssl: boolean;
	/** MTR-5: created from a subscription, free of usage charges */
	subscription: boolean;
	nodes: NodeState[];
}

export type { InventoryRow };

/** The states in order, one per `rev` (the same state may come from a revision and from the live document). */
export function timeline(states: EnvState[]): EnvState[] {
	const byRev = new Map<number, EnvState>();
	for (const s of states) if (!byRev.has(s.rev)) byRev.set(s.rev, s);
	return [...byRev.values()].sort((a, b) => a.rev - b.rev || a.at.getTime() - b.at.getTime());
}

/**
 * The environment during [from, to), or null if it did not exist in any part of it (created at
 * `to` or later, deleted at `from` or earlier). `states` must include the state in effect at
 * `from`, if any, and every later one. A state replaced within the same millisecond never held.
 */
export function rowForInterval(envId: string, states: EnvState[], from: Date, to: Date): InventoryRow | null {
	const ordered = timeline(states);
	const during = ordered.filter((s, i) => {
		const start = s.at.getTime();
		const end = i + 1 < ordered.length ? ordered[i + 1].at.getTime() : Infinity;
		return s.status !== "deleted" && start < end && start < to.getTime() && end > from.getTime();
	});
	if (!during.length) return null;
	// Owner, name and options: the last state within the interval (before deletion, if deleted in it).
	const last = during[during.length - 1];
	// Nodes: every one that existed in any part of the interval, as last seen; the last state's first.
	const nodes = new Map<string, NodeState>();
	for (let i = during.length - 1; i >= 0; i--) for (const n of during[i].nodes) if (!nodes.has(n.nodeId)) nodes.set(n.nodeId, n);
	return {
		envId,
		name: last.name,
		ownerId: last.ownerId,
		...(last.initiator ? { initiator: last.initiator } : {}),
		running: during.some(s => s.status === "running"),
		subscription: last.subscription,
		ssl: last.ssl,
		nodes: [...nodes.values()],
	};
}
