// BIL-7: the events a webhook endpoint may follow. Shared through lib/ by the webhooks service
// (services/webhooks/payload.ts) and the console's administration screen, which offers them.
export const WEBHOOK_EVENTS = [
	"account.created",
	"account.status.changed",
	"account.upgraded",
	"invoice.created",
	"invoice.paid",
	"payment.failed",
	"balance.low",
	"autorefill.failed",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];
