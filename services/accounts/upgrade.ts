// The upgrade from trial to commercial (ACC-4): billing information and terms, then the move to
// the group's conversion group — at once, or on the first successful refill when
// `account.convert.after.first.fund.enabled` is 1 (until then the upgrade is pending).
// Store-taking: receives the same `StatusParams` as apply-status.ts; no Moleculer.
// Invariants:
// - only trial-type accounts upgrade, and only with a valid billing address (billing-info.ts);
// - the move happens once: conditional on the group the account was in;
// - an upgraded deactivated trial is active again (STS-3), through applyStatusChange.
// Requirements: ACC-4, STS-3.
import { now } from "../../lib/clock";
import { invalidState, validationError } from "../../lib/errors";
import { applyStatusChange, type StatusParams } from "./apply-status";
import { checkBillingInfo, type BillingInfo } from "./billing-info";
import { typeChange } from "./group-move";
import type { AccountDoc } from "./store";

/** POST /account/upgrade: records the billing information and moves the account, or leaves the move pending. */
export async function requestUpgrade(p: StatusParams, a: AccountDoc, billingInfo: BillingInfo): Promise<AccountDoc> {
	const group = await p.groupOf(a.group);
	if (group.type !== "trial") throw invalidState("This account is commercial already");
	const { errors, normalised } = checkBillingInfo(billingInfo);
	if (errors.length) throw validationError(errors);
	const target = group.conversionGroup ?? "billing";
	const { values } = await p.bus.call<{ values: Record<string, number | string> }>("quotas.effective", { accountId: a._id });
	const pending = Number(values["account.convert.after.first.fund.enabled"]) === 1;
	const updated = await p.db.accounts.updateOne(
		{ _id: a._id },
		{ $set: { billingInfo: normalised, upgrade: { state: "pending", requestedAt: now(), targetGroup: target }, updatedAt: now() } },
	);
	// Without the switch the move is immediate; with it, the first refill makes it (billing.refilled).
	return pending ? updated! : convertAccount(p, updated!, target);
}

/** ACC-4: into the conversion group, quotas lifted at once; a deactivated trial comes back (STS-3). */
export async function convertAccount(p: StatusParams, a: AccountDoc, targetGroup: string): Promise<AccountDoc> {
	const t = now();
	const [from, to] = await Promise.all([p.groupOf(a.group), p.groupOf(targetGroup)]);
	const converted = await p.db.accounts.updateOne(
		{ _id: a._id, group: a.group },
		{ $set: { group: targetGroup, "upgrade.state": "done", "upgrade.convertedAt": t, updatedAt: t, ...typeChange(a, from, to, t) } },
	);
	if (!converted) return (await p.db.accounts.findById(a._id))!;
	p.bus.broadcast("accounts.updated", { id: a._id, fields: ["group"] });
	p.bus.emit("accounts.upgraded", { id: a._id, from: a.group, to: targetGroup });
	if (converted.status === "deactivated") return (await applyStatusChange(p, converted, { to: "active", reason: "upgraded" }, "system")) ?? converted;
	return converted;
}
