// The administration area's frame (role admin; the server refuses everyone else anyway): who is an
// administrator (GET /account, once per session), the area's sub-navigation, and small helpers its
// screens share. Money stays the server's decimal strings here too.
import type { ComponentChildren } from "preact";
import { useEffect } from "preact/hooks";
import { signal } from "@preact/signals";
import { get, session } from "../api";
import { Banner, html, Loading, Page, SubNav } from "../ui";

export const ADMIN_NAV: [string, string][] = [
	["/admin/accounts", "Accounts"],
	["/admin/groups", "Groups"],
	["/admin/pricing", "Tariffs and pricing models"],
	["/admin/tax-rates", "Tax rates"],
	["/admin/lockouts", "Sign-in lockouts"],
	["/admin/outbox", "Outbox"],
	["/admin/audit", "Audit"],
	["/admin/jobs", "Jobs"],
	["/admin/webhooks", "Webhooks"],
];

/** The session whose role was asked, and the answer (null while asking). */
const role$ = signal<{ token: string | null; admin: boolean | null }>({ token: null, admin: null });

/** Whether the signed-in account is an administrator: null while it is not known yet. */
export function useIsAdmin(): boolean | null {
	const token = session.value;
	useEffect(() => {
		if (!token || role$.peek().token === token) return;
		role$.value = { token, admin: null };
		get<{ role?: string }>("/account").then(
			a => role$.peek().token === token && (role$.value = { token, admin: a.role === "admin" }),
			() => role$.peek().token === token && (role$.value = { token, admin: false }),
		);
	}, [token]);
	const r = role$.value;
	return token && r.token === token ? r.admin : null;
}

/** A page of the administration area: its title, the area's sub-navigation, and a refusal for others. */
export function AdminPage(props: { title: string; children?: ComponentChildren }) {
	const admin = useIsAdmin();
	return html`<${Page} title=${props.title}>
		<${SubNav} label="Administration" links=${ADMIN_NAV} />
		${admin === null && html`<${Loading} what="your role" />`} ${admin === false && html`<${Banner} kind="bad" alert>This area is for administrators only.<//>`}
		${admin && props.children}
	<//>`;
}

/** A compact table in a scrollable, labelled region. */
export function Table(props: { label: string; head: string[]; children?: ComponentChildren; testid?: string }) {
	return html`<div class="table-wrap" tabindex="0" role="region" aria-label=${props.label} data-testid=${props.testid}>
		<table>
			<caption class="skip">
				${props.label}
			</caption>
			<thead>
				<tr>
					${props.head.map(h => html`<th scope="col" key=${h}>${h}</th>`)}
				</tr>
			</thead>
			<tbody>
				${props.children}
			</tbody>
		</table>
	</div>`;
}

/** A query string of the filled values only. */
export function query(values: Record<string, string | number | undefined | null>): string {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(values)) if (v !== undefined && v !== null && String(v).trim() !== "") q.set(k, String(v).trim());
	const s = q.toString();
	return s ? `?${s}` : "";
}

/** A select with a label, for forms (Field is for inputs). */
export function Select(props: { label: string; name: string; options: (string | [string, string])[]; value?: string; id?: string }) {
	const id = props.id ?? `f-${props.name}`;
	return html`<div class="field">
		<label for=${id}>${props.label}</label>
		<select id=${id} name=${props.name} value=${props.value}>
			${props.options.map(o => {
				const [value, text] = Array.isArray(o) ? o : [o, o];
				return html`<option key=${value} value=${value} selected=${props.value === value}>${text}</option>`;
			})}
		</select>
	</div>`;
}

/** A value for a quota: a number when it reads as one (the API checks it either way). */
export function quotaValue(raw: string): string | number {
	const s = raw.trim();
	return /^-?\d+(\.\d+)?$/.test(s) ? Number(s) : s;
}
