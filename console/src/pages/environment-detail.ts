// One environment (/environments/{id}): its state and groups; start, stop, delete, transfer to
// another account; its topology changed with the live cost estimate beside it (PATCH
// /environments/{id}); its usage against the limits; and its billing history — the billing
// history page's own filters and table with the environment fixed.
import { useState } from "preact/hooks";
import { del, get, patch, post } from "../api";
import { navigate } from "../router";
import { ActionButton, Banner, date, Failed, Field, Form, html, Loading, Page, useLoad } from "../ui";
import { HistoryView } from "./billing-history";
import { EstimateView, NodeGroupsEditor, requestNodes, type Environment, type NodeGroup } from "./environments";
import { UsageCharts } from "./usage-charts";

export interface EnvGroup {
	id: string;
	name: string;
	parentId: string | null;
}

const envPath = (id: string) => `/environments/${encodeURIComponent(id)}`;

function Topology(props: { env: Environment; onSaved: (env: Environment) => void }) {
	const [nodes, setNodes] = useState<NodeGroup[]>(props.env.nodes);
	const [saved, setSaved] = useState(false);
	return html`<${Form}
			label="Topology"
			submit="Save the topology"
			onSubmit=${async () => {
				setSaved(false);
				const env = await patch<Environment>(envPath(props.env.id), { nodes: requestNodes(nodes) });
				setNodes(env.nodes);
				setSaved(true);
				props.onSaved(env);
			}}
		>
			<${NodeGroupsEditor}
				nodes=${nodes}
				onChange=${(n: NodeGroup[]) => {
					setSaved(false);
					setNodes(n);
				}}
			/>
		<//>
		${saved && html`<${Banner} kind="ok">The topology is saved.<//>`}
		<${EstimateView} nodes=${requestNodes(nodes)} />`;
}

function Actions(props: { env: Environment; onChanged: (env: Environment) => void }) {
	const { env } = props;
	const running = env.status === "running";
	return html`<div class="actions">
			${
				running
					? html`<${ActionButton} onClick=${async () => props.onChanged(await post<Environment>(`${envPath(env.id)}/stop`))}>Stop<//>`
					: html`<${ActionButton} onClick=${async () => props.onChanged(await post<Environment>(`${envPath(env.id)}/start`))}>Start<//>`
			}
			<${ActionButton}
				secondary
				onClick=${async () => {
					if (!window.confirm(`Delete the environment ${env.name}? This cannot be undone.`)) return;
					await del(envPath(env.id));
					navigate(`/environments?deleted=${encodeURIComponent(env.name)}`);
				}}
				>Delete<//
			>
		</div>
		<h3>Transfer to another account</h3>
		<p class="muted">The new owner must have an active commercial account; its hours are charged to it from then on.</p>
		<${Form}
			label="Transfer"
			submit="Transfer the environment"
			onSubmit=${async (v: { email: string }) => {
				if (!window.confirm(`Give ${env.name} to ${v.email}?`)) return;
				await post(`${envPath(env.id)}/transfer`, { email: v.email });
				navigate(`/environments?transferred=${encodeURIComponent(env.name)}`);
			}}
		>
			<${Field} label="Email of the new owner" name="email" type="email" autocomplete="off" required />
		<//>`;
}

export function EnvironmentDetail(props: { id: string }) {
	const load = useLoad(() => get<Environment>(envPath(props.id)), [props.id]);
	const groups = useLoad(() => get<EnvGroup[]>("/env-groups"));
	const [current, setCurrent] = useState<Environment | null>(null);
	if (load.loading) return html`<${Page} title="Environment"><${Loading} what="the environment" /><//>`;
	if (!load.data) return html`<${Page} title="Environment"><${Failed} error=${load.error} /><//>`;
	const env = current && current.id === load.data.id ? current : load.data;
	const groupNames = (env.groups ?? []).map(id => groups.data?.find(g => g.id === id)?.name ?? id);
	return html`<${Page} title=${`Environment ${env.name}`}>
		<p><a href="/environments">All environments</a></p>
		<dl class="figures" aria-label="Environment">
			<div>
				<dt>Status</dt>
				<dd data-testid="env-status">${env.status}</dd>
			</div>
			<div>
				<dt>Owner</dt>
				<dd>${env.shared ? env.ownerEmail : "me"}</dd>
			</div>
			<div>
				<dt>Groups</dt>
				<dd data-testid="env-groups">${groupNames.length ? groupNames.join(", ") : "none"}</dd>
			</div>
			<div>
				<dt>Created</dt>
				<dd>${date(env.createdAt)}</dd>
			</div>
		</dl>
		<p><a href="/environments/groups">Move it into a group</a></p>
		<section class="card" aria-labelledby="env-actions-h">
			<h2 id="env-actions-h">Actions</h2>
			<${Actions} env=${env} onChanged=${setCurrent} />
		</section>
		<section class="card" aria-labelledby="env-topology-h">
			<h2 id="env-topology-h">Topology</h2>
			<${Topology} key=${env.id} env=${env} onSaved=${setCurrent} />
		</section>
		<section class="card" aria-labelledby="env-usage-h">
			<h2 id="env-usage-h">Usage</h2>
			<${UsageCharts} envId=${env.id} nodes=${env.nodes} />
		</section>
		<section class="card" aria-labelledby="env-history-h">
			<h2 id="env-history-h">Billing history</h2>
			<${HistoryView} envId=${env.id} envName=${env.name} />
		</section>
	<//>`;
}
