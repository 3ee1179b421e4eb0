import { collection } from "./collection";

/**
 * BIL-7: outgoing webhook endpoints — a URL and the event types it wants. The signing secret is
 * kept sealed (lib/secretbox.ts), since it must be read back to sign; it is shown once, at creation.
 */
export const webhookEndpoints = collection({
	name: "webhook_endpoints",
	// Which endpoints want an event type (an array field: one index entry per element on MongoDB).
	indexes: [{ field: "events" }],
	fields: {
		url: String,
		events: [String],
		description: String,
		secretSealed: String,
		createdBy: String,
		createdAt: Date,
	},
});

/**
 * One delivery per endpoint and event (unique: an event heard twice, e.g. by two replicas, is
 * recorded once), with every try. `body` is the JSON as signed, the same on every try. `nextTryAt`
 * exists while a scheduled try is due (pending); a try under way pushes it on (a claim). Kept 30 days.
 */
export const webhookDeliveries = collection({
	name: "webhook_deliveries",
	indexes: [
		{ field: "endpointId", then: ["eventId"], unique: true },
		{ field: "endpointId", then: ["createdAt"] },
		{ field: "nextTryAt", sparse: true },
		{ field: "expiresAt", expireAfterSeconds: 0 },
	],
	fields: {
		endpointId: String,
		eventId: String,
		type: String,
		body: String,
		status: String,
		tries: Number,
		attempts: [{}],
		nextTryAt: Date,
		deliveredAt: Date,
		createdAt: Date,
		expiresAt: Date,
	},
});
