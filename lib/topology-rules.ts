// The shape of a node group in a request (ENV-1): one type, one validator schema and one
// cross-field check for every endpoint that takes a topology — creating and changing an
// environment, and estimating what it would cost (PRC-4: "nodes as environments").
import type { FieldError } from "./errors";

export interface NodeGroup {
	layer: string;
	type: string;
	count: number;
	reservedCloudlets: number;
	scalingLimit: number;
	diskLimitGB: number;
	publicIPv4: number;
	publicIPv6: number;
}

export const nodeGroupRule = {
	type: "object",
	props: {
		layer: { type: "string", pattern: /^[a-z][a-z0-9-]{0,31}$/, messages: { stringPattern: "must be a short lower-case name such as cp or sqldb" } },
		type: { type: "string", min: 1, max: 64 },
		count: { type: "number", integer: true, min: 1, max: 100, optional: true, default: 1 },
		reservedCloudlets: { type: "number", integer: true, min: 0, max: 10_000 },
		scalingLimit: { type: "number", integer: true, min: 1, max: 10_000 },
		diskLimitGB: { type: "number", integer: true, min: 1, max: 100_000, optional: true, default: 10 },
		publicIPv4: { type: "number", integer: true, min: 0, max: 64, optional: true, default: 0 },
		publicIPv6: { type: "number", integer: true, min: 0, max: 64, optional: true, default: 0 },
	},
} as const;

/** What the schema cannot say: reserved cloudlets above the node's scaling limit. */
export function reservedAboveLimit(nodes: Pick<NodeGroup, "reservedCloudlets" | "scalingLimit">[]): FieldError[] {
	return nodes.flatMap((n, i) =>
		n.reservedCloudlets > n.scalingLimit
			? [{ field: `nodes[${i}].reservedCloudlets`, message: `must not be above the scaling limit (${n.scalingLimit})` }]
			: [],
	);
}
