// Collaboration (COL-1…COL-5): shared by me (/collaboration: members with what they share and
// their roles, invite, suspend/activate, resend, remove; the roles), shared with me
// (/collaboration/shared-with-me: accept, reject, leave) and the invitation email's link
// (/collaboration/invitations/{id}?token=…).
import { useState } from "preact/hooks";
import { del, get, post } from "../api";
import { location$, navigate } from "../router";
import { ActionButton, Banner, date, Failed, Field, Form, html, Loading, Page, SubNav, useLoad } from "../ui";

export const COLLAB_NAV: [string, string][] = [
	["/collaboration", "Shared by me"],
	["/collaboration/shared-with-me", "Shared with me"],
	["/collaboration/roles", "Roles and policies"],
];

interface Resource {
	type: "ENV" | "ENV_GROUP" | "ACCOUNT";
	id?: string;
	roleIds: string[];
}
interface Member {
	id: string;
	email: string;
	displayName?: string;
	status: string;
	resources: Resource[];
	invitedAt: string;
	expiresAt: string | null;
}
interface Role {
	id: string;
	name: string;
	description?: string;
	policies: string[];
	template: string | null;
}
interface Shared {
	id: string;
	owner: { id: string; email: string };
	status: string;
	resources: (Resource & { name?: string | null; roles: { id: string; name: string }[] })[];
	invitedAt: string;
	expiresAt: string | null;
}
interface Env {
	id: string;
	name: string;
	shared: boolean;
}

function itemName(r: { type: string; id?: string; name?: string | null }, envs: Map<string, string>): string {
	if (r.type === "ACCOUNT") return "The whole account";
	const name = r.name ?? (r.id ? envs.get(r.id) : undefined) ?? r.id ?? "";
	return r.type === "ENV_GROUP" ? `Group ${name}` : name;
}

function Invite(props: { envs: Env[]; roles: Role[]; onInvited: () => void }) {
	const [key, setKey] = useState(0);
	const [sent, setSent] = useState<string | null>(null);
	const invite = async (v: { email: string; displayName: string; roleId: string; env?: Record<string, boolean> }) => {
		const chosen = props.envs.filter(e => v.env?.[e.id]);
		await post("/collaboration/members", {
			email: v.email.trim(),
			...(v.displayName.trim() ? { displayName: v.displayName.trim() } : {}),
			resources: chosen.map(e => ({ type: "ENV", id: e.id, roleIds: [v.roleId] })),
		});
		setSent(`The invitation is sent to ${v.email.trim()}.`);
		setKey(k => k + 1);
		props.onInvited();
	};
	return html`<section class="card" aria-labelledby="invite-h">
		<h2 id="invite-h">Invite a member</h2>
		${sent && html`<${Banner} kind="ok">${sent}<//>`}
		<${Form} key=${key} submit="Send the invitation" label="Invite a member" onSubmit=${invite}>
			<${Field} label="Email" name="email" type="email" autocomplete="off" />
			<${Field} label="Display name (optional)" name="displayName" />
			<fieldset>
				<legend>Environments to share</legend>
				${props.envs.length === 0 && html`<p>You have no environments to share yet.</p>`}
				${props.envs.map(
					e =>
						html`<div class="check" key=${e.id}>
							<input type="checkbox" id=${`share-${e.id}`} name=${`env.${e.id}`} />
							<label for=${`share-${e.id}`}>${e.name}</label>
						</div>`,
				)}
			</fieldset>
			<div class="field">
				<label for="f-roleId">Role</label>
				<select id="f-roleId" name="roleId">
					${props.roles.map(r => html`<option key=${r.id} value=${r.id}>${r.name}</option>`)}
				</select>
			</div>
		<//>
	</section>`;
}

export function SharedByMe() {
	const data = useLoad(() =>
		Promise.all([
			get<{ rows: Member[] }>("/collaboration/members?pageSize=100"),
			get<Role[]>("/collaboration/roles"),
			get<{ rows: Env[] }>("/environments?pageSize=100"),
		]),
	);
	if (data.loading) return html`<${Page} title="Shared by me"><${SubNav} label="Collaboration" links=${COLLAB_NAV} /><${Loading} what="your members" /><//>`;
	if (!data.data) return html`<${Page} title="Shared by me"><${SubNav} label="Collaboration" links=${COLLAB_NAV} /><${Failed} error=${data.error} /><//>`;
	const [members, roles, { rows: envs }] = data.data;
	const own = envs.filter(e => !e.shared);
	const envNames = new Map(envs.map(e => [e.id, e.name]));
	const roleNames = new Map(roles.map(r => [r.id, r.name]));
	const act =
		(m: Member, path: string, method: "POST" | "DELETE" = "POST") =>
		async () => {
			await (method === "DELETE"
				? del(`/collaboration/members/${encodeURIComponent(m.id)}`)
				: post(`/collaboration/members/${encodeURIComponent(m.id)}/${path}`));
			await data.reload();
		};
	return html`<${Page} title="Shared by me">
		<${SubNav} label="Collaboration" links=${COLLAB_NAV} />
		<section class="card" aria-labelledby="members-h">
			<h2 id="members-h">Members</h2>
			${
				members.rows.length === 0
					? html`<p>You share nothing yet.</p>`
					: html`<ul class="method-list" aria-label="Members">
							${members.rows.map(
								m =>
									html`<li key=${m.id}>
										<span>
											<strong>${m.displayName || m.email}</strong>${m.displayName ? html` <span class="muted">${m.email}</span>` : ""} ·
											<span data-testid="member-status">${m.status}</span
											>${m.expiresAt ? html` <span class="muted">(the invitation expires ${date(m.expiresAt)})</span>` : ""}<br />
											<span class="muted"
												>${m.resources.map(r => `${itemName(r, envNames)}: ${r.roleIds.map(id => roleNames.get(id) ?? id).join(", ")}`).join("; ")}</span
											>
										</span>
										${m.status === "active" && html`<${ActionButton} secondary label=${`Suspend ${m.email}`} onClick=${act(m, "suspend")}>Suspend<//>`}
										${m.status === "suspended" && html`<${ActionButton} secondary label=${`Activate ${m.email}`} onClick=${act(m, "activate")}>Activate<//>`}
										${m.status === "pending" && html`<${ActionButton} secondary label=${`Resend the invitation to ${m.email}`} onClick=${act(m, "resend")}>Resend<//>`}
										${
											["pending", "active", "suspended"].includes(m.status) &&
											html`<${ActionButton} secondary label=${`Remove ${m.email}`} onClick=${act(m, "", "DELETE")}>Remove<//>`
										}
									</li>`,
							)}
						</ul>`
			}
		</section>
		<${Invite} envs=${own} roles=${roles} onInvited=${() => void data.reload()} />
		<section class="card" aria-labelledby="roles-h">
			<h2 id="roles-h">Roles</h2>
			<ul class="method-list" aria-label="Roles">
				${roles.map(
					r =>
						html`<li key=${r.id}>
							<span
								><strong>${r.name}</strong>${r.description ? ` — ${r.description}` : ""}<br /><span class="muted"
									>Policies: ${r.policies.join(", ") || "none"}</span
								></span
							>
						</li>`,
				)}
			</ul>
		</section>
	<//>`;
}

function SharedItems(props: { s: Shared }) {
	return html`<ul>
		${props.s.resources.map((r, n) => html`<li key=${n}>${itemName(r, new Map())} — ${r.roles.map(x => x.name).join(", ") || "no role"}</li>`)}
	</ul>`;
}

export function SharedWithMe() {
	const list = useLoad(() => get<Shared[]>("/collaboration/shared-with-me"));
	const act = (s: Shared, path: string) => async () => {
		await post(path === "leave" ? `/collaboration/${encodeURIComponent(s.id)}/leave` : `/collaboration/invitations/${encodeURIComponent(s.id)}/${path}`);
		await list.reload();
	};
	return html`<${Page} title="Shared with me">
		<${SubNav} label="Collaboration" links=${COLLAB_NAV} />
		${list.loading && html`<${Loading} what="what is shared with you" />`} ${!list.loading && !list.data && html`<${Failed} error=${list.error} />`}
		${
			list.data &&
			(list.data.length === 0
				? html`<p>Nothing is shared with you.</p>`
				: html`<ul class="method-list" aria-label="Shared with me">
						${list.data.map(
							s =>
								html`<li key=${s.id}>
									<span>
										From <strong>${s.owner.email}</strong> · ${s.status}
										<${SharedItems} s=${s} />
									</span>
									${
										s.status === "pending" &&
										html`<${ActionButton} label=${`Accept the invitation from ${s.owner.email}`} onClick=${act(s, "accept")}>Accept<//>
											<${ActionButton} secondary label=${`Reject the invitation from ${s.owner.email}`} onClick=${act(s, "reject")}>Reject<//>`
									}
									${
										["active", "suspended"].includes(s.status) &&
										html`<${ActionButton} secondary label=${`Leave the collaboration with ${s.owner.email}`} onClick=${act(s, "leave")}>Leave<//>`
									}
								</li>`,
						)}
					</ul>`)
		}
	<//>`;
}

/** The invitation email's link: accept or reject with its token. */
export function Invitation(props: { id: string }) {
	const token = location$.value.query.get("token") ?? undefined;
	const [rejected, setRejected] = useState(false);
	const answer = (what: "accept" | "reject") => async () => {
		await post(`/collaboration/invitations/${encodeURIComponent(props.id)}/${what}`, token ? { token } : {});
		if (what === "accept") navigate("/environments");
		else setRejected(true);
	};
	return html`<${Page} title="Invitation" narrow>
		${
			rejected
				? html`<${Banner} kind="info">You rejected the invitation.<//>`
				: html`<p>Someone invited you to work on their environments. Accept to see what they share with you.</p>
						<div class="actions">
							<${ActionButton} onClick=${answer("accept")}>Accept the invitation<//>
							<${ActionButton} secondary onClick=${answer("reject")}>Reject<//>
						</div>`
		}
		<p><a href="/collaboration/shared-with-me">Everything shared with me</a></p>
	<//>`;
}
