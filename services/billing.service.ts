// billing: the ledger core. Every money movement — charge, refill, bonus, adjustment — is one
// ledger entry posted through `billing.post`, applied to the account's main and bonus balances
// by the protocol in services/billing/ledger-store.ts (BIL-2: balance = Σ ledger after a crash at any
// step). Amounts are integer micros (BIL-1, lib/money); charges take bonus first unless the
// account's `account.charge.balance.first` says main (BIL-3) and are never refused for lack of
// money. Admins fund, unfund and charge with an Idempotency-Key (API.md); new trial accounts get
// their trial bonus (ACC-2). Each applied entry is announced as `billing.balance.changed`
// {accountId, main, bonus} (micros), and refills also as `billing.refilled`. Post-paid accounts get
// a monthly invoice of their charges (BIL-6, services/billing/postpaid-invoices.ts). A balance that ever
// differs from Σ its ledger is set from the ledger, at start and by `reconcile`, and
// administrators are told (services/billing/repair.ts). What lives where, and the invariants:
// services/billing/README.md.
import type { Context, Service } from "moleculer";
import { MINUTE } from "../lib/clock";
import { notFound, validationError } from "../lib/errors";
import type { JetStreamQueue, Outcome } from "../lib/jetstream-queue";
import { CURRENCY, parseMoney, type Micros } from "../lib/money";
import { pageOf, pageParams, skipOf } from "../lib/pagination";
import { defineService } from "../lib/service-schema";
import { createDbMixin, type Store } from "../mixins/db.mixin";
import { createJobsMixin } from "../mixins/jobs.mixin";
import { nodeGroupRule, reservedAboveLimit, type NodeGroup } from "../lib/topology-rules";
import { usageQueue, usageStreamMode } from "../lib/usage-stream";
import type { UsageRecord } from "../lib/usage-record";
import { BILLING_COLLECTIONS } from "../models/billing";
import { accountExists, effectiveQuotas, knownGroups, meteringRecords, quotaValues, termsSources } from "./billing/calls";
import { chargeBatch, chargeFromStore } from "./billing/charge-batch";
import { Charger, type ChargeDoc } from "./billing/charging";
import { periodSummary } from "./billing/history";
import { actingAccountId, ownerIdParam } from "../lib/acting-for";
import { readHistory } from "./billing/history-read";
import { Readable } from "stream";
import { modelView, PriceBook, tariffView, type ModelDoc, type ModelInput, type SnapshotDoc, type TariffDoc, type TariffInput } from "./billing/price-book";
import { estimate, pricingView } from "./billing/tariffs";
import { Idempotency, requireIdempotencyKey, type IdempotencyDoc } from "./billing/idempotency";
import type { Balance } from "./billing/ledger";
import { Ledger, type BalanceDoc, type EntryDoc, type NewEntry, type Repair } from "./billing/ledger-store";
import BalanceActions, { balanceJobs, createAutoRefills, createBalanceWatch } from "./billing/balance-actions";
import { ruleView, type AutoRefillDoc, type AutoRefills } from "./billing/auto-refills";
import type { BalanceWatch, NoticeDoc } from "./billing/balance-watch";
import PaymentActions, { createPayments, paymentJobs, type PaymentStores } from "./billing/payment-actions";
import PriceActions from "./billing/price-actions";
import PostPaidActions, { createPostPaid, postPaidJobs } from "./billing/postpaid-actions";
import type { PostPaidInvoices } from "./billing/postpaid-invoices";
import type { Payments } from "./billing/payments";
import { postEntry } from "./billing/posting";
import { repairBalances, type Admin } from "./billing/repair";
import { historyRequest, summaryPeriod, transactionsQuery, type HistoryParams, type TransactionsParams } from "./billing/requests";
import * as rules from "./billing/rules";
import { AccountTermsCache, chargesMainFirst, moneyQuota } from "./billing/terms";
import { balanceView, entryView, transactionRow, type BalanceView, type MoneyAnswer } from "./billing/views";

type Meta = { user?: { id: string; role?: string }; onBehalfOf?: { accountId: string }; idempotencyKey?: string; accept?: string; $responseType?: string };

type Self = Service & {
	db: {
		ledger: Store<EntryDoc>;
		balances: Store<BalanceDoc>;
		idempotency: Store<IdempotencyDoc>;
		env_charges: Store<ChargeDoc>;
		tariffs: Store<TariffDoc>;
		pricing_models: Store<ModelDoc>;
		price_snapshots: Store<SnapshotDoc>;
		auto_refills: Store<AutoRefillDoc>;
		balance_notices: Store<NoticeDoc>;
	} & PaymentStores;
	ledger: Ledger;
	payments: Payments;
	postPaid: PostPaidInvoices;
	autoRefills: AutoRefills;
	balanceWatch: BalanceWatch;
	idempotency: Idempotency;
	priceBook: PriceBook;
	terms: AccountTermsCache;
	charger: Charger;
	queue: JetStreamQueue<UsageRecord> | null;
	chargeRecords(records: UsageRecord[]): Promise<Map<string, Outcome>>;
	grantTrialBonus(ctx: Context, accountId: string): Promise<Micros>;
	adminMovement(ctx: Context<{ id: string }, Meta>, operation: string, idempotencyKey: string, entry: AdminEntry): Promise<MoneyAnswer>;
	postEntry(ctx: Context, input: NewEntry): Promise<EntryDoc>;
	balanceAnswer(ctx: Context, accountId: string, b: Balance): Promise<BalanceView>;
	repairBalances(accountId?: string): Promise<Repair[]>;
	repairAtStart(): Promise<void>;
	startupRepair: Promise<void> | null;
};

/** An administrator's movement of an account's money, before its key and actor are added. */
type AdminEntry = Omit<NewEntry, "accountId" | "key" | "actor" | "idempotencyKey"> & { keyPrefix: string };

/** Hours taken from the stream at once: a replica that dies holds no more than this until they come back. */
const STREAM_BATCH = 100;

/** Pending entries younger than this belong to a request still running: recovery leaves them to it. */
const RECOVER_AFTER_MS = 10_000;

const BillingService = defineService<Self>({
	name: "billing",
	mixins: [createDbMixin(BILLING_COLLECTIONS), createJobsMixin("billing"), PaymentActions, BalanceActions, PriceActions, PostPaidActions],

	jobs: {
		/**
		 * BIL-2: entries left pending by a crash or a lost request are applied, oldest first per
		 * account. (A charge whose entry a crash left unposted is posted when its record is
		 * delivered again: the stream acknowledges only committed charges.)
		 */
		"recover-ledger": {
			cron: "* * * * *",
			async handler(this: Self) {
				return this.ledger.recover(RECOVER_AFTER_MS);
			},
		},
		/**
		 * BIL-2: charges the environment-hours waiting in the usage stream — from JetStream
		 * (distributed; a background consumer also runs all the time) or from metering's store
		 * (embedded). Acknowledged only after the charge is committed.
		 */
		charge: {
			cron: "* * * * *",
			async handler(this: Self) {
				if (this.queue) return this.queue.drain(batch => this.chargeRecords(batch.map(d => d.data)), STREAM_BATCH);
				return chargeFromStore(meteringRecords(this.broker), records => this.chargeRecords(records));
			},
		},
		...paymentJobs,
		...balanceJobs,
		...postPaidJobs,
		/**
		 * BIL-2: proves balance = Σ ledger for every account, after settling what is left pending; a
		 * balance that differs is set from the ledger, logged and told to administrators (it must never happen).
		 */
		reconcile: {
			cron: "41 * * * *",
			leaseMs: 30 * MINUTE,
			async handler(this: Self) {
				await this.ledger.recover(RECOVER_AFTER_MS);
				return (await this.repairBalances()).length;
			},
		},
	},

	actions: {
		/** GET /billing/balance */
		balance: {
			params: { ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ ownerId?: string }, Meta>) {
				const accountId = actingAccountId(ctx.meta, ctx.params.ownerId); // COL-7: a member, the owner's
				return this.balanceAnswer(ctx, accountId, await this.ledger.balanceOf(accountId));
			},
		},

		/** GET /billing/transactions — the applied ledger, newest first (in the order the balance took it). */
		transactions: {
			params: { ...pageParams, ...rules.transactionFilterParams },
			async handler(this: Self, ctx: Context<TransactionsParams & { page: number; pageSize: number }, Meta>) {
				const { page, pageSize } = ctx.params;
				const query = transactionsQuery(actingAccountId(ctx.meta), ctx.params); // COL-7: a member, for a shared envId
				const [rows, total] = await Promise.all([
					this.db.ledger.find(query, { sort: { seq: -1 }, skip: skipOf(page, pageSize), limit: pageSize }),
					this.db.ledger.count(query),
				]);
				return pageOf(rows.map(transactionRow), total, page, pageSize);
			},
		},

		/** POST /admin/accounts/{id}/fund {amount, bonus?, note} — negative amount = unfund (ADM-1). */
		adminFund: {
			params: {
				id: rules.idRule,
				amount: rules.amountRule,
				bonus: { type: "boolean", optional: true },
				note: { type: "string", trim: true, min: 1, max: 500 },
			},
			async handler(this: Self, ctx: Context<{ id: string; amount: string; bonus?: boolean; note: string }, Meta>): Promise<MoneyAnswer> {
				const key = requireIdempotencyKey(ctx.meta.idempotencyKey);
				const amount = parseMoney(ctx.params.amount, "amount");
				if (amount === 0) throw validationError({ field: "amount", message: "must not be zero" });
				await accountExists(ctx, ctx.params.id);
				const kind = amount < 0 ? "adjustment" : ctx.params.bonus ? "bonus" : "refill";
				return this.adminMovement(ctx, "adminFund", key, { keyPrefix: "fund", kind, amount, toBonus: !!ctx.params.bonus, description: ctx.params.note });
			},
		},

		/** POST /admin/accounts/{id}/charge {amount, description, envId?} — never refused for lack of money (BIL-3). */
		adminCharge: {
			params: {
				id: rules.idRule,
				amount: rules.amountRule,
				description: { type: "string", trim: true, min: 1, max: 500 },
				envId: { ...rules.idRule, optional: true },
			},
			async handler(this: Self, ctx: Context<{ id: string; amount: string; description: string; envId?: string }, Meta>): Promise<MoneyAnswer> {
				const key = requireIdempotencyKey(ctx.meta.idempotencyKey);
				const amount = parseMoney(ctx.params.amount, "amount");
				if (amount <= 0) throw validationError({ field: "amount", message: "must be more than 0 (a charge takes money)" });
				await accountExists(ctx, ctx.params.id);
				if (ctx.params.envId !== undefined) {
					const env = await ctx.call<{ ownerId: string } | null, { id: string }>("environments.ownerOf", { id: ctx.params.envId });
					if (!env || env.ownerId !== ctx.params.id) throw notFound(`envId: environment ${ctx.params.envId} of account ${ctx.params.id}`);
				}
				const { description, envId } = ctx.params;
				return this.adminMovement(ctx, "adminCharge", key, { keyPrefix: "admin-charge", kind: "charge", amount: -amount, description, envId });
			},
		},

		/** GET /billing/summary?from&to — debited, refilled and the balance at the end of the period (BIL-4). */
		summary: {
			params: { ...rules.periodParams, ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ from?: string; to?: string; ownerId?: string }, Meta>) {
				const { from, to } = summaryPeriod(ctx.params);
				const accountId = actingAccountId(ctx.meta, ctx.params.ownerId); // COL-7: a member, the owner's
				const applied = await this.db.ledger.find({ accountId, state: "applied", appliedAt: { $gte: from, $lt: to } });
				const [last] = await this.db.ledger.find({ accountId, state: "applied", appliedAt: { $lt: to } }, { sort: { seq: -1 }, limit: 1 });
				return periodSummary({ from, to, applied, balanceAtEnd: last?.balanceAfter });
			},
		},

		/** GET /billing/history — BIL-4, JSON or CSV (`format=csv` or `Accept: text/csv`). */
		history: {
			params: rules.historyParams,
			async handler(this: Self, ctx: Context<HistoryParams, Meta>) {
				const { query, options, csv } = historyRequest(actingAccountId(ctx.meta), ctx.params, ctx.meta.accept); // COL-7: a member, for a shared envId
				const history = await readHistory(this.db.env_charges, query, options, csv);
				// Hourly rows come as a stream of JSON text, serialised when their hours were charged.
				if (csv || history instanceof Readable) ctx.meta.$responseType = csv ? "text/csv; charset=utf-8" : "application/json; charset=utf-8";
				return history;
			},
		},

		/** GET /pricing — my group's tariffs with tiers, hourly and monthly (PRC-3). */
		pricing: {
			params: { ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ ownerId?: string }, Meta>) {
				const { group } = await effectiveQuotas(ctx, actingAccountId(ctx.meta, ctx.params.ownerId)); // COL-7: a member, the owner's prices
				const { model, prices } = await this.priceBook.forGroup(group);
				return { group, model: { id: model._id, name: model.name }, currency: CURRENCY, hoursPerMonth: 730, tariffs: pricingView(prices) };
			},
		},

		/** POST /pricing/estimate {nodes, ssl?} — min (reserved) to max (at scaling limits) per hour/day/month, per layer (PRC-4). */
		estimate: {
			params: {
				nodes: { type: "array", min: 1, max: 50, items: nodeGroupRule },
				ssl: { type: "boolean", optional: true },
				ownerId: ownerIdParam,
			},
			async handler(this: Self, ctx: Context<{ nodes: NodeGroup[]; ssl?: boolean; ownerId?: string }, Meta>) {
				const errors = reservedAboveLimit(ctx.params.nodes);
				if (errors.length) throw validationError(errors);
				const { group } = await effectiveQuotas(ctx, actingAccountId(ctx.meta, ctx.params.ownerId)); // COL-7: the owner's prices
				const { prices } = await this.priceBook.forGroup(group);
				return { ...estimate(ctx.params.nodes, !!ctx.params.ssl, prices), currency: CURRENCY };
			},
		},

		/* ---- internal ---- */

		/** Internal: rates and commits usage records (the charge job's work; also what bench/charge drives). */
		chargeRecords: {
			visibility: "public",
			params: { records: { type: "array", max: 5000, items: { type: "object", strict: false, props: { envId: "string", hour: "number", rev: "number" } } } },
			async handler(this: Self, ctx: Context<{ records: UsageRecord[] }>) {
				const outcomes = await this.chargeRecords(ctx.params.records);
				return { charged: [...outcomes.values()].filter(o => o === "ack").length, failed: [...outcomes.values()].filter(o => o !== "ack").length };
			},
		},

		/**
		 * The one entry point of every money movement: posts and applies a ledger entry, idempotent
		 * by `key` (a replay answers the existing entry and moves nothing). `amount` is signed
		 * micros: charges are negative. Charges follow the account's charge order unless
		 * `mainFirst` is given. A bonus unfund that would go below zero → 422 INSUFFICIENT_BALANCE.
		 */
		post: {
			visibility: "public",
			params: rules.postParams,
			async handler(this: Self, ctx: Context<NewEntry>) {
				return entryView(await this.postEntry(ctx, ctx.params));
			},
		},

		/**
		 * Balance = Σ applied ledger, per account: `[{accountId, balance, ledger, ok, pending}]` in
		 * micros, as found; a balance that differed is repaired from the ledger (`repaired`).
		 */
		reconcile: {
			visibility: "public",
			params: { accountId: { ...rules.idRule, optional: true } },
			handler(this: Self, ctx: Context<{ accountId?: string }>) {
				return this.repairBalances(ctx.params.accountId);
			},
		},

		/**
		 * Internal (ACC-2): the trial bonus of the account's group, once (keyed). Called at activation
		 * and again by the accounts' hourly trial job, so a lost event or call is made good.
		 */
		grantTrialBonus: {
			visibility: "public",
			params: { accountId: rules.idRule },
			async handler(this: Self, ctx: Context<{ accountId: string }>) {
				return { granted: await this.grantTrialBonus(ctx, ctx.params.accountId) };
			},
		},

		/** An account's balances in micros (for other services). */
		balanceOf: {
			visibility: "public",
			params: { accountId: rules.idRule },
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
		/** BIL-2: charges a batch of usage records (services/billing/charge-batch.ts); only committed ones are acknowledged. */
		chargeRecords(this: Self, records: UsageRecord[]) {
			return chargeBatch({ charger: this.charger, logger: this.logger }, records);
		},

		/** ACC-2: the group's `account.trial.bonus`, keyed per account (granted once however often asked). Answers the micros. */
		async grantTrialBonus(this: Self, ctx: Context, accountId: string) {
			const bonus = moneyQuota(await quotaValues(ctx, accountId), "account.trial.bonus");
			if (bonus <= 0) return 0;
			await this.postEntry(ctx, { accountId, key: `bonus:trial:${accountId}`, kind: "bonus", amount: bonus, toBonus: true, description: "Trial bonus" });
			return bonus;
		},

		/** ADM-1: an administrator's movement, once per Idempotency-Key (a replay answers the first answer). */
		adminMovement(this: Self, ctx: Context<{ id: string }, Meta>, operation: string, idempotencyKey: string, { keyPrefix, ...movement }: AdminEntry) {
			const accountId = ctx.params.id;
			const actor = ctx.meta.user!.id;
			return this.idempotency.run({ operation, caller: actor, key: idempotencyKey, body: ctx.params, meta: ctx.meta }, async nonce => {
				const entry = await this.postEntry(ctx, { ...movement, accountId, key: `${keyPrefix}:${accountId}:${nonce}`, actor, idempotencyKey });
				// The balance right after this movement (not "now"): what the stored answer replays.
				return { entry: transactionRow(entry), balance: await this.balanceAnswer(ctx, accountId, entry.balanceAfter) };
			});
		},

		/** Every movement of this service goes through here (services/billing/posting.ts), in the account's charge order now. */
		postEntry(this: Self, ctx: Context, input: NewEntry) {
			return postEntry({ ledger: this.ledger, mainFirstOf: async accountId => chargesMainFirst(await quotaValues(ctx, accountId)) }, input);
		},

		/** BIL-2: sets drifted balances from the ledger and tells administrators. */
		repairBalances(this: Self, accountId?: string) {
			return repairBalances({
				ledger: this.ledger,
				accountId,
				admins: async () => {
					// At start, accounts and notifications may still be starting (or on another node).
					await this.broker.waitForServices(["accounts", "notifications"], 30_000);
					return this.broker.call<Admin[], Record<string, never>>("accounts.admins", {});
				},
				send: async notice => void (await this.broker.call("notifications.send", notice)),
				announce: (id, b) => void this.broker.emit("billing.balance.changed", { accountId: id, ...b }),
				logger: this.logger,
			});
		},

		/** BIL-2, once at start, after what a crash left pending is settled: every balance is checked against its ledger. */
		async repairAtStart(this: Self) {
			const rows = await this.repairBalances();
			const repaired = rows.filter(r => r.repaired).length;
			if (repaired) this.logger.warn(`Start: ${repaired} of ${rows.length} balances were set from their ledger`);
		},

		/** GET /billing/balance's shape for the given balances (minBalance from the account's quotas). */
		async balanceAnswer(this: Self, ctx: Context, accountId: string, b: Balance) {
			const quotas = await quotaValues(ctx, accountId);
			const rule = await this.db.auto_refills.findById(accountId);
			return balanceView(b, moneyQuota(quotas, "account.minbalance"), {
				autoRefill: rule ? ruleView(rule) : null,
				daysLeft: await this.balanceWatch.daysLeft(accountId, b.main + b.bonus, quotas),
			});
		},
	},

	created(this: Self) {
		this.ledger = new Ledger(this.db.ledger, this.db.balances, entry => {
			if (entry.state !== "applied") return;
			// ACC-4: the first successful refill completes a pending upgrade (accounts listens).
			if (entry.kind === "refill") this.broker.emit("billing.refilled", { accountId: entry.accountId, entryId: entry._id, amount: entry.amountMain });
			// STS-2/STS-3: the account's status is checked after every ledger change.
			this.broker.emit("billing.balance.changed", { accountId: entry.accountId, ...entry.balanceAfter });
			this.balanceWatch.forget(entry.accountId);
			// PAY-4: a balanceBelow auto-refill re-armed or fired (once per crossing, whichever replica settles it).
			this.autoRefills
				.balanceMoved(entry.accountId, entry.balanceAfter.main + entry.balanceAfter.bonus)
				.catch(err => this.logger.warn(`Auto-refill of ${entry.accountId}: ${(err as Error).message}`));
		});
		this.idempotency = new Idempotency(this.db.idempotency);
		this.payments = createPayments(this);
		this.postPaid = createPostPaid(this);
		this.autoRefills = createAutoRefills(this);
		this.balanceWatch = createBalanceWatch(this);
		this.priceBook = new PriceBook(this.db.tariffs, this.db.pricing_models, this.db.price_snapshots);
		this.terms = new AccountTermsCache(termsSources(this.broker, this.priceBook));
		this.queue = null;
		this.startupRepair = null;
		this.charger = new Charger({
			charges: this.db.env_charges,
			ledger: {
				post: async e => {
					const { entry } = await this.ledger.post({ ...e });
					if (entry.state === "refused") throw new Error(`Ledger refused charge ${e.key}`);
				},
				posted: async key => ((await this.db.ledger.findOne({ key }))?.state ?? "pending") !== "pending",
			},
			terms: this.terms,
		});
	},

	async started(this: Self) {
		await this.priceBook.seed();
		// Before the first answer: an entry a crash left between the balance and the ledger would
		// show a balance its transactions do not sum to. Only pending entries are read; settling
		// beside a live request of another replica is harmless, hence no age limit here.
		await this.ledger.recover("all");
		// In the background: summing every account's ledger must not hold up the start.
		this.startupRepair = this.repairAtStart().catch(err => this.logger.error("Ledger recovery and balance repair at start failed", err));
		if (usageStreamMode() === "jetstream") {
			this.queue = usageQueue(this.logger);
			await this.queue.connect();
			// BIL-2: replicas share the durable consumer and split the hours between them.
			this.queue.start(batch => this.chargeRecords(batch.map(d => d.data)), STREAM_BATCH);
		}
	},

	async stopped(this: Self) {
		// Graceful: the batch in hand is charged and acknowledged before the connection closes.
		await this.queue?.close();
		// Before the stores close.
		await this.startupRepair;
	},
});

export default BillingService;
