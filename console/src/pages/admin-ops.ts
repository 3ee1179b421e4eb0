// Administration — operations: sign-in lockouts (REG-6: view and lift), the outbox (what the
// platform emailed), the audit trail (ADM-2, with every filter of GET /admin/audit) and the
// scheduled jobs, run now (there is no list endpoint: the names are API.md's).
import { useState } from "preact/hooks";
import { call, get, post } from "../api";
import { ActionButton, Banner, dateTime, Failed, Field, Form, html, Loading, Pager, useLoad } from "../ui";
import { AdminPage, query, Table } from "./admin-common";

interface Attempt {
	kind: string;
	email: string;
	ip: string;
	failures: number;
	locked: boolean;
	lockedUntil: string | null;
	lastFailureAt: string | null;
}

export function AdminLockouts() {
	const [filter, setFilter] = useState({ email: "", ip: "" });
	const [done, setDone] = useState<string | null>(null);
	const rows = useLoad(() => get<Attempt[]>(`/admin/signin-attempts${query(filter)}`), [filter.email, filter.ip]);
	const lift = async (f: { email?: string; ip?: string }) => {
		const r = await call<{ reset: number }>("DELETE", `/admin/signin-attempts${query(f)}`);
		setDone(`Lifted ${r?.reset ?? 0} lockout${r?.reset === 1 ? "" : "s"}.`);
		await rows.reload();
	};
	return html`<${AdminPage} title="Sign-in lockouts">
		<${Form} submit="Show" label="Filter sign-in attempts" onSubmit=${async (v: { email: string; ip: string }) => setFilter({ email: v.email, ip: v.ip })}>
			<div class="row">
				<${Field} label="Email" name="email" type="search" />
				<${Field} label="IP address" name="ip" type="search" />
			</div>
		<//>
		${done && html`<${Banner} kind="ok">${done}<//>`} ${rows.loading && html`<${Loading} what="the sign-in attempts" />`}
		${!rows.loading && !rows.data && html`<${Failed} error=${rows.error} />`}
		${
			rows.data &&
			(rows.data.length === 0
				? html`<p>No failing sign-ins.</p>`
				: html`<${Table} label="Failing sign-ins" head=${["Email", "IP", "Kind", "Failures", "Locked until", "Last failure", ""]}>
							${rows.data.map(
								(a, n) =>
									html`<tr key=${n}>
										<td>${a.email}</td>
										<td>${a.ip}</td>
										<td>${a.kind}</td>
										<td class="num">${a.failures}</td>
										<td>${a.locked ? dateTime(a.lockedUntil) : "not locked"}</td>
										<td>${dateTime(a.lastFailureAt)}</td>
										<td>
											<${ActionButton} secondary label=${`Lift the lockout of ${a.email} from ${a.ip}`} onClick=${() => lift({ email: a.email, ip: a.ip })}
												>Lift<//
											>
										</td>
									</tr>`,
							)}
						<//>
						${(filter.email || filter.ip) && html`<div class="actions"><${ActionButton} onClick=${() => lift(filter)}>Lift every lockout shown<//></div>`}`)
		}
	<//>`;
}

interface Mail {
	id: string;
	to: string;
	template: string;
	subject: string;
	text: string;
	links: string[];
	status: string;
	createdAt: string;
	sentAt: string | null;
}

export function AdminOutbox() {
	const [to, setTo] = useState("");
	const [page, setPage] = useState(1);
	const mails = useLoad(() => get<{ rows: Mail[]; page: number; totalPages: number }>(`/admin/outbox${query({ to, page, pageSize: 20 })}`), [to, page]);
	return html`<${AdminPage} title="Outbox">
		<${Form}
			submit="Show"
			label="Filter the outbox"
			onSubmit=${async (v: { to: string }) => {
				setPage(1);
				setTo(v.to);
			}}
		>
			<${Field} label="Recipient" name="to" type="search" />
		<//>
		${mails.loading && html`<${Loading} what="the outbox" />`} ${!mails.loading && !mails.data && html`<${Failed} error=${mails.error} />`}
		${
			mails.data &&
			(mails.data.rows.length === 0
				? html`<p>No emails.</p>`
				: html`<ul class="method-list" aria-label="Emails">
							${mails.data.rows.map(
								m =>
									html`<li key=${m.id}>
										<span>
											<strong>${m.subject}</strong> <span class="muted">to ${m.to} · ${m.template} · ${m.status} · ${dateTime(m.createdAt)}</span>
											<details>
												<summary>Text and links</summary>
												<pre class="mail">${m.text}</pre>
												${
													m.links.length > 0 &&
													html`<ul>
														${m.links.map(l => html`<li key=${l} class="secret">${l}</li>`)}
													</ul>`
												}
											</details>
										</span>
									</li>`,
							)}
						</ul>
						<${Pager} page=${mails.data.page} totalPages=${mails.data.totalPages} onPage=${setPage} label="Outbox pages" />`)
		}
	<//>`;
}

interface AuditEntry {
	id: string;
	time: string;
	actor: { id: string; email?: string };
	onBehalfOf?: unknown;
	account?: string | null;
	action: string;
	route?: string;
	target?: { type: string; id: string | null };
	before?: unknown;
	after?: unknown;
	reason?: string;
}

type AuditFilter = { actor: string; account: string; action: string; target: string; from: string; to: string };

export function AdminAudit() {
	const [filter, setFilter] = useState<AuditFilter>({ actor: "", account: "", action: "", target: "", from: "", to: "" });
	const [page, setPage] = useState(1);
	const iso = (day: string) => (day ? `${day}T00:00:00.000Z` : "");
	const entries = useLoad(
		() =>
			get<{ rows: AuditEntry[]; page: number; totalPages: number; total: number }>(
				`/admin/audit${query({ ...filter, from: iso(filter.from), to: iso(filter.to), page, pageSize: 25 })}`,
			),
		[JSON.stringify(filter), page],
	);
	return html`<${AdminPage} title="Audit">
		<${Form}
			submit="Show"
			label="Filter the audit trail"
			onSubmit=${async (v: AuditFilter) => {
				setPage(1);
				setFilter(v);
			}}
		>
			<div class="row">
				<${Field} label="Actor (id or email)" name="actor" type="search" />
				<${Field} label="Account id" name="account" type="search" />
				<${Field} label="Action" name="action" type="search" hint="e.g. admin.accounts.SetStatus" />
				<${Field} label="Target id" name="target" type="search" />
				<${Field} label="From (UTC day)" name="from" type="date" />
				<${Field} label="Until (UTC day, not included)" name="to" type="date" />
			</div>
		<//>
		${entries.loading && html`<${Loading} what="the audit trail" />`} ${!entries.loading && !entries.data && html`<${Failed} error=${entries.error} />`}
		${
			entries.data &&
			(entries.data.rows.length === 0
				? html`<p>No entries match.</p>`
				: html`<p class="muted">${entries.data.total} entries</p>
						<${Table} label="Audit entries" head=${["When", "Actor", "Action", "Account", "Target", "Change"]} testid="audit">
							${entries.data.rows.map(
								e =>
									html`<tr key=${e.id}>
										<td>${dateTime(e.time)}</td>
										<td>${e.actor?.email ?? e.actor?.id}</td>
										<td>${e.action}</td>
										<td>${e.account ?? "—"}</td>
										<td>${e.target ? `${e.target.type} ${e.target.id ?? ""}` : "—"}</td>
										<td>
											${e.reason && html`<span>${e.reason}</span>`}
											${
												(e.before !== undefined || e.after !== undefined) &&
												html`<details>
													<summary>Before and after</summary>
													<pre class="mail">${JSON.stringify({ before: e.before, after: e.after }, null, 1)}</pre>
												</details>`
											}
										</td>
									</tr>`,
							)}
						<//>
						<${Pager} page=${entries.data.page} totalPages=${entries.data.totalPages} onPage=${setPage} label="Audit pages" />`)
		}
	<//>`;
}

/** API.md's scheduled jobs (POST /admin/jobs/{name}/run); no endpoint lists them. */
export const JOBS: [string, string][] = [
	["metering.close-hours", "Close the finished hours of usage"],
	["billing.charge", "Charge the closed hours"],
	["billing.low-balance", "Warn of low balances"],
	["billing.auto-refill", "Run the auto-refills due"],
	["billing.post-paid-invoices", "Invoice post-paid accounts"],
	["billing.payments-reconcile", "Reconcile payments with the providers"],
	["webhooks.deliver", "Deliver the pending webhooks"],
	["accounts.trial-expiry", "End expired trials"],
	["accounts.deactivation", "Deactivate accounts out of money"],
	["accounts.destroy", "Destroy long-deactivated accounts"],
	["auth.password-expiry", "Send password-expiry reminders"],
	["tokens.expiry-notices", "Send token-expiry notices"],
];

export function AdminJobs() {
	const [results, setResults] = useState<Record<string, string>>({});
	return html`<${AdminPage} title="Jobs">
		<p>Each job runs on its schedule; run one now and see what it did.</p>
		<${Table} label="Scheduled jobs" head=${["Job", "What it does", "", "Last run here"]}>
			${JOBS.map(
				([name, what]) =>
					html`<tr key=${name}>
						<td>${name}</td>
						<td>${what}</td>
						<td>
							<${ActionButton}
								label=${`Run ${name}`}
								onClick=${async () => {
									const r = await post<{ job: string; processed: unknown }>(`/admin/jobs/${encodeURIComponent(name)}/run`);
									setResults(x => ({ ...x, [name]: `processed ${JSON.stringify(r.processed)} at ${new Date().toLocaleTimeString()}` }));
								}}
								>Run<//
							>
						</td>
						<td data-testid=${`job-${name}`} aria-live="polite">${results[name] ?? "—"}</td>
					</tr>`,
			)}
		<//>
	<//>`;
}
