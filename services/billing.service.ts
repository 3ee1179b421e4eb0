// billing: the ledger core. Every money movement — charge, refill, bonus, adjustment — is one
// ledger entry posted through `billing.post`, applied to the account's main and bonus balances
// by the protocol in services/billing/store.ts (BIL-2: balance = Σ ledger after a crash at any
// step). Amounts are integer micros (BIL-1, lib/money); charges take bonus first unless the
// account's `account.charge.balance.first` says main (BIL-3) and are never refused for lack of
// money. Admins fund, unfund and charge with an Idempotency-Key (API.md); new trial accounts get
// their trial bonus (ACC-2). Each applied entry is announced as `billing.balance.changed`
// {accountId, main, bonus} (micros), and refills also as `billing.refilled`.
import type { Context, Service } from "moleculer";
import { MINUTE } from "../lib/clock";
import { insufficientBalance as insufficientBalanceError, notFound, validationError, type FieldError } from "../lib/errors";
import { formatMoney, MAX_MICROS, parseMoney, type Micros } from "../lib/money";
import { pageOf, pageParams, skipOf } from "../lib/pagination";
import { defineService } from "../lib/service-schema";
import { createDbMixin, type Store } from "../mixins/db.mixin";
import { createJobsMixin } from "../mixins/jobs.mixin";
import { balances, idempotency, ledger } from "../models/billing";
import { Idempotency, requireIdempotencyKey, type IdempotencyDoc } from "./billing/idempotency";
import { ENTRY_KINDS, type Balance, type EntryKind } from "./billing/ledger";
import { Ledger, type BalanceDoc, type EntryDoc, type NewEntry } from "./billing/store";
import { balanceView, transactionRow, type BalanceView, type TransactionRow } from "./billing/views";

type QuotaValues = Record<string, number | string>;
type Meta = { user?: { id: string; role?: string }; idempotencyKey?: string };

type Self = Service & {
	db: { ledger: Store<EntryDoc>; balances: Store<BalanceDoc>; idempotency: Store<IdempotencyDoc> };
	ledger: Ledger;
	idempotency: Idempotency;
	quotaValues(ctx: Context, accountId: string): Promise<QuotaValues>;
	grantTrialBonus(ctx: Context, accountId: string): Promise<Micros>;
	moneyQuota(values: QuotaValues, key: string): Micros;
	accountExists(ctx: Context, id: string): Promise<void>;
	postEntry(ctx: Context, input: NewEntry): Promise<EntryDoc>;
	balanceAnswer(ctx: Context, accountId: string, b: Balance): Promise<BalanceView>;
};

export interface MoneyAnswer {
	entry: TransactionRow;
	balance: BalanceView;
}

/** Pending entries younger than this belong to a request still running: recovery leaves them to it. */
const RECOVER_AFTER_MS = 10_000;

const idRule = { type: "string", min: 1, max: 64 } as const;
const amountRule = { type: "string", min: 1, max: 40 } as const;

function insufficientBalance(entry: EntryDoc) {
	const available = formatMoney(entry.balanceAfter.bonus);
	return insufficientBalanceError(`amount: would take the bonus balance below zero (it holds ${available})`, {
		field: "amount",
		balance: entry.refusal || "bonus",
		available,
		requested: formatMoney(entry.requested),
	});
}

/** What internal callers get: micros, not strings. */
function entryView(e: EntryDoc) {
	return {
		id: e._id,
		accountId: e.accountId,
		key: e.key,
		kind: e.kind,
		state: e.state,
		requested: e.requested,
		amountMain: e.amountMain,
		amountBonus: e.amountBonus,
		balanceAfter: e.balanceAfter,
		seq: e.seq,
		createdAt: e.createdAt,
		appliedAt: e.appliedAt,
		description: e.description,
		...(e.envId ? { envId: e.envId } : {}),
	};
}

function timeParam(value: string | undefined, field: string, errors: FieldError[]): Date | undefined {
	if (value === undefined) return undefined;
	const t = new Date(value);
	if (Number.isNaN(t.getTime())) errors.push({ field, message: "must be an ISO-8601 time" });
	return t;
}

const BillingService = defineService<Self>({
	name: "billing",
	mixins: [createDbMixin([ledger, balances, idempotency]), createJobsMixin("billing")],

	jobs: {
		/** BIL-2: entries left pending by a crash or a lost request are applied, oldest first per account. */
		"recover-ledger": {
			cron: "* * * * *",
			async handler(this: Self) {
				return this.ledger.recover(RECOVER_AFTER_MS);
			},
		},
		/** BIL-2: proves balance = Σ ledger for every account; a mismatch is logged loudly (it must never happen). */
		reconcile: {
			cron: "41 * * * *",
			leaseMs: 30 * MINUTE,
			async handler(this: Self) {
				const rows = await this.ledger.reconcile();
				for (const r of rows.filter(x => !x.ok)) this.logger.error(`Ledger mismatch for account ${r.accountId}`, r);
				return rows.length;
			},
		},
	},

	actions: {
		/** GET /billing/balance */
		balance: {
			params: {},
			async handler(this: Self, ctx: Context<Record<string, never>, Meta>) {
				const accountId = ctx.meta.user!.id;
				return this.balanceAnswer(ctx, accountId, await this.ledger.balanceOf(accountId));
			},
		},

		/** GET /billing/transactions — the applied ledger, newest first (in the order the balance took it). */
		transactions: {
			params: {
				...pageParams,
				kind: { type: "enum", values: [...ENTRY_KINDS], optional: true },
				from: { type: "string", max: 40, optional: true },
				to: { type: "string", max: 40, optional: true },
				envId: { ...idRule, optional: true },
			},
			async handler(this: Self, ctx: Context<{ page: number; pageSize: number; kind?: EntryKind; from?: string; to?: string; envId?: string }, Meta>) {
				const { page, pageSize, kind, envId } = ctx.params;
				const errors: FieldError[] = [];
				const from = timeParam(ctx.params.from, "from", errors);
				const to = timeParam(ctx.params.to, "to", errors);
				if (errors.length) throw validationError(errors);
				const query: Record<string, unknown> = { accountId: ctx.meta.user!.id, state: "applied" };
				if (kind) query.kind = kind;
				if (envId) query.envId = envId;
				if (from || to) query.appliedAt = { ...(from ? { $gte: from } : {}), ...(to ? { $lt: to } : {}) };
				const [rows, total] = await Promise.all([
					this.db.ledger.find(query, { sort: { seq: -1 }, skip: skipOf(page, pageSize), limit: pageSize }),
					this.db.ledger.count(query),
				]);
				return pageOf(rows.map(transactionRow), total, page, pageSize);
			},
		},

		/** POST /admin/accounts/{id}/fund {amount, bonus?, note} — negative amount = unfund (ADM-1). */
		adminFund: {
			params: { id: idRule, amount: amountRule, bonus: { type: "boolean", optional: true }, note: { type: "string", trim: true, min: 1, max: 500 } },
			async handler(this: Self, ctx: Context<{ id: string; amount: string; bonus?: boolean; note: string }, Meta>): Promise<MoneyAnswer> {
				const key = requireIdempotencyKey(ctx.meta.idempotencyKey);
				const amount = parseMoney(ctx.params.amount, "amount");
				if (amount === 0) throw validationError({ field: "amount", message: "must not be zero" });
				await this.accountExists(ctx, ctx.params.id);
				const actor = ctx.meta.user!.id;
				return this.idempotency.run({ operation: "adminFund", caller: actor, key, body: ctx.params }, async nonce => {
					const entry = await this.postEntry(ctx, {
						accountId: ctx.params.id,
						key: `fund:${ctx.params.id}:${nonce}`,
						kind: amount < 0 ? "adjustment" : ctx.params.bonus ? "bonus" : "refill",
						amount,
						toBonus: !!ctx.params.bonus,
						description: ctx.params.note,
						actor,
						idempotencyKey: key,
					});
					// The balance right after this movement (not "now"): what the stored answer replays.
					return { entry: transactionRow(entry), balance: await this.balanceAnswer(ctx, ctx.params.id, entry.balanceAfter) };
				});
			},
		},

		/** POST /admin/accounts/{id}/charge {amount, description, envId?} — never refused for lack of money (BIL-3). */
		adminCharge: {
			params: { id: idRule, amount: amountRule, description: { type: "string", trim: true, min: 1, max: 500 }, envId: { ...idRule, optional: true } },
			async handler(this: Self, ctx: Context<{ id: string; amount: string; description: string; envId?: string }, Meta>): Promise<MoneyAnswer> {
				const key = requireIdempotencyKey(ctx.meta.idempotencyKey);
				const amount = parseMoney(ctx.params.amount, "amount");
				if (amount <= 0) throw validationError({ field: "amount", message: "must be more than 0 (a charge takes money)" });
				await this.accountExists(ctx, ctx.params.id);
				const actor = ctx.meta.user!.id;
				return this.idempotency.run({ operation: "adminCharge", caller: actor, key, body: ctx.params }, async nonce => {
					const entry = await this.postEntry(ctx, {
						accountId: ctx.params.id,
						key: `admin-charge:${ctx.params.id}:${nonce}`,
						kind: "charge",
						amount: -amount,
						description: ctx.params.description,
						envId: ctx.params.envId,
						actor,
						idempotencyKey: key,
					});
					return { entry: transactionRow(entry), balance: await this.balanceAnswer(ctx, ctx.params.id, entry.balanceAfter) };
				});
			},
		},

		/* ---- internal ---- */

		/**
		 * The one entry point of every money movement: posts and applies a ledger entry, idempotent
		 * by `key` (a replay answers the existing entry and moves nothing). `amount` is signed
		 * micros: charges are negative. Charges follow the account's charge order unless
		 * `mainFirst` is given. A bonus unfund that would go below zero → 422 INSUFFICIENT_BALANCE.
		 */
		post: {
			visibility: "public",
			params: {
				accountId: idRule,
				key: { type: "string", min: 1, max: 400 },
				kind: { type: "enum", values: [...ENTRY_KINDS] },
				amount: { type: "number", integer: true, min: -MAX_MICROS, max: MAX_MICROS },
				description: { type: "string", max: 500 },
				envId: { ...idRule, optional: true },
				toBonus: { type: "boolean", optional: true },
				mainFirst: { type: "boolean", optional: true },
			},
			async handler(this: Self, ctx: Context<NewEntry>) {
				return entryView(await this.postEntry(ctx, ctx.params));
			},
		},

		/** Balance = Σ applied ledger, per account: `[{accountId, balance, ledger, ok, pending}]` in micros. */
		reconcile: {
			visibility: "public",
			params: { accountId: { ...idRule, optional: true } },
			handler(this: Self, ctx: Context<{ accountId?: string }>) {
				return this.ledger.reconcile(ctx.params.accountId);
			},
		},

		/** An account's balances in micros (for other services). */
		/**
		 * Internal (ACC-2): the trial bonus of the account's group, once (keyed). Called at activation
		 * and again by the accounts' hourly trial job, so a lost event or call is made good.
		 */
		grantTrialBonus: {
			visibility: "public",
			params: { accountId: idRule },
			async handler(this: Self, ctx: Context<{ accountId: string }>) {
				return { granted: await this.grantTrialBonus(ctx, ctx.params.accountId) };
			},
		},

		balanceOf: {
			visibility: "public",
			params: { accountId: idRule },
			handler(this: Self, ctx: Context<{ accountId: string }>) {
				return this.ledger.balanceOf(ctx.params.accountId);
			},
		},
	},

	events: {
		/** ACC-2: a new account gets its group's trial bonus, once (the key makes a redelivery harmless). */
		"accounts.created": {
			params: { id: "string" },
			async handler(this: Self, ctx: Context<{ id: string }>) {
				await this.grantTrialBonus(ctx, ctx.params.id).catch(err => this.logger.error(`Trial bonus of account ${ctx.params.id} failed`, err));
			},
		},
	},

	methods: {
		async grantTrialBonus(this: Self, ctx: Context, accountId: string) {
			const bonus = this.moneyQuota(await this.quotaValues(ctx, accountId), "account.trial.bonus");
			if (bonus <= 0) return 0;
			await this.postEntry(ctx, { accountId, key: `bonus:trial:${accountId}`, kind: "bonus", amount: bonus, toBonus: true, description: "Trial bonus" });
			return bonus;
		},

		quotaValues(ctx: Context, accountId: string) {
			return ctx.call<{ group: string; values: QuotaValues }, { accountId: string }>("quotas.effective", { accountId }).then(r => r.values);
		},

		/** A money quota (a decimal string) → micros; absent = 0. */
		moneyQuota(values: QuotaValues, key: string) {
			const v = values[key];
			return v === undefined || v === null ? 0 : parseMoney(v, key);
		},

		async accountExists(ctx: Context, id: string) {
			const found = await ctx.call<{ id: string }[], { ids: string[] }>("accounts.identities", { ids: [id] });
			if (!found.length) throw notFound("Account");
		},

		async postEntry(this: Self, ctx: Context, input: NewEntry) {
			if (input.kind === "charge" && input.amount > 0) throw validationError({ field: "amount", message: "a charge is a negative amount (it takes money)" });
			let mainFirst = input.mainFirst;
			// BIL-3: the charge order is the account's when the entry is posted, kept on the entry.
			if (mainFirst === undefined && input.amount < 0 && !input.toBonus && (input.kind === "charge" || input.kind === "correction")) {
				mainFirst = Number((await this.quotaValues(ctx, input.accountId))["account.charge.balance.first"]) === 1;
			}
			const { entry } = await this.ledger.post({ ...input, mainFirst });
			if (entry.state === "refused") throw insufficientBalance(entry);
			return entry;
		},

		/** GET /billing/balance's shape for the given balances (minBalance from the account's quotas). */
		async balanceAnswer(this: Self, ctx: Context, accountId: string, b: Balance) {
			return balanceView(b, this.moneyQuota(await this.quotaValues(ctx, accountId), "account.minbalance"));
		},
	},

	created(this: Self) {
		this.ledger = new Ledger(this.db.ledger, this.db.balances, entry => {
			if (entry.state !== "applied") return;
			// ACC-4: the first successful refill completes a pending upgrade (accounts listens).
			if (entry.kind === "refill") this.broker.emit("billing.refilled", { accountId: entry.accountId, entryId: entry._id, amount: entry.amountMain });
			// STS-2/STS-3: the account's status is checked after every ledger change.
			this.broker.emit("billing.balance.changed", { accountId: entry.accountId, ...entry.balanceAfter });
		});
		this.idempotency = new Idempotency(this.db.idempotency);
	},
});

export default BillingService;
