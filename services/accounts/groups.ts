import type { StoredSettings } from "../../lib/group-settings";

// Built-in groups (SPEC §0): seeded at every start, never overwritten once they exist, so
// providers' edits survive restarts.

export type GroupType = "trial" | "beta" | "billing" | "post";

export interface Group {
	name: string;
	type: GroupType;
	/** where an upgrade moves an account (ACC-4) */
	conversionGroup: string | null;
	/** new sign-ups land here */
	signupDefault: boolean;
	builtIn: boolean;
	description: string;
	settings?: StoredSettings;
}

export const BUILT_IN_GROUPS: Group[] = [
	{
		name: "trial",
		type: "trial",
		conversionGroup: "billing",
		signupDefault: true,
		builtIn: true,
		description: "New sign-ups: trial quotas, trial period and bonus",
	},
	{ name: "billing", type: "billing", conversionGroup: null, signupDefault: false, builtIn: true, description: "Pre-paid commercial accounts" },
	{ name: "post", type: "post", conversionGroup: null, signupDefault: false, builtIn: true, description: "Post-paid commercial accounts, invoiced monthly" },
	{ name: "beta", type: "beta", conversionGroup: "billing", signupDefault: false, builtIn: true, description: "Beta testers" },
	{
		name: "collaboration",
		type: "trial",
		conversionGroup: "billing",
		signupDefault: false,
		builtIn: true,
		description: "Invitees registered by a collaboration invitation",
	},
];
