// Environment groups (/environments/groups, ENV-2): my groups as a tree with the environments in
// each, a new group at the top or inside another, a group deleted (its environments leave it), and
// an environment moved into a group (PATCH /environments/{id} {groups}). Shared environments are
// the owner's to group: only mine are offered.
import { useState } from "preact/hooks";
import { del, get, patch, post } from "../api";
import { ActionButton, Banner, Failed, Field, Form, html, Loading, Page, useLoad } from "../ui";
import type { EnvGroup } from "./environment-detail";
import type { Environment } from "./environments";

/** The groups in tree order (each after its parent), with their depth and full name. */
export function groupTree(groups: EnvGroup[]): { group: EnvGroup; depth: number; path: string }[] {
	const out: { group: EnvGroup; depth: number; path: string }[] = [];
	const ids = new Set(groups.map(g => g.id));
	const walk = (parentId: string | null, depth: number, prefix: string) => {
		for (const g of groups.filter(x => (x.parentId && ids.has(x.parentId) ? x.parentId : null) === parentId)) {
			const path = prefix ? `${prefix} / ${g.name}` : g.name;
			out.push({ group: g, depth, path });
			if (depth < 32) walk(g.id, depth + 1, path);
		}
	};
	walk(null, 0, "");
	return out;
}

export function EnvironmentGroups() {
	const groups = useLoad(() => get<EnvGroup[]>("/env-groups"));
	const envs = useLoad(() => get<{ rows: Environment[] }>("/environments?pageSize=100"));
	const [done, setDone] = useState<string | null>(null);
	// a new key empties the create form after each group
	const [created, setCreated] = useState(0);
	const reload = () => Promise.all([groups.reload(), envs.reload()]);
	const tree = groupTree(groups.data ?? []);
	const mine = (envs.data?.rows ?? []).filter(e => !e.shared);
	return html`<${Page} title="Environment groups">
		<p><a href="/environments">All environments</a></p>
		${done && html`<${Banner} kind="ok">${done}<//>`} ${groups.loading && html`<${Loading} what="your groups" />`}
		${!groups.loading && !groups.data && html`<${Failed} error=${groups.error} />`}
		${
			groups.data &&
			(tree.length === 0
				? html`<p>No groups yet.</p>`
				: html`<ul class="method-list" aria-label="Your environment groups">
						${tree.map(({ group, depth, path }) => {
							const inside = mine.filter(e => e.groups?.includes(group.id));
							return html`<li key=${group.id} class=${`depth-${Math.min(depth, 4)}`}>
								<span>
									<strong>${path}</strong><br />
									<span class="muted">${inside.length ? inside.map(e => e.name).join(", ") : "no environments"}</span>
								</span>
								<${ActionButton}
									secondary
									label=${`Delete the group ${path}`}
									onClick=${async () => {
										if (!window.confirm(`Delete the group ${path}? Its environments stay, outside it.`)) return;
										await del(`/env-groups/${encodeURIComponent(group.id)}`);
										setDone(`The group ${path} is deleted.`);
										await reload();
									}}
									>Delete<//
								>
							</li>`;
						})}
					</ul>`)
		}
		<section class="card" aria-labelledby="new-group-h">
			<h2 id="new-group-h">Create a group</h2>
			<${Form}
				key=${created}
				label="Create a group"
				submit="Create the group"
				onSubmit=${async (v: { name: string; parentId: string }) => {
					await post("/env-groups", { name: v.name, ...(v.parentId && { parentId: v.parentId }) });
					setDone(`The group ${v.name} is created.`);
					await reload();
					setCreated(n => n + 1);
				}}
			>
				<${Field} label="Group name" name="name" required />
				<div class="field">
					<label for="g-parent">Inside</label>
					<select id="g-parent" name="parentId">
						<option value="">The top level</option>
						${tree.map(t => html`<option key=${t.group.id} value=${t.group.id}>${t.path}</option>`)}
					</select>
				</div>
			<//>
		</section>
		<section class="card" aria-labelledby="move-h">
			<h2 id="move-h">Move an environment into a group</h2>
			${
				mine.length === 0
					? html`<p>You have no environments of your own to group.</p>`
					: html`<${Form}
							label="Move an environment"
							submit="Move"
							onSubmit=${async (v: { envId: string; groupId: string }) => {
								const env = mine.find(e => e.id === v.envId)!;
								await patch(`/environments/${encodeURIComponent(v.envId)}`, { groups: v.groupId ? [v.groupId] : [] });
								const target = tree.find(t => t.group.id === v.groupId);
								setDone(target ? `${env.name} is now in the group ${target.path}.` : `${env.name} is in no group now.`);
								await reload();
							}}
						>
							<div class="row">
								<div class="field">
									<label for="m-env">Environment</label>
									<select id="m-env" name="envId">
										${mine.map(e => html`<option key=${e.id} value=${e.id}>${e.name}</option>`)}
									</select>
								</div>
								<div class="field">
									<label for="m-group">Group</label>
									<select id="m-group" name="groupId">
										${tree.map(t => html`<option key=${t.group.id} value=${t.group.id}>${t.path}</option>`)}
										<option value="">No group</option>
									</select>
								</div>
							</div>
						<//>`
			}
		</section>
	<//>`;
}
