// Built-in groups (SPEC §0): seeded at every start, never overwritten once they exist, so
// providers' edits survive restarts.

export type GroupType = "trial" | "beta" | "billing" | "post";

/** Provider settings per group (SPEC "per group"); a group's stored values override these. */
export const DEFAULT_GROUP_SETTINGS = {
	"password.expiry.days": 180, // PWD-2; 0 = passwords never expire
	"password.expiry.notify.days": [14, 7, 3, 1],
	"password.min.length": 10, // PWD-1
	"2fa.required": 0, // TFA-6
};

export type GroupSettings = typeof DEFAULT_GROUP_SETTINGS;

/** Stored as `[{key, value}]`: setting names contain dots, which stores refuse in field names. */
export type StoredSettings = { key: keyof GroupSettings; value: unknown }[];

export function settingsOf(group: { settings?: StoredSettings } | null | undefined): GroupSettings {
	const out: Record<string, unknown> = { ...DEFAULT_GROUP_SETTINGS };
	for (const { key, value } of group?.settings ?? []) if (key in DEFAULT_GROUP_SETTINGS) out[key] = value;
	return out as GroupSettings;
}

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
