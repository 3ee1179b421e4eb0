// COL-1, COL-4, COL-5: inviting, answering and leaving — the steps that touch other services (quotas,
// accounts, environments, notifications) through a `Bus`. Store-taking: no Moleculer, no other
// service imported. Invariants: a link is single-use, bound to the invitee's email, 7 days, kept as a
// digest; every move of a membership is one update conditional on the state it came from.
import { now } from "../../lib/clock";
import { publicUrl } from "../../lib/config";
import { digest, newId, safeEqual } from "../../lib/crypto";
import { conflict, invalidState, linkInvalid, notFound, quotaExceeded, validationError } from "../../lib/errors";
import { DuplicateKeyError } from "../../mixins/db.mixin";
import { normaliseShares, roleIdsOf, shareErrors, type ShareInput } from "./shares";
import type { Share } from "./resolve";
import { mustMove, HOLDING, type MemberAction } from "./states";
import { firstUnknownRole, newLink, ownerEmail, type CollabDb, type MemberDoc } from "./store";

export interface Bus {
	call<T = unknown>(action: string, params?: object): Promise<T>;
}

export interface MemberDeps {
	db: CollabDb;
	bus: Bus;
}

export interface Person {
	id: string;
	email: string;
}

/** What `environments.ownedItems` answers: which of the asked environments are the account's, and its group tree. */
export interface OwnedItems {
	envs: { id: string; name: string; groups: string[] }[];
	groups: { id: string; name: string; parentId: string | null }[];
}

/** COL-1: only accounts whose group enables collaboration may share (billing and post-paid by default). */
export async function checkMayShare(d: MemberDeps, ownerId: string): Promise<void> {
	const { values } = await d.bus.call<{ values: Record<string, number | string> }>("quotas.effective", { accountId: ownerId });
	const enabled = Number(values["collaboration.enabled"] ?? 0);
	if (enabled !== 1) throw quotaExceeded("collaboration.enabled", enabled, 1);
}

/** COL-4: the shares, checked — shape, roles and items all the owner's (404 naming the first that is not). */
export async function checkShares(d: MemberDeps, ownerId: string, resources: ShareInput[]): Promise<Share[]> {
	const errors = shareErrors(resources);
	if (errors.length) throw validationError(errors);
	const shares = normaliseShares(resources);
	const unknownRole = await firstUnknownRole(d.db, ownerId, roleIdsOf(shares));
	if (unknownRole) throw notFound(`Role ${unknownRole}`);
	const envIds = shares.filter(s => s.type === "ENV").map(s => s.id as string);
	const groupIds = shares.filter(s => s.type === "ENV_GROUP" && s.id).map(s => s.id as string);
	if (envIds.length || groupIds.length) {
		const owned = await d.bus.call<OwnedItems>("environments.ownedItems", { accountId: ownerId, envIds });
		const envs = new Set(owned.envs.map(e => e.id));
		const groups = new Set(owned.groups.map(g => g.id));
		const env = envIds.find(id => !envs.has(id));
		if (env) throw notFound(`Environment ${env}`);
		const group = groupIds.find(id => !groups.has(id));
		if (group) throw notFound(`Environment group ${group}`);
	}
	return shares;
}

/** COL-4: invite `email` (again, if a past membership exists) with the shares; an unknown address gets an activation email too. */
export async function invite(d: MemberDeps, owner: Person, req: { email: string; displayName?: string; shares: Share[] }): Promise<MemberDoc> {
	const email = req.email.toLowerCase();
	if (email === owner.email.toLowerCase()) throw validationError({ field: "email", message: "is your own address: invite someone else" });
	const link = newLink();
	const t = now();
	const fresh = {
		status: "pending" as const,
		memberId: null,
		resources: req.shares,
		tokenDigest: link.tokenDigest,
		expiresAt: link.expiresAt,
		invitedAt: t,
		acceptedAt: null,
		updatedAt: t,
	};
	const past = await d.db.collaborations.findOne({ ownerEmail: ownerEmail(owner.id, email) });
	let m: MemberDoc | null;
	if (past) {
		if (HOLDING.includes(past.status)) throw conflict(`${email} is invited or a member already`, { memberId: past._id });
		mustMove(past.status, "reinvite");
		m = await d.db.collaborations.updateOne({ _id: past._id, status: past.status }, { $set: { ...fresh, displayName: req.displayName ?? past.displayName } });
		if (!m) throw conflict("The membership changed at the same moment; read it again and retry");
	} else {
		m = {
			_id: newId(),
			ownerId: owner.id,
			ownerEmail: ownerEmail(owner.id, email),
			primaryEmail: owner.email,
			email,
			displayName: req.displayName ?? "",
			...fresh,
		};
		try {
			await d.db.collaborations.insert(m);
		} catch (err) {
			if (err instanceof DuplicateKeyError) throw conflict(`${email} is invited or a member already`);
			throw err;
		}
	}
	// COL-4: an address without an account gets one in the `collaboration` group, through the normal activation email.
	if (!(await d.bus.call("accounts.findByEmail", { email })))
		await d.bus.call("accounts.signupInvitee", { email, ...(req.displayName ? { name: req.displayName } : {}) });
	await sendInvitation(d, m, link.token);
	return m;
}

/** The invitation email, with a link that carries the token (never stored). */
export async function sendInvitation(d: MemberDeps, m: MemberDoc, token: string): Promise<void> {
	await d.bus.call("notifications.send", {
		template: "collaboration-invitation",
		to: m.email,
		dedupKey: `collaboration-invitation:${digest(token)}`,
		data: { owner: m.primaryEmail, link: `${publicUrl()}/collaboration/invitations/${m._id}?token=${encodeURIComponent(token)}`, validDays: 7 },
	});
}

/**
 * COL-5: the invitee accepts or rejects. With the emailed token the link must be the current one,
 * unused, unexpired and the caller's (LINK_INVALID otherwise); without it, the invitation must be
 * addressed to the caller (another's is not found).
 */
export async function answer(d: MemberDeps, me: Person, id: string, token: string | undefined, action: "accept" | "reject"): Promise<MemberDoc> {
	const m = await d.db.collaborations.findById(id);
	const mine = !!m && m.email === me.email.toLowerCase();
	if (!m || (token === undefined && !mine)) throw notFound("Invitation");
	const current = m.status === "pending" && !!m.tokenDigest && !!m.expiresAt && new Date(m.expiresAt) > now();
	if (!current || !mine || (token !== undefined && !safeEqual(digest(token), m.tokenDigest as string)))
		throw linkInvalid("This invitation link is invalid, already used, expired or meant for another account");
	const next = mustMove(m.status, action);
	const t = now();
	const done = await d.db.collaborations.updateOne(
		{ _id: m._id, status: "pending", tokenDigest: m.tokenDigest },
		{ $set: { status: next, tokenDigest: null, expiresAt: null, updatedAt: t, ...(action === "accept" ? { memberId: me.id, acceptedAt: t } : {}) } },
	);
	if (!done) throw linkInvalid();
	await tellPrimary(d, done, action === "accept" ? "accepted" : "rejected");
	return done;
}

/** COL-5: the member leaves, losing access to everything shared. */
export async function leave(d: MemberDeps, me: Person, id: string): Promise<MemberDoc> {
	const m = await d.db.collaborations.findOne({ _id: id, memberId: me.id });
	if (!m || !HOLDING.includes(m.status)) throw notFound("Collaboration");
	const left = await move(d, m, "leave");
	await tellPrimary(d, left, "left");
	return left;
}

/** One move of the state machine, conditional on the state it came from. */
export async function move(d: MemberDeps, m: MemberDoc, action: MemberAction, set: Partial<MemberDoc> = {}): Promise<MemberDoc> {
	const status = mustMove(m.status, action);
	const done = await d.db.collaborations.updateOne({ _id: m._id, status: m.status }, { $set: { ...set, status, updatedAt: now() } });
	if (!done) throw invalidState("The membership changed at the same moment; read it again and retry");
	return done;
}

/** COL-5: the primary account hears of accept, reject and leave. */
async function tellPrimary(d: MemberDeps, m: MemberDoc, what: "accepted" | "rejected" | "left"): Promise<void> {
	await d.bus.call("notifications.send", {
		template: "collaboration-answer",
		to: m.primaryEmail,
		accountId: m.ownerId,
		dedupKey: `collaboration-${what}:${m._id}:${new Date(m.updatedAt).getTime()}`,
		data: { member: m.email, what, link: `${publicUrl()}/collaboration/members` },
	});
}
