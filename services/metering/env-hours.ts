// MTR-2/MTR-3: an environment-hour as billing gets it — the hour's inventory (who owned it, whether
// it ran, its options and nodes) joined with each node's hourly bucket. A node without samples
// has no dynamic usage and its last known disk. Pure: no Moleculer, no I/O.
import type { InventoryRow, NodeUsage, UsageRecord } from "../../lib/usage-record";

/** One row of `environments.inventory`: the environment as it was during the hour. */
export type Inventory = InventoryRow;

/** MTR-2: a node's bucket in its environment-hour, what its samples add up to: peak RAM, average CPU (sum and count, so buckets add up across batches), peak disk, summed traffic. */
export interface Bucket {
	nodeId: string;
	peakRamMiB: number;
	cpuSum: number;
	cpuCount: number;
	peakDiskMB: number;
	trafficInMB: number;
	trafficOutMB: number;
	samples: number;
}

// Sums of float samples carry binary noise (0.1 + 0.2); usage is shown and rated to 6 decimals.
const tidy = (x: number) => Math.round(x * 1e6) / 1e6;

export function buildRecord(inv: Inventory, hour: number, rev: number, buckets: Bucket[], lastDiskMB: Map<string, number>): UsageRecord {
	const byNode = new Map(buckets.map(b => [b.nodeId, b]));
	const nodes: NodeUsage[] = inv.nodes.map(n => {
		const b = byNode.get(n.nodeId);
		return {
			...n,
			peakRamMiB: b ? tidy(b.peakRamMiB) : 0,
			avgCpuMHz: b && b.cpuCount ? tidy(b.cpuSum / b.cpuCount) : 0,
			peakDiskMB: b ? tidy(b.peakDiskMB) : (lastDiskMB.get(n.nodeId) ?? 0),
			trafficInMB: b ? tidy(b.trafficInMB) : 0,
			trafficOutMB: b ? tidy(b.trafficOutMB) : 0,
			samples: b?.samples ?? 0,
		};
	});
	// COL-8: the member who created the environment for its owner goes with its hours to the owner's charges.
	const initiator = inv.initiator ? { initiator: inv.initiator } : {};
	return { envId: inv.envId, hour, rev, ownerId: inv.ownerId, ...initiator, name: inv.name, running: inv.running, subscription: inv.subscription, ssl: inv.ssl, nodes };
}

/** GET /environments/{id}/usage: each hour with samples, its nodes' buckets as shown (in node order). */
export function usageHours(rows: { hour: number; nodes?: Record<string, Omit<Bucket, "nodeId">> }[]) {
	return rows
		.filter(h => h.nodes)
		.map(h => ({
			hour: new Date(h.hour).toISOString(),
			nodes: Object.entries(h.nodes!)
				.sort(([a], [b]) => a.localeCompare(b))
				.map(([nodeId, b]) => ({
					nodeId,
					peakRamMiB: b.peakRamMiB,
					avgCpuMHz: b.cpuCount ? Math.round((b.cpuSum / b.cpuCount) * 1000) / 1000 : 0,
					peakDiskMB: b.peakDiskMB,
					trafficInMB: tidy(b.trafficInMB),
					trafficOutMB: tidy(b.trafficOutMB),
					samples: b.samples,
				})),
		}));
}
