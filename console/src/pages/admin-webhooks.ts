// Administration — outgoing webhooks (BIL-7): the endpoints (never their secrets), add one (its
// signing secret shown once), delete one, and an endpoint's deliveries with every try, each
// deliverable again now.
import { useState } from "preact/hooks";
import { del, get, post } from "../api";
import { ActionButton, Banner, dateTime, Failed, Field, Form, html, Loading, useLoad } from "../ui";
import { AdminPage, Table } from "./admin-common";
import { WEBHOOK_EVENTS } from "../../../lib/webhook-events";

interface Endpoint {
	id: string;
	url: string;
	events: string[];
	description: string;
	createdAt: string;
}
interface Delivery {
	id: string;
	type: string;
	status: string;
	createdAt: string;
	deliveredAt: string | null;
	attempts: { at: string; manual: boolean; statusCode: number | null; error: string | null; durationMs: number }[];
}

function Deliveries(props: { endpoint: Endpoint }) {
	const list = useLoad(() => get<{ rows: Delivery[] }>(`/admin/webhooks/${encodeURIComponent(props.endpoint.id)}/deliveries?pageSize=50`));
	if (list.loading) return html`<${Loading} what="the deliveries" />`;
	if (!list.data) return html`<${Failed} error=${list.error} />`;
	if (list.data.rows.length === 0) return html`<p>No deliveries yet.</p>`;
	return html`<${Table} label=${`Deliveries to ${props.endpoint.url}`} head=${["Event", "Status", "Tries", "Last answer", "Created", ""]}>
		${list.data.rows.map(d => {
			const last = d.attempts[d.attempts.length - 1];
			return html`<tr key=${d.id}>
				<td>${d.type}</td>
				<td>${d.status}</td>
				<td class="num">${d.attempts.length}</td>
				<td>${last ? (last.statusCode ?? last.error ?? "—") : "—"}</td>
				<td>${dateTime(d.createdAt)}</td>
				<td>
					<${ActionButton}
						secondary
						label=${`Deliver again: ${d.type}`}
						onClick=${async () => {
							await post(`/admin/webhooks/${encodeURIComponent(props.endpoint.id)}/deliveries/${encodeURIComponent(d.id)}/redeliver`);
							await list.reload();
						}}
						>Deliver again<//
					>
				</td>
			</tr>`;
		})}
	<//>`;
}

export function AdminWebhooks() {
	const list = useLoad(() => get<{ rows: Endpoint[] }>("/admin/webhooks?pageSize=100"));
	const [secret, setSecret] = useState<string | null>(null);
	const [open, setOpen] = useState<string | null>(null);
	const [form, setForm] = useState(0);
	return html`<${AdminPage} title="Webhooks">
		${
			secret &&
			html`<section class="card" aria-labelledby="secret-h">
				<h2 id="secret-h">The signing secret</h2>
				<${Banner} kind="warn">Copy it now: it is shown only once.<//>
				<p class="secret" data-testid="webhook-secret">${secret}</p>
				<div class="actions"><button type="button" class="secondary" onClick=${() => setSecret(null)}>I copied it</button></div>
			</section>`
		}
		${list.loading && html`<${Loading} what="the webhooks" />`} ${!list.loading && !list.data && html`<${Failed} error=${list.error} />`}
		${
			list.data &&
			(list.data.rows.length === 0
				? html`<p>No webhook endpoints.</p>`
				: html`<ul class="method-list" aria-label="Webhook endpoints">
						${list.data.rows.map(
							e =>
								html`<li key=${e.id}>
									<span>
										<strong class="secret">${e.url}</strong>${e.description ? ` — ${e.description}` : ""}<br />
										<span class="muted">${e.events.join(", ")} · added ${dateTime(e.createdAt)}</span>
										${open === e.id && html`<${Deliveries} endpoint=${e} />`}
									</span>
									<button type="button" class="secondary" aria-expanded=${open === e.id} onClick=${() => setOpen(open === e.id ? null : e.id)}>
										Deliveries
									</button>
									<${ActionButton}
										secondary
										label=${`Delete ${e.url}`}
										onClick=${async () => {
											await del(`/admin/webhooks/${encodeURIComponent(e.id)}`);
											await list.reload();
										}}
										>Delete<//
									>
								</li>`,
						)}
					</ul>`)
		}
		<section class="card" aria-labelledby="new-hook-h">
			<h2 id="new-hook-h">Add an endpoint</h2>
			<${Form}
				key=${form}
				submit="Add the endpoint"
				label="Add a webhook endpoint"
				onSubmit=${async (v: { url: string; description: string; secret: string; event?: Record<string, boolean> }) => {
					const events = WEBHOOK_EVENTS.filter(x => v.event?.[x.replace(/\./g, "_")]);
					const r = await post<{ secret: string }>("/admin/webhooks", {
						url: v.url.trim(),
						events,
						...(v.description.trim() ? { description: v.description.trim() } : {}),
						...(v.secret.trim() ? { secret: v.secret.trim() } : {}),
					});
					setSecret(r.secret);
					setForm(n => n + 1);
					await list.reload();
				}}
			>
				<${Field} label="URL" name="url" type="url" required />
				<fieldset>
					<legend>Events</legend>
					${WEBHOOK_EVENTS.map(
						x =>
							html`<div class="check" key=${x}>
								<input type="checkbox" id=${`ev-${x}`} name=${`event.${x.replace(/\./g, "_")}`} />
								<label for=${`ev-${x}`}>${x}</label>
							</div>`,
					)}
				</fieldset>
				<${Field} label="Description" name="description" />
				<${Field} label="Secret (optional, 16 characters or more)" name="secret" type="password" autocomplete="off" />
			<//>
		</section>
	<//>`;
}
