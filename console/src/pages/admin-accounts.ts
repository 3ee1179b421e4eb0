// Administration — accounts (ADM-1): search by email or name, status and group; one account in full
// (balance, quotas, status history) with what an administrator may do to it: change its status with
// a reason (STS-5), move it to another group (ACC-5), override its quotas, fund or unfund it
// (an Idempotency-Key per attempt, kept for a retry of the same values).
import { useState } from "preact/hooks";
import { del, get, idempotencyKey, post, put } from "../api";
import { location$, navigate } from "../router";
import { Banner, Check, date, dateTime, Failed, Field, Form, html, Loading, Money, Pager, useLoad } from "../ui";
import { AdminPage, query, quotaValue, Select, Table } from "./admin-common";

const STATUSES = ["active", "suspended", "deactivated", "destroyed"];

interface Account {
	id: string;
	email: string;
	name?: string;
	type: string;
	group: string;
	status: string;
	role: string;
	createdAt: string;
}
interface Detail extends Account {
	balance: { main: string; bonus: string; total?: string; currency: string } | null;
	quotas: Record<string, unknown> | null;
	statusHistory: { from: string; to: string; reason: string; actor: string; at: string }[];
}
interface Group {
	name: string;
	type: string;
}
interface QuotaKey {
	key: string;
	description: string;
	unit?: string;
}

export function AdminAccounts() {
	const q = location$.value.query;
	const filters = { search: q.get("search") ?? "", status: q.get("status") ?? "", group: q.get("group") ?? "" };
	const [page, setPage] = useState(1);
	const list = useLoad(
		() => get<{ rows: Account[]; page: number; totalPages: number; total: number }>(`/admin/accounts${query({ ...filters, page, pageSize: 25 })}`),
		[filters.search, filters.status, filters.group, page],
	);
	const groups = useLoad(() => get<Group[]>("/admin/groups"));
	const search = async (v: { search: string; status: string; group: string }) => {
		setPage(1);
		navigate(`/admin/accounts${query(v)}`, true);
	};
	return html`<${AdminPage} title="Accounts">
		<${Form} submit="Search" label="Search accounts" onSubmit=${search}>
			<div class="row">
				<${Field} label="Email or name" name="search" type="search" value=${filters.search} />
				<${Select} label="Status" name="status" value=${filters.status} options=${[["", "Any"], ...STATUSES]} />
				<${Select} label="Group" name="group" value=${filters.group} options=${[["", "Any"], ...(groups.data ?? []).map(g => g.name)]} />
			</div>
		<//>
		${list.loading && html`<${Loading} what="the accounts" />`} ${!list.loading && !list.data && html`<${Failed} error=${list.error} />`}
		${
			list.data &&
			(list.data.rows.length === 0
				? html`<p>No account matches.</p>`
				: html`<p class="muted">${list.data.total} found</p>
						<${Table} label="Accounts" head=${["Email", "Name", "Group", "Status", "Role", "Created"]}>
							${list.data.rows.map(
								a =>
									html`<tr key=${a.id}>
										<td><a href=${`/admin/accounts/${encodeURIComponent(a.id)}`}>${a.email}</a></td>
										<td>${a.name || "—"}</td>
										<td>${a.group} <span class="muted">(${a.type})</span></td>
										<td>${a.status}</td>
										<td>${a.role}</td>
										<td>${date(a.createdAt)}</td>
									</tr>`,
							)}
						<//>
						<${Pager} page=${list.data.page} totalPages=${list.data.totalPages} onPage=${setPage} label="Account pages" />`)
		}
	<//>`;
}

function StatusForm(props: { a: Detail; onDone: () => void }) {
	const [done, setDone] = useState<string | null>(null);
	return html`<section class="card" aria-labelledby="status-h">
		<h2 id="status-h">Status</h2>
		${done && html`<${Banner} kind="ok">${done}<//>`}
		<${Form}
			submit="Change the status"
			label="Change the status"
			onSubmit=${async (v: { status: string; reason: string }) => {
				const a = await post<Account>(`/admin/accounts/${encodeURIComponent(props.a.id)}/status`, v);
				setDone(`The account is ${a.status} now.`);
				props.onDone();
			}}
		>
			<${Select} label="New status" name="status" value=${props.a.status === "active" ? "suspended" : "active"} options=${STATUSES} />
			<${Field} label="Reason" name="reason" required />
		<//>
	</section>`;
}

function GroupForm(props: { a: Detail; onDone: () => void }) {
	const groups = useLoad(() => get<Group[]>("/admin/groups"));
	const [done, setDone] = useState<string | null>(null);
	return html`<section class="card" aria-labelledby="group-h">
		<h2 id="group-h">Group</h2>
		${done && html`<${Banner} kind="ok">${done}<//>`}
		<${Form}
			submit="Move to the group"
			label="Move to another group"
			onSubmit=${async (v: { group: string; resetBalance: boolean; resetBonus: boolean }) => {
				const a = await post<Account>(`/admin/accounts/${encodeURIComponent(props.a.id)}/group`, v);
				setDone(`The account is in ${a.group} now.`);
				props.onDone();
			}}
		>
			<${Select} label="Group" name="group" value=${props.a.group} options=${(groups.data ?? [{ name: props.a.group }]).map(g => g.name)} />
			<${Check} label="Reset the main balance to zero" name="resetBalance" />
			<${Check} label="Reset the bonus to zero" name="resetBonus" />
		<//>
	</section>`;
}

function FundForm(props: { a: Detail; onDone: () => void }) {
	// One key per attempt: a retry after a failure sends the same one, a success starts a new one.
	const [key, setKey] = useState(idempotencyKey);
	const [done, setDone] = useState<{ amount: string; main: string; bonus: string; currency: string } | null>(null);
	const [form, setForm] = useState(0);
	return html`<section class="card" aria-labelledby="fund-h">
		<h2 id="fund-h">Fund or unfund</h2>
		${
			done &&
			html`<${Banner} kind="ok"
				>${`Posted ${done.amount} ${done.currency}. Balance now `}<${Money} amount=${done.main} currency=${done.currency} />${", bonus "}<${Money}
					amount=${done.bonus}
					currency=${done.currency}
				/>.<//
			>`
		}
		<${Form}
			key=${form}
			submit="Post the amount"
			label="Fund the account"
			onSubmit=${async (v: { amount: string; bonus: boolean; note: string }) => {
				const r = await post<{ entry: { amount: string }; balance: { main: string; bonus: string; currency: string } }>(
					`/admin/accounts/${encodeURIComponent(props.a.id)}/fund`,
					{ amount: v.amount.trim(), note: v.note, ...(v.bonus ? { bonus: true } : {}) },
					{ idempotencyKey: key },
				);
				setDone({ amount: r.entry?.amount ?? v.amount.trim(), main: r.balance.main, bonus: r.balance.bonus, currency: r.balance.currency });
				setKey(idempotencyKey());
				setForm(n => n + 1);
				props.onDone();
			}}
		>
			<${Field} label="Amount" name="amount" inputmode="decimal" hint="A decimal such as 25.00; negative takes money away." required />
			<${Check} label="To the bonus balance" name="bonus" />
			<${Field} label="Note" name="note" required />
		<//>
	</section>`;
}

function QuotaForms(props: { a: Detail; onDone: () => void }) {
	const keys = useLoad(() => get<QuotaKey[]>("/admin/quotas"));
	const [done, setDone] = useState<string | null>(null);
	const options = (keys.data ?? []).map(k => [k.key, `${k.key}${k.unit ? ` (${k.unit})` : ""}`] as [string, string]);
	const path = (key: string) => `/admin/accounts/${encodeURIComponent(props.a.id)}/quotas/${encodeURIComponent(key)}`;
	return html`<section class="card" aria-labelledby="quotas-h">
		<h2 id="quotas-h">Quotas</h2>
		${done && html`<${Banner} kind="ok">${done}<//>`}
		${
			props.a.quotas &&
			html`<details>
				<summary>Effective values (${Object.keys(props.a.quotas).length})</summary>
				<${Table} label="Effective quotas" head=${["Quota", "Value"]}>
					${Object.entries(props.a.quotas).map(
						([k, v]) =>
							html`<tr key=${k}>
								<td>${k}</td>
								<td>${String(v)}</td>
							</tr>`,
					)}
				<//>
			</details>`
		}
		<${Form}
			submit="Override"
			label="Override a quota"
			onSubmit=${async (v: { key: string; value: string }) => {
				await put(path(v.key), { value: quotaValue(v.value) });
				setDone(`${v.key} is overridden.`);
				props.onDone();
			}}
		>
			<${Select} label="Quota" name="key" id="f-override-key" options=${options} />
			<${Field} label="Value" name="value" required />
		<//>
		<${Form}
			submit="Remove the override"
			label="Remove an override"
			onSubmit=${async (v: { key: string }) => {
				await del(path(v.key));
				setDone(`${v.key} follows the group again.`);
				props.onDone();
			}}
		>
			<${Select} label="Quota to follow the group again" name="key" id="f-remove-key" options=${options} />
		<//>
	</section>`;
}

export function AdminAccount(props: { id: string }) {
	const a = useLoad(() => get<Detail>(`/admin/accounts/${encodeURIComponent(props.id)}`), [props.id]);
	if (!a.data) return html`<${AdminPage} title="Account">${a.loading ? html`<${Loading} what="the account" />` : html`<${Failed} error=${a.error} />`}<//>`;
	const d = a.data;
	const reload = () => void a.reload();
	return html`<${AdminPage} title=${`Account ${d.email}`}>
		<p><a href="/admin/accounts">All accounts</a></p>
		<dl class="figures" data-testid="admin-account">
			<div>
				<dt>Status</dt>
				<dd data-testid="admin-status">${d.status}</dd>
			</div>
			<div>
				<dt>Group</dt>
				<dd>${d.group} (${d.type})</dd>
			</div>
			<div>
				<dt>Role</dt>
				<dd>${d.role}</dd>
			</div>
			<div>
				<dt>Balance</dt>
				<dd data-testid="admin-balance">${d.balance ? html`<${Money} amount=${d.balance.main} currency=${d.balance.currency} />` : "—"}</dd>
			</div>
			<div>
				<dt>Bonus</dt>
				<dd>${d.balance ? html`<${Money} amount=${d.balance.bonus} currency=${d.balance.currency} />` : "—"}</dd>
			</div>
			<div>
				<dt>Created</dt>
				<dd>${date(d.createdAt)}</dd>
			</div>
		</dl>
		<${StatusForm} a=${d} onDone=${reload} />
		<${FundForm} a=${d} onDone=${reload} />
		<${GroupForm} a=${d} onDone=${reload} />
		<${QuotaForms} a=${d} onDone=${reload} />
		<section class="card" aria-labelledby="history-h">
			<h2 id="history-h">Status history</h2>
			${
				d.statusHistory.length === 0
					? html`<p>No status change yet.</p>`
					: html`<${Table} label="Status history" head=${["When", "From", "To", "Reason", "By"]}>
							${d.statusHistory.map(
								(h, n) =>
									html`<tr key=${n}>
										<td>${dateTime(h.at)}</td>
										<td>${h.from}</td>
										<td>${h.to}</td>
										<td>${h.reason}</td>
										<td>${h.actor}</td>
									</tr>`,
							)}
						<//>`
			}
		</section>
	<//>`;
}
