// Provider settings per group (SPEC: "per group"): accounts keeps them on its groups; auth and
// tokens read them through accounts (`findByEmail`, `identities`), never from its store.

export const DEFAULT_GROUP_SETTINGS = {
	"password.expiry.days": 180, // PWD-2; 0 = passwords never expire
	"password.expiry.notify.days": [14, 7, 3, 1],
	"password.min.length": 10, // PWD-1
	"2fa.required": 0, // TFA-6
	"token.max.lifetime.days": 366, // PAT-1
	"token.expiry.required": 0, // PAT-1: providers may make expiry mandatory
};

export type GroupSettings = typeof DEFAULT_GROUP_SETTINGS;

/** Stored as `[{key, value}]`: setting names contain dots, which stores refuse in field names. */
export type StoredSettings = { key: keyof GroupSettings; value: unknown }[];

export function settingsOf(group: { settings?: StoredSettings } | null | undefined): GroupSettings {
	const out: Record<string, unknown> = { ...DEFAULT_GROUP_SETTINGS };
	for (const { key, value } of group?.settings ?? []) if (key in DEFAULT_GROUP_SETTINGS) out[key] = value;
	return out as GroupSettings;
}
