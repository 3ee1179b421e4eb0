import { collection } from "./collection";

/**
 * The ledger (BIL-2): one document per money movement, append-only. `key` makes every movement
 * idempotent (`charge:<envId>:<hour>:<rev>`, `fund:<accountId>:<nonce>`, `bonus:trial:<accountId>`);
 * amounts are signed micros. An entry is `pending` until the balance has taken it, then `applied`
 * (or `refused` when it would have made the bonus negative — nothing moved).
 */
export const ledger = collection({
	name: "ledger",
	// No index on `state`: nearly every entry is "applied", and a store re-indexes every document
	// of an index key on each update of one of them. `pending` exists only while pending (sparse).
	indexes: [{ field: "key", unique: true }, { field: "accountId" }, { field: "pending", sparse: true }, { field: "envId" }],
	fields: {
		accountId: String,
		key: String,
		kind: String,
		requested: Number,
		target: String,
		mainFirst: Boolean,
		amountMain: Number,
		amountBonus: Number,
		state: String,
		pending: Boolean,
		seq: Number,
		createdAt: Date,
		postedAt: Date,
		appliedAt: Date,
		description: String,
		envId: String,
		actor: String,
		idempotencyKey: String,
		refusal: String,
		balanceAfter: { main: Number, bonus: Number },
	},
});

/**
 * Balances: `_id` = account id; `main` and `bonus` in micros, the projection of the applied
 * ledger. `lastEntry` names the entry applied last and `lastMain`/`lastBonus`/`lastRefused`
 * what it did, so the entry can be marked even after a crash (see services/billing/ledger-store.ts).
 */
export const balances = collection({
	name: "balances",
	fields: {
		main: Number,
		bonus: Number,
		seq: Number,
		lastEntry: String,
		lastMain: Number,
		lastBonus: Number,
		lastRefused: String,
		updatedAt: Date,
	},
});

/** Idempotency-Key records of money-moving requests (API.md): the request's fingerprint and its first answer, kept 30 days. */
export const idempotency = collection({
	name: "idempotency",
	indexes: [{ field: "expiresAt", expireAfterSeconds: 0 }],
	fields: {
		fingerprint: String,
		nonce: String,
		state: String,
		answer: {},
		error: {},
		createdAt: Date,
		expiresAt: Date,
	},
});

/** What the billing history reads of a charge document (a month of them: thousands of ~1.4 KB documents). */
export const HISTORY_FIELDS = ["envId", "name", "initiator", "hour", "rated.nodes", "rated.options"];
/**
 * What the hourly billing history reads, JSON or CSV: the row kept at charge time
 * (services/billing/history.ts, hourRow), its large string in a column of its own in SQLite.
 */
export const HOUR_ROWS = {
	json: { fields: ["envId", "name", "hour", "historyRow.cost"], text: "historyRow.json" },
	csv: { fields: ["envId", "name", "hour", "historyRow.cost"], text: "historyRow.csv" },
};

/**
 * BIL-2: one document per charged environment-hour (`_id` = `<envId>:<hour ms>`): the revision
 * rated, what the ledger was asked for, the entry its last change asked for, and the rated line items that
 * the billing history shows (services/billing/charging.ts).
 */
export const charges = collection({
	name: "env_charges",
	// An account's hours in time order (the billing history reads a period of them); an environment's, the same (one environment's history).
	indexes: [{ field: "accountId", then: ["hour"] }, { field: "envId", then: ["hour"] }],
	projections: [HISTORY_FIELDS, HOUR_ROWS.json, HOUR_ROWS.csv],
	fields: {
		envId: String,
		accountId: String,
		name: String,
		hour: Number,
		rev: Number,
		charged: Number,
		entries: Number,
		lastKey: String,
		lastKind: String,
		lastAmount: Number,
		trafficMB: Number,
		rated: {},
		historyRow: {},
		createdAt: Date,
		updatedAt: Date,
	},
});

/** PRC-1: tariffs — a resource, a mode and tiers of unit-hour prices (decimal strings). */
export const tariffs = collection({
	name: "tariffs",
	fields: { name: String, resource: String, mode: String, tiers: [{}], description: String, createdAt: Date, updatedAt: Date },
});

/** PRC-1: pricing models — a set of tariffs, one per resource, and the groups that pay it. */
export const pricingModels = collection({
	name: "pricing_models",
	indexes: [{ field: "groups" }],
	fields: { name: String, description: String, tariffs: [String], groups: [String], createdAt: Date, updatedAt: Date },
});

/** The price lists charges were rated with (`_id` = a digest of the list): corrections of an hour re-rate it at the prices it was charged at. */
export const priceSnapshots = collection({ name: "price_snapshots", fields: { tariffs: [{}], createdAt: Date } });

/**
 * PAY-3: saved payment methods — what the provider needs to charge one again (`providerRef`, its
 * token for the card) and what the customer sees of it. The card number and the CVC are never
 * stored. The default is the one made default last (`defaultAt`): one per account, with no
 * moment where there are two or none.
 */
export const paymentMethods = collection({
	name: "payment_methods",
	indexes: [{ field: "accountId" }],
	fields: {
		accountId: String,
		provider: String,
		type: String,
		brand: String,
		last4: String,
		expMonth: Number,
		expYear: Number,
		holder: String,
		providerRef: String,
		defaultAt: Date,
		createdAt: Date,
	},
});

/**
 * PAY-1/PAY-2: payments — one per attempt to pay an invoice, through one provider. `status` only
 * moves forward (services/billing/payment-states.ts); `open` exists while it may still move (the
 * reconciliation job reads those); `credited` once the ledger entry `refill:<_id>` is posted.
 */
export const payments = collection({
	name: "payments",
	indexes: [{ field: "invoiceId" }, { field: "providerId" }, { field: "open", sparse: true }, { field: "challenge", unique: true, sparse: true }],
	fields: {
		accountId: String,
		invoiceId: String,
		provider: String,
		methodId: String,
		amount: Number,
		currency: String,
		status: String,
		providerId: String,
		actionUrl: String,
		challenge: String,
		failure: String,
		open: Boolean,
		credited: Boolean,
		checks: Number,
		nextCheckAt: Date,
		createdAt: Date,
		updatedAt: Date,
	},
});

/**
 * BIL-6/BIL-8: invoices — net, tax and total in micros, the customer as the upgrade gave them,
 * and a number `YYYY-NNNNNN` given by the year's counter (services/billing/invoice-numbers.ts).
 * A post-paid one (`kind` postpaid, `_id` made from `postpaid:<account>:<YYYY-MM>`) also holds its
 * month, lines, due date, the card it is paid with unattended and when it was told.
 */
export const invoices = collection({
	name: "invoices",
	indexes: [{ field: "accountId" }, { field: "number", unique: true, sparse: true }, { field: "unnumbered", sparse: true }],
	fields: {
		accountId: String,
		kind: String,
		number: String,
		year: Number,
		unnumbered: Boolean,
		status: String,
		net: Number,
		tax: Number,
		taxRate: String,
		total: Number,
		currency: String,
		customer: {},
		description: String,
		paymentId: String,
		period: String,
		lines: [{}],
		dueAt: Date,
		autoPayMethodId: String,
		notifiedAt: Date,
		createdAt: Date,
		paidAt: Date,
		updatedAt: Date,
	},
});

/** BIL-8: one counter per year (`_id` = the year); `lastInvoice` is the invoice its last number went to. */
export const invoiceCounters = collection({ name: "invoice_counters", fields: { last: Number, lastInvoice: String, updatedAt: Date } });

/** BIL-8: tax rates per country (`_id` = ISO 3166-1 alpha-2), a decimal fraction string such as "0.19". */
export const taxRates = collection({ name: "tax_rates", fields: { rate: String, actor: String, updatedAt: Date } });

/** Webhook events received (`_id` = `<provider>:<event id>`): each is processed once; kept 30 days. */
export const webhookEvents = collection({
	name: "webhook_events",
	indexes: [{ field: "expiresAt", expireAfterSeconds: 0 }],
	fields: { provider: String, type: String, paymentId: String, receivedAt: Date, expiresAt: Date },
});

/** PAY-4: one auto-refill rule per account (`_id` = the account id): services/billing/auto-refills.ts. */
export const autoRefills = collection({
	name: "auto_refills",
	indexes: [{ field: "enabled" }],
	fields: {
		amount: Number,
		paymentMethodId: String,
		// (mongoose reads a `type` key as the field's own type: the condition's `type` is spelled out)
		condition: { type: { type: String }, threshold: Number },
		timeZone: String,
		enabled: Boolean,
		armed: Boolean,
		lastPeriod: String,
		pendingPaymentId: String,
		firing: String,
		firings: Number,
		failures: Number,
		disabledReason: String,
		lastFiredAt: Date,
		createdAt: Date,
		updatedAt: Date,
	},
});

/** BIL-5: each account's low-balance and forecast notice state (`_id` = the account id): services/billing/balance-watch.ts. */
export const balanceNotices = collection({
	name: "balance_notices",
	fields: { lowArmed: Boolean, lowDay: String, forecastArmed: Boolean, forecastDay: String, updatedAt: Date },
});

/** Every collection of the billing service (its database), in the order they are opened. */
export const BILLING_COLLECTIONS = [
	ledger,
	balances,
	idempotency,
	charges,
	tariffs,
	pricingModels,
	priceSnapshots,
	paymentMethods,
	payments,
	invoices,
	invoiceCounters,
	taxRates,
	webhookEvents,
	autoRefills,
	balanceNotices,
];
