// services/metering/env-hours.ts: an environment-hour as billing gets it (MTR-2, MTR-3) — the
// hour's inventory joined with each node's bucket; a node without samples has no dynamic usage
// and its last known disk — and the hourly buckets an owner reads back.
import type { InventoryNode } from "../../lib/usage-record";
import { buildRecord, usageHours, type Bucket, type Inventory } from "../../services/metering/env-hours";
import { inventoryNode } from "../helpers/topology";

const HOUR = Date.UTC(2030, 0, 1, 10);
const node = inventoryNode;
const inventory = (nodes: InventoryNode[], over: Partial<Inventory> = {}): Inventory => ({
	envId: "env1",
	name: "shop",
	ownerId: "alice",
	running: true,
	subscription: false,
	ssl: false,
	nodes,
	...over,
});
const bucket = (nodeId: string, over: Partial<Bucket> = {}): Bucket => ({
	nodeId,
	peakRamMiB: 512,
	cpuSum: 1200,
	cpuCount: 3,
	peakDiskMB: 2000,
	trafficInMB: 10,
	trafficOutMB: 20,
	samples: 3,
	...over,
});

describe("buildRecord: one node's usage in the record", () => {
	type Usage = { peakRamMiB: number; avgCpuMHz: number; peakDiskMB: number; trafficInMB: number; trafficOutMB: number; samples: number };
	const cases: [string, Bucket[], [string, number][], Usage][] = [
		[
			"its samples: peak RAM, average CPU, peak disk, summed traffic",
			[bucket("a")],
			[],
			{ peakRamMiB: 512, avgCpuMHz: 400, peakDiskMB: 2000, trafficInMB: 10, trafficOutMB: 20, samples: 3 },
		],
		[
			"sums carry no binary noise (to 6 decimals)",
			[bucket("a", { cpuSum: 0.1 + 0.2, cpuCount: 1, trafficInMB: 0.1 + 0.2, trafficOutMB: 0.7 + 0.1 })],
			[],
			{ peakRamMiB: 512, avgCpuMHz: 0.3, peakDiskMB: 2000, trafficInMB: 0.3, trafficOutMB: 0.8, samples: 3 },
		],
		[
			"no samples: no dynamic usage, the last known disk",
			[],
			[["a", 1500]],
			{ peakRamMiB: 0, avgCpuMHz: 0, peakDiskMB: 1500, trafficInMB: 0, trafficOutMB: 0, samples: 0 },
		],
		["no samples and no disk known: none", [], [], { peakRamMiB: 0, avgCpuMHz: 0, peakDiskMB: 0, trafficInMB: 0, trafficOutMB: 0, samples: 0 }],
		[
			"samples win over the last known disk",
			[bucket("a", { peakDiskMB: 900 })],
			[["a", 1500]],
			{ peakRamMiB: 512, avgCpuMHz: 400, peakDiskMB: 900, trafficInMB: 10, trafficOutMB: 20, samples: 3 },
		],
		[
			"another node's bucket is not this one's",
			[bucket("b")],
			[["b", 700]],
			{ peakRamMiB: 0, avgCpuMHz: 0, peakDiskMB: 0, trafficInMB: 0, trafficOutMB: 0, samples: 0 },
		],
	];
	it.each(cases)("%s", (_name, buckets, lastDisk, usage) => {
		const record = buildRecord(inventory([node("a", { reservedCloudlets: 2 })]), HOUR, 1, buckets, new Map(lastDisk));
		expect(record.nodes).toEqual([{ ...node("a", { reservedCloudlets: 2 }), ...usage }]);
	});
});

describe("buildRecord: the record's environment-hour", () => {
	const cases: [string, Inventory][] = [
		["running, with SSL", inventory([node("a")], { ssl: true })],
		["stopped all hour", inventory([node("a")], { running: false })],
		["from a subscription (MTR-5)", inventory([node("a")], { subscription: true })],
		["transferred: the owner the inventory names", inventory([node("a")], { ownerId: "bob" })],
		["without nodes", inventory([])],
	];
	it.each(cases)("%s", (_name, inv) => {
		const { nodes, ...rest } = buildRecord(inv, HOUR, 3, [], new Map());
		expect(rest).toEqual({
			envId: inv.envId,
			hour: HOUR,
			rev: 3,
			ownerId: inv.ownerId,
			name: inv.name,
			running: inv.running,
			subscription: inv.subscription,
			ssl: inv.ssl,
		});
		expect(nodes.map(n => n.nodeId)).toEqual(inv.nodes.map(n => n.nodeId));
	});

	it("lists every node of the inventory, in its order, whatever the buckets' order", () => {
		const record = buildRecord(inventory([node("b"), node("a"), node("c")]), HOUR, 1, [bucket("c"), bucket("a")], new Map());
		expect(record.nodes.map(n => [n.nodeId, n.samples])).toEqual([
			["b", 0],
			["a", 3],
			["c", 3],
		]);
	});
});

describe("usageHours: the buckets an owner reads back", () => {
	const { nodeId: _a, ...a } = bucket("a");
	const cases: [string, Parameters<typeof usageHours>[0], ReturnType<typeof usageHours>][] = [
		["an hour closed without samples is left out", [{ hour: HOUR }], []],
		[
			"nodes by id, average CPU to 3 decimals",
			[{ hour: HOUR, nodes: { b: { ...a, cpuSum: 1000, cpuCount: 3 }, a } }],
			[
				{
					hour: "2030-01-01T10:00:00.000Z",
					nodes: [
						{ nodeId: "a", peakRamMiB: 512, avgCpuMHz: 400, peakDiskMB: 2000, trafficInMB: 10, trafficOutMB: 20, samples: 3 },
						{ nodeId: "b", peakRamMiB: 512, avgCpuMHz: 333.333, peakDiskMB: 2000, trafficInMB: 10, trafficOutMB: 20, samples: 3 },
					],
				},
			],
		],
		[
			"traffic sums without binary noise; no CPU samples: 0",
			[{ hour: HOUR + 3_600_000, nodes: { a: { ...a, cpuSum: 0, cpuCount: 0, trafficInMB: 0.1 + 0.2 } } }],
			[
				{
					hour: "2030-01-01T11:00:00.000Z",
					nodes: [{ nodeId: "a", peakRamMiB: 512, avgCpuMHz: 0, peakDiskMB: 2000, trafficInMB: 0.3, trafficOutMB: 20, samples: 3 }],
				},
			],
		],
	];
	it.each(cases)("%s", (_name, rows, expected) => {
		expect(usageHours(rows)).toEqual(expected);
	});
});
