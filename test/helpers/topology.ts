// Nodes for the unit tables of the inventory, topology and environment-hours: one node as
// metering and billing see it, and one node group as a request gives it, each with everyday
// defaults a case overrides.
import type { NodeGroup } from "../../lib/topology-rules";
import type { InventoryNode } from "../../lib/usage-record";

/** A node of the inventory (MTR-3): cp, 1 reserved of 4 cloudlets, 10 GB, no public IPs. */
export const inventoryNode = (nodeId: string, over: Partial<InventoryNode> = {}): InventoryNode => ({
	nodeId,
	layer: "cp",
	reservedCloudlets: 1,
	scalingLimit: 4,
	diskLimitGB: 10,
	publicIPv4: 0,
	publicIPv6: 0,
	...over,
});

/** A node group of a request (ENV-1): one cp node, as inventoryNode's. */
export const nodeGroup = (over: Partial<NodeGroup> = {}): NodeGroup => {
	const { nodeId: _, ...node } = inventoryNode("");
	return { ...node, type: "tomcat", count: 1, ...over };
};
