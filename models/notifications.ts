import { collection } from "./collection";

/** Every email ever asked for, sent or not (NTF-1); `dedupKey` makes a second send a no-op. */
export const outbox = collection({
	name: "outbox",
	indexes: [{ field: "dedupKey", unique: true }, { field: "to" }, { field: "status" }],
	fields: {
		dedupKey: String,
		to: String,
		accountId: String,
		template: String,
		subject: String,
		text: String,
		html: String,
		links: [String],
		status: String,
		attempts: Number,
		lastError: String,
		createdAt: Date,
		sentAt: Date,
		nextAttemptAt: Date,
	},
});

export const inbox = collection({
	name: "inapp_notifications",
	indexes: [{ field: "dedupKey", unique: true }, { field: "accountId" }],
	fields: { dedupKey: String, accountId: String, template: String, title: String, body: String, createdAt: Date, readAt: Date },
});
