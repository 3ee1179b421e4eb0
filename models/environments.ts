import { collection } from "./collection";

/**
 * ENV-1: the inventory. `ownerName` (`<ownerId>|<lowercased name>`) keeps names unique per owner;
 * `rev` grows by one with every change (the revision it matches in `env_revisions`).
 */
export const environments = collection({
	name: "environments",
	indexes: [{ field: "ownerName", unique: true }, { field: "ownerId" }, { field: "status" }],
	fields: {
		ownerId: String,
		ownerName: String,
		name: String,
		status: String,
		ssl: Boolean,
		highAvailability: Boolean,
		subscription: Boolean,
		rev: Number,
		createdAt: Date,
		updatedAt: Date,
	},
});

/**
 * MTR-3: every state an environment was in, appended after each change (`_id` = `<envId>-<rev>`,
 * so writing one twice is harmless), for billing's environment-hours and metering's node checks.
 */
export const envRevisions = collection({
	name: "env_revisions",
	indexes: [{ field: "envId" }, { field: "at" }],
	fields: { envId: String, rev: Number, at: Date, ownerId: String, name: String, status: String, ssl: Boolean, subscription: Boolean },
});

/**
 * ENV-2: environment groups, a tree per owner. `siblingName` (`<ownerId>|<parentId or "">|<lowercased
 * name>`) keeps names unique under one parent (sparse: groups made before it existed have none).
 */
export const envGroups = collection({
	name: "env_groups",
	indexes: [{ field: "ownerId" }, { field: "parentId" }, { field: "siblingName", unique: true, sparse: true }],
	fields: { ownerId: String, name: String, parentId: String, siblingName: String, createdAt: Date },
});
