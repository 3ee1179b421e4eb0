// Parameter rules of the collaboration actions (fastest-validator, strict: unknown fields refused): shapes
// only; whether ids are the caller's is checked by the modules beside this one.
export const idRule = { type: "string", min: 1, max: 64 } as const;
export const nameRule = { type: "string", trim: true, min: 1, max: 64 } as const;
export const descriptionRule = { type: "string", trim: true, max: 300, optional: true } as const;
export const displayNameRule = { type: "string", trim: true, min: 1, max: 100, optional: true } as const;
export const emailRule = { type: "email", normalize: true, max: 254, label: "email" } as const;
export const policiesRule = { type: "array", min: 1, max: 100, items: idRule } as const;
export const resourcesRule = {
	type: "array",
	min: 1,
	max: 200,
	items: {
		type: "object",
		props: {
			type: { type: "enum", values: ["ENV", "ENV_GROUP", "ACCOUNT"] },
			id: { ...idRule, optional: true },
			roleIds: { type: "array", min: 1, max: 20, items: idRule },
		},
	},
} as const;
export const memberStatusRule = { type: "enum", optional: true, values: ["pending", "active", "suspended", "rejected", "left", "removed"] } as const;
export const policyMethodsRule = { type: "array", min: 1, max: 500, items: { type: "string", min: 1, max: 200 } } as const;
export const roleFields = { description: descriptionRule, receiveLoadAlerts: { type: "boolean", optional: true } } as const;
