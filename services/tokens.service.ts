// tokens: personal access tokens (PAT-1…PAT-5). Every change needs the password; the value is
// shown once and only its digest is stored. The gateway verifies tokens through `tokens.verify`,
// caches the answer, and drops it on every node when a `tokens.revoked` event says so.
import type { Context, Service } from "moleculer";
import { addMs, DAY, MINUTE, now, nowMs } from "../lib/clock";
import { publicUrl } from "../lib/config";
import { newId } from "../lib/crypto";
import { notFound, unauthorized, validationError, type FieldError } from "../lib/errors";
import { parseCidr } from "../lib/client-ip";
import { timeParam } from "../lib/time-params";
import { dueNotice } from "../lib/reminders";
import { defineService } from "../lib/service-schema";
import { createDbMixin, type Doc, type Store } from "../mixins/db.mixin";
import { createJobsMixin } from "../mixins/jobs.mixin";
import { tokens } from "../models/tokens";
import type { GroupSettings } from "../lib/group-settings";
import { displayPrefix, newPat, patDigest, wellFormedPat } from "../lib/pat";
import { templateMethods, tokenMethods, TOKEN_TEMPLATES } from "./tokens/templates";

interface TokenDoc extends Doc {
	accountId: string;
	description: string;
	template: string | null;
	apiList: string[];
	allowedIps: string[];
	expiresAt: Date | null;
	digest: string;
	prefix: string;
	createdAt: Date;
	updatedAt: Date;
	lastUsedAt: Date | null;
	lastUsedIp: string | null;
}

interface AccountRef {
	id: string;
	email: string;
	status: string;
	settings: GroupSettings;
}

type Meta = { ip?: string; user?: { id: string; email: string } };

interface TokenFields {
	description?: string;
	template?: string;
	apiList?: string[];
	expiresAt?: string | null;
	allowedIps?: string[];
}

type Self = Service & {
	db: { tokens: Store<TokenDoc> };
	owner(ctx: Context, password: string): Promise<AccountRef>;
	own(ctx: Context, id: string): Promise<TokenDoc>;
	checked(fields: TokenFields, account: AccountRef, current?: TokenDoc): Partial<TokenDoc>;
	view(t: TokenDoc): Record<string, unknown>;
	revoked(ctx: Context, docs: TokenDoc[]): void;
};

const LAST_USED_EVERY_MS = MINUTE; // PAT-1: last-used writes are throttled

const fieldRules = {
	description: { type: "string", trim: true, min: 1, max: 200 },
	template: { type: "enum", values: TOKEN_TEMPLATES.map(t => t.name), optional: true },
	apiList: { type: "array", items: { type: "string", min: 1, max: 200 }, max: 500, optional: true },
	expiresAt: { type: "string", max: 40, optional: true, nullable: true },
	allowedIps: { type: "array", items: { type: "string", min: 1, max: 64 }, max: 50, optional: true },
} as const;

const passwordRule = { type: "string", min: 1, max: 1024 } as const;
const TOKEN_NOTICE_DAYS = [1, 7]; // PAT-5

const TokensService = defineService<Self>({
	name: "tokens",
	mixins: [createDbMixin([tokens]), createJobsMixin("tokens")],

	jobs: {
		/** PAT-5: notices 7 days and 1 day before a token expires, once each, saying the days left. */
		"expiry-notices": {
			cron: "25 * * * *",
			async handler(this: Self, ctx: Context) {
				const t = now();
				const soon = await this.db.tokens.find({ expiresAt: { $gt: t, $lte: addMs(t, 7 * DAY) } }, { limit: 5000 });
				const owners = new Map(
					(await ctx.call<AccountRef[], { ids: string[] }>("accounts.identities", { ids: [...new Set(soon.map(x => x.accountId))] })).map(a => [a.id, a]),
				);
				let sent = 0;
				for (const tok of soon) {
					const owner = owners.get(tok.accountId);
					if (!owner) continue;
					const due = dueNotice(new Date(tok.expiresAt!), t, TOKEN_NOTICE_DAYS);
					if (!due) continue;
					const res = await ctx.call<{ duplicate: boolean }, Record<string, unknown>>("notifications.send", {
						template: "token-expiry",
						to: owner.email,
						accountId: owner.id,
						dedupKey: `token-expiry:${tok._id}:${new Date(tok.expiresAt!).toISOString()}:${due.notice}`,
						data: {
							description: tok.description,
							prefix: tok.prefix,
							days: due.daysLeft,
							expiresAt: new Date(tok.expiresAt!).toISOString(),
							tokensLink: `${publicUrl()}/account/tokens`,
						},
					});
					if (!res.duplicate) sent++;
				}
				return sent;
			},
		},
	},

	actions: {
		/** GET /tokens — never a value or a digest. */
		list: {
			params: {},
			async handler(this: Self, ctx: Context<Record<string, never>, Meta>) {
				const rows = await this.db.tokens.find({ accountId: ctx.meta.user!.id }, { sort: { createdAt: -1 } });
				return rows.map(t => this.view(t));
			},
		},

		/** GET /tokens/templates */
		templates: {
			params: {},
			handler() {
				return TOKEN_TEMPLATES.map(t => ({ name: t.name, description: t.description, apiList: templateMethods(t.name) }));
			},
		},

		/** POST /tokens → 201 with the value, once. */
		create: {
			params: { password: passwordRule, ...fieldRules },
			async handler(this: Self, ctx: Context<TokenFields & { password: string; description: string }, Meta>) {
				const account = await this.owner(ctx, ctx.params.password);
				const fields = this.checked(ctx.params, account);
				const token = newPat();
				const t = now();
				const doc = {
					_id: newId(),
					accountId: account.id,
					lastUsedAt: null,
					lastUsedIp: null,
					createdAt: t,
					updatedAt: t,
					...fields,
					digest: patDigest(token),
					prefix: displayPrefix(token),
				} as TokenDoc;
				await this.db.tokens.insert(doc);
				return { token, ...this.view(doc) };
			},
		},

		/** PATCH /tokens/{id} */
		edit: {
			params: {
				id: { type: "string", min: 1, max: 64 },
				password: passwordRule,
				...fieldRules,
				description: { ...fieldRules.description, optional: true },
			},
			async handler(this: Self, ctx: Context<TokenFields & { id: string; password: string }, Meta>) {
				const account = await this.owner(ctx, ctx.params.password);
				const current = await this.own(ctx, ctx.params.id);
				const fields = this.checked(ctx.params, account, current);
				const updated = await this.db.tokens.updateOne({ _id: current._id, accountId: account.id }, { $set: { ...fields, updatedAt: now() } });
				if (!updated) throw notFound("Token");
				this.revoked(ctx, [current]); // cached scopes must be read again
				return this.view(updated);
			},
		},

		/** POST /tokens/{id}/regenerate — a new value; the old one dies at once (PAT-3). */
		regenerate: {
			params: { id: { type: "string", min: 1, max: 64 }, password: passwordRule },
			async handler(this: Self, ctx: Context<{ id: string; password: string }, Meta>) {
				const account = await this.owner(ctx, ctx.params.password);
				const current = await this.own(ctx, ctx.params.id);
				const token = newPat();
				const updated = await this.db.tokens.updateOne(
					{ _id: current._id, accountId: account.id, digest: current.digest },
					{ $set: { digest: patDigest(token), prefix: displayPrefix(token), updatedAt: now(), lastUsedAt: null, lastUsedIp: null } },
				);
				if (!updated) throw notFound("Token");
				this.revoked(ctx, [current]);
				return { token, ...this.view(updated) };
			},
		},

		/** POST /tokens/{id}/copy — a new token with the same scope. */
		copy: {
			params: { id: { type: "string", min: 1, max: 64 }, password: passwordRule, description: { ...fieldRules.description, optional: true } },
			async handler(this: Self, ctx: Context<{ id: string; password: string; description?: string }, Meta>) {
				await this.owner(ctx, ctx.params.password); // confirms the password (PAT-1)
				const source = await this.own(ctx, ctx.params.id);
				const token = newPat();
				const t = now();
				const doc: TokenDoc = {
					...source,
					_id: newId(),
					description: ctx.params.description ?? `${source.description} (copy)`.slice(0, 200),
					digest: patDigest(token),
					prefix: displayPrefix(token),
					createdAt: t,
					updatedAt: t,
					lastUsedAt: null,
					lastUsedIp: null,
				};
				await this.db.tokens.insert(doc);
				return { token, ...this.view(doc) };
			},
		},

		/** POST /tokens/delete {password, ids: [...] | "*"} */
		remove: {
			params: {
				password: passwordRule,
				ids: [
					{ type: "array", items: { type: "string", min: 1, max: 64 }, min: 1, max: 500 },
					{ type: "equal", value: "*" },
				],
			},
			async handler(this: Self, ctx: Context<{ password: string; ids: string[] | "*" }, Meta>) {
				const account = await this.owner(ctx, ctx.params.password);
				const query = ctx.params.ids === "*" ? { accountId: account.id } : { accountId: account.id, _id: { $in: ctx.params.ids } };
				const found = await this.db.tokens.find(query);
				if (Array.isArray(ctx.params.ids)) {
					// All or nothing: an id that is not one of mine (or not at all) deletes nothing.
					const mine = new Set(found.map(t => t._id));
					const missing = ctx.params.ids.findIndex(id => !mine.has(id));
					if (missing >= 0) throw notFound(`Token ${ctx.params.ids[missing]}`);
				}
				const deleted = await this.db.tokens.remove({ accountId: account.id, _id: { $in: found.map(t => t._id) } });
				this.revoked(ctx, found);
				return { deleted };
			},
		},

		/** Internal (gateway): a token value → its owner and scope; 401 for unknown, malformed or expired ones. */
		verify: {
			visibility: "public",
			params: { token: { type: "string", min: 1, max: 200 } },
			async handler(this: Self, ctx: Context<{ token: string }>) {
				if (!wellFormedPat(ctx.params.token)) throw unauthorized("Unknown access token");
				const t = await this.db.tokens.findOne({ digest: patDigest(ctx.params.token) });
				if (!t) throw unauthorized("Unknown access token");
				// PAT-4: refused from the instant it expires (the gateway checks its cached answer again).
				if (t.expiresAt && new Date(t.expiresAt).getTime() <= nowMs()) throw unauthorized("The access token has expired", "TOKEN_EXPIRED");
				return {
					tokenId: t._id,
					accountId: t.accountId,
					apiList: t.template ? (templateMethods(t.template) ?? []) : t.apiList,
					allowedIps: t.allowedIps ?? [],
					expiresAt: t.expiresAt,
				};
			},
		},
	},

	events: {
		/** The gateway reports use at most once a minute per token (PAT-1: last used time and IP). */
		"tokens.used": {
			params: { id: "string", ip: "string" },
			async handler(this: Self, ctx: Context<{ id: string; ip: string }>) {
				const t = nowMs();
				await this.db.tokens.updateOne(
					{ _id: ctx.params.id, $or: [{ lastUsedAt: null }, { lastUsedAt: { $lte: new Date(t - LAST_USED_EVERY_MS) } }] },
					{ $set: { lastUsedAt: new Date(t), lastUsedIp: ctx.params.ip } },
				);
			},
		},
	},

	methods: {
		/** PAT-3: every token change is confirmed with the password. */
		async owner(ctx: Context, password: string) {
			const me = (ctx.meta as Meta).user!;
			await ctx.call("auth.confirmPassword", { accountId: me.id, password });
			const [account] = await ctx.call<AccountRef[], { ids: string[] }>("accounts.identities", { ids: [me.id] });
			if (!account) throw unauthorized();
			return account;
		},

		async own(this: Self, ctx: Context, id: string) {
			const t = await this.db.tokens.findOne({ _id: id, accountId: (ctx.meta as Meta).user!.id });
			if (!t) throw notFound("Token");
			return t;
		},

		/** Validates the scope, expiry and allow-list against the catalogue and the group's limits. */
		checked(fields: TokenFields, account: AccountRef, current?: TokenDoc) {
			const errors: FieldError[] = [];
			const out: Partial<TokenDoc> = {};
			if (fields.description !== undefined) out.description = fields.description;
			if (fields.template !== undefined && fields.apiList !== undefined)
				errors.push({ field: "apiList", message: "give either a template or an apiList, not both" });
			if (fields.template !== undefined) {
				out.template = fields.template;
				out.apiList = [];
			} else if (fields.apiList !== undefined) {
				const known = new Set(tokenMethods());
				fields.apiList.forEach((m, i) => {
					if (!known.has(m)) errors.push({ field: `apiList[${i}]`, message: `"${m}" is not an API method a token can be given (see GET /api/v1/api-methods)` });
				});
				if (!fields.apiList.length) errors.push({ field: "apiList", message: "must name at least one API method" });
				out.template = null;
				out.apiList = [...new Set(fields.apiList)];
			} else if (!current) {
				errors.push({ field: "apiList", message: "give a template or an apiList" });
			}

			const maxDays = account.settings["token.max.lifetime.days"];
			if (fields.expiresAt !== undefined && fields.expiresAt !== null) {
				const at = timeParam(fields.expiresAt, "expiresAt", errors);
				if (!at) {
					// timeParam named the field and the reason
				} else if (at <= now()) errors.push({ field: "expiresAt", message: "must be in the future" });
				else if (maxDays > 0 && at > addMs(now(), maxDays * DAY))
					errors.push({ field: "expiresAt", message: `must be within ${maxDays} days (the group's maximum token lifetime)` });
				else out.expiresAt = at;
			} else if (fields.expiresAt === null || (!current && fields.expiresAt === undefined)) {
				if (account.settings["token.expiry.required"]) errors.push({ field: "expiresAt", message: "is required by your provider" });
				else out.expiresAt = null;
			}

			if (fields.allowedIps !== undefined) {
				fields.allowedIps.forEach((c, i) => {
					if (!parseCidr(c)) errors.push({ field: `allowedIps[${i}]`, message: `"${c}" is not an IPv4/IPv6 address or CIDR` });
				});
				out.allowedIps = fields.allowedIps.map(c => c.trim());
			} else if (!current) {
				out.allowedIps = [];
			}
			if (errors.length) throw validationError(errors);
			return out;
		},

		view(t: TokenDoc) {
			return {
				id: t._id,
				description: t.description,
				template: t.template,
				apiList: t.template ? (templateMethods(t.template) ?? []) : t.apiList,
				allowedIps: t.allowedIps,
				expiresAt: t.expiresAt,
				createdAt: t.createdAt,
				lastUsedAt: t.lastUsedAt,
				lastUsedIp: t.lastUsedIp,
				prefix: t.prefix,
			};
		},

		/** Every gateway drops what it cached about these tokens (PAT-3: dead at once). */
		revoked(ctx: Context, docs: TokenDoc[]) {
			if (docs.length) ctx.broadcast("tokens.revoked", { ids: docs.map(d => d._id) });
		},
	},
});

export default TokensService;
