// COL-8, NTF-2: the emails about an action on an environment — it was stopped or deleted. They
// name the action and its initiator (a member's email, an administrator's, or the platform, with
// the reason) and go to the initiator and the owner, and to the member who created the environment
// for the owner. An action that concerns no member (the owner's own, or an administrator's or the
// platform's on what the owner made itself) sends nothing here: the owner hears of those as before
// (the account-status email). Pure: no Moleculer, no I/O.
import type { Initiator } from "../../lib/usage-record";

export type EnvActionName = "stopped" | "deleted";

/** Who did it: the owner, a member acting for the owner, an administrator, or the platform's own rules. */
export type Actor =
	| { kind: "owner"; id: string; email: string }
	| { kind: "member"; id: string; email: string }
	| { kind: "admin"; email: string; reason?: string }
	| { kind: "platform"; reason?: string };

export interface ActionFacts {
	env: { _id: string; name: string; rev: number; ownerId: string; initiator?: Initiator | null };
	ownerEmail: string;
	action: EnvActionName;
	actor: Actor;
}

/** One email, as notifications.send takes it (template `environment-action`). */
export interface Notice {
	to: string;
	accountId: string;
	dedupKey: string;
	data: { env: string; owner: string; action: EnvActionName; by: string; role: string; reason?: string };
}

/** The actor of a user's request: a member when it acts for another account (the gateway set onBehalfOf), else the owner. */
export function requestActor(meta: { user: { id: string; email: string }; onBehalfOf?: unknown }): Actor {
	return { kind: meta.onBehalfOf ? "member" : "owner", id: meta.user.id, email: meta.user.email };
}

/** The actor of an account-wide change as accounts names it (`system`, `admin:<email>`), with its reason. */
export function accountChangeActor(actor: string | undefined, reason: string | undefined): Actor {
	const admin = actor?.startsWith("admin:") ? actor.slice("admin:".length) : "";
	return admin ? { kind: "admin", email: admin, reason } : { kind: "platform", reason };
}

/** Whether the action concerns a member: a member did it, or a member created the environment. */
export function concernsMember(env: ActionFacts["env"], actor: Actor): boolean {
	return actor.kind === "member" || !!env.initiator;
}

/** NTF-2: the initiator as an email names it. */
export function byWhom(actor: Actor): string {
	if (actor.kind === "admin") return `the administrator ${actor.email}`;
	if (actor.kind === "platform") return "the platform";
	return actor.email;
}

/** The emails an action sends: one per account concerned (the one who acted, the member who created it, the owner). */
export function actionNotices(f: ActionFacts): Notice[] {
	const { env, actor } = f;
	if (!concernsMember(env, actor)) return [];
	const reason = actor.kind === "admin" || actor.kind === "platform" ? actor.reason : undefined;
	const recipients: { id: string; email: string; role: string }[] = [];
	const add = (id: string, email: string, role: string) => {
		if (!recipients.some(r => r.id === id)) recipients.push({ id, email, role });
	};
	if (actor.kind === "member") add(actor.id, actor.email, "the member who did it");
	if (env.initiator) add(env.initiator.id, env.initiator.email, `the member who created it for ${f.ownerEmail}`);
	add(env.ownerId, f.ownerEmail, "its owner");
	return recipients.map(r => ({
		to: r.email,
		accountId: r.id,
		// One per action and recipient: a retry, or a second replica, sends nothing more (NTF-1).
		dedupKey: `environment-action:${f.action}:${env._id}:${env.rev}:${r.id}`,
		data: { env: env.name, owner: f.ownerEmail, action: f.action, by: byWhom(actor), role: r.role, ...(reason ? { reason } : {}) },
	}));
}
