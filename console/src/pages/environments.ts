// Environments: the list (own and shared, with the owner) and creation with a live cost estimate
// (POST /pricing/estimate as the topology changes: min–max per hour and month, the discount), into
// one of my environment groups if I choose one (POST /environments takes `groups`, ENV-2).
import { useEffect, useState } from "preact/hooks";
import { ApiError, get, post } from "../api";
import { location$, navigate } from "../router";
import { Banner, date, Failed, Field, Form, html, Loading, messageOf, Money, Page, Select, useLoad } from "../ui";
import type { EnvGroup } from "./environment-detail";
import { groupTree } from "./env-groups";

export interface NodeGroup {
	layer: string;
	type: string;
	count: number;
	reservedCloudlets: number;
	scalingLimit: number;
	diskLimitGB: number;
	publicIPv4?: number;
	publicIPv6?: number;
	/** as stored: one id per node (GET answers only; never sent) */
	nodeIds?: string[];
}
export interface Environment {
	id: string;
	name: string;
	ownerEmail: string;
	shared: boolean;
	status: string;
	nodes: NodeGroup[];
	groups: string[];
	createdAt: string;
}
interface Estimate {
	hourly: { min: string; max: string };
	monthly: { min: string; max: string };
	discount: { reserved: string; dynamic: string };
	saved: { hourly: string; monthly: string };
	currency: string;
}

export const LAYERS: [string, string][] = [
	["bl", "Load balancer"],
	["cp", "Application server"],
	["sqldb", "SQL database"],
	["nosqldb", "NoSQL database"],
	["cache", "Cache"],
	["storage", "Storage"],
];

export function Environments() {
	const list = useLoad(() => get<{ rows: Environment[] }>("/environments?pageSize=100"));
	const query = location$.value.query;
	const [created, deleted, transferred] = ["created", "deleted", "transferred"].map(k => query.get(k));
	return html`<${Page} title="Environments">
		${created && html`<${Banner} kind="ok">Environment ${created} was created.<//>`}
		${deleted && html`<${Banner} kind="ok">Environment ${deleted} was deleted.<//>`}
		${transferred && html`<${Banner} kind="ok">Environment ${transferred} was transferred.<//>`}
		<div class="actions"><a href="/environments/new">Create an environment</a> <a href="/environments/groups">Environment groups</a></div>
		${
			list.loading
				? html`<${Loading} what="environments" />`
				: list.error
					? html`<${Failed} error=${list.error} />`
					: list.data!.rows.length === 0
						? html`<p>No environments yet.</p>`
						: html`<div class="table-wrap" tabindex="0" role="region" aria-label="Your environments">
								<table>
									<caption class="skip">
										Your environments
									</caption>
									<thead>
										<tr>
											<th scope="col">Name</th>
											<th scope="col">Status</th>
											<th scope="col">Nodes</th>
											<th scope="col">Owner</th>
											<th scope="col">Created</th>
										</tr>
									</thead>
									<tbody>
										${list.data!.rows.map(
											e =>
												html`<tr key=${e.id}>
													<td><a href=${`/environments/${encodeURIComponent(e.id)}`}>${e.name}</a></td>
													<td>${e.status}</td>
													<td>${e.nodes.map(n => `${n.count}× ${n.type} (${n.reservedCloudlets}–${n.scalingLimit} cloudlets)`).join(", ")}</td>
													<td>${e.shared ? e.ownerEmail : "me"}</td>
													<td>${date(e.createdAt)}</td>
												</tr>`,
										)}
									</tbody>
								</table>
							</div>`
		}
	<//>`;
}

const newNode = (): NodeGroup => ({ layer: "cp", type: "tomcat", count: 1, reservedCloudlets: 1, scalingLimit: 4, diskLimitGB: 10 });

export function EstimateView(props: { nodes: NodeGroup[] }) {
	const [estimate, setEstimate] = useState<Estimate | null>(null);
	const [error, setError] = useState<string | null>(null);
	useEffect(() => {
		let current = true;
		const t = setTimeout(() => {
			post<Estimate>("/pricing/estimate", { nodes: props.nodes }).then(
				e => current && (setEstimate(e), setError(null)),
				err => current && setError(err instanceof ApiError && err.fields.length ? err.fields.map(f => `${f.field} ${f.message}`).join("; ") : messageOf(err)),
			);
		}, 250);
		return () => {
			current = false;
			clearTimeout(t);
		};
	}, [JSON.stringify(props.nodes)]);
	return html`<section class="card" aria-labelledby="estimate-h">
		<h2 id="estimate-h">Estimated cost</h2>
		<div aria-live="polite" data-testid="estimate">
			${
				error
					? html`<p class="error">No estimate: ${error}</p>`
					: !estimate
						? html`<p class="muted">Calculating…</p>`
						: html`<dl class="figures">
									<div>
										<dt>Per hour</dt>
										<dd><${Money} amount=${`${estimate.hourly.min} – ${estimate.hourly.max}`} currency=${estimate.currency} /></dd>
									</div>
									<div>
										<dt>Per month</dt>
										<dd><${Money} amount=${`${estimate.monthly.min} – ${estimate.monthly.max}`} currency=${estimate.currency} /></dd>
									</div>
								</dl>
								<p>
									Discount: ${estimate.discount.reserved} on reserved, ${estimate.discount.dynamic} on dynamic cloudlets — you save${" "}
									<${Money} amount=${estimate.saved.monthly} currency=${estimate.currency} /> a month.
								</p>`
			}
		</div>
	</section>`;
}

/** What POST /environments and PATCH /environments/{id} take of a node group (the stored ids stay behind). */
export function requestNodes(nodes: NodeGroup[]) {
	return nodes.map(({ layer, type, count, reservedCloudlets, scalingLimit, diskLimitGB, publicIPv4, publicIPv6 }) => ({
		layer,
		type,
		count,
		reservedCloudlets,
		scalingLimit,
		diskLimitGB,
		...(publicIPv4 !== undefined && { publicIPv4 }),
		...(publicIPv6 !== undefined && { publicIPv6 }),
	}));
}

/** The node groups of a topology as form fields: layer, software, nodes, cloudlets, disk; add and remove groups. */
export function NodeGroupsEditor(props: { nodes: NodeGroup[]; onChange: (nodes: NodeGroup[]) => void }) {
	const { nodes, onChange } = props;
	const change = (i: number, key: keyof NodeGroup, value: string) =>
		onChange(nodes.map((n, j) => (j === i ? { ...n, [key]: key === "layer" || key === "type" ? value : Number(value) } : n)));
	const num = (i: number, key: keyof NodeGroup, label: string) =>
		html`<${Field}
			label=${label}
			name=${`nodes[${i}].${key}`}
			type="number"
			min="0"
			value=${nodes[i][key]}
			onInput=${(e: Event) => change(i, key, (e.currentTarget as HTMLInputElement).value)}
		/>`;
	return html`${nodes.map(
			(n, i) =>
				html`<fieldset key=${i}>
					<legend>Node group ${i + 1}</legend>
					<div class="row">
						<div class="field">
							<label for=${`layer-${i}`}>Layer</label>
							<select id=${`layer-${i}`} value=${n.layer} onChange=${(e: Event) => change(i, "layer", (e.currentTarget as HTMLSelectElement).value)}>
								${LAYERS.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
							</select>
						</div>
						<${Field}
							label="Software"
							name=${`nodes[${i}].type`}
							value=${n.type}
							onInput=${(e: Event) => change(i, "type", (e.currentTarget as HTMLInputElement).value)}
						/>
						${num(i, "count", "Nodes")} ${num(i, "reservedCloudlets", "Reserved cloudlets")} ${num(i, "scalingLimit", "Scaling limit (cloudlets)")}
						${num(i, "diskLimitGB", "Disk (GB)")}
					</div>
					${nodes.length > 1 && html`<button type="button" class="secondary" onClick=${() => onChange(nodes.filter((_, j) => j !== i))}>Remove node group ${i + 1}</button>`}
				</fieldset>`,
		)} <button type="button" class="secondary" onClick=${() => onChange([...nodes, newNode()])}>Add a node group</button>`;
}

export function NewEnvironment() {
	const [nodes, setNodes] = useState<NodeGroup[]>([newNode()]);
	const groups = useLoad(() => get<EnvGroup[]>("/env-groups"));
	const tree = groupTree(groups.data ?? []);
	return html`<${Page} title="Create an environment">
		<${Form}
			submit="Create environment"
			onSubmit=${async (v: { name: string; "groups[0]"?: string }) => {
				const group = v["groups[0]"];
				await post("/environments", { name: v.name, nodes: requestNodes(nodes), ...(group && { groups: [group] }) });
				navigate(`/environments?created=${encodeURIComponent(v.name)}`);
			}}
		>
			<${Field} label="Name" name="name" hint="Letters, digits and dashes." required />
			${
				tree.length > 0 &&
				html`<${Select} label="Group (optional)" name="groups[0]">
					<option value="">No group</option>
					${tree.map(t => html`<option key=${t.group.id} value=${t.group.id}>${t.path}</option>`)}
				<//>`
			}
			${groups.error && html`<p class="muted">Your environment groups could not be loaded: the environment can be put into one later.</p>`}
			<${NodeGroupsEditor} nodes=${nodes} onChange=${setNodes} />
		<//>
		<${EstimateView} nodes=${requestNodes(nodes)} />
	<//>`;
}
