// Shared pieces: the page frame (title, focused heading), forms that show the API's field errors
// beside their fields, banners, loading states. Every input has a label; errors are announced.
import { createContext, type ComponentChildren } from "preact";
import { useContext, useEffect, useRef, useState } from "preact/hooks";
import { html } from "htm/preact";
import { ApiError } from "./api";
import { roundDecimal } from "./money";

export { html };

export function Page(props: { title: string; narrow?: boolean; children?: ComponentChildren }) {
	const heading = useRef<HTMLHeadingElement>(null);
	useEffect(() => {
		document.title = `${props.title} — Quartermaster`;
		heading.current?.focus();
	}, [props.title]);
	return html`<main id="main" class=${props.narrow ? "narrow" : ""}>
		<h1 tabindex="-1" ref=${heading}>${props.title}</h1>
		${props.children}
	</main>`;
}

export function Banner(props: { kind: "info" | "warn" | "bad" | "ok"; children?: ComponentChildren; alert?: boolean }) {
	return html`<div class=${`banner ${props.kind}`} role=${props.alert ? "alert" : "status"}>${props.children}</div>`;
}

export function Loading(props: { what: string }) {
	return html`<p role="status" class="muted">Loading ${props.what}…</p>`;
}

export function Failed(props: { error: unknown }) {
	return html`<${Banner} kind="bad" alert>${messageOf(props.error)}<//>`;
}

export function messageOf(err: unknown): string {
	return err instanceof Error ? err.message : String(err);
}

/** Data loaded when the component mounts (and on reload()). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []) {
	const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
	const reload = () =>
		load().then(
			data => setState({ data, loading: false }),
			error => setState({ error, loading: false }),
		);
	useEffect(() => {
		void reload();
	}, deps);
	return { ...state, reload };
}

const FieldErrors = createContext<Record<string, string>>({});

type Values = Record<string, any>;

/** The form's named controls as an object: checkboxes as booleans, "a.b" names nested. */
export function valuesOf(form: HTMLFormElement): Values {
	const out: Values = {};
	for (const el of Array.from(form.elements) as HTMLInputElement[]) {
		if (!el.name || el.disabled) continue;
		if (el.type === "radio" && !el.checked) continue;
		const value = el.type === "checkbox" ? el.checked : el.value;
		const path = el.name.split(".");
		let at = out;
		for (const part of path.slice(0, -1)) at = at[part] ??= {};
		at[path[path.length - 1]] = value;
	}
	return out;
}

export function Form(props: { onSubmit: (values: Values) => Promise<unknown>; submit: string; label?: string; children?: ComponentChildren }) {
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState<string | null>(null);
	const [fields, setFields] = useState<Record<string, string>>({});
	async function submit(e: Event) {
		e.preventDefault();
		setBusy(true);
		setError(null);
		setFields({});
		try {
			await props.onSubmit(valuesOf(e.currentTarget as HTMLFormElement));
		} catch (err) {
			const named = err instanceof ApiError ? err.fields : [];
			setFields(Object.fromEntries(named.map(f => [f.field, f.message])));
			setError(named.length ? "Please correct the fields marked below." : messageOf(err));
		} finally {
			setBusy(false);
		}
	}
	return html`<form onSubmit=${submit} novalidate aria-label=${props.label}>
		${error && html`<${Banner} kind="bad" alert>${error}<//>`}
		<${FieldErrors.Provider} value=${fields}>${props.children}<//>
		<div class="actions"><button type="submit" disabled=${busy}>${busy ? "Please wait…" : props.submit}</button></div>
	</form>`;
}

type FieldProps = { label: string; name: string; type?: string; hint?: string; [attr: string]: unknown };

/** A control's id, the API's error for its name (inside a Form) and what describes it. */
function useFieldError(name: string, hint?: string) {
	const errors = useContext(FieldErrors);
	const id = `f-${name}`;
	const err = errors[name];
	const describedBy = [hint && `${id}-hint`, err && `${id}-err`].filter(Boolean).join(" ") || undefined;
	return { id, err, describedBy };
}

export function Field({ label, name, type = "text", hint, ...rest }: FieldProps) {
	const { id, err, describedBy } = useFieldError(name, hint);
	return html`<div class="field">
		<label for=${id}>${label}</label>
		${hint && html`<span class="hint" id=${`${id}-hint`}>${hint}</span>`}
		<input id=${id} name=${name} type=${type} aria-invalid=${err ? "true" : undefined} aria-describedby=${describedBy} ...${rest} />
		${err && html`<span class="error" id=${`${id}-err`}>${err}</span>`}
	</div>`;
}

/** A labelled select whose API error shows beside it, as Field's does; the options are its children. */
export function Select({ label, name, hint, children, ...rest }: FieldProps & { children?: ComponentChildren }) {
	const { id, err, describedBy } = useFieldError(name, hint);
	return html`<div class="field">
		<label for=${id}>${label}</label>
		${hint && html`<span class="hint" id=${`${id}-hint`}>${hint}</span>`}
		<select id=${id} name=${name} aria-invalid=${err ? "true" : undefined} aria-describedby=${describedBy} ...${rest}>
			${children}
		</select>
		${err && html`<span class="error" id=${`${id}-err`}>${err}</span>`}
	</div>`;
}

export function Check(props: { label: ComponentChildren; name: string; checked?: boolean; onChange?: (e: Event) => void }) {
	const errors = useContext(FieldErrors);
	const id = `f-${props.name}`;
	const err = errors[props.name];
	return html`<div>
		<div class="check">
			<input type="checkbox" id=${id} name=${props.name} checked=${props.checked} onChange=${props.onChange} aria-invalid=${err ? "true" : undefined} />
			<label for=${id}>${props.label}</label>
		</div>
		${err && html`<p class="error">${err}</p>`}
	</div>`;
}

/** An amount as the server wrote it (a decimal string): shown to 2 decimals (4 for unit prices), exact on hover; never computed here. */
export function Money(props: { amount: string | null | undefined; currency?: string; places?: number }) {
	const exact = props.amount ?? "—";
	const shown = roundDecimal(exact, props.places ?? 2);
	const unit = props.currency ? ` ${props.currency}` : "";
	return html`<span class="money" title=${shown !== exact ? `${exact}${unit}` : undefined}>${shown}${unit}</span>`;
}

export function date(iso: string | null | undefined): string {
	return iso ? new Date(iso).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" }) : "—";
}

export function dateTime(iso: string | null | undefined): string {
	return iso ? new Date(iso).toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }) : "—";
}

/** A button for one action on a row: busy while it runs, the API's refusal announced beside it. */
export function ActionButton(props: { onClick: () => Promise<unknown>; children?: ComponentChildren; secondary?: boolean; label?: string }) {
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState<string | null>(null);
	const run = async () => {
		setBusy(true);
		setError(null);
		try {
			await props.onClick();
		} catch (err) {
			setError(messageOf(err));
		} finally {
			setBusy(false);
		}
	};
	return html`<button type="button" class=${props.secondary ? "secondary" : ""} aria-label=${props.label} disabled=${busy} onClick=${run}>
			${props.children}
		</button>
		${error && html`<span role="alert" class="error"> ${error}</span>`}`;
}

/** Previous / next over a paged list ({rows, total, page, totalPages}). */
export function Pager(props: { page: number; totalPages: number; onPage: (page: number) => void; label: string }) {
	if (props.totalPages <= 1) return null;
	return html`<nav class="actions" aria-label=${props.label}>
		<button type="button" class="secondary" disabled=${props.page <= 1} onClick=${() => props.onPage(props.page - 1)}>Previous page</button>
		<span class="muted" aria-live="polite">Page ${props.page} of ${props.totalPages}</span>
		<button type="button" class="secondary" disabled=${props.page >= props.totalPages} onClick=${() => props.onPage(props.page + 1)}>Next page</button>
	</nav>`;
}

/** Sub-navigation between the pages of one area (billing, collaboration). */
export function SubNav(props: { label: string; links: [string, string][] }) {
	const path = window.location.pathname;
	return html`<nav class="subnav" aria-label=${props.label}>
		<ul>
			${props.links.map(([href, text]) => html`<li key=${href}><a href=${href} aria-current=${path === href ? "page" : undefined}>${text}</a></li>`)}
		</ul>
	</nav>`;
}
