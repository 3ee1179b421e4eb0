// Environment topology rules, pure: shape checks (reserved ≤ scaling limit, layer names) and the
// quota checks of QTA-3. A change is refused only for what it raises past a limit: lowering a
// limit never blocks scaling down, stopping or deleting (QTA-4).
import type { FieldError } from "../../lib/errors";
import { reservedAboveLimit, type NodeGroup } from "../../lib/topology-rules";
import { assignNodeIds, type StoredNodeGroup } from "./nodes";

export type { NodeGroup };

export interface Topology {
	nodes: NodeGroup[];
	ssl: boolean;
	highAvailability: boolean;
	customDomains: string[];
}

export interface QuotaViolation {
	quota: string;
	limit: number;
	requested: number;
}

/** A topology whose nodes have their ids (MTR-1). */
export interface StoredTopology extends Topology {
	nodes: StoredNodeGroup[];
}

type Quotas = Record<string, number | string>;

/** A topology as a request gives it: every part optional when changing an environment. */
export interface TopologyRequest {
	nodes?: NodeGroup[];
	ssl?: boolean;
	highAvailability?: boolean;
	customDomains?: string[];
}

/**
 * The topology a request asks for: what it gives, the rest as `current` has it (none, off or
 * empty for a new environment). A node keeps its id across changes (MTR-1): metering and billing
 * follow it; `mint` gives ids to new nodes.
 */
export function topologyOf(req: TopologyRequest, current: StoredTopology | null, mint: () => string): StoredTopology {
	return {
		nodes: req.nodes ? assignNodeIds(req.nodes, current?.nodes ?? [], mint) : (current?.nodes ?? []),
		ssl: req.ssl ?? current?.ssl ?? false,
		highAvailability: req.highAvailability ?? current?.highAvailability ?? false,
		customDomains: req.customDomains ?? current?.customDomains ?? [],
	};
}

export function shapeErrors(t: Topology): FieldError[] {
	const errors = reservedAboveLimit(t.nodes);
	const domains = new Set<string>();
	t.customDomains.forEach((d, i) => {
		if (domains.has(d)) errors.push({ field: `customDomains[${i}]`, message: "is listed twice" });
		domains.add(d);
	});
	return errors;
}

/** What a topology asks of each quota: counts, per-node maxima, and flags as 0/1. */
export function demands(t: Topology): { quota: string; requested: number }[] {
	const sum = (f: (n: NodeGroup) => number) => t.nodes.reduce((a, n) => a + f(n), 0);
	const max = (f: (n: NodeGroup) => number, only = (_n: NodeGroup) => true) => t.nodes.filter(only).reduce((a, n) => Math.max(a, f(n)), 0);
	const perLayer = new Map<string, number>();
	for (const n of t.nodes) perLayer.set(n.layer, (perLayer.get(n.layer) ?? 0) + n.count);
	const storage = (n: NodeGroup) => n.layer === "storage";
	return [
		{ quota: "environment.maxnodescount", requested: sum(n => n.count) },
		{ quota: "environment.maxsamenodescount", requested: Math.max(0, ...perLayer.values()) },
		{ quota: "environment.maxcloudletsperrec", requested: max(n => n.scalingLimit) },
		{
			quota: "disk.limitation",
			requested: max(
				n => n.diskLimitGB,
				n => !storage(n),
			),
		},
		{ quota: "disk.limitation.storage", requested: max(n => n.diskLimitGB, storage) },
		{ quota: "environment.externalip.enabled", requested: sum(n => n.publicIPv4) > 0 ? 1 : 0 },
		{ quota: "environment.externalip.maxcount.per.node", requested: max(n => n.publicIPv4) },
		{ quota: "environment.externalip.maxcount", requested: sum(n => n.publicIPv4 * n.count) },
		{ quota: "environment.externalipv6.enabled", requested: sum(n => n.publicIPv6) > 0 ? 1 : 0 },
		{ quota: "environment.externalipv6.maxcount.per.node", requested: max(n => n.publicIPv6) },
		{ quota: "environment.externalipv6.maxcount", requested: sum(n => n.publicIPv6 * n.count) },
		{ quota: "environment.jelasticssl.enabled", requested: t.ssl ? 1 : 0 },
		{ quota: "environment.highavailability.enabled", requested: t.highAvailability ? 1 : 0 },
		{ quota: "environment.customdomains.enabled", requested: t.customDomains.length > 0 ? 1 : 0 },
	];
}

/**
 * The first quota the topology breaks, or null (QTA-3). With `current`, only what the change
 * raises counts: an environment already over a lowered limit can still shrink (QTA-4).
 */
export function quotaViolation(t: Topology, quotas: Quotas, current?: Topology): QuotaViolation | null {
	const before = current ? new Map(demands(current).map(d => [d.quota, d.requested])) : null;
	for (const d of demands(t)) {
		const limit = Number(quotas[d.quota]);
		if (limit < 0 || d.requested <= limit) continue;
		if (before && d.requested <= (before.get(d.quota) ?? 0)) continue;
		return { quota: d.quota, limit, requested: d.requested };
	}
	return null;
}
