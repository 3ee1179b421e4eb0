// PAY-4: auto-refill rules kept and fired (the rules themselves: auto-refill.ts). A firing is one
// conditional update of the rule — the period taken, or the crossing disarmed — that only one
// caller wins, two replicas and a hundred concurrent charges alike; the refill then goes through
// Payments.refill under the firing's key (`autorefill:<account>:<period or crossing>`), so a crash
// between the two is finished by the job with the same invoice and payment, never a second one.
import { now } from "../../lib/clock";
import { notFound, validationError } from "../../lib/errors";
import { formatMoney, type Micros } from "../../lib/money";
import { DuplicateKeyError, type Doc, type Store } from "../../mixins/db.mixin";
import { dueFiring, MAX_FAILURES, periodOf, type AutoRefillRule, type RuleState } from "./auto-refill";
import { isFinal } from "./payment-states";
import { keyedId, type PaymentDoc, type PaymentMethodDoc, type Payments } from "./payments";
import type { PaymentProvider } from "./payment-provider";

export interface AutoRefillDoc extends Doc, AutoRefillRule, RuleState {
	/** firings so far: names a balanceBelow rule's next crossing */
	firings: number;
	/** the key of the firing under way, until its payment is known ("" when none) */
	firing: string;
	failures: number;
	/** why the rule was turned off, if it was */
	disabledReason: string;
	createdAt: Date;
	updatedAt: Date;
}

export interface AutoRefillsDeps {
	rules: Store<AutoRefillDoc>;
	methods: Store<PaymentMethodDoc>;
	providers: Map<string, PaymentProvider>;
	payments: () => Payments;
	balance(accountId: string): Promise<Micros>;
	/** `billing.autorefill.min.gap.minutes` of the account */
	minGapMs(accountId: string): Promise<number>;
	/** an email to the account: the 3-D Secure link, or the rule turned off */
	tell(accountId: string, template: "autorefill-action" | "autorefill-disabled", data: Record<string, string>, dedupKey: string): Promise<void>;
	announce(event: "billing.autorefill.failed", payload: Record<string, unknown>): void;
	log(message: string): void;
}

const EPOCH = new Date(0);
/** A firing whose payment is not recorded after this was interrupted: the job finishes it. */
const STALE_FIRING_MS = 2 * 60_000;

export function ruleView(r: AutoRefillDoc) {
	return {
		amount: formatMoney(r.amount),
		paymentMethodId: r.paymentMethodId,
		condition: { type: r.condition.type, ...(r.condition.threshold !== undefined ? { threshold: formatMoney(r.condition.threshold) } : {}) },
		timeZone: r.timeZone,
		enabled: r.enabled,
		pending: !!r.pendingPaymentId || !!r.firing,
		failures: r.failures,
		...(r.disabledReason ? { disabledReason: r.disabledReason } : {}),
		lastFiredAt: +r.lastFiredAt ? new Date(r.lastFiredAt).toISOString() : null,
	};
}

export class AutoRefills {
	constructor(private d: AutoRefillsDeps) {}

	async get(accountId: string): Promise<AutoRefillDoc> {
		const r = await this.d.rules.findById(accountId);
		if (!r) throw notFound("Auto-refill");
		return r;
	}

	/** PUT: the account's rule, replaced; only a method its provider can charge unattended. */
	async put(accountId: string, rule: AutoRefillRule): Promise<AutoRefillDoc> {
		const method = await this.d.methods.findOne({ _id: rule.paymentMethodId, accountId });
		if (!method) throw validationError({ field: "paymentMethodId", message: "no such payment method of this account" });
		const provider = this.d.providers.get(method.provider);
		if (!provider?.canChargeUnattended(method))
			throw validationError({ field: "paymentMethodId", message: "this payment method cannot be charged without you present (add a card that can)" });
		const at = now();
		const { condition } = rule;
		const set = {
			...rule,
			enabled: true,
			// A new period rule fires from the next period on; a threshold rule from the next crossing.
			lastPeriod: condition.type === "balanceBelow" ? "" : periodOf(condition.type, at, rule.timeZone),
			armed: condition.type === "balanceBelow" && (await this.d.balance(accountId)) >= (condition.threshold ?? 0),
			failures: 0,
			disabledReason: "",
			updatedAt: at,
		};
		const saved = await this.d.rules.updateOne({ _id: accountId }, { $set: set });
		if (saved) return saved;
		const fresh: AutoRefillDoc = { _id: accountId, ...set, firings: 0, firing: "", pendingPaymentId: "", lastFiredAt: EPOCH, createdAt: at };
		try {
			return await this.d.rules.insert(fresh);
		} catch (err) {
			if (!(err instanceof DuplicateKeyError)) throw err;
			return (await this.d.rules.updateOne({ _id: accountId }, { $set: set }))!; // a concurrent PUT made it first
		}
	}

	async remove(accountId: string): Promise<void> {
		if (!(await this.d.rules.remove({ _id: accountId }))) throw notFound("Auto-refill");
	}

	/** After a ledger entry of the account: a balanceBelow rule re-armed at or above its threshold, or fired below it. */
	async balanceMoved(accountId: string, balance: Micros): Promise<void> {
		const r = await this.d.rules.findById(accountId);
		if (!r || !r.enabled || r.condition.type !== "balanceBelow") return;
		if (balance >= (r.condition.threshold ?? 0)) {
			if (!r.armed) await this.d.rules.updateOne({ _id: r._id, armed: false }, { $set: { armed: true, updatedAt: now() } });
			return;
		}
		await this.tryFire(r, balance);
	}

	/** The job: period rules due, threshold rules below after the gap, interrupted firings finished. */
	async run(): Promise<number> {
		let fired = 0;
		for (const r of await this.d.rules.find({ enabled: true })) {
			try {
				if (r.firing && now().getTime() - new Date(r.updatedAt).getTime() > STALE_FIRING_MS) {
					await this.refill(r, r.firing);
					continue;
				}
				const balance = r.condition.type === "balanceBelow" ? await this.d.balance(r._id) : 0;
				if (balance >= (r.condition.threshold ?? 0) && r.condition.type === "balanceBelow") await this.balanceMoved(r._id, balance);
				else if (await this.tryFire(r, balance)) fired++;
			} catch (err) {
				this.d.log(`Auto-refill of ${r._id}: ${(err as Error).message}`);
			}
		}
		return fired;
	}

	/** Fires `r` if it is due: true if this call took the firing. */
	private async tryFire(r: AutoRefillDoc, balance: Micros): Promise<boolean> {
		const key = dueFiring(r, r, { now: now(), balance, minGapMs: await this.d.minGapMs(r._id), crossing: r.firings + 1 });
		if (!key || r.firing) return false;
		const firing = `autorefill:${r._id}:${key}`;
		const taken = await this.d.rules.updateOne(
			{
				_id: r._id,
				enabled: true,
				firing: "",
				pendingPaymentId: "",
				firings: r.firings,
				...(r.condition.type === "balanceBelow" ? { armed: true } : { lastPeriod: r.lastPeriod }),
			},
			{
				$set: { firing, lastFiredAt: now(), updatedAt: now(), ...(r.condition.type === "balanceBelow" ? { armed: false } : { lastPeriod: key }) },
				$inc: { firings: 1 },
			},
		);
		if (!taken) return false;
		await this.refill(taken, firing);
		return true;
	}

	/** The firing's refill (the same invoice and payment when called again), its payment recorded on the rule. */
	private async refill(r: AutoRefillDoc, firing: string): Promise<void> {
		let payment: PaymentDoc;
		try {
			({ payment } = await this.d.payments().refill(r._id, r.amount, r.paymentMethodId, firing));
		} catch (err) {
			// Refused before any payment (the card was removed or has expired): a failure like a declined one.
			if (await this.d.rules.updateOne({ _id: r._id, firing }, { $set: { firing: "", updatedAt: now() } })) await this.failed(r._id, (err as Error).message);
			return;
		}
		if (isFinal(payment.status)) return this.finished(payment); // (a no-op if its report got there first)
		await this.d.rules.updateOne({ _id: r._id, firing }, { $set: { firing: "", pendingPaymentId: payment._id, updatedAt: now() } });
		if (payment.status === "requires_action" && payment.actionUrl)
			await this.d.tell(r._id, "autorefill-action", { amount: formatMoney(r.amount), link: payment.actionUrl }, `autorefill-action:${payment._id}`);
	}

	/**
	 * A payment reached its end (Payments calls this for every report of it): if it is the rule's —
	 * recorded, or its firing's, not recorded yet — the rule takes the outcome, once.
	 */
	async finished(p: PaymentDoc): Promise<void> {
		const r = await this.d.rules.findById(p.accountId);
		if (!r) return;
		const byFiring = !!r.firing && keyedId("pay", r.firing) === p._id;
		if (!byFiring && r.pendingPaymentId !== p._id) return;
		const taken = await this.d.rules.updateOne(byFiring ? { _id: r._id, firing: r.firing } : { _id: r._id, pendingPaymentId: p._id }, {
			$set: { firing: "", pendingPaymentId: "", updatedAt: now(), ...(p.status === "succeeded" ? { failures: 0 } : {}) },
		});
		if (taken && p.status !== "succeeded") await this.failed(r._id, p.failure ?? p.status);
	}

	/** One more failure in a row; the third turns the rule off and tells the user. */
	private async failed(accountId: string, reason: string): Promise<void> {
		const r = await this.d.rules.updateOne({ _id: accountId }, { $inc: { failures: 1 }, $set: { updatedAt: now() } });
		if (!r || r.failures < MAX_FAILURES) return;
		const off = await this.d.rules.updateOne(
			{ _id: accountId, enabled: true },
			{ $set: { enabled: false, disabledReason: `${MAX_FAILURES} payments in a row failed (last: ${reason})`, updatedAt: now() } },
		);
		if (!off) return;
		this.d.announce("billing.autorefill.failed", { accountId, failures: r.failures, reason });
		await this.d.tell(
			accountId,
			"autorefill-disabled",
			{ failures: String(r.failures), reason, amount: formatMoney(r.amount) },
			`autorefill-disabled:${accountId}:${r.firings}`,
		);
	}
}
