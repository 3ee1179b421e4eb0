// The API catalogue's methods as a searchable list of checkboxes, grouped as the catalogue groups
// them: a token's scope (pages/tokens.ts) and a custom policy's methods (pages/roles.ts) are chosen
// with it. The caller keeps what is chosen.
import { useMemo, useState } from "preact/hooks";
import { html } from "./ui";

export interface ApiMethod {
	method: string;
	group: string;
	description: string;
}

export function MethodPicker(props: {
	methods: ApiMethod[];
	chosen: Set<string>;
	onChange: (chosen: Set<string>) => void;
	/** the ids' prefix, one per page */
	id: string;
	label: string;
	/** at most this many shown (a search narrows them) */
	limit?: number;
}) {
	const [search, setSearch] = useState("");
	const shown = useMemo(() => {
		const s = search.trim().toLowerCase();
		const found = props.methods.filter(m => !s || `${m.method} ${m.description}`.toLowerCase().includes(s));
		return props.limit ? found.slice(0, props.limit) : found;
	}, [search, props.methods, props.limit]);
	const groups = new Map<string, ApiMethod[]>();
	for (const m of shown) groups.set(m.group, [...(groups.get(m.group) ?? []), m]);
	const toggle = (method: string, on: boolean) => {
		const next = new Set(props.chosen);
		if (on) next.add(method);
		else next.delete(method);
		props.onChange(next);
	};
	return html`<div class="field">
			<label for=${`${props.id}-search`}>Search the API methods</label>
			<input
				id=${`${props.id}-search`}
				type="search"
				value=${search}
				onInput=${(e: Event) => setSearch((e.currentTarget as HTMLInputElement).value)}
				aria-controls=${`${props.id}-list`}
			/>
		</div>
		<p class="muted" aria-live="polite">${props.chosen.size} chosen, ${shown.length} shown</p>
		<div class="api-methods" id=${`${props.id}-list`} role="group" aria-label=${props.label} tabindex="0">
			${[...groups].map(
				([group, methods]) =>
					html`<fieldset key=${group}>
						<legend>${group}</legend>
						${methods.map(
							m =>
								html`<div class="check" key=${m.method}>
									<input
										type="checkbox"
										id=${`${props.id}-${m.method}`}
										checked=${props.chosen.has(m.method)}
										onChange=${(e: Event) => toggle(m.method, (e.currentTarget as HTMLInputElement).checked)}
									/>
									<label for=${`${props.id}-${m.method}`}>${m.method} <span class="muted">— ${m.description}</span></label>
								</div>`,
						)}
					</fieldset>`,
			)}
		</div>`;
}
