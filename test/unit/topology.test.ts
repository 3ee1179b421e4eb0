// services/environments/topology.ts: an environment's shape checks and the quota checks of QTA-3,
// with QTA-4's rule that a change is refused only for what it raises; and the topology a request
// asks for, node ids kept across changes (MTR-1). Quota values are the trial group's defaults
// (QTA-2); -1 is unlimited.
import type { NodeGroup } from "../../lib/topology-rules";
import type { StoredNodeGroup } from "../../services/environments/nodes";
import { nodeGroup } from "../helpers/topology";
import { demands, quotaViolation, shapeErrors, topologyOf, type StoredTopology, type Topology } from "../../services/environments/topology";

const group = nodeGroup;
const topology = (nodes: NodeGroup[], over: Partial<Topology> = {}): Topology => ({ nodes, ssl: false, highAvailability: false, customDomains: [], ...over });

// QTA-2, trial defaults.
const TRIAL = {
	"environment.maxnodescount": 6,
	"environment.maxsamenodescount": 2,
	"environment.maxcloudletsperrec": 8,
	"disk.limitation": 10,
	"disk.limitation.storage": 50,
	"environment.externalip.enabled": 0,
	"environment.externalip.maxcount": 0,
	"environment.externalip.maxcount.per.node": 0,
	"environment.externalipv6.enabled": 0,
	"environment.externalipv6.maxcount": 0,
	"environment.externalipv6.maxcount.per.node": 0,
	"environment.jelasticssl.enabled": 0,
	"environment.highavailability.enabled": 0,
	"environment.customdomains.enabled": 0,
};

describe("shapeErrors", () => {
	const cases: [string, Topology, string[]][] = [
		["a valid topology", topology([group()]), []],
		["reserved equal to the scaling limit", topology([group({ reservedCloudlets: 4, scalingLimit: 4 })]), []],
		["reserved above the scaling limit", topology([group(), group({ reservedCloudlets: 5, scalingLimit: 4 })]), ["nodes[1].reservedCloudlets"]],
		["a custom domain listed twice", topology([group()], { customDomains: ["a.example.com", "b.example.com", "a.example.com"] }), ["customDomains[2]"]],
		[
			"both at once",
			topology([group({ reservedCloudlets: 9, scalingLimit: 8 })], { customDomains: ["x.example.com", "x.example.com"] }),
			["nodes[0].reservedCloudlets", "customDomains[1]"],
		],
	];
	it.each(cases)("%s", (_name, t, fields) => {
		expect(shapeErrors(t).map(e => e.field)).toEqual(fields);
	});
});

describe("demands: what a topology asks of each quota", () => {
	const t = topology(
		[
			group({ layer: "cp", count: 2, scalingLimit: 6, diskLimitGB: 20, publicIPv4: 1 }),
			group({ layer: "cp", count: 1, scalingLimit: 16 }),
			group({ layer: "storage", count: 1, diskLimitGB: 200, publicIPv6: 2 }),
		],
		{ ssl: true, customDomains: ["shop.example.com"] },
	);
	const cases: [string, number][] = [
		["environment.maxnodescount", 4],
		["environment.maxsamenodescount", 3],
		["environment.maxcloudletsperrec", 16],
		["disk.limitation", 20],
		["disk.limitation.storage", 200],
		["environment.externalip.enabled", 1],
		["environment.externalip.maxcount.per.node", 1],
		["environment.externalip.maxcount", 2],
		["environment.externalipv6.enabled", 1],
		["environment.externalipv6.maxcount.per.node", 2],
		["environment.externalipv6.maxcount", 2],
		["environment.jelasticssl.enabled", 1],
		["environment.highavailability.enabled", 0],
		["environment.customdomains.enabled", 1],
	];
	const asked = new Map(demands(t).map(d => [d.quota, d.requested]));
	it.each(cases)("%s: %d", (quota, requested) => {
		expect(asked.get(quota)).toBe(requested);
	});
	it("covers every quota it checks, once", () => {
		expect([...asked.keys()].sort()).toEqual(cases.map(c => c[0]).sort());
	});
});

describe("quotaViolation (QTA-3) against the trial defaults", () => {
	type Case = [string, Topology, Record<string, number>, Topology | undefined, { quota: string; limit: number; requested: number } | null];
	const cases: Case[] = [
		["within every limit", topology([group({ count: 2 })]), {}, undefined, null],
		[
			"7 nodes of 6",
			topology([group({ count: 2 }), group({ layer: "sqldb", count: 2 }), group({ layer: "nosql", count: 3 })]),
			{},
			undefined,
			{
				quota: "environment.maxnodescount",
				limit: 6,
				requested: 7,
			},
		],
		["3 nodes of one layer of 2", topology([group({ count: 3 })]), {}, undefined, { quota: "environment.maxsamenodescount", limit: 2, requested: 3 }],
		["a scaling limit of 9 of 8", topology([group({ scalingLimit: 9 })]), {}, undefined, { quota: "environment.maxcloudletsperrec", limit: 8, requested: 9 }],
		["11 GB of disk of 10", topology([group({ diskLimitGB: 11 })]), {}, undefined, { quota: "disk.limitation", limit: 10, requested: 11 }],
		["a storage node's disk counts against its own limit", topology([group({ layer: "storage", diskLimitGB: 50 })]), {}, undefined, null],
		[
			"a public IPv4 when none are enabled",
			topology([group({ publicIPv4: 1 })]),
			{},
			undefined,
			{ quota: "environment.externalip.enabled", limit: 0, requested: 1 },
		],
		["SSL when it is not enabled", topology([group()], { ssl: true }), {}, undefined, { quota: "environment.jelasticssl.enabled", limit: 0, requested: 1 }],
		[
			"unlimited (-1) never refuses",
			topology([group({ count: 30 })]),
			{ "environment.maxnodescount": -1, "environment.maxsamenodescount": -1 },
			undefined,
			null,
		],
		// QTA-4: lowering a limit never blocks scaling down.
		["over a lowered limit, shrinking", topology([group({ count: 3 })]), {}, topology([group({ count: 5 })]), null],
		["over a lowered limit, unchanged (a start)", topology([group({ count: 5 })]), {}, topology([group({ count: 5 })]), null],
		[
			"over a lowered limit, growing",
			topology([group({ count: 6 })]),
			{},
			topology([group({ count: 5 })]),
			{
				quota: "environment.maxsamenodescount",
				limit: 2,
				requested: 6,
			},
		],
	];
	it.each(cases)("%s", (_name, t, overrides, current, expected) => {
		expect(quotaViolation(t, { ...TRIAL, ...overrides }, current)).toEqual(expected);
	});
});

describe("topologyOf: the topology a request asks for", () => {
	let minted = 0;
	const mint = () => `new${++minted}`;
	const stored = (g: NodeGroup, nodeIds: string[]): StoredNodeGroup => ({ ...g, nodeIds });
	const current: StoredTopology = {
		...topology([], { ssl: true, customDomains: ["shop.example.com"] }),
		nodes: [stored(group({ count: 2 }), ["a", "b"])],
	};
	const cases: [string, Parameters<typeof topologyOf>[0], StoredTopology | null, Partial<Topology>, string[][]][] = [
		[
			"a new environment: options off, every node new",
			{ nodes: [group({ count: 2 })] },
			null,
			{ ssl: false, highAvailability: false, customDomains: [] },
			[["new1", "new2"]],
		],
		["a new environment with options", { nodes: [group()], ssl: true, highAvailability: true }, null, { ssl: true, highAvailability: true }, [["new3"]]],
		["a change of options only keeps the nodes", { ssl: false }, current, { ssl: false, customDomains: ["shop.example.com"] }, [["a", "b"]]],
		["a group growing keeps its ids and adds new ones", { nodes: [group({ count: 3 })] }, current, { ssl: true }, [["a", "b", "new4"]]],
		["a group shrinking drops its last ids", { nodes: [group({ count: 1 })] }, current, {}, [["a"]]],
		["a new layer gets new ids", { nodes: [group({ count: 2 }), group({ layer: "sqldb" })] }, current, {}, [["a", "b"], ["new5"]]],
	];
	it.each(cases)("%s", (_name, req, cur, options, nodeIds) => {
		const t = topologyOf(req, cur, mint);
		expect(t).toMatchObject(options);
		expect(t.nodes.map(n => n.nodeIds)).toEqual(nodeIds);
	});
});
