// What administrators do to groups and to an account's group (ADM-1, ACC-5): create and edit
// groups, their provider settings, and move an account between groups with optional resets.
// Store-taking: the accounts collections, a `Bus` for billing and quotas, and the service's group
// cache arrive as parameters; no Moleculer, no other service imported.
// Invariants:
// - everything a request asks is checked before anything is written;
// - a group's conversion group is another existing group (or none);
// - balances are reset by ledger entries like any other movement (balance = Σ ledger, BIL-1);
// - a changed group is dropped from the group cache at once (other processes: within seconds).
// Requirements: ADM-1, ACC-4 (conversion groups), ACC-5.
import { now } from "../../lib/clock";
import { conflict, notFound, validationError } from "../../lib/errors";
import { DEFAULT_GROUP_SETTINGS, settingsOf, type GroupSettings } from "../../lib/group-settings";
import { DuplicateKeyError } from "../../mixins/db.mixin";
import { adminMoveUpdate } from "./group-move";
import type { AccountDoc, AccountsDb, Bus, GroupDoc } from "./store";

export interface AdminParams {
	db: AccountsDb;
	bus: Bus;
	/** the service's group cache, and how to drop a group from it */
	groupOf(name: string): Promise<GroupDoc>;
	forgetGroup(name: string): void;
}

/** Refuses settings that are not group settings (lib/group-settings). */
function refuseUnknownSettings(settings: Record<string, unknown>): void {
	const unknown = Object.keys(settings).filter(k => !(k in DEFAULT_GROUP_SETTINGS));
	if (unknown.length) throw validationError(unknown.map(k => ({ field: `settings.${k}`, message: "is not a group setting" })));
}

/** POST /admin/groups — quota values follow the type until set; trials and betas convert to billing. */
export async function createGroup(
	p: AdminParams,
	req: { name: string; type: GroupDoc["type"]; conversionGroup?: string; description?: string },
): Promise<GroupDoc> {
	if (req.conversionGroup && !(await p.db.groups.findById(req.conversionGroup))) {
		throw validationError({ field: "conversionGroup", message: "is not a group" });
	}
	const g: GroupDoc = {
		_id: req.name,
		name: req.name,
		type: req.type,
		conversionGroup: req.conversionGroup ?? (req.type === "trial" || req.type === "beta" ? "billing" : null),
		signupDefault: false,
		builtIn: false,
		description: req.description ?? "",
	};
	try {
		await p.db.groups.insert(g);
	} catch (err) {
		if (err instanceof DuplicateKeyError) throw conflict(`Group ${g.name} exists already`, [{ field: "name", message: "is taken" }]);
		throw err;
	}
	return g;
}

/** PATCH /admin/groups/{name} — conversion group, description and settings. */
export async function editGroup(
	p: AdminParams,
	req: { name: string; conversionGroup?: string | null; description?: string; settings?: Record<string, unknown> },
): Promise<GroupDoc> {
	const g = await p.db.groups.findById(req.name);
	if (!g) throw notFound(`Group ${req.name}`);
	// Everything is checked before anything is written.
	refuseUnknownSettings(req.settings ?? {});
	const set: Record<string, unknown> = {};
	if (req.conversionGroup !== undefined) {
		if (req.conversionGroup !== null && (req.conversionGroup === g._id || !(await p.db.groups.findById(req.conversionGroup)))) {
			throw validationError({ field: "conversionGroup", message: "must be another existing group" });
		}
		set.conversionGroup = req.conversionGroup;
	}
	if (req.description !== undefined) set.description = req.description;
	if (Object.keys(set).length) await p.db.groups.updateOne({ _id: g._id }, { $set: set });
	p.forgetGroup(g._id);
	if (req.settings) await saveGroupSettings(p, g._id, req.settings);
	return (await p.db.groups.findById(g._id))!;
}

/** A group's provider settings, merged over those it has (see lib/group-settings). */
export async function saveGroupSettings(p: AdminParams, group: string, changes: Record<string, unknown>): Promise<GroupSettings> {
	refuseUnknownSettings(changes);
	const g = await p.groupOf(group);
	const merged = { ...Object.fromEntries((g.settings ?? []).map(x => [x.key, x.value])), ...changes };
	const settings = Object.entries(merged).map(([key, value]) => ({ key, value }));
	await p.db.groups.updateOne({ _id: g._id }, { $set: { settings } });
	p.forgetGroup(g._id);
	return settingsOf({ settings } as GroupDoc);
}

/** ACC-5: an account into another group, its main balance and/or bonus reset to zero if asked. */
export async function moveToGroup(p: AdminParams, req: { id: string; group: string; resetBalance: boolean; resetBonus: boolean }): Promise<AccountDoc> {
	const a = await p.db.accounts.findById(req.id);
	if (!a) throw notFound("Account");
	const [to, from] = await Promise.all([p.db.groups.findById(req.group), p.db.groups.findById(a.group)]);
	if (!to) throw validationError({ field: "group", message: "is not a group" });
	// BIL-6: since when of its type; ACC-4: a pending upgrade is dropped (group-move.ts).
	const moved = await p.db.accounts.updateOne({ _id: a._id }, adminMoveUpdate(a, from, to, now()));
	p.bus.broadcast("accounts.updated", { id: a._id, fields: ["group"] });
	// Resets are ledger entries like any other movement (balance = Σ ledger).
	const balance = await p.bus.call<{ main: number; bonus: number }>("billing.balanceOf", { accountId: a._id });
	const stamp = now().toISOString();
	const resets = [
		{ asked: req.resetBalance, pot: "main", amount: balance.main, toBonus: undefined, what: "Main balance" },
		{ asked: req.resetBonus, pot: "bonus", amount: balance.bonus, toBonus: true, what: "Bonus" },
	] as const;
	for (const r of resets) {
		if (!r.asked || r.amount === 0) continue;
		await p.bus.call("billing.post", {
			accountId: a._id,
			key: `reset:${r.pot}:${a._id}:${stamp}`,
			kind: "adjustment",
			amount: -r.amount,
			...(r.toBonus ? { toBonus: true } : {}),
			description: `${r.what} reset on the move to ${req.group}`,
		});
	}
	return moved!;
}

/** GET /admin/accounts/{id}: what the full view adds to the account — quotas, balance, status history. */
export async function accountDetail(p: AdminParams, a: AccountDoc) {
	const [quotas, balance, history] = await Promise.all([
		p.bus.call<{ values: Record<string, unknown> }>("quotas.effective", { accountId: a._id }).catch(() => null),
		p.bus.call<Record<string, unknown>>("billing.balance", {}, { meta: { user: { id: a._id } } }).catch(() => null),
		p.db.status_history.find({ accountId: a._id }, { sort: { at: -1 }, limit: 50 }),
	]);
	return {
		activatedAt: a.activatedAt,
		deactivatedAt: a.deactivatedAt ?? null,
		billingInfo: a.billingInfo ?? null,
		quotas: quotas?.values ?? null,
		balance,
		statusHistory: history.map(h => ({ from: h.from, to: h.to, reason: h.reason, actor: h.actor, at: h.at })),
	};
}
