// The accounts service's documents and the collections they live in, the one shape every module
// of services/accounts/ receives (`AccountsDb`, and `Bus` for what it asks of other services),
// the views clients and other services see, and the plain reads and writes of its collections.
// No Moleculer.
// Invariants: an email has one account (unique index, REG-1); built-in groups are inserted when
// missing and never overwritten (ACC-1); the views never carry secrets (no digests, no hashes).
// Requirements: REG-1, ACC-1, ADM-1 (search), STS-6 (history pages), PWD-2 (expiry shown).
import { addMs, DAY, now } from "../../lib/clock";
import { notFound, validationError } from "../../lib/errors";
import { settingsOf } from "../../lib/group-settings";
import { canonicalTimeZone } from "../../lib/time-zones";
import { CURRENCY, formatExact } from "../../lib/money";
import { pageOf, skipOf } from "../../lib/pagination";
import { DuplicateKeyError, type Doc, type Store } from "../../mixins/db.mixin";
import type { BillingInfo } from "./billing-info";
import type { LeftPeriod } from "./group-move";
import { BUILT_IN_GROUPS, type Group } from "./groups";
import { trialEndsAt } from "./status";

export interface AccountDoc extends Doc {
	email: string;
	name: string;
	phone: string;
	/** IANA time zone of the account's calendar (its post-paid months, BIL-6); absent = UTC */
	timeZone?: string;
	group: string;
	/** when a move brought it to its group's type (group-move.ts); absent = of it since activation */
	typeSince?: Date;
	/** per type it left by a move, its last period in it (group-move.ts; BIL-6 invoices a post-paid one) */
	left?: Record<string, LeftPeriod>;
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

/** STS-6: one status change. */
export interface HistoryDoc extends Doc {
	accountId: string;
	from: string;
	to: string;
	reason: string;
	actor: string;
	at: Date;
}

export interface GroupDoc extends Doc, Omit<Group, "name"> {
	name: string;
}

/** REG-2: one activation link sent. */
export interface SignupDoc extends Doc {
	email: string;
	name: string;
	tokenDigest: string;
	createdAt: Date;
	expiresAt: Date;
	usedAt: Date | null;
	ip: string;
	/** COL-4: the group an invitee's account joins (absent: the sign-up group) */
	group?: string;
}

export interface AccountsDb {
	accounts: Store<AccountDoc>;
	groups: Store<GroupDoc>;
	signups: Store<SignupDoc>;
	account_counters: Store;
	status_history: Store<HistoryDoc>;
}

/** What the modules ask of other services: the part of a Moleculer Context they use. */
export interface Bus {
	call<T = unknown>(action: string, params?: object, opts?: { meta?: object }): Promise<T>;
	emit(event: string, payload: object): unknown;
	broadcast(event: string, payload: object): unknown;
}

/** A group as admins and other services see it. */
export function groupView(g: GroupDoc) {
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

/** An account as its owner and admins see it; GET /account (me) adds the rest. */
export function accountView(a: AccountDoc, g: GroupDoc) {
	return {
		id: a._id,
		email: a.email,
		name: a.name,
		phone: a.phone,
		timeZone: a.timeZone ?? "UTC",
		type: g.type,
		group: a.group,
		status: a.status,
		role: a.role,
		trialEndsAt: null, // GET /account (me) fills it in for trials
		createdAt: a.createdAt,
		upgrade: { state: a.upgrade?.state ?? "none" },
	};
}

/**
 * GET /account: the account with what its owner sees of it besides — the balance (null when
 * billing did not answer), a trial's end (from its quota values; null for other types), 2FA,
 * and when the password expires (PWD-2, by the group's `password.expiry.days`; 0 = never).
 */
export function profileView(a: AccountDoc, g: GroupDoc, balance: { main: number; bonus: number } | null, quotas: Record<string, number | string> | null) {
	const days = settingsOf(g)["password.expiry.days"];
	const changed = a.passwordChangedAt ? new Date(a.passwordChangedAt) : null;
	const trialEnds = quotas
		? trialEndsAt({ activatedAt: new Date(a.activatedAt), type: "trial" }, { trialPeriodDays: Number(quotas["account.trialperiod"]) })
		: null;
	return {
		...accountView(a, g),
		trialEndsAt: trialEnds,
		balance: balance ? { main: formatExact(balance.main), bonus: formatExact(balance.bonus), currency: CURRENCY } : null,
		twoFactorEnabled: !!a.twoFactorEnabled,
		passwordExpiresAt: changed && days > 0 ? addMs(changed, days * DAY) : null,
	};
}

/** The fields of `keys` a request gives (not undefined), in that order: what a $set writes. */
function givenFields<T extends object>(given: T, keys: (keyof T & string)[]): Record<string, unknown> {
	return Object.fromEntries(keys.filter(k => given[k] !== undefined).map(k => [k, given[k]]));
}

/** The gateway's ctx.meta.user (and other services' look at one account): null when there is none. */
export async function identityOf(p: { db: Pick<AccountsDb, "accounts">; groupOf(name: string): Promise<GroupDoc> }, id: string) {
	const a = await p.db.accounts.findById(id);
	if (!a) return null;
	const g = await p.groupOf(a.group);
	return { id: a._id, email: a.email, role: a.role, status: a.status, group: a.group, type: g.type };
}

/** For jobs of other services: several accounts at once, with their group settings. */
export async function identitiesOf(p: { db: Pick<AccountsDb, "accounts">; groupOf(name: string): Promise<GroupDoc> }, ids: string[]) {
	const rows = await p.db.accounts.find({ _id: { $in: ids } });
	const groups = new Map<string, GroupDoc>();
	for (const a of rows) if (!groups.has(a.group)) groups.set(a.group, await p.groupOf(a.group));
	return rows.map(a => ({ id: a._id, email: a.email, name: a.name, status: a.status, group: a.group, settings: settingsOf(groups.get(a.group)) }));
}

/** auth's facts that GET /account shows (2FA on, password changed at); true when the account exists. */
export async function saveCredentialState(
	db: Pick<AccountsDb, "accounts">,
	facts: { id: string; twoFactorEnabled?: boolean; passwordChangedAt?: Date },
): Promise<boolean> {
	const set = givenFields(facts, ["twoFactorEnabled", "passwordChangedAt"]);
	return !!(await db.accounts.updateOne({ _id: facts.id }, { $set: set }));
}

/** PATCH /account: name, phone and/or time zone (an IANA name, kept canonical); the others hear of it (accounts.updated). */
export async function updateProfile(
	p: { db: Pick<AccountsDb, "accounts">; bus: Bus },
	id: string,
	change: { name?: string; phone?: string; timeZone?: string },
): Promise<AccountDoc> {
	const set = givenFields(change, ["name", "phone", "timeZone"]);
	if (!Object.keys(set).length) throw validationError({ field: "name", message: "give name, phone or timeZone to change" });
	if (change.timeZone !== undefined) {
		const zone = canonicalTimeZone(change.timeZone);
		if (!zone) throw validationError({ field: "timeZone", message: "must be an IANA time zone such as America/New_York" });
		set.timeZone = zone;
	}
	const a = await p.db.accounts.updateOne({ _id: id }, { $set: { ...set, updatedAt: now() } });
	if (!a) throw notFound("Account");
	p.bus.emit("accounts.updated", { id: a._id, fields: Object.keys(set) });
	return a;
}

/** The account of `id`, or 404. */
export async function accountOf(db: Pick<AccountsDb, "accounts">, id: string): Promise<AccountDoc> {
	const a = await db.accounts.findById(id);
	if (!a) throw notFound("Account");
	return a;
}

/** Internal (PAY-1, BIL-6): who an invoice is made out to — the upgrade's billing information, the email — and the account's time zone. */
export async function billingContactOf(db: Pick<AccountsDb, "accounts">, id: string) {
	const a = await accountOf(db, id);
	return { email: a.email, name: a.name, billingInfo: a.billingInfo ?? null, timeZone: a.timeZone ?? "UTC" };
}

/**
 * Internal (BIL-6): a page of the customers in groups of `type`, by id (keyset: the next page
 * starts `after` the last id), with their time zones — post-paid invoicing walks them. With
 * `leftAfter`, also those that left the type by a move after that instant (`inType: false`):
 * their period in it until the move (`left`) may be in a month not invoiced yet.
 */
export async function customersOfType(db: Pick<AccountsDb, "accounts" | "groups">, q: { type: string; after?: string; limit: number; leftAfter?: Date }) {
	const groups = (await db.groups.find({ type: q.type })).map(g => g._id);
	const leftAfter = q.leftAfter && new Date(q.leftAfter); // a Date, however it came over the wire
	const member = leftAfter ? { $or: [{ group: { $in: groups } }, { [`left.${q.type}.until`]: { $gt: leftAfter } }] } : { group: { $in: groups } };
	const rows = await db.accounts.find(
		{ ...member, role: { $ne: "admin" }, ...(q.after ? { _id: { $gt: q.after } } : {}) },
		{ sort: { _id: 1 }, limit: q.limit },
	);
	return rows.map(a => {
		const inType = groups.includes(a.group);
		const left = a.left?.[q.type];
		return {
			id: a._id,
			status: a.status,
			timeZone: a.timeZone ?? "UTC",
			inType,
			...(inType && a.typeSince ? { typeSince: a.typeSince } : {}),
			...(leftAfter && left && new Date(left.until) > leftAfter ? { left } : {}),
		};
	});
}

/** STS-6: a page of an account's status changes, newest first; an admin is named "admin" only. */
export async function statusHistoryPage(db: Pick<AccountsDb, "status_history">, accountId: string, page: number, pageSize: number) {
	const q = { accountId };
	const [rows, total] = await Promise.all([
		db.status_history.find(q, { sort: { at: -1 }, skip: skipOf(page, pageSize), limit: pageSize }),
		db.status_history.count(q),
	]);
	const changes = rows.map(h => ({ from: h.from, to: h.to, reason: h.reason, actor: h.actor.startsWith("admin:") ? "admin" : h.actor, at: h.at }));
	return pageOf(changes, total, page, pageSize);
}

function escapeRegex(s: string): string {
	return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** ADM-1: accounts by status, group and a search in email and name, newest first. */
export async function findAccounts(
	db: Pick<AccountsDb, "accounts">,
	filter: { search?: string; status?: string; group?: string },
	page: number,
	pageSize: number,
): Promise<{ rows: AccountDoc[]; total: number }> {
	const { search, status, group } = filter;
	const query: Record<string, unknown> = {};
	if (status) query.status = status;
	if (group) query.group = group;
	if (search) {
		const re = new RegExp(escapeRegex(search), "i");
		query.$or = [{ email: { $regex: re } }, { name: { $regex: re } }];
	}
	const [rows, total] = await Promise.all([
		db.accounts.find(query, { sort: { createdAt: -1 }, skip: skipOf(page, pageSize), limit: pageSize }),
		db.accounts.count(query),
	]);
	return { rows, total };
}

/** SPEC §0: the built-in groups, inserted when missing and never overwritten (providers' edits survive). */
export async function seedGroups(db: Pick<AccountsDb, "groups">): Promise<void> {
	for (const g of BUILT_IN_GROUPS) {
		await db.groups.insert({ _id: g.name, ...g }).catch(err => {
			if (!(err instanceof DuplicateKeyError)) throw err;
		});
	}
}
