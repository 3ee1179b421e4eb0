// billing: the ledger core. Every money movement — charge, refill, bonus, adjustment — is one
// ledger entry posted through `billing.post`, applied to the account's main and bonus balances
// by the protocol in services/billing/store.ts (BIL-2: balance = Σ ledger after a crash at any
// step). Amounts are integer micros (BIL-1, lib/money); charges take bonus first unless the
// account's `account.charge.balance.first` says main (BIL-3) and are never refused for lack of
// money. Admins fund, unfund and charge with an Idempotency-Key (API.md); new trial accounts get
// their trial bonus (ACC-2). Each applied entry is announced as `billing.balance.changed`
// {accountId, main, bonus} (micros), and refills also as `billing.refilled`. A balance that ever
// differs from Σ its ledger is set from the ledger, at start and by `reconcile`, and
// administrators are told (services/billing/repair.ts).
import type { Context, Service } from "moleculer";
import { MINUTE, now } from "../lib/clock";
import { insufficientBalance as insufficientBalanceError, notFound, validationError, type FieldError } from "../lib/errors";
import { groupBy } from "../lib/group-by";
import type { Delivery, JetStreamQueue, Outcome } from "../lib/jetstream-queue";
import { CURRENCY, formatExact, MAX_MICROS, parseMoney, type Micros } from "../lib/money";
import { checkPeriod, timeParam, tzOffsetMinutes, TZ_OFFSET_MESSAGE } from "../lib/time-params";
import { pageOf, pageParams, skipOf } from "../lib/pagination";
import { defineService } from "../lib/service-schema";
import { TtlCache } from "../lib/ttl-cache";
import { createDbMixin, type Store } from "../mixins/db.mixin";
import { createJobsMixin } from "../mixins/jobs.mixin";
import { nodeGroupRule, reservedAboveLimit, type NodeGroup } from "../lib/topology-rules";
import { usageQueue, usageStreamMode } from "../lib/usage-stream";
import { recordId, type UsageRecord } from "../lib/usage-record";
import { balances, charges, HISTORY_FIELDS, idempotency, ledger, priceSnapshots, pricingModels, tariffs } from "../models/billing";
import { Charger, type AccountTerms, type ChargeDoc } from "./billing/charging";
import { INTERVALS, type Interval } from "./billing/history";
import { readHistory } from "./billing/history-read";
import { modelView, PriceBook, tariffView, type ModelDoc, type ModelInput, type SnapshotDoc, type TariffDoc, type TariffInput } from "./billing/price-book";
import { estimate, pricingView } from "./billing/tariffs";
import { Idempotency, requireIdempotencyKey, type IdempotencyDoc } from "./billing/idempotency";
import { ENTRY_KINDS, type Balance, type EntryKind } from "./billing/ledger";
import { Ledger, type BalanceDoc, type EntryDoc, type NewEntry, type Repair } from "./billing/store";
import { repairBalances, type Admin } from "./billing/repair";
import { balanceView, transactionRow, type BalanceView, type TransactionRow } from "./billing/views";

type QuotaValues = Record<string, number | string>;
type Meta = { user?: { id: string; role?: string }; idempotencyKey?: string; accept?: string; $responseType?: string };

type Self = Service & {
	db: {
		ledger: Store<EntryDoc>;
		balances: Store<BalanceDoc>;
		idempotency: Store<IdempotencyDoc>;
		env_charges: Store<ChargeDoc>;
		tariffs: Store<TariffDoc>;
		pricing_models: Store<ModelDoc>;
		price_snapshots: Store<SnapshotDoc>;
	};
	ledger: Ledger;
	idempotency: Idempotency;
	priceBook: PriceBook;
	charger: Charger;
	queue: JetStreamQueue<UsageRecord> | null;
	terms: TtlCache<string, { group: string; mainFirst: boolean; staff: boolean }>;
	termsOf(accountId: string): Promise<AccountTerms>;
	chargeRecords(records: UsageRecord[]): Promise<Map<string, Outcome>>;
	chargeFromStore(): Promise<number>;
	knownGroups(ctx: Context): Promise<string[]>;
	quotaValues(ctx: Context, accountId: string): Promise<QuotaValues>;
	grantTrialBonus(ctx: Context, accountId: string): Promise<Micros>;
	moneyQuota(values: QuotaValues, key: string): Micros;
	accountExists(ctx: Context, id: string): Promise<void>;
	postEntry(ctx: Context, input: NewEntry): Promise<EntryDoc>;
	balanceAnswer(ctx: Context, accountId: string, b: Balance): Promise<BalanceView>;
	repairBalances(accountId?: string): Promise<Repair[]>;
	repairAtStart(): Promise<void>;
	startupRepair: Promise<void> | null;
};

export interface MoneyAnswer {
	entry: TransactionRow;
	balance: BalanceView;
}

/** Hours taken from the stream at once: a replica that dies holds no more than this until they come back. */
const STREAM_BATCH = 100;

/** Pending entries younger than this belong to a request still running: recovery leaves them to it. */
const RECOVER_AFTER_MS = 10_000;

const idRule = { type: "string", min: 1, max: 64 } as const;
const amountRule = { type: "string", min: 1, max: 40 } as const;
const slugRule = {
	type: "string",
	pattern: /^[a-z0-9][a-z0-9._-]{0,63}$/,
	messages: { stringPattern: "must be 1-64 lower-case letters, digits, dots, dashes or underscores" },
} as const;
const nameRule = { type: "string", trim: true, min: 1, max: 100 } as const;
const descriptionRule = { type: "string", trim: true, max: 500, optional: true } as const;
const modeRule = { type: "enum", values: ["volume", "graduated"], optional: true } as const;
// Checked in depth by tariffErrors (services/billing/tariffs.ts), which names each bad tier.
const tiersRule = {
	type: "array",
	min: 1,
	max: 20,
	items: { type: "object", props: { from: { type: "number" }, price: { type: "string", max: 40 } } },
} as const;
const groupsRule = { type: "array", items: { type: "string", min: 1, max: 64 }, max: 50, optional: true } as const;

function insufficientBalance(entry: EntryDoc) {
	const available = formatExact(entry.balanceAfter.bonus);
	return insufficientBalanceError(`amount: would take the bonus balance below zero (it holds ${available})`, {
		field: "amount",
		balance: entry.refusal || "bonus",
		available,
		requested: formatExact(entry.requested),
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

const BillingService = defineService<Self>({
	name: "billing",
	mixins: [createDbMixin([ledger, balances, idempotency, charges, tariffs, pricingModels, priceSnapshots]), createJobsMixin("billing")],

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
				if (this.queue) return this.queue.drain(batch => this.chargeRecords(batch.map((d: Delivery<UsageRecord>) => d.data)), STREAM_BATCH);
				return this.chargeFromStore();
			},
		},
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
				checkPeriod(from, to, errors);
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
				return this.idempotency.run({ operation: "adminFund", caller: actor, key, body: ctx.params, meta: ctx.meta }, async nonce => {
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
				if (ctx.params.envId !== undefined) {
					const env = await ctx.call<{ ownerId: string } | null, { id: string }>("environments.ownerOf", { id: ctx.params.envId });
					if (!env || env.ownerId !== ctx.params.id) throw notFound(`envId: environment ${ctx.params.envId} of account ${ctx.params.id}`);
				}
				const actor = ctx.meta.user!.id;
				return this.idempotency.run({ operation: "adminCharge", caller: actor, key, body: ctx.params, meta: ctx.meta }, async nonce => {
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

		/** GET /billing/summary?from&to — debited, refilled and the balance at the end of the period (BIL-4). */
		summary: {
			params: { from: { type: "string", max: 40, optional: true }, to: { type: "string", max: 40, optional: true } },
			async handler(this: Self, ctx: Context<{ from?: string; to?: string }, Meta>) {
				const errors: FieldError[] = [];
				const to = timeParam(ctx.params.to, "to", errors) ?? now();
				const from = timeParam(ctx.params.from, "from", errors) ?? new Date(Date.UTC(to.getUTCFullYear(), to.getUTCMonth(), 1));
				if (!errors.length) checkPeriod(from, to, errors);
				if (errors.length) throw validationError(errors);
				const accountId = ctx.meta.user!.id;
				const rows = await this.db.ledger.find({ accountId, state: "applied", appliedAt: { $gte: from, $lt: to } });
				const sum = (kinds: string[]) => rows.filter(e => kinds.includes(e.kind)).reduce((a, e) => a + e.amountMain + e.amountBonus, 0);
				const [last] = await this.db.ledger.find({ accountId, state: "applied", appliedAt: { $lt: to } }, { sort: { seq: -1 }, limit: 1 });
				const b = last?.balanceAfter ?? { main: 0, bonus: 0 };
				return {
					from: from.toISOString(),
					to: to.toISOString(),
					debited: formatExact(-sum(["charge", "correction"])),
					refilled: formatExact(sum(["refill"])),
					bonus: formatExact(sum(["bonus"])),
					adjusted: formatExact(sum(["adjustment"])),
					balance: { main: formatExact(b.main), bonus: formatExact(b.bonus), total: formatExact(b.main + b.bonus) },
					currency: CURRENCY,
				};
			},
		},

		/** GET /billing/history — BIL-4, JSON or CSV (`format=csv` or `Accept: text/csv`). */
		history: {
			params: {
				from: { type: "string", max: 40, optional: true },
				to: { type: "string", max: 40, optional: true },
				interval: { type: "string", max: 10, optional: true },
				groupByLayer: { type: "boolean", convert: true, optional: true },
				envId: { ...idRule, optional: true },
				tzOffset: { type: "string", max: 10, optional: true },
				format: { type: "enum", values: ["json", "csv"], optional: true },
			},
			async handler(
				this: Self,
				ctx: Context<{ from?: string; to?: string; interval?: string; groupByLayer?: boolean; envId?: string; tzOffset?: string; format?: string }, Meta>,
			) {
				const errors: FieldError[] = [];
				const to = timeParam(ctx.params.to, "to", errors) ?? now();
				const from = timeParam(ctx.params.from, "from", errors) ?? new Date(Date.UTC(to.getUTCFullYear(), to.getUTCMonth(), 1));
				if (!errors.length) checkPeriod(from, to, errors);
				if (!errors.length && to.getTime() - from.getTime() > 400 * 24 * 3_600_000)
					errors.push({ field: "from", message: "the period may span at most 400 days" });
				const interval = (ctx.params.interval ?? "DAY").toUpperCase() as Interval;
				if (!INTERVALS.includes(interval)) errors.push({ field: "interval", message: `must be one of ${INTERVALS.join(", ")}` });
				const tz = tzOffsetMinutes(ctx.params.tzOffset);
				if (tz === null) errors.push({ field: "tzOffset", message: TZ_OFFSET_MESSAGE });
				if (errors.length) throw validationError(errors);
				const query: Record<string, unknown> = { accountId: ctx.meta.user!.id };
				if (ctx.params.envId) query.envId = ctx.params.envId;
				const o = { from: from.getTime(), to: to.getTime(), interval, tzOffsetMinutes: tz as number, groupByLayer: !!ctx.params.groupByLayer };
				const csv = ctx.params.format === "csv" || (!ctx.params.format && /text\/csv/.test(ctx.meta.accept ?? ""));
				const history = await readHistory(this.db.env_charges, query, o, csv);
				// Hourly rows come as JSON text, serialised when their hours were charged.
				if (csv || typeof history === "string") ctx.meta.$responseType = csv ? "text/csv; charset=utf-8" : "application/json; charset=utf-8";
				return history;
			},
		},

		/** GET /pricing — my group's tariffs with tiers, hourly and monthly (PRC-3). */
		pricing: {
			params: {},
			async handler(this: Self, ctx: Context<Record<string, never>, Meta>) {
				const { group } = await ctx.call<{ group: string }, { accountId: string }>("quotas.effective", { accountId: ctx.meta.user!.id });
				const { model, prices } = await this.priceBook.forGroup(group);
				return { group, model: { id: model._id, name: model.name }, currency: CURRENCY, hoursPerMonth: 730, tariffs: pricingView(prices) };
			},
		},

		/** POST /pricing/estimate {nodes, ssl?} — min (reserved) to max (at scaling limits) per hour/day/month, per layer (PRC-4). */
		estimate: {
			params: {
				nodes: { type: "array", min: 1, max: 50, items: nodeGroupRule },
				ssl: { type: "boolean", optional: true },
			},
			async handler(this: Self, ctx: Context<{ nodes: NodeGroup[]; ssl?: boolean }, Meta>) {
				const errors = reservedAboveLimit(ctx.params.nodes);
				if (errors.length) throw validationError(errors);
				const { group } = await ctx.call<{ group: string }, { accountId: string }>("quotas.effective", { accountId: ctx.meta.user!.id });
				const { prices } = await this.priceBook.forGroup(group);
				return { ...estimate(ctx.params.nodes, !!ctx.params.ssl, prices), currency: CURRENCY };
			},
		},

		/* ---- admin: tariffs and pricing models (PRC-1, ADM-1) ---- */

		adminTariffs: {
			params: {},
			async handler(this: Self) {
				return (await this.priceBook.listTariffs()).map(tariffView);
			},
		},
		adminCreateTariff: {
			params: {
				id: { ...slugRule, optional: true },
				name: nameRule,
				resource: { type: "string", min: 1, max: 80 },
				mode: modeRule,
				tiers: tiersRule,
				description: descriptionRule,
			},
			async handler(this: Self, ctx: Context<TariffInput>) {
				return tariffView(await this.priceBook.createTariff(ctx.params));
			},
		},
		adminEditTariff: {
			params: { id: slugRule, name: { ...nameRule, optional: true }, mode: modeRule, tiers: { ...tiersRule, optional: true }, description: descriptionRule },
			async handler(this: Self, ctx: Context<TariffInput & { id: string }>) {
				const { id, ...input } = ctx.params;
				return tariffView(await this.priceBook.editTariff(id, input));
			},
		},
		adminModels: {
			params: {},
			async handler(this: Self) {
				return (await this.priceBook.listModels()).map(modelView);
			},
		},
		adminCreateModel: {
			params: { id: slugRule, name: nameRule, description: descriptionRule, tariffs: { type: "array", items: slugRule, max: 50 }, groups: groupsRule },
			async handler(this: Self, ctx: Context<ModelInput>) {
				return modelView(await this.priceBook.createModel(ctx.params, await this.knownGroups(ctx)));
			},
		},
		adminEditModel: {
			params: {
				id: slugRule,
				name: { ...nameRule, optional: true },
				description: descriptionRule,
				tariffs: { type: "array", items: slugRule, max: 50, optional: true },
				groups: groupsRule,
			},
			async handler(this: Self, ctx: Context<ModelInput & { id: string }>) {
				const { id, ...input } = ctx.params;
				return modelView(await this.priceBook.editModel(id, input, await this.knownGroups(ctx)));
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

		/**
		 * Balance = Σ applied ledger, per account: `[{accountId, balance, ledger, ok, pending}]` in
		 * micros, as found; a balance that differed is repaired from the ledger (`repaired`).
		 */
		reconcile: {
			visibility: "public",
			params: { accountId: { ...idRule, optional: true } },
			handler(this: Self, ctx: Context<{ accountId?: string }>) {
				return this.repairBalances(ctx.params.accountId);
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
		/**
		 * The account's prices and charge order. Its group and charge order are kept a few seconds
		 * (a batch of hours asks once per account); prices come from the price book, whose cache an
		 * edit here clears at once.
		 */
		async termsOf(this: Self, accountId: string) {
			let hit = this.terms.get(accountId, Date.now());
			if (!hit) {
				const [{ group, values }, who] = await Promise.all([
					this.broker.call<{ group: string; values: QuotaValues }, { accountId: string }>("quotas.effective", { accountId }),
					this.broker.call<{ role: string } | null, { id: string }>("accounts.identity", { id: accountId }),
				]);
				hit = { group, mainFirst: Number(values["account.charge.balance.first"]) === 1, staff: who?.role === "admin" };
				this.terms.set(accountId, hit, Date.now());
			}
			const { prices, pricesId } = await this.priceBook.forGroup(hit.group);
			return { prices, pricesId, mainFirst: hit.mainFirst, staff: hit.staff };
		},

		/**
		 * Charges a batch of records: accounts side by side, one account's hours one after the
		 * other (its balance takes one entry at a time anyway). A record that fails is retried later.
		 */
		async chargeRecords(this: Self, records: UsageRecord[]) {
			const outcomes = new Map<string, Outcome>();
			const queues = [...groupBy(records, r => r.ownerId).values()];
			const worker = async () => {
				for (let list = queues.pop(); list; list = queues.pop()) {
					for (const r of list) {
						try {
							await this.charger.chargeEnvironmentHour(r);
							outcomes.set(recordId(r), "ack");
						} catch (err) {
							this.logger.error(`Charging environment-hour ${recordId(r)} failed; it will be retried`, err);
							outcomes.set(recordId(r), "retry");
						}
					}
				}
			};
			// 64 accounts at once: each waits for the fsync of its writes, and the more write side by
			// side, the more share one (group commit; 16 → 64 took charging from ~940 to ~1,380/s).
			await Promise.all(Array.from({ length: Math.min(64, queues.length) }, worker));
			return outcomes;
		},

		/** Embedded mode: pulls records from metering's store, charges them, acknowledges the committed ones. */
		async chargeFromStore(this: Self) {
			let acked = 0;
			for (;;) {
				const records = await this.broker.call<UsageRecord[], { limit: number }>("metering.nextRecords", { limit: 500 });
				if (!records.length) return acked;
				const outcomes = await this.chargeRecords(records);
				const done = records.filter(r => outcomes.get(recordId(r)) === "ack").map(r => ({ envId: r.envId, hour: r.hour, rev: r.rev }));
				if (done.length) await this.broker.call("metering.ackRecords", { records: done });
				acked += done.length;
				if (done.length < records.length) return acked; // failures wait for the next run
			}
		},

		async knownGroups(ctx: Context) {
			return (await ctx.call<{ name: string }[], Record<string, never>>("accounts.listGroups", {})).map(g => g.name);
		},

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
		this.priceBook = new PriceBook(this.db.tariffs, this.db.pricing_models, this.db.price_snapshots);
		this.terms = new TtlCache(5_000, 50_000);
		this.queue = null;
		this.startupRepair = null;
		this.charger = new Charger(
			this.db.env_charges,
			async e => {
				const { entry } = await this.ledger.post({ ...e });
				if (entry.state === "refused") throw new Error(`Ledger refused charge ${e.key}`);
			},
			async key => ((await this.db.ledger.findOne({ key }))?.state ?? "pending") !== "pending",
			accountId => this.termsOf(accountId),
			id => this.priceBook.pricesById(id),
		);
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
