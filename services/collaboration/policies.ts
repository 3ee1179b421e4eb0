// COL-2: policies are sets of API methods from the one catalogue (PAT-6). The system policies are a
// tree kept here, as code, and checked against the catalogue by test/unit/collaboration-policies.test.ts:
// every method a member could be given sits in at least one system policy, and no policy names a
// method the catalogue lacks. Custom policies are an account's own `{name, methods}`. Pure.
import { API_CATALOGUE, methodGroup, type ApiEntry } from "../../lib/api-catalogue";
import type { FieldError } from "../../lib/errors";

export interface PolicyNode {
	/** stable id of a leaf (roles name it); groups have none */
	id?: string;
	name: string;
	description?: string;
	methods?: string[];
	children?: PolicyNode[];
}

const ENV = "environment.control";
const COLLAB = "users.collaboration";

// The tree the original platform shows under "System (auto-managed)" (platform notes §8.2). Container
// policies (files, logs) and Execute CMD stand for the orchestrator's own operations: no route of
// this catalogue serves them yet, so they hold none of its methods, but roles may name them already.
export const SYSTEM_POLICY_TREE: PolicyNode[] = [
	{
		id: "env-group",
		name: "Env Group",
		description: "See, create and delete environment groups",
		methods: ["environment.group.GetGroups", "environment.group.AddGroup", "environment.group.RemoveGroup"],
	},
	{
		name: "Environment",
		children: [
			{ id: "environment.view", name: "View", description: "See environments and their topology", methods: [`${ENV}.GetEnvs`, `${ENV}.GetEnvInfo`] },
			{
				id: "environment.managing",
				name: "Managing",
				description: "Create, delete and transfer environments, within the owner's limits",
				methods: [`${ENV}.GetEnvs`, `${ENV}.GetEnvInfo`, `${ENV}.CreateEnvironment`, `${ENV}.DeleteEnv`, `${ENV}.ChangeOwner`, "billing.account.GetQuotas"],
			},
			{ id: "environment.state", name: "State", description: "Start and stop environments", methods: [`${ENV}.StartEnv`, `${ENV}.StopEnv`] },
			{ id: "environment.configuration", name: "Configuration", description: "Change an environment's nodes and options", methods: [`${ENV}.ChangeTopology`] },
		],
	},
	{
		name: "Container",
		children: [
			{
				name: "File System",
				children: [
					{ id: "container.files.view", name: "View Files", methods: [] },
					{ id: "container.files.write", name: "Write Files (Create/Edit/Delete)", methods: [] },
				],
			},
			{ id: "container.logs", name: "Logs", description: "View logs", methods: [] },
			{ id: "container.statistics", name: "Statistics", description: "Resource usage of the nodes, hour by hour", methods: [`${ENV}.GetStats`] },
		],
	},
	{
		id: "collaboration",
		name: "Collaboration",
		description: "See and manage the other members, their roles and the policies",
		methods: [
			"GetMembers",
			"InviteMember",
			"EditMember",
			"DeleteMember",
			"SuspendMember",
			"ActivateMember",
			"ResendMemberInvitation",
			"GetRoles",
			"AddRole",
			"EditRole",
			"DeleteRole",
			"GetPolicies",
			"AddPolicy",
			"DeletePolicy",
		].map(m => `${COLLAB}.${m}`),
	},
	{
		id: "billing",
		name: "Cost Estimation / Billing History",
		description: "See prices, estimates, balances, history and invoices",
		methods: [
			"billing.pricing.GetPricing",
			"billing.pricing.Estimate",
			"billing.account.GetAccount",
			"billing.account.GetAccountBillingHistoryByPeriod",
			"billing.account.GetFundAccountHistory",
			"billing.account.GetSum",
			"billing.invoice.GetInvoices",
			"billing.invoice.GetInvoice",
		],
	},
	{ id: "execute-cmd", name: "Execute CMD", description: "Run custom commands on the shared environments", methods: [] },
];

/**
 * What is only ever about one's own account, so no policy can give it to a member: one's profile,
 * credentials and notifications, one's own memberships, paying (cards, refills, auto-refill, paying
 * an invoice) and upgrading. Method groups end with a dot; anything else is one method.
 */
export const OWN_ACCOUNT_ONLY = [
	"users.account.",
	"users.authentication.",
	"meta.platform.",
	"billing.paymethod.",
	"billing.serviceplan.",
	"billing.account.ConvertToCommercial",
	"billing.account.Refill",
	"billing.invoice.PayInvoice",
	`${COLLAB}.GetCollaborations`,
	`${COLLAB}.AcceptCollaboration`,
	`${COLLAB}.RejectCollaboration`,
	`${COLLAB}.LeaveCollaboration`,
];

export interface SystemPolicy {
	id: string;
	name: string;
	/** where it sits in the tree, e.g. ["Environment", "State"] */
	path: string[];
	description: string;
	methods: string[];
}

function flatten(nodes: PolicyNode[], above: string[]): SystemPolicy[] {
	return nodes.flatMap(n =>
		n.children
			? flatten(n.children, [...above, n.name])
			: [{ id: n.id as string, name: n.name, path: [...above, n.name], description: n.description ?? "", methods: n.methods ?? [] }],
	);
}

/** The leaves of the tree, in its order. */
export const SYSTEM_POLICIES: SystemPolicy[] = flatten(SYSTEM_POLICY_TREE, []);
const SYSTEM_BY_ID = new Map(SYSTEM_POLICIES.map(p => [p.id, p]));

export function systemPolicy(id: string): SystemPolicy | undefined {
	return SYSTEM_BY_ID.get(id);
}

export function isOwnAccountOnly(method: string): boolean {
	return OWN_ACCOUNT_ONLY.some(o => (o.endsWith(".") ? `${methodGroup(method)}.`.startsWith(o) : method === o));
}

/** The API methods a policy may hold: catalogued, callable by a user (session or token), not about one's own account alone. */
export function memberMethods(entries: ApiEntry[] = API_CATALOGUE): string[] {
	const methods = entries.filter(e => e.method && e.access === "user").map(e => e.method as string);
	return [...new Set(methods)].filter(m => !isOwnAccountOnly(m)).sort();
}

/** COL-2: a custom policy's methods, checked; each refusal names the method. */
export function policyMethodErrors(methods: string[], entries: ApiEntry[] = API_CATALOGUE): FieldError[] {
	const known = new Set(entries.map(e => e.method).filter(Boolean));
	const allowed = new Set(memberMethods(entries));
	return methods.flatMap((m, i) => {
		if (!known.has(m)) return [{ field: `methods[${i}]`, message: `"${m}" is not an API method of the catalogue (see GET /api/v1/api-methods)` }];
		if (!allowed.has(m))
			return [{ field: `methods[${i}]`, message: `"${m}" cannot be given to a member (it is about one's own account, or administrators only)` }];
		return [];
	});
}

/** The methods a set of policies allows, system ids or custom policies alike. */
export function methodsOfPolicies(policyIds: Iterable<string>, custom: Map<string, { methods: string[] }>): Set<string> {
	const out = new Set<string>();
	for (const id of policyIds) for (const m of systemPolicy(id)?.methods ?? custom.get(id)?.methods ?? []) out.add(m);
	return out;
}
