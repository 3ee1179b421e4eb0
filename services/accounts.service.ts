// accounts: sign-up and activation (REG-1…REG-3), profiles, groups, the bootstrap admin, and the
// identity the gateway puts in ctx.meta.user. Credentials live in `auth`; emails go through
// `notifications`; this service never reads HTTP.
import type { Context, Service } from "moleculer";
import { dueNotice } from "../lib/reminders";
import { defineService } from "../lib/service-schema";
import { TtlCache } from "../lib/ttl-cache";
import { addMs, DAY, HOUR, nowMs, now } from "../lib/clock";
import { envString, publicUrl } from "../lib/config";
import { digest, newId, randomBase62, randomToken } from "../lib/crypto";
import { conflict, invalidState, linkInvalid, notFound, rateLimited, validationError } from "../lib/errors";
import { pageOf, pageParams, skipOf } from "../lib/pagination";
import { createDbMixin, DuplicateKeyError, hitLimits, type Doc, type Store } from "../mixins/db.mixin";
import { createJobsMixin } from "../mixins/jobs.mixin";
import { CURRENCY, formatExact, parseMoney } from "../lib/money";
import { nextStatus, trialEndsAt, type Status, type StatusChange } from "./accounts/status";
import { checkBillingInfo, type BillingInfo } from "./accounts/billing-info";
import { accountCounters, accounts, groups, signups, statusHistory } from "../models/accounts";
import { DEFAULT_GROUP_SETTINGS, settingsOf } from "../lib/group-settings";
import { BUILT_IN_GROUPS, type Group } from "./accounts/groups";

export interface AccountDoc extends Doc {
	email: string;
	name: string;
	phone: string;
	group: string;
	role: "user" | "admin";
	status: "active" | "deactivated" | "suspended" | "destroyed";
	createdAt: Date;
	activatedAt: Date;
	updatedAt: Date;
	/** copies of auth's facts, for GET /account without asking auth (kept by setCredentialState) */
	twoFactorEnabled?: boolean;
	passwordChangedAt?: Date | null;
	/** when it was last deactivated (STS-4 counts the destroy period from here) */
	deactivatedAt?: Date | null;
	/** ACC-4 */
	billingInfo?: BillingInfo;
	upgrade?: { state: "pending" | "done"; requestedAt: Date; targetGroup: string; convertedAt?: Date };
}

interface HistoryDoc extends Doc {
	accountId: string;
	from: string;
	to: string;
	reason: string;
	actor: string;
	at: Date;
}

interface GroupDoc extends Doc, Omit<Group, "name"> {
	name: string;
}

interface SignupDoc extends Doc {
	email: string;
	name: string;
	tokenDigest: string;
	createdAt: Date;
	expiresAt: Date;
	usedAt: Date | null;
	ip: string;
}

type Meta = { ip?: string; user?: { id: string } };

type Self = Service & {
	db: { accounts: Store<AccountDoc>; groups: Store<GroupDoc>; signups: Store<SignupDoc>; account_counters: Store; status_history: Store<HistoryDoc> };
	changeStatus(ctx: Context, a: AccountDoc, change: StatusChange, actor: string): Promise<AccountDoc | null>;
	evaluate(ctx: Context, a: AccountDoc, balance?: { main: number; bonus: number } | null, refilled?: boolean): Promise<AccountDoc | null>;
	convert(ctx: Context, a: AccountDoc, targetGroup: string): Promise<AccountDoc>;
	groupOf(name: string): Promise<GroupDoc>;
	quotaCache: TtlCache<string, Record<string, number | string>>;
	balanceCache: TtlCache<string, { main: number; bonus: number }>;
	balanceOf(ctx: Context, accountId: string): Promise<{ main: number; bonus: number } | null>;
	quotaValues(ctx: Context, accountId: string): Promise<Record<string, number | string>>;
	groupCache: TtlCache<string, GroupDoc>;
	view(a: AccountDoc, group?: GroupDoc): Promise<Record<string, unknown>>;
	seedGroups(): Promise<void>;
	bootstrapAdmin(): Promise<void>;
	/** True once the built-in groups and the bootstrap admin exist (GET /ready waits for it). */
	seeded: boolean;
	createAccount(fields: Pick<AccountDoc, "email" | "name" | "group" | "role">, password: string, ctx: Context): Promise<AccountDoc>;
};

const ACTIVATION_VALID_MS = 24 * HOUR; // REG-2
const GROUP_CACHE_MS = 5_000;
const TRIAL_REMINDER_DAYS = [1, 3, 6]; // ACC-2 account.notification.periods, smallest first
const DESTROY_WARNING_DAYS = [1, 7]; // STS-4
// REG-3: per address; the gateway adds per-IP limits in front of the route.
const SIGNUP_LIMITS_PER_ADDRESS = [
	{ limit: 1, windowSeconds: 60 },
	{ limit: 5, windowSeconds: 3600 },
];

const emailRule = { type: "email", normalize: true, max: 254, label: "email" } as const;
const nameRule = { type: "string", trim: true, min: 1, max: 100 } as const;
const phoneRule = {
	type: "string",
	trim: true,
	pattern: /^\+?[0-9][0-9 ()-]{4,24}$/,
	messages: { stringPattern: "must be a phone number such as +1 555 0100" },
} as const;

/** A group as admins and other services see it. */
function groupView(g: GroupDoc) {
	return {
		name: g._id,
		type: g.type,
		conversionGroup: g.conversionGroup ?? null,
		signupDefault: !!g.signupDefault,
		builtIn: !!g.builtIn,
		description: g.description ?? "",
		settings: settingsOf(g),
	};
}

function escapeRegex(s: string): string {
	return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const AccountsService = defineService<Self>({
	name: "accounts",
	mixins: [createDbMixin([accounts, groups, signups, accountCounters, statusHistory]), createJobsMixin("accounts")],

	jobs: {
		/** ACC-2/ACC-3: trial reminders at 6/3/1 days, once each; trials past their period are deactivated. */
		"trial-expiry": {
			cron: "10 * * * *",
			async handler(this: Self, ctx: Context) {
				let processed = 0;
				for (const a of await this.db.accounts.find({ status: "active" })) {
					if (a.role === "admin" || (await this.groupOf(a.group)).type !== "trial") continue; // staff have no trial
					// Makes good a trial bonus lost on the way (keyed in the ledger: granted once).
					await ctx.call("billing.grantTrialBonus", { accountId: a._id }).catch(() => undefined);
					const { values } = await ctx.call<{ values: Record<string, number | string> }, { accountId: string }>("quotas.effective", { accountId: a._id });
					const ends = trialEndsAt({ activatedAt: new Date(a.activatedAt), type: "trial" }, { trialPeriodDays: Number(values["account.trialperiod"]) });
					if (!ends) continue;
					const due = dueNotice(ends, now(), TRIAL_REMINDER_DAYS);
					if (due) {
						const r = await ctx.call<{ duplicate: boolean }, Record<string, unknown>>("notifications.send", {
							template: "trial-reminder",
							to: a.email,
							accountId: a._id,
							dedupKey: `trial-reminder:${a._id}:${due.notice}`,
							data: { days: due.daysLeft, endsAt: ends.toISOString(), upgradeLink: `${publicUrl()}/account/upgrade` },
						});
						if (!r.duplicate) processed++;
					}
					if (await this.evaluate(ctx, a, null)) processed++;
				}
				return processed;
			},
		},

		/** STS-2/STS-3: every account's balance against its minimum (also checked after each ledger change). */
		deactivation: {
			cron: "20 * * * *",
			async handler(this: Self, ctx: Context) {
				let changed = 0;
				for (const a of await this.db.accounts.find({ status: { $in: ["active", "deactivated"] } })) if (await this.evaluate(ctx, a)) changed++;
				return changed;
			},
		},

		/** STS-4: deactivated longer than account.destroy.period → destroyed, environments deleted. */
		destroy: {
			cron: "30 * * * *",
			async handler(this: Self, ctx: Context) {
				let destroyed = 0;
				for (const a of await this.db.accounts.find({ status: "deactivated" })) {
					if (a.role === "admin") continue; // staff: never destroyed nor warned
					const after = await this.evaluate(ctx, a, null);
					if (after?.status === "destroyed") {
						destroyed++;
						continue;
					}
					// STS-4: warnings 7 days and 1 day before, once each.
					const { values } = await ctx.call<{ values: Record<string, number | string> }, { accountId: string }>("quotas.effective", { accountId: a._id });
					if (!a.deactivatedAt) continue;
					const destroyAt = addMs(new Date(a.deactivatedAt), Number(values["account.destroy.period"]) * DAY);
					const due = dueNotice(destroyAt, now(), DESTROY_WARNING_DAYS);
					if (!due) continue;
					await ctx.call("notifications.send", {
						template: "destroy-warning",
						to: a.email,
						accountId: a._id,
						dedupKey: `destroy-warning:${a._id}:${new Date(a.deactivatedAt).toISOString()}:${due.notice}`,
						data: { days: due.daysLeft, destroyAt: destroyAt.toISOString(), billingLink: `${publicUrl()}/account/billing` },
					});
				}
				return destroyed;
			},
		},
	},

	actions: {
		/** POST /admin/accounts/{id}/status {status, reason} (STS-5, ADM-1) */
		adminSetStatus: {
			params: {
				id: { type: "string", min: 1, max: 64 },
				status: { type: "enum", values: ["active", "deactivated", "suspended", "destroyed"] },
				reason: { type: "string", trim: true, min: 1, max: 500 },
			},
			async handler(this: Self, ctx: Context<{ id: string; status: Status; reason: string }, Meta & { user: { id: string; email: string } }>) {
				const a = await this.db.accounts.findById(ctx.params.id);
				if (!a) throw notFound("Account");
				if (a.status === ctx.params.status) throw invalidState(`The account is ${a.status} already`, { field: "status" });
				const changed = await this.changeStatus(ctx, a, { to: ctx.params.status, reason: ctx.params.reason }, `admin:${ctx.meta.user.email}`);
				if (!changed) throw conflict("The account's status changed at the same moment; read it again");
				return this.view(changed);
			},
		},

		/** POST /account/upgrade — billing info + terms; the move to the conversion group may wait for the first refill (ACC-4). */
		upgrade: {
			params: {
				billingInfo: {
					type: "object",
					props: {
						firstName: { type: "string", trim: true, min: 1, max: 100 },
						lastName: { type: "string", trim: true, min: 1, max: 100 },
						company: { type: "string", trim: true, max: 200, optional: true },
						country: { type: "string", trim: true, min: 2, max: 2 },
						state: { type: "string", trim: true, max: 10, optional: true },
						address: { type: "string", trim: true, min: 1, max: 300 },
						city: { type: "string", trim: true, min: 1, max: 100 },
						postalCode: { type: "string", trim: true, min: 1, max: 20 },
						phone: { type: "string", trim: true, min: 1, max: 30 },
					},
				},
				acceptTerms: { type: "equal", value: true, strict: true, messages: { equalValue: "must be true: the terms have to be accepted" } },
			},
			async handler(this: Self, ctx: Context<{ billingInfo: BillingInfo; acceptTerms: true }, Meta>) {
				const a = await this.db.accounts.findById(ctx.meta.user!.id);
				if (!a) throw notFound("Account");
				const group = await this.groupOf(a.group);
				if (group.type !== "trial") throw invalidState("This account is commercial already");
				const { errors, normalised } = checkBillingInfo(ctx.params.billingInfo);
				if (errors.length) throw validationError(errors);
				const target = group.conversionGroup ?? "billing";
				const { values } = await ctx.call<{ values: Record<string, number | string> }, { accountId: string }>("quotas.effective", { accountId: a._id });
				const pending = Number(values["account.convert.after.first.fund.enabled"]) === 1;
				const updated = await this.db.accounts.updateOne(
					{ _id: a._id },
					{ $set: { billingInfo: normalised, upgrade: { state: "pending", requestedAt: now(), targetGroup: target }, updatedAt: now() } },
				);
				// Without the switch the move is immediate; with it, the first refill makes it (billing.refilled).
				const account = pending ? updated! : await this.convert(ctx, updated!, target);
				return { account: await this.view(account) };
			},
		},

		/** GET /admin/accounts/{id} — the full view: account, quotas, balance, status history (ADM-1). */
		adminGet: {
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(this: Self, ctx: Context<{ id: string }>) {
				const a = await this.db.accounts.findById(ctx.params.id);
				if (!a) throw notFound("Account");
				const [quotas, balance, history] = await Promise.all([
					ctx.call<{ values: Record<string, unknown> }, { accountId: string }>("quotas.effective", { accountId: a._id }).catch(() => null),
					ctx.call<Record<string, unknown>, Record<string, never>>("billing.balance", {}, { meta: { user: { id: a._id } } }).catch(() => null),
					this.db.status_history.find({ accountId: a._id }, { sort: { at: -1 }, limit: 50 }),
				]);
				return {
					...(await this.view(a)),
					activatedAt: a.activatedAt,
					deactivatedAt: a.deactivatedAt ?? null,
					billingInfo: a.billingInfo ?? null,
					quotas: quotas?.values ?? null,
					balance,
					statusHistory: history.map(h => ({ from: h.from, to: h.to, reason: h.reason, actor: h.actor, at: h.at })),
				};
			},
		},

		/** GET /admin/groups */
		adminGroups: {
			params: {},
			async handler(this: Self) {
				return (await this.db.groups.find({}, { sort: { _id: 1 } })).map(groupView);
			},
		},

		/** POST /admin/groups {name, type, conversionGroup?, description?} — quota values follow the type until set. */
		adminCreateGroup: {
			params: {
				name: { type: "string", pattern: /^[a-z][a-z0-9-]{1,31}$/, messages: { stringPattern: "must be 2-32 lower-case letters, digits and dashes" } },
				type: { type: "enum", values: ["trial", "beta", "billing", "post"] },
				conversionGroup: { type: "string", optional: true, max: 32 },
				description: { type: "string", trim: true, max: 300, optional: true },
			},
			async handler(this: Self, ctx: Context<{ name: string; type: GroupDoc["type"]; conversionGroup?: string; description?: string }>) {
				if (ctx.params.conversionGroup && !(await this.db.groups.findById(ctx.params.conversionGroup))) {
					throw validationError({ field: "conversionGroup", message: "is not a group" });
				}
				const g: GroupDoc = {
					_id: ctx.params.name,
					name: ctx.params.name,
					type: ctx.params.type,
					conversionGroup: ctx.params.conversionGroup ?? (ctx.params.type === "trial" || ctx.params.type === "beta" ? "billing" : null),
					signupDefault: false,
					builtIn: false,
					description: ctx.params.description ?? "",
				};
				try {
					await this.db.groups.insert(g);
				} catch (err) {
					if (err instanceof DuplicateKeyError) throw conflict(`Group ${g.name} exists already`, [{ field: "name", message: "is taken" }]);
					throw err;
				}
				return groupView(g);
			},
		},

		/** PATCH /admin/groups/{name} {conversionGroup?, description?, settings?} */
		adminEditGroup: {
			params: {
				name: { type: "string", min: 1, max: 32 },
				conversionGroup: { type: "string", optional: true, nullable: true, max: 32 },
				description: { type: "string", trim: true, max: 300, optional: true },
				settings: { type: "object", optional: true },
			},
			async handler(this: Self, ctx: Context<{ name: string; conversionGroup?: string | null; description?: string; settings?: Record<string, unknown> }>) {
				const g = await this.db.groups.findById(ctx.params.name);
				if (!g) throw notFound(`Group ${ctx.params.name}`);
				// Everything is checked before anything is written.
				const unknownSettings = Object.keys(ctx.params.settings ?? {}).filter(k => !(k in DEFAULT_GROUP_SETTINGS));
				if (unknownSettings.length) throw validationError(unknownSettings.map(k => ({ field: `settings.${k}`, message: "is not a group setting" })));
				const set: Record<string, unknown> = {};
				if (ctx.params.conversionGroup !== undefined) {
					if (ctx.params.conversionGroup !== null && (ctx.params.conversionGroup === g._id || !(await this.db.groups.findById(ctx.params.conversionGroup)))) {
						throw validationError({ field: "conversionGroup", message: "must be another existing group" });
					}
					set.conversionGroup = ctx.params.conversionGroup;
				}
				if (ctx.params.description !== undefined) set.description = ctx.params.description;
				if (Object.keys(set).length) await this.db.groups.updateOne({ _id: g._id }, { $set: set });
				this.groupCache.delete(g._id);
				if (ctx.params.settings) await ctx.call("accounts.setGroupSettings", { group: g._id, settings: ctx.params.settings });
				return groupView((await this.db.groups.findById(g._id))!);
			},
		},

		/** POST /admin/accounts/{id}/group {group, resetBalance?, resetBonus?} (ACC-5) */
		adminSetGroup: {
			params: {
				id: { type: "string", min: 1, max: 64 },
				group: { type: "string", min: 1, max: 32 },
				resetBalance: { type: "boolean", optional: true, default: false },
				resetBonus: { type: "boolean", optional: true, default: false },
			},
			async handler(this: Self, ctx: Context<{ id: string; group: string; resetBalance: boolean; resetBonus: boolean }, Meta & { user: { email: string } }>) {
				const a = await this.db.accounts.findById(ctx.params.id);
				if (!a) throw notFound("Account");
				if (!(await this.db.groups.findById(ctx.params.group))) throw validationError({ field: "group", message: "is not a group" });
				const moved = await this.db.accounts.updateOne({ _id: a._id }, { $set: { group: ctx.params.group, updatedAt: now() } });
				ctx.broadcast("accounts.updated", { id: a._id, fields: ["group"] });
				// Resets are ledger entries like any other movement (balance = Σ ledger).
				const balance = await ctx.call<{ main: number; bonus: number }, { accountId: string }>("billing.balanceOf", { accountId: a._id });
				const stamp = now().toISOString();
				if (ctx.params.resetBalance && balance.main !== 0) {
					await ctx.call("billing.post", {
						accountId: a._id,
						key: `reset:main:${a._id}:${stamp}`,
						kind: "adjustment",
						amount: -balance.main,
						description: `Main balance reset on the move to ${ctx.params.group}`,
					});
				}
				if (ctx.params.resetBonus && balance.bonus !== 0) {
					await ctx.call("billing.post", {
						accountId: a._id,
						key: `reset:bonus:${a._id}:${stamp}`,
						kind: "adjustment",
						amount: -balance.bonus,
						toBonus: true,
						description: `Bonus reset on the move to ${ctx.params.group}`,
					});
				}
				return this.view(moved!);
			},
		},

		/** GET /account/status-history (STS-6) */
		statusHistory: {
			params: { ...pageParams },
			async handler(this: Self, ctx: Context<{ page: number; pageSize: number }, Meta>) {
				const q = { accountId: ctx.meta.user!.id };
				const { page, pageSize } = ctx.params;
				const [rows, total] = await Promise.all([
					this.db.status_history.find(q, { sort: { at: -1 }, skip: skipOf(page, pageSize), limit: pageSize }),
					this.db.status_history.count(q),
				]);
				return pageOf(
					rows.map(h => ({ from: h.from, to: h.to, reason: h.reason, actor: h.actor.startsWith("admin:") ? "admin" : h.actor, at: h.at })),
					total,
					page,
					pageSize,
				);
			},
		},

		/** POST /auth/signup — the same 202 whether or not the address is known (REG-1). */
		signup: {
			params: {
				email: emailRule,
				acceptTerms: { type: "equal", value: true, strict: true, messages: { equalValue: "must be true: the terms have to be accepted" } },
				name: { ...nameRule, optional: true },
			},
			async handler(this: Self, ctx: Context<{ email: string; acceptTerms: true; name?: string }, Meta>) {
				const { email, name } = ctx.params;
				const wait = await hitLimits(this.db.account_counters, `signup:${email}`, SIGNUP_LIMITS_PER_ADDRESS, nowMs());
				if (wait > 0) throw rateLimited(wait);

				const existing = await this.db.accounts.findOne({ email });
				const base = publicUrl();
				if (existing) {
					await ctx.call("notifications.send", {
						template: "already-registered",
						to: email,
						accountId: existing._id,
						dedupKey: `already-registered:${newId()}`,
						data: { signinLink: `${base}/signin`, resetLink: `${base}/password/reset` },
					});
				} else {
					const token = randomToken(24); // 192 bits
					const t = now();
					await this.db.signups.insert({
						_id: newId(),
						email,
						name: name ?? "",
						tokenDigest: digest(token),
						createdAt: t,
						expiresAt: addMs(t, ACTIVATION_VALID_MS),
						usedAt: null,
						ip: ctx.meta.ip ?? "",
					});
					await ctx.call("notifications.send", {
						template: "activation",
						to: email,
						dedupKey: `activation:${digest(token)}`,
						data: { link: `${base}/activate?token=${token}`, validHours: 24 },
					});
				}
				return { message: "Check your inbox: we sent an email to this address." };
			},
		},

		/** POST /auth/activate — single-use link + password → active account in the sign-up group (REG-2). */
		activate: {
			params: { token: { type: "string", min: 1, max: 200 }, password: { type: "string", min: 1, max: 1024 } },
			async handler(this: Self, ctx: Context<{ token: string; password: string }, Meta>) {
				const tokenDigest = digest(ctx.params.token);
				const link = await this.db.signups.findOne({ tokenDigest, usedAt: null, expiresAt: { $gt: now() } });
				if (!link) throw linkInvalid();
				// Policy first: a refused password must not use up the link.
				await ctx.call("auth.checkPassword", { password: ctx.params.password, email: link.email });
				const claimed = await this.db.signups.updateOne({ _id: link._id, usedAt: null }, { $set: { usedAt: now() } });
				if (!claimed) throw linkInvalid();
				const signupGroup = (await this.db.groups.findOne({ signupDefault: true }))?.name ?? "trial";
				let account: AccountDoc;
				try {
					account = await this.createAccount({ email: link.email, name: link.name, group: signupGroup, role: "user" }, ctx.params.password, ctx);
				} catch (err) {
					// Nothing half-written: the link works again unless the address was taken meanwhile.
					await this.db.signups.updateOne({ _id: link._id }, { $set: { usedAt: null } });
					if ((err as Error).name === "MoleculerClientError" && (err as { type?: string }).type === "CONFLICT")
						throw linkInvalid("This email address has an account already");
					throw err;
				}
				// ACC-2: the trial bonus (also granted on the accounts.created event; keyed, so once).
				await ctx
					.call("billing.grantTrialBonus", { accountId: account._id })
					.catch(err => this.logger.warn(`Trial bonus of ${account._id} not granted yet; the trial job retries`, err));
				await ctx.call("notifications.send", {
					template: "welcome",
					to: account.email,
					accountId: account._id,
					dedupKey: `welcome:${account._id}`,
					data: { name: account.name, signinLink: `${publicUrl()}/signin` },
				});
				return { account: await this.view(account) };
			},
		},

		/** GET /account */
		me: {
			params: {},
			async handler(this: Self, ctx: Context<Record<string, never>, Meta>) {
				const a = await this.db.accounts.findById(ctx.meta.user!.id);
				if (!a) throw notFound("Account");
				const group = await this.groupOf(a.group);
				const days = settingsOf(group)["password.expiry.days"];
				const changed = a.passwordChangedAt ? new Date(a.passwordChangedAt) : null;
				// The balance from billing and, for a trial only, its period from quotas: asked at once and
				// kept a moment (the balance is refreshed by every billing.balance.changed this node hears).
				const [balance, quotas] = await Promise.all([this.balanceOf(ctx, a._id), group.type === "trial" ? this.quotaValues(ctx, a._id) : null]);
				const trialEnds = quotas
					? trialEndsAt({ activatedAt: new Date(a.activatedAt), type: "trial" }, { trialPeriodDays: Number(quotas["account.trialperiod"]) })
					: null;
				return {
					...(await this.view(a, group)),
					trialEndsAt: trialEnds,
					balance: balance ? { main: formatExact(balance.main), bonus: formatExact(balance.bonus), currency: CURRENCY } : null,
					twoFactorEnabled: !!a.twoFactorEnabled,
					passwordExpiresAt: changed && days > 0 ? addMs(changed, days * DAY) : null,
				};
			},
		},

		/** GET /meta/ping: a catalogued no-op behind the gateway (credentials checked, nothing read). */
		ping: {
			params: {},
			handler() {
				return { pong: true };
			},
		},

		/** PATCH /account — name and phone only; anything else is refused by the strict schema. */
		update: {
			params: { name: { ...nameRule, optional: true }, phone: { ...phoneRule, optional: true } },
			async handler(this: Self, ctx: Context<{ name?: string; phone?: string }, Meta>) {
				const set: Record<string, unknown> = {};
				if (ctx.params.name !== undefined) set.name = ctx.params.name;
				if (ctx.params.phone !== undefined) set.phone = ctx.params.phone;
				if (!Object.keys(set).length) throw validationError({ field: "name", message: "give name or phone to change" });
				const a = await this.db.accounts.updateOne({ _id: ctx.meta.user!.id }, { $set: { ...set, updatedAt: now() } });
				if (!a) throw notFound("Account");
				ctx.emit("accounts.updated", { id: a._id, fields: Object.keys(set) });
				return this.view(a);
			},
		},

		/** GET /admin/accounts?search=&status=&group= */
		adminList: {
			params: {
				search: { type: "string", optional: true, trim: true, max: 200 },
				status: { type: "enum", optional: true, values: ["active", "deactivated", "suspended", "destroyed"] },
				group: { type: "string", optional: true, max: 100 },
				...pageParams,
			},
			async handler(this: Self, ctx: Context<{ search?: string; status?: string; group?: string; page: number; pageSize: number }>) {
				const { search, status, group, page, pageSize } = ctx.params;
				const query: Record<string, unknown> = {};
				if (status) query.status = status;
				if (group) query.group = group;
				if (search) {
					const re = new RegExp(escapeRegex(search), "i");
					query.$or = [{ email: { $regex: re } }, { name: { $regex: re } }];
				}
				const [rows, total] = await Promise.all([
					this.db.accounts.find(query, { sort: { createdAt: -1 }, skip: skipOf(page, pageSize), limit: pageSize }),
					this.db.accounts.count(query),
				]);
				return pageOf(await Promise.all(rows.map(a => this.view(a))), total, page, pageSize);
			},
		},

		/* ---- internal ---- */

		/** For GET /ready: a sign-in right after ready must find the bootstrap admin. */
		seeded: {
			visibility: "public",
			handler(this: Self) {
				return { seeded: this.seeded };
			},
		},

		/** The gateway's ctx.meta.user. */
		identity: {
			visibility: "public",
			params: { id: { type: "string", min: 1 } },
			async handler(this: Self, ctx: Context<{ id: string }>) {
				const a = await this.db.accounts.findById(ctx.params.id);
				if (!a) return null;
				const g = await this.groupOf(a.group);
				return { id: a._id, email: a.email, role: a.role, status: a.status, group: a.group, type: g.type };
			},
		},

		/** For auth: who signs in, with the settings of their group. */
		findByEmail: {
			visibility: "public",
			params: { email: { type: "string", min: 1, max: 320 } },
			async handler(this: Self, ctx: Context<{ email: string }>) {
				const a = await this.db.accounts.findOne({ email: ctx.params.email.trim().toLowerCase() });
				return a ? { id: a._id, email: a.email, status: a.status, group: a.group, settings: settingsOf(await this.groupOf(a.group)) } : null;
			},
		},

		/** For jobs of other services: several accounts at once, with their group settings. */
		identities: {
			visibility: "public",
			params: { ids: { type: "array", items: "string", max: 1000 } },
			async handler(this: Self, ctx: Context<{ ids: string[] }>) {
				const rows = await this.db.accounts.find({ _id: { $in: ctx.params.ids } });
				const groups = new Map<string, GroupDoc>();
				for (const a of rows) if (!groups.has(a.group)) groups.set(a.group, await this.groupOf(a.group));
				return rows.map(a => ({ id: a._id, email: a.email, name: a.name, status: a.status, group: a.group, settings: settingsOf(groups.get(a.group)) }));
			},
		},

		/** Internal: the active administrators, for notices to them (e.g. a balance repaired from its ledger, BIL-2). */
		admins: {
			visibility: "public",
			params: {},
			async handler(this: Self) {
				return (await this.db.accounts.find({ role: "admin", status: "active" }, { sort: { createdAt: 1 } })).map(a => ({
					id: a._id,
					email: a.email,
					name: a.name,
				}));
			},
		},

		view: {
			visibility: "public",
			params: { id: { type: "string", min: 1 } },
			async handler(this: Self, ctx: Context<{ id: string }>) {
				const a = await this.db.accounts.findById(ctx.params.id);
				if (!a) throw notFound("Account");
				return this.view(a);
			},
		},

		/** Internal: the groups (name, type, conversion group, settings), for quotas and admin views. */
		listGroups: {
			visibility: "public",
			params: {},
			async handler(this: Self) {
				return (await this.db.groups.find({}, { sort: { _id: 1 } })).map(groupView);
			},
		},

		/** auth tells what GET /account shows of credentials (2FA on, password changed at). */
		setCredentialState: {
			visibility: "public",
			params: {
				id: { type: "string", min: 1 },
				twoFactorEnabled: { type: "boolean", optional: true },
				passwordChangedAt: { type: "date", convert: true, optional: true },
			},
			async handler(this: Self, ctx: Context<{ id: string; twoFactorEnabled?: boolean; passwordChangedAt?: Date }>) {
				const set: Record<string, unknown> = {};
				if (ctx.params.twoFactorEnabled !== undefined) set.twoFactorEnabled = ctx.params.twoFactorEnabled;
				if (ctx.params.passwordChangedAt !== undefined) set.passwordChangedAt = ctx.params.passwordChangedAt;
				const a = await this.db.accounts.updateOne({ _id: ctx.params.id }, { $set: set });
				return { updated: !!a };
			},
		},

		/** Internal until the admin group API exists: a group's provider settings (see lib/group-settings). */
		setGroupSettings: {
			visibility: "public",
			params: { group: { type: "string", min: 1 }, settings: { type: "object" } },
			async handler(this: Self, ctx: Context<{ group: string; settings: Record<string, unknown> }>) {
				const unknown = Object.keys(ctx.params.settings).filter(k => !(k in DEFAULT_GROUP_SETTINGS));
				if (unknown.length) throw validationError(unknown.map(k => ({ field: `settings.${k}`, message: "is not a group setting" })));
				const g = await this.groupOf(ctx.params.group);
				const merged = { ...Object.fromEntries((g.settings ?? []).map(x => [x.key, x.value])), ...ctx.params.settings };
				const settings = Object.entries(merged).map(([key, value]) => ({ key, value }));
				await this.db.groups.updateOne({ _id: g._id }, { $set: { settings } });
				this.groupCache.delete(g._id);
				return settingsOf({ settings } as GroupDoc);
			},
		},
	},

	events: {
		/** ACC-4: the first successful refill completes a pending upgrade. */
		"billing.refilled": {
			params: { accountId: "string" },
			async handler(this: Self, ctx: Context<{ accountId: string }>) {
				const a = await this.db.accounts.findById(ctx.params.accountId);
				if (a?.upgrade?.state === "pending") await this.convert(ctx, a, a.upgrade.targetGroup);
				else if (a?.status === "destroyed") await this.evaluate(ctx, a, undefined, true); // PAY-5
			},
		},

		/** STS-2/STS-3: a check after every ledger change. */
		"billing.balance.changed": {
			params: { accountId: "string", main: "number", bonus: "number" },
			async handler(this: Self, ctx: Context<{ accountId: string; main: number; bonus: number }>) {
				this.balanceCache.set(ctx.params.accountId, { main: ctx.params.main, bonus: ctx.params.bonus }, Date.now());
				const a = await this.db.accounts.findById(ctx.params.accountId);
				if (a) await this.evaluate(ctx, a, { main: ctx.params.main, bonus: ctx.params.bonus });
			},
		},
	},

	methods: {
		/** ACC-4: into the conversion group, quotas lifted at once; a deactivated trial comes back (STS-3). */
		async convert(this: Self, ctx: Context, a: AccountDoc, targetGroup: string) {
			const t = now();
			const converted = await this.db.accounts.updateOne(
				{ _id: a._id, group: a.group },
				{ $set: { group: targetGroup, "upgrade.state": "done", "upgrade.convertedAt": t, updatedAt: t } },
			);
			if (!converted) return (await this.db.accounts.findById(a._id))!;
			ctx.broadcast("accounts.updated", { id: a._id, fields: ["group"] });
			if (converted.status === "deactivated") return (await this.changeStatus(ctx, converted, { to: "active", reason: "upgraded" }, "system")) ?? converted;
			return converted;
		},

		/**
		 * Applies the status machine's answer for one account. `balance` undefined: ask billing;
		 * null: leave the money rules out (time-based jobs).
		 */
		/**
		 * The account's balances (micros) for GET /account, kept a second: a client polling its
		 * account asks billing once a second at most. Every ledger change this node hears replaces it
		 * at once; GET /billing/balance always reads billing itself.
		 */
		async balanceOf(this: Self, ctx: Context, accountId: string) {
			const hit = this.balanceCache.get(accountId, Date.now());
			if (hit) return hit;
			const balance = await ctx.call<{ main: number; bonus: number }, { accountId: string }>("billing.balanceOf", { accountId }).catch(() => null); // billing away: GET /account answers without a balance
			if (balance) this.balanceCache.set(accountId, balance, Date.now());
			return balance;
		},

		/**
		 * The account's effective quotas for a couple of seconds: every ledger entry re-checks the
		 * status (billing.balance.changed), and an hour of charging posts one per environment.
		 */
		async quotaValues(this: Self, ctx: Context, accountId: string) {
			const hit = this.quotaCache.get(accountId, Date.now());
			if (hit) return hit;
			const { values } = await ctx.call<{ values: Record<string, number | string> }, { accountId: string }>("quotas.effective", { accountId });
			this.quotaCache.set(accountId, values, Date.now());
			return values;
		},

		async evaluate(this: Self, ctx: Context, a: AccountDoc, balance?: { main: number; bonus: number } | null, refilled = false) {
			if (a.status === "suspended" || (a.status === "destroyed" && !refilled)) return null;
			const group = await this.groupOf(a.group);
			const values = await this.quotaValues(ctx, a._id);
			let money = balance;
			if (money === undefined) {
				const b = await ctx
					.call<{ main: string; bonus: string }, Record<string, never>>("billing.balance", {}, { meta: { user: { id: a._id } } })
					.catch(() => null); // billing away: decide on time rules only
				money = b ? { main: parseMoney(b.main, "main"), bonus: parseMoney(b.bonus, "bonus") } : null;
			}
			const change = nextStatus(
				{
					status: a.status,
					role: a.role,
					type: group.type,
					activatedAt: new Date(a.activatedAt),
					deactivatedAt: a.deactivatedAt ? new Date(a.deactivatedAt) : null,
					now: now(),
					balance: money,
					refilled,
				},
				{
					trialPeriodDays: Number(values["account.trialperiod"]),
					minBalance: parseMoney(String(values["account.minbalance"]), "account.minbalance"),
					destroyPeriodDays: Number(values["account.destroy.period"]),
					trialBonus: parseMoney(String(values["account.trial.bonus"] ?? "0"), "account.trial.bonus"),
				},
			);
			return change ? this.changeStatus(ctx, a, change, "system") : null;
		},

		/**
		 * One status change, once: conditional on the status it came from; then its history row, the
		 * environments (stopped and remembered / started again / deleted), the event and the email.
		 */
		async changeStatus(this: Self, ctx: Context, a: AccountDoc, change: StatusChange, actor: string) {
			const t = now();
			const set: Record<string, unknown> = { status: change.to, updatedAt: t };
			if (change.to === "deactivated") set.deactivatedAt = t;
			const updated = await this.db.accounts.updateOne({ _id: a._id, status: a.status }, { $set: set });
			if (!updated) return null;
			const history: HistoryDoc = { _id: newId(), accountId: a._id, from: a.status, to: change.to, reason: change.reason, actor, at: t };
			await this.db.status_history.insert(history);
			const effect =
				change.to === "deactivated" || change.to === "suspended"
					? "environments.stopForAccount"
					: change.to === "destroyed"
						? "environments.deleteForAccount"
						: "environments.resumeForAccount";
			await ctx.call(effect, { accountId: a._id }).catch(err => this.logger.warn(`${effect} for ${a._id} failed; environments need a look`, err));
			ctx.broadcast("accounts.status.changed", { id: a._id, from: a.status, to: change.to, reason: change.reason });
			await ctx.call("notifications.send", {
				template: "account-status",
				to: a.email,
				accountId: a._id,
				dedupKey: `account-status:${history._id}`,
				data: { to: change.to, reason: change.reason, billingLink: `${publicUrl()}/account/billing` },
			});
			return updated;
		},

		/** Groups change rarely and are read on every request: kept for a few seconds per process. */
		async groupOf(this: Self, name: string) {
			const hit = this.groupCache.get(name, Date.now());
			if (hit) return hit;
			const g = await this.db.groups.findById(name);
			if (!g) throw new Error(`Group ${name} does not exist`);
			this.groupCache.set(name, g, Date.now());
			return g;
		},

		async view(this: Self, a: AccountDoc, group?: GroupDoc) {
			const g = group ?? (await this.groupOf(a.group));
			return {
				id: a._id,
				email: a.email,
				name: a.name,
				phone: a.phone,
				type: g.type,
				group: a.group,
				status: a.status,
				role: a.role,
				trialEndsAt: null, // GET /account (me) fills it in for trials
				createdAt: a.createdAt,
				upgrade: { state: a.upgrade?.state ?? "none" },
			};
		},

		async createAccount(this: Self, fields, password: string, ctx: Context) {
			const t = now();
			const account: AccountDoc = { _id: newId(), phone: "", ...fields, status: "active", createdAt: t, activatedAt: t, updatedAt: t };
			try {
				await this.db.accounts.insert(account);
			} catch (err) {
				if (err instanceof DuplicateKeyError) throw conflict("This email address has an account already");
				throw err;
			}
			try {
				const set = await ctx.call<{ passwordChangedAt: Date }, Record<string, unknown>>("auth.setInitialPassword", {
					accountId: account._id,
					email: account.email,
					password,
				});
				account.passwordChangedAt = new Date(set.passwordChangedAt);
				await this.db.accounts.updateOne({ _id: account._id }, { $set: { passwordChangedAt: account.passwordChangedAt, twoFactorEnabled: false } });
			} catch (err) {
				await this.db.accounts.remove({ _id: account._id });
				await ctx.call("auth.removeCredentials", { accountId: account._id }).catch(() => undefined);
				throw err;
			}
			ctx.emit("accounts.created", { id: account._id, email: account.email, group: account.group, role: account.role });
			return account;
		},

		async seedGroups(this: Self) {
			for (const g of BUILT_IN_GROUPS) {
				await this.db.groups.insert({ _id: g.name, ...g }).catch(err => {
					if (!(err instanceof DuplicateKeyError)) throw err;
				});
			}
		},

		/** QM_ADMIN_EMAIL/QM_ADMIN_PASSWORD: creates the first admin once; never touches an existing account. */
		async bootstrapAdmin(this: Self) {
			const email = envString("QM_ADMIN_EMAIL").trim().toLowerCase();
			if (!email) return;
			if (await this.db.accounts.findOne({ email })) return;
			const given = envString("QM_ADMIN_PASSWORD");
			// A generated password meets the policy: 24 base62 characters plus one of each class.
			const password = given || `${randomBase62(24)}aZ7!`;
			await this.broker.waitForServices(["auth"], 60_000);
			const ctx = this.broker.ContextFactory.create(this.broker, null as never, {}, {});
			try {
				await this.createAccount({ email, name: "Administrator", group: "billing", role: "admin" }, password, ctx);
			} catch (err) {
				if ((err as { type?: string }).type === "CONFLICT") return; // another replica was first
				throw err;
			}
			this.logger.info(`Bootstrap admin ${email} created`);
			// Printed once, on purpose, straight to the terminal and not through the (masking) logger.
			if (!given) process.stdout.write(`\n  Bootstrap admin: ${email}\n  Generated password (shown once): ${password}\n\n`);
		},
	},

	created(this: Self) {
		this.groupCache = new TtlCache(GROUP_CACHE_MS, 1_000);
		this.quotaCache = new TtlCache(2_000, 50_000);
		this.balanceCache = new TtlCache(1_000, 50_000);
	},

	async started(this: Self) {
		this.seeded = false;
		await this.seedGroups();
		// In the background: in distributed mode `auth` may start after us.
		this.bootstrapAdmin().then(
			() => (this.seeded = true),
			err => this.logger.error("Bootstrap admin failed", err),
		);
	},
});

export default AccountsService;
