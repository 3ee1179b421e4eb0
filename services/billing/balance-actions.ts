// Balances that look after themselves: PAY-4's GET/PUT/DELETE /billing/auto-refill and the
// AutoRefills behind it (the ledger's settlements call into it: billing.service.ts), BIL-5's
// BalanceWatch (low-balance and forecast notices, GET /billing/balance's daysLeft), and their jobs
// `billing.auto-refill` and `billing.low-balance` (spread into the service's jobs).
import type { Context, Service } from "moleculer";
import { publicUrl } from "../../lib/config";
import { validationError } from "../../lib/errors";
import { parseMoney } from "../../lib/money";
import { defineService } from "../../lib/service-schema";
import type { Store } from "../../mixins/db.mixin";
import { CONDITIONS, knownTimeZone, type AutoRefillRule, type ConditionType } from "./auto-refill";
import { AutoRefills, ruleView, type AutoRefillDoc } from "./auto-refills";
import { BalanceWatch, type NoticeDoc } from "./balance-watch";
import { quotaValues } from "./calls";
import type { BalanceDoc, EntryDoc, Ledger } from "./ledger-store";
import type { PaymentMethodDoc, Payments } from "./payments";
import { refillAmount } from "./payment-actions";
import { cardProviders } from "./providers";
import { amountRule, idRule } from "./rules";

type Meta = { user?: { id: string } };

type Self = Service & {
	db: {
		auto_refills: Store<AutoRefillDoc>;
		payment_methods: Store<PaymentMethodDoc>;
		balance_notices: Store<NoticeDoc>;
		balances: Store<BalanceDoc>;
		ledger: Store<EntryDoc>;
	};
	payments: Payments;
	ledger: Ledger;
	autoRefills: AutoRefills;
	balanceWatch: BalanceWatch;
};

interface RuleInput {
	amount: string;
	paymentMethodId: string;
	condition: { type: ConditionType; threshold?: string };
	timeZone?: string;
}

/** The default gap between two firings of a balanceBelow rule (`billing.autorefill.min.gap.minutes`). */
const MIN_GAP_MINUTES = 60;

/** The account's AutoRefills: the stores, the card providers, and calls back into billing. */
export function createAutoRefills(svc: Pick<Self, "db" | "broker" | "logger" | "ledger"> & { payments: Payments }): AutoRefills {
	return new AutoRefills({
		rules: svc.db.auto_refills,
		methods: svc.db.payment_methods,
		providers: cardProviders(),
		payments: () => svc.payments,
		balance: async accountId => {
			const b = await svc.ledger.balanceOf(accountId);
			return b.main + b.bonus;
		},
		minGapMs: async accountId => {
			const minutes = Number((await quotaValues(svc.broker as unknown as Context, accountId))["billing.autorefill.min.gap.minutes"] ?? MIN_GAP_MINUTES);
			return minutes * 60_000;
		},
		tell: (accountId, template, data, dedupKey) => tell(svc, accountId, template, data, dedupKey),
		announce: (event, payload) => void svc.broker.emit(event, payload),
		log: message => svc.logger.warn(message),
	});
}

/** An email (and in-app notice) to the account, deduplicated by `dedupKey`. */
export async function tell(svc: Pick<Self, "broker">, accountId: string, template: string, data: Record<string, string>, dedupKey: string) {
	const { email } = await svc.broker.call<{ email: string }, { id: string }>("accounts.billingContact", { id: accountId });
	await svc.broker.call("notifications.send", { template, to: email, accountId, dedupKey, data: { link: `${publicUrl()}/account/billing`, ...data } });
}

/** The account's BalanceWatch (BIL-5). */
export function createBalanceWatch(svc: Pick<Self, "db" | "broker" | "logger">): BalanceWatch {
	return new BalanceWatch({
		balances: svc.db.balances,
		entries: svc.db.ledger,
		notices: svc.db.balance_notices,
		autoRefillOn: async accountId => !!(await svc.db.auto_refills.findById(accountId))?.enabled,
		quotas: accountId => quotaValues(svc.broker as unknown as Context, accountId),
		tell: (accountId, template, data, dedupKey) => tell(svc, accountId, template, data, dedupKey),
		announce: (event, payload) => void svc.broker.emit(event, payload),
		log: message => svc.logger.warn(message),
	});
}

/** The jobs of both (billing.service.ts spreads them into its own: a mixin's `jobs` would be overwritten). */
export const balanceJobs = {
	/** PAY-4: weekly and monthly rules in their periods, balanceBelow rules after their gap, interrupted firings finished. */
	"auto-refill": {
		cron: "*/5 * * * *",
		handler(this: Self) {
			return this.autoRefills.run();
		},
	},
	/** BIL-5: low-balance and forecast notices. */
	"low-balance": {
		cron: "17 * * * *",
		handler(this: Self) {
			return this.balanceWatch.run();
		},
	},
};

/** The rule as PUT asks for it, checked: the amount within the refill limits, a threshold only (and always) for balanceBelow. */
async function ruleOf(ctx: Context<RuleInput, Meta>): Promise<AutoRefillRule> {
	const { amount, paymentMethodId, condition, timeZone = "UTC" } = ctx.params;
	const rule: AutoRefillRule = {
		amount: refillAmount(amount, await quotaValues(ctx, ctx.meta.user!.id)),
		paymentMethodId,
		condition: { type: condition.type },
		timeZone,
	};
	if (!knownTimeZone(timeZone)) throw validationError({ field: "timeZone", message: "must be an IANA time zone such as Europe/Berlin" });
	if (condition.type === "balanceBelow") {
		if (condition.threshold === undefined) throw validationError({ field: "condition.threshold", message: "is required for balanceBelow" });
		rule.condition.threshold = parseMoney(condition.threshold, "condition.threshold");
		if (rule.condition.threshold < 0) throw validationError({ field: "condition.threshold", message: "must not be negative" });
	} else if (condition.threshold !== undefined)
		throw validationError({ field: "condition.threshold", message: `applies to balanceBelow only, not ${condition.type}` });
	return rule;
}

const BalanceActions = defineService<Self>({
	name: "billing",

	actions: {
		/** GET /billing/auto-refill */
		autoRefill: {
			params: {},
			async handler(this: Self, ctx: Context<Record<string, never>, Meta>) {
				return ruleView(await this.autoRefills.get(ctx.meta.user!.id));
			},
		},
		/** PUT /billing/auto-refill {amount, paymentMethodId, condition: {type, threshold?}, timeZone?} */
		setAutoRefill: {
			params: {
				amount: amountRule,
				paymentMethodId: idRule,
				condition: {
					type: "object",
					strict: true,
					props: { type: { type: "enum", values: [...CONDITIONS] }, threshold: { ...amountRule, optional: true } },
				},
				timeZone: { type: "string", min: 1, max: 64, optional: true },
			},
			async handler(this: Self, ctx: Context<RuleInput, Meta>) {
				return ruleView(await this.autoRefills.put(ctx.meta.user!.id, await ruleOf(ctx)));
			},
		},
		/** DELETE /billing/auto-refill */
		deleteAutoRefill: {
			params: {},
			async handler(this: Self, ctx: Context<Record<string, never>, Meta>) {
				await this.autoRefills.remove(ctx.meta.user!.id);
			},
		},
	},
});

export default BalanceActions;
