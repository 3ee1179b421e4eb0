// Collaboration — roles and policies (/collaboration/roles, COL-2, COL-3): my roles with their
// policies, added, edited, copied and deleted (a role a member holds is refused with 409, shown as
// who holds it); the system policies, and my custom policies {name, methods} chosen from the API
// catalogue.
import { useMemo, useState } from "preact/hooks";
import { ApiError, del, get, patch, post } from "../api";
import { ActionButton, Banner, Check, Failed, Field, Form, html, Loading, Page, SubNav, useLoad } from "../ui";
import { COLLAB_NAV } from "./collaboration";
import { MethodPicker, type ApiMethod } from "../method-picker";

interface Role {
	id: string;
	name: string;
	description?: string;
	policies: string[];
	receiveLoadAlerts?: boolean;
	template: string | null;
}
interface Policy {
	id: string;
	name: string;
	path: string[];
	description?: string;
	methods: string[];
	system: boolean;
}
interface Env {
	id: string;
	name: string;
}

/**
 * Methods never given to a member (about one's own account, or administrators'): left out of the
 * picker as a help only — the server checks every method (COL-2) and names any it refuses.
 */
const NOT_FOR_MEMBERS = [
	"admin.",
	"metering.",
	"meta.",
	"users.account.",
	"users.authentication.",
	"billing.paymethod.",
	"billing.serviceplan.",
	"billing.account.ConvertToCommercial",
	"billing.account.Refill",
	"billing.invoice.PayInvoice",
	"users.collaboration.GetCollaborations",
	"users.collaboration.AcceptCollaboration",
	"users.collaboration.RejectCollaboration",
	"users.collaboration.LeaveCollaboration",
];

/** The API's field errors as one sentence (the method picker has no field per method). */
async function saying<T>(work: Promise<T>): Promise<T> {
	try {
		return await work;
	} catch (err) {
		if (err instanceof ApiError && err.fields.length) throw new Error(err.fields.map(f => `${f.field}: ${f.message}`).join("; "));
		throw err;
	}
}

function RoleForm(props: { role?: Role; policies: Policy[]; onSaved: (name: string) => void; onCancel?: () => void }) {
	const r = props.role;
	const groups = new Map<string, Policy[]>();
	for (const p of props.policies) {
		const g = p.system ? p.path[0] : "Custom";
		groups.set(g, [...(groups.get(g) ?? []), p]);
	}
	const save = async (v: { roleName: string; roleDescription: string; receiveLoadAlerts: boolean; policy?: Record<string, boolean> }) => {
		const policies = props.policies.filter(p => v.policy?.[p.id.replace(/\./g, "_")]).map(p => p.id);
		const body = { name: v.roleName.trim(), description: v.roleDescription.trim(), policies, receiveLoadAlerts: v.receiveLoadAlerts };
		await saying(r ? patch(`/collaboration/roles/${encodeURIComponent(r.id)}`, body) : post("/collaboration/roles", body));
		props.onSaved(body.name);
	};
	return html`<${Form} submit=${r ? "Save the role" : "Add the role"} label=${r ? `Edit ${r.name}` : "Add a role"} onSubmit=${save}>
		<${Field} label="Role name" name="roleName" defaultValue=${r?.name ?? ""} required />
		<${Field} label="Role description" name="roleDescription" defaultValue=${r?.description ?? ""} />
		<div class="api-methods" role="group" aria-label="Policies of the role" tabindex="0">
			${[...groups].map(
				([group, policies]) =>
					html`<fieldset key=${group}>
						<legend>${group}</legend>
						${policies.map(p => {
							const id = `pol-${r?.id ?? "new"}-${p.id}`;
							return html`<div class="check" key=${p.id}>
								<input type="checkbox" id=${id} name=${`policy.${p.id.replace(/\./g, "_")}`} checked=${r?.policies.includes(p.id)} />
								<label for=${id}
									>${p.system ? p.path.slice(1).join(" › ") || p.name : p.name}${p.description ? html` <span class="muted">— ${p.description}</span>` : ""}</label
								>
							</div>`;
						})}
					</fieldset>`,
			)}
		</div>
		<${Check} label="Receive load alerts" name="receiveLoadAlerts" checked=${r?.receiveLoadAlerts} />
		${props.onCancel && html`<button type="button" class="secondary" onClick=${props.onCancel}>Cancel</button>`}
	<//>`;
}

function NewPolicy(props: { methods: ApiMethod[]; onSaved: (name: string) => void }) {
	const [chosen, setChosen] = useState<Set<string>>(new Set());
	const [key, setKey] = useState(0);
	return html`<${Form}
		key=${key}
		submit="Add the policy"
		label="Add a custom policy"
		onSubmit=${async (v: { policyName: string; policyDescription: string }) => {
			await saying(
				post("/collaboration/policies", {
					name: v.policyName.trim(),
					...(v.policyDescription.trim() ? { description: v.policyDescription.trim() } : {}),
					methods: [...chosen],
				}),
			);
			setChosen(new Set());
			setKey(k => k + 1);
			props.onSaved(v.policyName.trim());
		}}
	>
		<${Field} label="Policy name" name="policyName" required />
		<${Field} label="Policy description" name="policyDescription" />
		<${MethodPicker} methods=${props.methods} chosen=${chosen} onChange=${setChosen} id="pm" label="API methods of the policy" limit=${60} />
	<//>`;
}

/** 409 on a role in use: who holds it, in words. */
function inUse(err: unknown, role: Role, envs: Map<string, string>): never {
	if (err instanceof ApiError && err.status === 409) {
		const used = ((err.data as { usedBy?: { email: string; type: string; id?: string }[] } | null)?.usedBy ?? []).map(u =>
			u.type === "ACCOUNT"
				? `${u.email} (the whole account)`
				: `${u.email} (${u.type === "ENV" ? "environment" : "environment group"} ${envs.get(u.id ?? "") ?? u.id ?? ""})`,
		);
		throw new Error(
			used.length
				? `${role.name} cannot be deleted: members hold it — ${used.join(", ")}. Give them another role first.`
				: `${role.name} cannot be deleted: ${err.message}`,
		);
	}
	throw err;
}

export function RolesAndPolicies() {
	const data = useLoad(() =>
		Promise.all([
			get<Role[]>("/collaboration/roles"),
			get<Policy[]>("/collaboration/policies"),
			get<ApiMethod[]>("/api-methods"),
			get<{ rows: Env[] }>("/environments?pageSize=100").catch(() => ({ rows: [] as Env[] })),
		]),
	);
	const [editing, setEditing] = useState<string | null>(null);
	const [done, setDone] = useState<string | null>(null);
	const frame = (body: unknown) => html`<${Page} title="Roles and policies"><${SubNav} label="Collaboration" links=${COLLAB_NAV} />${body}<//>`;
	if (data.loading && !data.data) return frame(html`<${Loading} what="your roles" />`);
	if (!data.data) return frame(html`<${Failed} error=${data.error} />`);
	const [roles, policies, catalogue, { rows: envs }] = data.data;
	const envNames = new Map(envs.map(e => [e.id, e.name]));
	const policyNames = new Map(policies.map(p => [p.id, p.system ? p.path.join(" › ") : p.name]));
	const methods = catalogue.filter(m => !NOT_FOR_MEMBERS.some(prefix => m.method.startsWith(prefix)));
	const saved = (what: string) => {
		setDone(what);
		setEditing(null);
		void data.reload();
	};
	return frame(html`
		${done && html`<${Banner} kind="ok">${done}<//>`}
		<section class="card" aria-labelledby="roles-h">
			<h2 id="roles-h">Roles</h2>
			<ul class="method-list" aria-label="Roles">
				${roles.map(
					r =>
						html`<li key=${r.id}>
							<span>
								<strong>${r.name}</strong>${r.template ? html` <span class="muted">(template)</span>` : ""}${r.description ? ` — ${r.description}` : ""}<br />
								<span class="muted">Policies: ${r.policies.map(p => policyNames.get(p) ?? p).join(", ") || "none"}</span>
								${
									editing === r.id &&
									html`<${RoleForm} role=${r} policies=${policies} onSaved=${(n: string) => saved(`Role ${n} is saved.`)} onCancel=${() => setEditing(null)} />`
								}
							</span>
							<button
								type="button"
								class="secondary"
								aria-label=${`Edit ${r.name}`}
								aria-expanded=${editing === r.id}
								onClick=${() => setEditing(editing === r.id ? null : r.id)}
							>
								Edit
							</button>
							<${ActionButton}
								secondary
								label=${`Copy ${r.name}`}
								onClick=${async () => {
									const copy = await post<Role>(`/collaboration/roles/${encodeURIComponent(r.id)}/copy`);
									saved(`Role ${copy.name} is added.`);
								}}
								>Copy<//
							>
							<${ActionButton}
								secondary
								label=${`Delete ${r.name}`}
								onClick=${async () => {
									await del(`/collaboration/roles/${encodeURIComponent(r.id)}`).catch(err => inUse(err, r, envNames));
									saved(`Role ${r.name} is deleted.`);
								}}
								>Delete<//
							>
						</li>`,
				)}
			</ul>
		</section>
		${
			!editing &&
			html`<section class="card" aria-labelledby="new-role-h">
				<h2 id="new-role-h">Add a role</h2>
				<${RoleForm} key=${roles.length} policies=${policies} onSaved=${(n: string) => saved(`Role ${n} is added.`)} />
			</section>`
		}
		<section class="card" aria-labelledby="policies-h">
			<h2 id="policies-h">Policies</h2>
			<details>
				<summary>System policies (${policies.filter(p => p.system).length})</summary>
				<ul>
					${policies
						.filter(p => p.system)
						.map(p => html`<li key=${p.id}>${p.path.join(" › ")}${p.description ? html` <span class="muted">— ${p.description}</span>` : ""}</li>`)}
				</ul>
			</details>
			<h3>My policies</h3>
			${
				policies.some(p => !p.system)
					? html`<ul class="method-list" aria-label="My policies">
							${policies
								.filter(p => !p.system)
								.map(
									p =>
										html`<li key=${p.id}>
											<span><strong>${p.name}</strong><br /><span class="muted">${p.methods.join(", ")}</span></span>
											<${ActionButton}
												secondary
												label=${`Delete the policy ${p.name}`}
												onClick=${async () => {
													await del(`/collaboration/policies/${encodeURIComponent(p.id)}`);
													saved(`Policy ${p.name} is deleted.`);
												}}
												>Delete<//
											>
										</li>`,
								)}
						</ul>`
					: html`<p>No custom policies yet.</p>`
			}
			<h3>Add a custom policy</h3>
			<${NewPolicy} methods=${methods} onSaved=${(n: string) => saved(`Policy ${n} is added.`)} />
		</section>
	`);
}
