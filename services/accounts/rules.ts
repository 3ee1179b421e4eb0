// Parameter rules of the accounts service's actions (fastest-validator): shapes only; what needs
// the store (a known email, a group's settings) is checked by the modules beside this one.

export const emailRule = { type: "email", normalize: true, max: 254, label: "email" } as const;
export const nameRule = { type: "string", trim: true, min: 1, max: 100 } as const;
export const phoneRule = {
	type: "string",
	trim: true,
	pattern: /^\+?[0-9][0-9 ()-]{4,24}$/,
	messages: { stringPattern: "must be a phone number such as +1 555 0100" },
} as const;
/** REG-1, ACC-4: the terms must be accepted, literally `true`. */
export const termsRule = { type: "equal", value: true, strict: true, messages: { equalValue: "must be true: the terms have to be accepted" } } as const;
/** An IANA time zone's name; whether it is known is checked against the runtime's zones (store.ts). */
export const timeZoneRule = { type: "string", trim: true, min: 1, max: 64 } as const;
/** accounts.customersOfType: a group type, and a keyset page. */
export const customersOfTypeParams = {
	type: { type: "enum", values: ["trial", "beta", "billing", "post"] },
	after: { type: "string", optional: true, max: 64 },
	limit: { type: "number", integer: true, min: 1, max: 1000 },
	/** also the accounts that left the type by a move after this instant (BIL-6) */
	leftAfter: { type: "date", convert: true, optional: true },
} as const;

/** POST /admin/groups */
export const createGroupParams = {
	name: { type: "string", pattern: /^[a-z][a-z0-9-]{1,31}$/, messages: { stringPattern: "must be 2-32 lower-case letters, digits and dashes" } },
	type: { type: "enum", values: ["trial", "beta", "billing", "post"] },
	conversionGroup: { type: "string", optional: true, max: 32 },
	description: { type: "string", trim: true, max: 300, optional: true },
} as const;

/** PATCH /admin/groups/{name} */
export const editGroupParams = {
	name: { type: "string", min: 1, max: 32 },
	conversionGroup: { type: "string", optional: true, nullable: true, max: 32 },
	description: { type: "string", trim: true, max: 300, optional: true },
	settings: { type: "object", optional: true },
} as const;
