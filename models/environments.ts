import { collection } from "./collection";

/** ENV-1: the inventory. `ownerName` (`<ownerId>|<lowercased name>`) keeps names unique per owner. */
export const environments = collection({
	name: "environments",
	indexes: [{ field: "ownerName", unique: true }, { field: "ownerId" }, { field: "status" }],
	fields: { ownerId: String, ownerName: String, name: String, status: String, ssl: Boolean, highAvailability: Boolean, createdAt: Date, updatedAt: Date },
});

/** ENV-2: environment groups, a tree per owner. */
export const envGroups = collection({
	name: "env_groups",
	indexes: [{ field: "ownerId" }, { field: "parentId" }],
	fields: { ownerId: String, name: String, parentId: String, createdAt: Date },
});
