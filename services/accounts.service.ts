// accounts: sign-up and activation (REG-1…REG-3), profiles, upgrades (ACC-4), statuses (STS-1…STS-6),
// groups, the bootstrap admin, and the identity the gateway puts in ctx.meta.user. The thin shell:
// it validates, loads, and hands the work to services/accounts/ (see its README). Credentials live
// in `auth`; emails go through `notifications`; this service never reads HTTP.
import type { Context, Service } from "moleculer";
import { actingAccountId, ownerIdParam } from "../lib/acting-for";
import { defineService } from "../lib/service-schema";
import { TtlCache } from "../lib/ttl-cache";
import { pageOf, pageParams } from "../lib/pagination";
import { settingsOf } from "../lib/group-settings";
import { createDbMixin } from "../mixins/db.mixin";
import { createJobsMixin } from "../mixins/jobs.mixin";
import { accountCounters, accounts, groups, signups, statusHistory } from "../models/accounts";
import type { Status } from "./accounts/status";
import { billingInfoRule, type BillingInfo } from "./accounts/billing-info";
import { createGroupParams, customersOfTypeParams, editGroupParams, emailRule, nameRule, phoneRule, termsRule, timeZoneRule } from "./accounts/rules";
import { accountView, findAccounts, groupView, identitiesOf, profileView, type AccountDoc } from "./accounts/store";
import { accountOf, billingContactOf, customersOfType, identityOf } from "./accounts/store";
import { saveCredentialState, seedGroups, statusHistoryPage, updateProfile, type AccountsDb, type GroupDoc } from "./accounts/store";
import { activate, bootstrapAdmin, signUp, signUpInvitee, type SignupParams } from "./accounts/signup";
import { setStatusByAdmin, checkBalance, checkDeactivated, checkTrial, evaluateStatus, type Balance, type StatusParams } from "./accounts/apply-status";
import { convertAccount, requestUpgrade } from "./accounts/upgrade";
import { accountDetail, createGroup, editGroup, moveToGroup, saveGroupSettings, type AdminParams } from "./accounts/admin";

export type { AccountDoc } from "./accounts/store";

/** One object that is every module's parameters at once. */
type Deps = StatusParams & SignupParams & AdminParams;

type Meta = { ip?: string; user?: { id: string }; onBehalfOf?: { accountId: string } };

type Self = Service & {
	db: AccountsDb;
	groupOf(name: string): Promise<GroupDoc>;
	groupCache: TtlCache<string, GroupDoc>;
	quotaCache: TtlCache<string, Record<string, number | string>>;
	balanceCache: TtlCache<string, Balance>;
	balanceOf(ctx: Context, accountId: string): Promise<Balance | null>;
	quotaValues(ctx: Context, accountId: string): Promise<Record<string, number | string>>;
	view(a: AccountDoc, group?: GroupDoc): Promise<ReturnType<typeof accountView>>;
	deps(ctx: Context): Deps;
	sweep(ctx: Context, query: Record<string, unknown>, check: (p: Deps, a: AccountDoc) => Promise<number>): Promise<number>;
	/** True once the built-in groups and the bootstrap admin exist (GET /ready waits for it). */
	seeded: boolean;
};

const GROUP_CACHE_MS = 5_000;

const AccountsService = defineService<Self>({
	name: "accounts",
	mixins: [createDbMixin([accounts, groups, signups, accountCounters, statusHistory]), createJobsMixin("accounts")],

	actions: {
		/* ---- the customer's journey: sign-up, activation, profile, upgrade, status ---- */

		/** POST /auth/signup — the same 202 whether or not the address is known (REG-1). */
		signup: {
			params: { email: emailRule, acceptTerms: termsRule, name: { ...nameRule, optional: true } },
			async handler(this: Self, ctx: Context<{ email: string; acceptTerms: true; name?: string }, Meta>) {
				return signUp(this.deps(ctx), { email: ctx.params.email, name: ctx.params.name, ip: ctx.meta.ip });
			},
		},

		/** POST /auth/activate — single-use link + password → active account in the sign-up group (REG-2). */
		activate: {
			params: { token: { type: "string", min: 1, max: 200 }, password: { type: "string", min: 1, max: 1024 } },
			async handler(this: Self, ctx: Context<{ token: string; password: string }, Meta>) {
				return { account: await this.view(await activate(this.deps(ctx), ctx.params)) };
			},
		},

		/** GET /account */
		me: {
			params: {},
			async handler(this: Self, ctx: Context<Record<string, never>, Meta>) {
				const a = await accountOf(this.db, ctx.meta.user!.id);
				const group = await this.groupOf(a.group);
				// The balance from billing and, for a trial only, its period from quotas: asked at once and
				// kept a moment (the balance is refreshed by every billing.balance.changed this node hears).
				const [balance, quotas] = await Promise.all([this.balanceOf(ctx, a._id), group.type === "trial" ? this.quotaValues(ctx, a._id) : null]);
				return profileView(a, group, balance, quotas);
			},
		},

		/** PATCH /account — name, phone and time zone (IANA, BIL-6's months) only; anything else is refused by the strict schema. */
		update: {
			params: { name: { ...nameRule, optional: true }, phone: { ...phoneRule, optional: true }, timeZone: { ...timeZoneRule, optional: true } },
			async handler(this: Self, ctx: Context<{ name?: string; phone?: string; timeZone?: string }, Meta>) {
				return this.view(await updateProfile(this.deps(ctx), ctx.meta.user!.id, ctx.params));
			},
		},

		/** POST /account/upgrade — billing info + terms; the move to the conversion group may wait for the first refill (ACC-4). */
		upgrade: {
			params: { billingInfo: billingInfoRule, acceptTerms: termsRule },
			async handler(this: Self, ctx: Context<{ billingInfo: BillingInfo; acceptTerms: true }, Meta>) {
				const upgraded = await requestUpgrade(this.deps(ctx), await accountOf(this.db, ctx.meta.user!.id), ctx.params.billingInfo);
				return { account: await this.view(upgraded) };
			},
		},

		/** GET /account/status-history (STS-6) */
		statusHistory: {
			params: { ...pageParams, ownerId: ownerIdParam },
			async handler(this: Self, ctx: Context<{ page: number; pageSize: number; ownerId?: string }, Meta>) {
				return statusHistoryPage(this.db, actingAccountId(ctx.meta, ctx.params.ownerId), ctx.params.page, ctx.params.pageSize); // COL-7
			},
		},

		/** GET /meta/ping: a catalogued no-op behind the gateway (credentials checked, nothing read). */
		ping: {
			params: {},
			handler() {
				return { pong: true };
			},
		},

		/* ---- admin ---- */

		/** GET /admin/accounts?search=&status=&group= */
		adminList: {
			params: {
				search: { type: "string", optional: true, trim: true, max: 200 },
				status: { type: "enum", optional: true, values: ["active", "deactivated", "suspended", "destroyed"] },
				group: { type: "string", optional: true, max: 100 },
				...pageParams,
			},
			async handler(this: Self, ctx: Context<{ search?: string; status?: string; group?: string; page: number; pageSize: number }>) {
				const { page, pageSize } = ctx.params;
				const { rows, total } = await findAccounts(this.db, ctx.params, page, pageSize);
				return pageOf(await Promise.all(rows.map(a => this.view(a))), total, page, pageSize);
			},
		},

		/** GET /admin/accounts/{id} — the full view: account, quotas, balance, status history (ADM-1). */
		adminGet: {
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(this: Self, ctx: Context<{ id: string }>) {
				const a = await accountOf(this.db, ctx.params.id);
				return { ...(await this.view(a)), ...(await accountDetail(this.deps(ctx), a)) };
			},
		},

		/** POST /admin/accounts/{id}/status {status, reason} (STS-5, ADM-1) */
		adminSetStatus: {
			params: {
				id: { type: "string", min: 1, max: 64 },
				status: { type: "enum", values: ["active", "deactivated", "suspended", "destroyed"] },
				reason: { type: "string", trim: true, min: 1, max: 500 },
			},
			async handler(this: Self, ctx: Context<{ id: string; status: Status; reason: string }, Meta & { user: { id: string; email: string } }>) {
				const { id, status, reason } = ctx.params;
				return this.view(await setStatusByAdmin(this.deps(ctx), id, { to: status, reason }, `admin:${ctx.meta.user.email}`));
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
			async handler(this: Self, ctx: Context<{ id: string; group: string; resetBalance: boolean; resetBonus: boolean }, Meta>) {
				return this.view(await moveToGroup(this.deps(ctx), ctx.params));
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
			params: createGroupParams,
			async handler(this: Self, ctx: Context<{ name: string; type: GroupDoc["type"]; conversionGroup?: string; description?: string }>) {
				return groupView(await createGroup(this.deps(ctx), ctx.params));
			},
		},

		/** PATCH /admin/groups/{name} {conversionGroup?, description?, settings?} */
		adminEditGroup: {
			params: editGroupParams,
			async handler(this: Self, ctx: Context<{ name: string; conversionGroup?: string | null; description?: string; settings?: Record<string, unknown> }>) {
				return groupView(await editGroup(this.deps(ctx), ctx.params));
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
			handler(this: Self, ctx: Context<{ id: string }>) {
				return identityOf(this.deps(ctx), ctx.params.id);
			},
		},

		/** COL-4: an invited address without an account gets the activation email; activated, it joins `collaboration`. */
		signupInvitee: {
			visibility: "public",
			params: { email: emailRule, name: { ...nameRule, optional: true } },
			handler(this: Self, ctx: Context<{ email: string; name?: string }>) {
				return signUpInvitee(this.deps(ctx), ctx.params);
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
				return identitiesOf(this.deps(ctx), ctx.params.ids);
			},
		},

		/** Internal (PAY-1, BIL-6): who an invoice is made out to — the billing information of the upgrade, the email — and the account's time zone. */
		billingContact: {
			visibility: "public",
			params: { id: { type: "string", min: 1 } },
			handler(this: Self, ctx: Context<{ id: string }>) {
				return billingContactOf(this.db, ctx.params.id);
			},
		},

		/** Internal (BIL-6): a page of the customers in groups of a type, by id after `after`, with their time zones. */
		customersOfType: {
			visibility: "public",
			params: customersOfTypeParams,
			handler(this: Self, ctx: Context<{ type: string; after?: string; limit: number; leftAfter?: Date }>) {
				return customersOfType(this.db, ctx.params);
			},
		},

		/** Internal: the active administrators, for notices to them (e.g. a balance repaired from its ledger, BIL-2). */
		admins: {
			visibility: "public",
			params: {},
			async handler(this: Self) {
				const admins = await this.db.accounts.find({ role: "admin", status: "active" }, { sort: { createdAt: 1 } });
				return admins.map(a => ({ id: a._id, email: a.email, name: a.name }));
			},
		},

		/** Internal: an account as its owner sees it (without the additions of GET /account). */
		view: {
			visibility: "public",
			params: { id: { type: "string", min: 1 } },
			async handler(this: Self, ctx: Context<{ id: string }>) {
				return this.view(await accountOf(this.db, ctx.params.id));
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
				return { updated: await saveCredentialState(this.db, ctx.params) };
			},
		},

		/** Internal until the admin group API exists: a group's provider settings (see lib/group-settings). */
		setGroupSettings: {
			visibility: "public",
			params: { group: { type: "string", min: 1 }, settings: { type: "object" } },
			async handler(this: Self, ctx: Context<{ group: string; settings: Record<string, unknown> }>) {
				return saveGroupSettings(this.deps(ctx), ctx.params.group, ctx.params.settings);
			},
		},
	},

	events: {
		/** ACC-4: the first successful refill completes a pending upgrade. */
		"billing.refilled": {
			params: { accountId: "string" },
			async handler(this: Self, ctx: Context<{ accountId: string }>) {
				const a = await this.db.accounts.findById(ctx.params.accountId);
				if (a?.upgrade?.state === "pending") await convertAccount(this.deps(ctx), a, a.upgrade.targetGroup);
				else if (a?.status === "destroyed") await evaluateStatus(this.deps(ctx), a, undefined, true); // PAY-5
			},
		},

		/** STS-3, PAY-5: a paid invoice (a post-paid one settled after its due date) brings the account back at once. */
		"billing.invoice.paid": {
			params: { accountId: "string" },
			async handler(this: Self, ctx: Context<{ accountId: string }>) {
				const a = await this.db.accounts.findById(ctx.params.accountId);
				if (a) await evaluateStatus(this.deps(ctx), a, undefined, true);
			},
		},

		/** STS-2/STS-3: a check after every ledger change. */
		"billing.balance.changed": {
			params: { accountId: "string", main: "number", bonus: "number" },
			async handler(this: Self, ctx: Context<{ accountId: string; main: number; bonus: number }>) {
				this.balanceCache.set(ctx.params.accountId, { main: ctx.params.main, bonus: ctx.params.bonus }, Date.now());
				const a = await this.db.accounts.findById(ctx.params.accountId);
				if (a) await evaluateStatus(this.deps(ctx), a, { main: ctx.params.main, bonus: ctx.params.bonus });
			},
		},
	},

	jobs: {
		/** ACC-2/ACC-3: trial reminders at 6/3/1 days, once each; trials past their period are deactivated. */
		"trial-expiry": {
			cron: "10 * * * *",
			handler(this: Self, ctx: Context) {
				return this.sweep(ctx, { status: "active" }, checkTrial);
			},
		},

		/** STS-2/STS-3: every account's balance against its minimum (also checked after each ledger change). */
		deactivation: {
			cron: "20 * * * *",
			handler(this: Self, ctx: Context) {
				return this.sweep(ctx, { status: { $in: ["active", "deactivated"] } }, checkBalance);
			},
		},

		/** STS-4: deactivated longer than account.destroy.period → destroyed, environments deleted; warnings before. */
		destroy: {
			cron: "30 * * * *",
			handler(this: Self, ctx: Context) {
				return this.sweep(ctx, { status: "deactivated" }, checkDeactivated);
			},
		},
	},

	methods: {
		/** What the modules of services/accounts/ receive: this service's stores and caches, the context as their Bus. */
		deps(this: Self, ctx: Context): Deps {
			return {
				db: this.db,
				bus: ctx,
				groupOf: name => this.groupOf(name),
				forgetGroup: name => this.groupCache.delete(name),
				quotaValues: accountId => this.quotaValues(ctx, accountId),
				warn: (message, err) => this.logger.warn(message, err),
			};
		},

		/** One pass of a job: `check` on each account the query finds; the sum of what they did. */
		async sweep(this: Self, ctx: Context, query: Record<string, unknown>, check: (p: Deps, a: AccountDoc) => Promise<number>) {
			const deps = this.deps(ctx);
			let done = 0;
			for (const a of await this.db.accounts.find(query)) done += await check(deps, a);
			return done;
		},

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
			return accountView(a, group ?? (await this.groupOf(a.group)));
		},
	},

	created(this: Self) {
		this.groupCache = new TtlCache(GROUP_CACHE_MS, 1_000);
		this.quotaCache = new TtlCache(2_000, 50_000);
		this.balanceCache = new TtlCache(1_000, 50_000);
	},

	async started(this: Self) {
		this.seeded = false;
		await seedGroups(this.db);
		// In the background: in distributed mode `auth` may start after us.
		bootstrapAdmin({
			db: this.db,
			bus: () => this.broker.ContextFactory.create(this.broker, null as never, {}, {}),
			authReady: () => this.broker.waitForServices(["auth"], 60_000),
			info: message => this.logger.info(message),
		}).then(
			() => (this.seeded = true),
			err => this.logger.error("Bootstrap admin failed", err),
		);
	},
});

export default AccountsService;
