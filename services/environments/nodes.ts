// Node ids, pure. Metering keys samples by node (MTR-1) and billing charges node by node (MTR-3),
// so a node keeps its id for as long as it exists: a topology change matches each new node group
// to the old group of the same layer in the same position, and the group keeps its old ids,
// dropping the last ones when it shrinks and adding fresh ones when it grows.
import { randomBase62 } from "../../lib/crypto";
import type { InventoryNode } from "../../lib/usage-record";
import type { NodeGroup } from "./topology";

/** A node group as stored: one id per node (`count` of them). */
export interface StoredNodeGroup extends NodeGroup {
	nodeIds: string[];
}

/** One node as metering and billing see it (MTR-3): a stored group flattened. */
export type NodeState = InventoryNode;

/** A fresh node id: "n" and 16 base62 characters (~95 random bits: unique without a registry). */
export function newNodeId(): string {
	return `n${randomBase62(16)}`;
}

/**
 * The new groups with node ids: the k-th new group of a layer inherits from the k-th old group
 * of that layer; `mint` gives ids for nodes that are new. Clients never send ids, so any the
 * new groups carry are ignored.
 */
export function assignNodeIds(next: NodeGroup[], previous: Partial<StoredNodeGroup>[], mint: () => string): StoredNodeGroup[] {
	const oldByLayer = new Map<string, string[][]>();
	for (const g of previous) {
		const list = oldByLayer.get(g.layer ?? "") ?? [];
		list.push(g.nodeIds ?? []);
		oldByLayer.set(g.layer ?? "", list);
	}
	const seen = new Map<string, number>();
	return next.map(g => {
		const k = seen.get(g.layer) ?? 0;
		seen.set(g.layer, k + 1);
		const inherited = (oldByLayer.get(g.layer)?.[k] ?? []).slice(0, g.count);
		const nodeIds = [...inherited, ...Array.from({ length: g.count - inherited.length }, mint)];
		const { layer, type, count, reservedCloudlets, scalingLimit, diskLimitGB, publicIPv4, publicIPv6 } = g;
		return { layer, type, count, reservedCloudlets, scalingLimit, diskLimitGB, publicIPv4, publicIPv6, nodeIds };
	});
}

/** One entry per node, in group order. Groups stored before node ids existed contribute none. */
export function flattenNodes(groups: Partial<StoredNodeGroup>[]): NodeState[] {
	return groups.flatMap(g =>
		(g.nodeIds ?? []).map(nodeId => ({
			nodeId,
			layer: g.layer as string,
			reservedCloudlets: g.reservedCloudlets as number,
			scalingLimit: g.scalingLimit as number,
			diskLimitGB: g.diskLimitGB as number,
			publicIPv4: g.publicIPv4 as number,
			publicIPv6: g.publicIPv6 as number,
		})),
	);
}
