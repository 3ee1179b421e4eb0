import { collection } from "./collection";

/**
 * The ledger (BIL-2): one document per money movement, append-only. `key` makes every movement
 * idempotent (`charge:<envId>:<hour>:<rev>`, `fund:<accountId>:<nonce>`, `bonus:trial:<accountId>`);
 * amounts are signed micros. An entry is `pending` until the balance has taken it, then `applied`
 * (or `refused` when it would have made the bonus negative — nothing moved).
 */
export const ledger = collection({
	name: "ledger",
	indexes: [{ field: "key", unique: true }, { field: "accountId" }, { field: "state" }, { field: "envId" }],
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
 * what it did, so the entry can be marked even after a crash (see services/billing/store.ts).
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
