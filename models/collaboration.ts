import { collection } from "./collection";

/** COL-2: an account's custom policies. `ownerName` (`<ownerId>|<lowercased name>`) keeps names unique per account. */
export const collabPolicies = collection({
	name: "collab_policies",
	indexes: [{ field: "ownerName", unique: true }, { field: "ownerId" }],
	fields: { ownerId: String, ownerName: String, name: String, description: String, methods: [String], createdAt: Date },
});

/** COL-3: an account's roles, made of system and custom policy ids; names unique per account like policies. */
export const collabRoles = collection({
	name: "collab_roles",
	indexes: [{ field: "ownerName", unique: true }, { field: "ownerId" }],
	fields: {
		ownerId: String,
		ownerName: String,
		name: String,
		description: String,
		policies: [String],
		receiveLoadAlerts: Boolean,
		template: String,
		createdAt: Date,
		updatedAt: Date,
	},
});

/**
 * COL-4, COL-5: memberships, one per primary account and invitee email (`ownerEmail` =
 * `<ownerId>|<email>`, unique; a removed one stays and is reused by a new invitation). The invitation
 * link is kept as `tokenDigest` only, while the membership is pending; `memberId` is the account that
 * accepted it. `resources` are the shared items with their roles.
 */
export const collaborations = collection({
	name: "collaborations",
	indexes: [{ field: "ownerEmail", unique: true }, { field: "ownerId" }, { field: "memberId" }, { field: "email" }],
	fields: {
		ownerId: String,
		ownerEmail: String,
		primaryEmail: String,
		email: String,
		memberId: String,
		displayName: String,
		status: String,
		resources: [{}],
		tokenDigest: String,
		expiresAt: Date,
		invitedAt: Date,
		acceptedAt: Date,
		updatedAt: Date,
	},
});

/** The accounts whose role templates were seeded (`_id` = the account's id), so a deleted template stays deleted. */
export const collabSeeds = collection({
	name: "collab_seeds",
	smallDocuments: true,
	fields: { seededAt: Date },
});
