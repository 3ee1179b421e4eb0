// COL-3: the role templates every primary account starts with, over the system policies. Pure.
import { SYSTEM_POLICIES } from "./policies";

export interface RoleTemplate {
	key: string;
	name: string;
	description: string;
	policies: string[];
	receiveLoadAlerts: boolean;
}

const VIEWER = ["environment.view", "container.files.view", "container.logs", "container.statistics"];
const OPERATOR = [...VIEWER, "environment.state"];

export const ROLE_TEMPLATES: RoleTemplate[] = [
	{ key: "viewer", name: "Viewer", description: "Sees the shared environments, their files, logs and statistics", policies: VIEWER, receiveLoadAlerts: false },
	{ key: "operator", name: "Operator", description: "A viewer who also starts and stops environments", policies: OPERATOR, receiveLoadAlerts: true },
	{
		key: "developer",
		name: "Developer",
		description: "An operator who also changes topology, writes files, runs commands and organises groups",
		policies: [...OPERATOR, "environment.configuration", "container.files.write", "execute-cmd", "env-group"],
		receiveLoadAlerts: true,
	},
	{
		key: "admin",
		name: "Admin",
		description: "Everything the system policies allow, members and billing included",
		policies: SYSTEM_POLICIES.map(p => p.id),
		receiveLoadAlerts: true,
	},
	{
		key: "billing-viewer",
		name: "Billing viewer",
		description: "Sees the environments, prices, balances and billing history",
		policies: ["environment.view", "billing"],
		receiveLoadAlerts: false,
	},
];

/** A template's role id for one account: the same on every try, so seeding twice creates nothing twice. */
export function templateRoleId(ownerId: string, key: string): string {
	return `${ownerId}-${key}`;
}
