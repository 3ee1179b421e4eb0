// MTR-3: what an environment was during one hour — exists, ran, which nodes, whose — from its
// states; and node ids that last as long as their nodes (MTR-1).
import { rowForInterval, type EnvState, type EnvStatus } from "../../services/environments/inventory";
import { assignNodeIds, flattenNodes, newNodeId, type NodeState } from "../../services/environments/nodes";
import type { NodeGroup } from "../../lib/topology-rules";
import { inventoryNode, nodeGroup } from "../helpers/topology";

const FROM = new Date("2030-01-01T10:00:00Z");
const TO = new Date("2030-01-01T11:00:00Z");
const at = (hhmm: string) => new Date(`2030-01-01T${hhmm}:00Z`);

const node = inventoryNode;

/** A history: [time, status, changes to the previous state]; revs count from 1. */
function history(...steps: [string, EnvStatus, Partial<EnvState>?][]): EnvState[] {
	let prev: EnvState = { at: FROM, rev: 0, ownerId: "alice", name: "shop", status: "running", ssl: false, subscription: false, nodes: [node("a")] };
	return steps.map(([time, status, over], i) => (prev = { ...prev, ...over, at: at(time), rev: i + 1, status }));
}

type Expect = null | { running: boolean; ownerId?: string; nodes?: (string | [string, number])[] };

describe("rowForInterval: the environment during [10:00, 11:00)", () => {
	const cases: [string, EnvState[], Expect][] = [
		["running all hour", history(["09:00", "running"]), { running: true, nodes: ["a"] }],
		["created mid-hour", history(["10:30", "running"]), { running: true }],
		["stopped mid-hour: ran for part of it", history(["09:00", "running"], ["10:20", "stopped"]), { running: true }],
		["stopped all hour", history(["09:00", "running"], ["09:30", "stopped"]), { running: false, nodes: ["a"] }],
		["started exactly at the end: stopped all hour", history(["09:00", "stopped"], ["11:00", "running"]), { running: false }],
		["stopped exactly at the start: stopped all hour", history(["09:00", "running"], ["10:00", "stopped"]), { running: false }],
		[
			"deleted mid-hour: the last state before deletion",
			history(["09:00", "stopped"], ["10:10", "stopped", { ssl: true }], ["10:40", "deleted"]),
			{ running: false },
		],
		["created and deleted within the hour", history(["10:10", "running"], ["10:50", "deleted"]), { running: true }],
		[
			"changed topology mid-hour: every node, as last seen",
			history(
				["09:00", "running", { nodes: [node("a"), node("b", { reservedCloudlets: 2 })] }],
				["10:30", "running", { nodes: [node("a", { reservedCloudlets: 3 }), node("c")] }],
			),
			{
				running: true,
				nodes: [
					["a", 3],
					["c", 1],
					["b", 2],
				],
			},
		],
		[
			"node removed mid-hour keeps the settings of the last state it appeared in",
			history(
				["09:00", "running", { nodes: [node("a"), node("b")] }],
				["10:10", "running", { nodes: [node("a"), node("b", { reservedCloudlets: 4 })] }],
				["10:40", "running", { nodes: [node("a")] }],
			),
			{
				running: true,
				nodes: [
					["a", 1],
					["b", 4],
				],
			},
		],
		[
			"node removed before the hour is not charged",
			history(["09:00", "running", { nodes: [node("a"), node("b")] }], ["09:59", "running", { nodes: [node("a")] }]),
			{ running: true, nodes: ["a"] },
		],
		[
			"node added after the hour is not charged",
			history(["09:00", "running"], ["11:00", "running", { nodes: [node("a"), node("b")] }]),
			{ running: true, nodes: ["a"] },
		],
		["transferred mid-hour: the last owner", history(["09:00", "running"], ["10:45", "running", { ownerId: "bob" }]), { running: true, ownerId: "bob" }],
		[
			"transferred after the hour: the owner within it",
			history(["09:00", "running"], ["11:00", "running", { ownerId: "bob" }]),
			{ running: true, ownerId: "alice" },
		],
		["created exactly at the end is not listed", history(["11:00", "running"]), null],
		["created after the end is not listed", history(["11:30", "running"]), null],
		["deleted exactly at the start is not listed", history(["09:00", "running"], ["10:00", "deleted"]), null],
		["deleted before the start is not listed", history(["09:00", "running"], ["09:30", "deleted"]), null],
		["a state replaced within the same millisecond never held", history(["10:30", "running"], ["10:30", "stopped"]), { running: false }],
		["no history: not listed", [], null],
	];

	test.each(cases)("%s", (_name, states, expected) => {
		const row = rowForInterval("e1", states, FROM, TO);
		if (expected === null) return expect(row).toBeNull();
		expect(row).toMatchObject({ envId: "e1", running: expected.running, ownerId: expected.ownerId ?? "alice" });
		if (expected.nodes) expect(row?.nodes.map(n => n.nodeId)).toEqual(expected.nodes.map(n => (Array.isArray(n) ? n[0] : n)));
		for (const n of expected.nodes ?? []) if (Array.isArray(n)) expect(row?.nodes.find(x => x.nodeId === n[0])?.reservedCloudlets).toBe(n[1]);
	});

	it("takes name, SSL and subscription from the last state within the hour, before deletion", () => {
		const states = history(["09:00", "running"], ["10:20", "stopped", { name: "shop-2", ssl: true, subscription: true }], ["10:50", "deleted", { ssl: false }]);
		expect(rowForInterval("e1", states, FROM, TO)).toMatchObject({ name: "shop-2", ssl: true, subscription: true, running: true });
	});

	it("reads a state given twice (a revision and the live document of the same rev) once, in rev order whatever the input order", () => {
		const [created, stopped] = history(["09:00", "running"], ["10:20", "stopped", { nodes: [node("a"), node("b")] }]);
		const row = rowForInterval("e1", [stopped, { ...stopped }, created], FROM, TO);
		expect(row).toMatchObject({ running: true, nodes: [node("a"), node("b")] });
	});
});

describe("assignNodeIds: a node keeps its id across changes", () => {
	const group = (layer: string, count: number, over: Partial<NodeGroup> = {}) => nodeGroup({ layer, count, ...over });
	const counter = () => {
		let n = 0;
		return () => `new${++n}`;
	};

	it("gives every node of a new environment an id", () => {
		expect(assignNodeIds([group("cp", 2), group("sqldb", 1)], [], counter()).map(g => g.nodeIds)).toEqual([["new1", "new2"], ["new3"]]);
	});

	it("matches groups by layer and position: keeps, truncates, extends", () => {
		const old = [
			{ ...group("cp", 2), nodeIds: ["c1", "c2"] },
			{ ...group("sqldb", 2), nodeIds: ["d1", "d2"] },
			{ ...group("cp", 1), nodeIds: ["c3"] },
		];
		const next = [group("sqldb", 1, { reservedCloudlets: 2 }), group("cp", 3), group("cp", 1), group("cp", 1), group("cache", 1)];
		expect(assignNodeIds(next, old, counter()).map(g => g.nodeIds)).toEqual([["d1"], ["c1", "c2", "new1"], ["c3"], ["new2"], ["new3"]]);
	});

	it("ignores ids a caller put in the new groups", () => {
		const next = [{ ...group("cp", 1), nodeIds: ["forged"] }];
		expect(assignNodeIds(next, [], counter())[0].nodeIds).toEqual(["new1"]);
	});

	it("flattens groups into one entry per node, with the group's settings", () => {
		const groups = assignNodeIds([group("cp", 2, { publicIPv4: 1 })], [], counter());
		expect(flattenNodes(groups)).toEqual([
			{ nodeId: "new1", layer: "cp", reservedCloudlets: 1, scalingLimit: 4, diskLimitGB: 10, publicIPv4: 1, publicIPv6: 0 },
			{ nodeId: "new2", layer: "cp", reservedCloudlets: 1, scalingLimit: 4, diskLimitGB: 10, publicIPv4: 1, publicIPv6: 0 },
		]);
	});

	it("mints ids of the form n + 16 base62 characters, all different", () => {
		const ids = Array.from({ length: 1000 }, newNodeId);
		for (const id of ids) expect(id).toMatch(/^n[0-9A-Za-z]{16}$/);
		expect(new Set(ids).size).toBe(ids.length);
	});
});
