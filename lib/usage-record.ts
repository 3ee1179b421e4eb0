// The usage stream's record (MTR-2, ARCHITECTURE "Usage stream"): one closed — or corrected —
// environment-hour, as metering sends it to billing. It carries the hour's inventory (owner,
// running, options, nodes with their reserved cloudlets and limits) and each node's usage, so
// billing can rate the hour from the record alone. A record is complete, never a delta: a
// correction (revision > 1) carries the whole hour again, and billing charges the difference.
// Shared through lib/ because no service may import another: environments answers the
// inventory, metering joins it with usage, billing rates the result.

/** One node as metering and billing see it (MTR-3): a node group of the inventory, flattened. */
export interface InventoryNode {
	nodeId: string;
	layer: string;
	reservedCloudlets: number;
	scalingLimit: number;
	diskLimitGB: number;
	publicIPv4: number;
	publicIPv6: number;
}

/** COL-8: the member who created an environment for its owner (absent: the owner made it itself). */
export interface Initiator {
	id: string;
	email: string;
}

/** One row of `environments.inventory`: the environment as it was during an interval. */
export interface InventoryRow {
	envId: string;
	name: string;
	ownerId: string;
	/** COL-8: who created it for the owner, when a member did */
	initiator?: Initiator;
	/** ran for any part of the interval */
	running: boolean;
	subscription: boolean;
	ssl: boolean;
	/** every node that existed in any part of it */
	nodes: InventoryNode[];
}

export interface NodeUsage extends InventoryNode {
	/** peak RAM over the hour, MiB (0 without samples) */
	peakRamMiB: number;
	/** average CPU over the hour's samples, MHz */
	avgCpuMHz: number;
	/** peak disk over the hour, MB; the last known value when the hour has no samples (MTR-3) */
	peakDiskMB: number;
	/** external traffic summed over the hour, MB */
	trafficInMB: number;
	trafficOutMB: number;
	samples: number;
}

export interface UsageRecord {
	envId: string;
	/** the hour's start, epoch ms (UTC) */
	hour: number;
	/** 1 for the first close, +1 for each correction */
	rev: number;
	ownerId: string;
	/** COL-8: the member who created the environment for its owner, carried to the owner's charges */
	initiator?: Initiator;
	name: string;
	/** ran for any part of the hour (MTR-3) */
	running: boolean;
	subscription: boolean;
	ssl: boolean;
	nodes: NodeUsage[];
}

/** The stream message id, and billing's idempotency: `<envId>:<hour>:<rev>`. */
export function recordId(r: Pick<UsageRecord, "envId" | "hour" | "rev">): string {
	return `${r.envId}:${r.hour}:${r.rev}`;
}

export const HOUR_MS = 3_600_000;

export function hourOf(ms: number): number {
	return Math.floor(ms / HOUR_MS) * HOUR_MS;
}
