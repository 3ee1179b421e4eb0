// Personal access tokens (/account/tokens): the list (no values), creating one from a template or
// from a searchable list of the API catalogue (GET /api-methods, grouped), the value shown once with
// a copy button; editing, regenerating and deleting, each confirmed with the password (PAT-1…3).
import { useMemo, useState } from "preact/hooks";
import { get, patch, post } from "../api";
import { ActionButton, Banner, date, dateTime, Failed, Field, Form, html, Loading, Page, useLoad } from "../ui";
import { MethodPicker, type ApiMethod } from "../method-picker";

interface Token {
	id: string;
	description: string;
	template: string | null;
	apiList: string[];
	allowedIps: string[];
	expiresAt: string | null;
	createdAt: string;
	lastUsedAt: string | null;
	prefix: string;
}
interface Template {
	name: string;
	description: string;
	apiList: string[];
}

/** The optional fields as the API takes them: expiry as the end of the chosen day (UTC), IPs as a list. */
function extras(v: { expiresAt?: string; allowedIps?: string }) {
	const ips = (v.allowedIps ?? "")
		.split(/[\s,]+/)
		.map(s => s.trim())
		.filter(Boolean);
	return {
		...(v.expiresAt ? { expiresAt: `${v.expiresAt}T23:59:59.000Z` } : {}),
		...(ips.length ? { allowedIps: ips } : {}),
	};
}

/** The new value, once: selectable, with a copy button. */
function ShownOnce(props: { token: string; onDone: () => void }) {
	const [copied, setCopied] = useState<string | null>(null);
	const copy = () =>
		navigator.clipboard.writeText(props.token).then(
			() => setCopied("Copied to the clipboard."),
			() => setCopied("The browser did not allow copying: select the value and copy it."),
		);
	return html`<section class="card" aria-labelledby="once-h" data-testid="token-once">
		<h2 id="once-h">Your new token</h2>
		<${Banner} kind="warn">Copy it now: it is shown only once.<//>
		<p class="secret" data-testid="token-value">${props.token}</p>
		<div class="actions">
			<button type="button" onClick=${copy}>Copy the token</button>
			<button type="button" class="secondary" onClick=${props.onDone}>I copied it</button>
		</div>
		${copied && html`<p role="status">${copied}</p>`}
	</section>`;
}

/** The catalogue's methods to choose, the chosen ones sent as apiList. */
function ScopeMethods(props: { methods: ApiMethod[] }) {
	const [chosen, setChosen] = useState<Set<string>>(new Set());
	return html`${[...chosen].map(m => html`<input type="hidden" key=${m} name="apiList" value=${m} />`)}
		<${MethodPicker} methods=${props.methods} chosen=${chosen} onChange=${setChosen} id="m" label="API methods" />`;
}

function NewToken(props: { templates: Template[]; methods: ApiMethod[]; onCreated: (value: string) => void }) {
	const [scope, setScope] = useState<"template" | "methods">("template");
	const create = async (v: Record<string, string>) => {
		const form = document.getElementById("new-token") as HTMLFormElement | null;
		const apiList = form ? Array.from(form.querySelectorAll<HTMLInputElement>('input[name="apiList"]')).map(i => i.value) : [];
		const body = {
			password: v.password,
			description: v.description,
			...(scope === "template" ? { template: v.template } : { apiList }),
			...extras(v),
		};
		const made = await post<{ token: string }>("/tokens", body);
		props.onCreated(made.token);
	};
	return html`<section class="card" aria-labelledby="new-token-h" id="new-token">
		<h2 id="new-token-h">Create a token</h2>
		<${Form} submit="Create the token" label="Create a token" onSubmit=${create}>
			<${Field} label="Description" name="description" hint="What the token is for, for example: deploy from CI" />
			<fieldset>
				<legend>What the token may do</legend>
				<div class="check">
					<input type="radio" id="scope-template" name="scope" value="template" checked=${scope === "template"} onChange=${() => setScope("template")} />
					<label for="scope-template">A template</label>
				</div>
				<div class="check">
					<input type="radio" id="scope-methods" name="scope" value="methods" checked=${scope === "methods"} onChange=${() => setScope("methods")} />
					<label for="scope-methods">API methods I choose</label>
				</div>
			</fieldset>
			${
				scope === "template"
					? html`<div class="field">
							<label for="f-template">Template</label>
							<select id="f-template" name="template">
								${props.templates.map(t => html`<option key=${t.name} value=${t.name}>${t.name} — ${t.description} (${t.apiList.length} methods)</option>`)}
							</select>
						</div>`
					: html`<${ScopeMethods} methods=${props.methods} />`
			}
			<div class="row">
				<${Field} label="Expires (optional)" name="expiresAt" type="date" />
				<${Field} label="Allowed IP addresses (optional)" name="allowedIps" hint="Separated by commas" />
			</div>
			<${Field} label="Your password" name="password" type="password" autocomplete="current-password" />
		<//>
	</section>`;
}

type Acting = { id: string; what: "edit" | "regenerate" | "delete" } | null;

function TokenAction(props: { token: Token; what: "edit" | "regenerate" | "delete"; onDone: (value?: string) => void }) {
	const t = props.token;
	const submit = async (v: Record<string, string>) => {
		if (props.what === "edit") {
			await patch(`/tokens/${encodeURIComponent(t.id)}`, { password: v.password, description: v.description, ...extras(v) });
			props.onDone();
		} else if (props.what === "regenerate") {
			const r = await post<{ token: string }>(`/tokens/${encodeURIComponent(t.id)}/regenerate`, { password: v.password });
			props.onDone(r.token);
		} else {
			await post("/tokens/delete", { password: v.password, ids: [t.id] });
			props.onDone();
		}
	};
	const label = { edit: "Save the token", regenerate: "Regenerate the token", delete: "Delete the token" }[props.what];
	return html`<${Form} submit=${label} label=${`${label} ${t.description}`} onSubmit=${submit}>
		${
			props.what === "edit" &&
			html`<${Field} label="Description" name="description" value=${t.description} />
				<${Field} label="Expires (optional)" name="expiresAt" type="date" value=${t.expiresAt ? t.expiresAt.slice(0, 10) : ""} />
				<${Field} label="Allowed IP addresses (optional)" name="allowedIps" value=${t.allowedIps.join(", ")} hint="Separated by commas" />`
		}
		${props.what === "regenerate" && html`<p>The current value stops working at once.</p>`}
		${props.what === "delete" && html`<p>Programs using this token lose access at once.</p>`}
		<${Field} label="Your password" name="password" type="password" autocomplete="current-password" />
	<//>`;
}

export function Tokens() {
	const data = useLoad(() => Promise.all([get<Token[]>("/tokens"), get<Template[]>("/tokens/templates"), get<ApiMethod[]>("/api-methods")]));
	const [value, setValue] = useState<string | null>(null);
	const [acting, setActing] = useState<Acting>(null);
	const [creating, setCreating] = useState(false);
	if (data.loading) return html`<${Page} title="Access tokens"><${Loading} what="your tokens" /><//>`;
	if (!data.data) return html`<${Page} title="Access tokens"><${Failed} error=${data.error} /><//>`;
	const [tokens, templates, methods] = data.data;
	const done = (v?: string) => {
		setActing(null);
		setCreating(false);
		if (v) setValue(v);
		void data.reload();
	};
	return html`<${Page} title="Access tokens">
		<p>Programs use a token instead of your password; each may call only the API methods it holds.</p>
		${value && html`<${ShownOnce} token=${value} onDone=${() => setValue(null)} />`}
		${
			tokens.length === 0
				? html`<p>No tokens yet.</p>`
				: html`<ul class="method-list" aria-label="Your tokens">
						${tokens.map(
							t =>
								html`<li key=${t.id}>
									<span
										><strong>${t.description}</strong> <span class="muted">${t.prefix}…</span><br />
										<span class="muted"
											>${t.template ? `Template ${t.template}` : `${t.apiList.length} API methods`} · created ${date(t.createdAt)} · expires
											${t.expiresAt ? date(t.expiresAt) : "never"} · last used ${t.lastUsedAt ? dateTime(t.lastUsedAt) : "never"}</span
										></span
									>
									${(["edit", "regenerate", "delete"] as const).map(
										what =>
											html`<button
												type="button"
												class="secondary"
												key=${what}
												aria-expanded=${acting?.id === t.id && acting.what === what}
												onClick=${() => setActing(acting?.id === t.id && acting.what === what ? null : { id: t.id, what })}
											>
												${what[0].toUpperCase() + what.slice(1)}<span class="skip"> ${t.description}</span>
											</button>`,
									)}
									${acting?.id === t.id && html`<div class="card"><${TokenAction} token=${t} what=${acting.what} onDone=${done} /></div>`}
								</li>`,
						)}
					</ul>`
		}
		${
			creating
				? html`<${NewToken} templates=${templates} methods=${methods} onCreated=${done} />`
				: html`<div class="actions"><${ActionButton} onClick=${async () => setCreating(true)}>Create a token<//></div>`
		}
	<//>`;
}
