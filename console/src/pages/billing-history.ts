// Billing history (/account/billing/history): GET /billing/history with every filter of the API
// (period, interval, by layer or node, one environment, the time-zone offset), its totals and the
// CSV download; and the ledger (/account/billing/transactions) with the balance after each entry
// as the API wrote it. Amounts are the server's decimal strings, never summed here.
import { useState } from "preact/hooks";
import { download, get } from "../api";
import { date, dateTime, Failed, html, Loading, Money, Page, Pager, SubNav, useLoad } from "../ui";

export const BILLING_NAV: [string, string][] = [
	["/account/billing", "Balance and refill"],
	["/account/billing/history", "History"],
	["/account/billing/transactions", "Ledger"],
	["/account/billing/payment-methods", "Payment methods"],
	["/account/billing/auto-refill", "Auto-refill"],
	["/account/billing/quotas-pricing", "Quotas & pricing"],
];

export interface HistoryNode {
	nodeId: string;
	layer: string;
	reservedCloudletHours: number | string;
	dynamicCloudletHours: number | string;
	storageGBh: number | string;
	trafficGB: number | string;
	cost: string;
}
export interface HistoryEnv {
	envId: string;
	name: string;
	nodes: HistoryNode[];
	options: { name: string; quantity: number | string; cost: string }[];
	cost: string;
}
export interface History {
	intervals: { start: string; end: string; environments: HistoryEnv[]; cost: string }[];
	total: string;
	currency: string;
}
export interface Transaction {
	id: string;
	time: string;
	kind: string;
	amount: string;
	balanceAfter: { main: string; bonus: string };
	description: string;
	envId?: string;
}

const INTERVALS = ["HOUR", "DAY", "WEEK", "MONTH", "YEAR", "ALL"];
const DAY_MS = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The browser's offset as the API writes it ("+02:00"), the default of the filter. */
function localOffset(): string {
	const minutes = -new Date().getTimezoneOffset();
	const abs = Math.abs(minutes);
	return `${minutes < 0 ? "-" : "+"}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

interface Filters {
	from: string;
	to: string;
	interval: string;
	groupByLayer: boolean;
	envId: string;
	tzOffset: string;
}

/** The query of GET /billing/history for the filters: days as whole UTC days, `to` inclusive. */
export function historyQuery(f: Filters, format?: "csv"): string {
	const q = new URLSearchParams({
		from: `${f.from}T00:00:00.000Z`,
		to: new Date(Date.parse(`${f.to}T00:00:00.000Z`) + DAY_MS).toISOString(),
		interval: f.interval,
		tzOffset: f.tzOffset,
	});
	if (f.groupByLayer) q.set("groupByLayer", "true");
	if (f.envId) q.set("envId", f.envId);
	if (format) q.set("format", format);
	return q.toString();
}

function NodeRows(props: { env: HistoryEnv; currency: string }) {
	return props.env.nodes.map(
		n =>
			html`<tr key=${n.nodeId} class="muted">
				<td></td>
				<td>${n.layer}${n.nodeId && n.nodeId !== n.layer ? ` · ${n.nodeId}` : ""}</td>
				<td class="num">${n.reservedCloudletHours} / ${n.dynamicCloudletHours}</td>
				<td class="num"><${Money} amount=${n.cost} currency=${props.currency} /></td>
			</tr>`,
	);
}

export function BillingHistory() {
	return html`<${Page} title="Billing history">
		<${SubNav} label="Billing" links=${BILLING_NAV} />
		<${HistoryView} />
	<//>`;
}

/**
 * The history's filters, totals and table: the whole account's (the environment filter a choice),
 * or one environment's (`envId` fixed: its page shows its history with the same pieces).
 */
export function HistoryView(props: { envId?: string; envName?: string }) {
	const today = Date.now();
	const [filters, setFilters] = useState<Filters>({
		from: isoDay(today - 29 * DAY_MS),
		to: isoDay(today),
		interval: "DAY",
		groupByLayer: false,
		envId: props.envId ?? "",
		tzOffset: localOffset(),
	});
	const envs = useLoad(() => (props.envId ? Promise.resolve({ rows: [] }) : get<{ rows: { id: string; name: string }[] }>("/environments?pageSize=100")));
	const history = useLoad(() => get<History>(`/billing/history?${historyQuery(filters)}`), [filters]);
	const [csvError, setCsvError] = useState<string | null>(null);
	const apply = (e: Event) => {
		e.preventDefault();
		const form = e.currentTarget as HTMLFormElement;
		const v = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value;
		setFilters({
			from: v("from"),
			to: v("to"),
			interval: v("interval"),
			groupByLayer: (form.elements.namedItem("groupByLayer") as HTMLInputElement).checked,
			envId: props.envId ?? v("envId"),
			tzOffset: v("tzOffset").trim(),
		});
	};
	const csv = () => {
		setCsvError(null);
		const name = props.envName ? `billing-history-${props.envName}` : "billing-history";
		download(`/billing/history?${historyQuery(filters, "csv")}`, `${name}-${filters.from}-${filters.to}.csv`).catch(err =>
			setCsvError(String(err.message ?? err)),
		);
	};
	const data = history.data;
	return html`<form class="card" onSubmit=${apply} aria-label=${props.envId ? "History filters" : "Filters"}>
			<div class="row">
				<div class="field"><label for="h-from">From</label><input id="h-from" name="from" type="date" value=${filters.from} required /></div>
				<div class="field"><label for="h-to">To</label><input id="h-to" name="to" type="date" value=${filters.to} required /></div>
			</div>
			<div class="row">
				<div class="field">
					<label for="h-interval">Interval</label>
					<select id="h-interval" name="interval" value=${filters.interval}>
						${INTERVALS.map(i => html`<option key=${i} value=${i}>${i.toLowerCase()}</option>`)}
					</select>
				</div>
				${
					!props.envId &&
					html`<div class="field">
						<label for="h-env">Environment</label>
						<select id="h-env" name="envId" value=${filters.envId}>
							<option value="">All environments</option>
							${(envs.data?.rows ?? []).map(e => html`<option key=${e.id} value=${e.id}>${e.name}</option>`)}
						</select>
					</div>`
				}
				<div class="field">
					<label for="h-tz">Time-zone offset</label>
					<input id="h-tz" name="tzOffset" value=${filters.tzOffset} aria-describedby="h-tz-hint" />
					<span class="hint" id="h-tz-hint">For example +02:00 or -05:30</span>
				</div>
			</div>
			<div class="check">
				<input type="checkbox" id="h-layer" name="groupByLayer" checked=${filters.groupByLayer} />
				<label for="h-layer">Group nodes by layer</label>
			</div>
			<div class="actions">
				<button type="submit">Show</button>
				<button type="button" class="secondary" onClick=${csv}>Download CSV</button>
			</div>
			${csvError && html`<p role="alert" class="error">${csvError}</p>`}
		</form>
		${history.loading && html`<${Loading} what="the history" />`} ${!history.loading && !data && html`<${Failed} error=${history.error} />`}
		${
			data &&
			html`<dl class="figures" aria-label="Totals">
					<div>
						<dt>Total for the period</dt>
						<dd data-testid="history-total"><${Money} amount=${data.total} currency=${data.currency} /></dd>
					</div>
				</dl>
				${
					data.intervals.length === 0
						? html`<p>Nothing was charged in this period.</p>`
						: html`<div class="table-wrap" tabindex="0" role="region" aria-label="History">
								<table>
									<thead>
										<tr>
											<th scope="col">Period</th>
											<th scope="col">Environment, node</th>
											<th scope="col" class="num">Cloudlet-hours reserved / dynamic</th>
											<th scope="col" class="num">Cost</th>
										</tr>
									</thead>
									<tbody>
										${data.intervals.map(
											i =>
												html`<tr key=${i.start}>
														<th scope="row">${filters.interval === "HOUR" ? dateTime(i.start) : date(i.start)}</th>
														<td>All environments</td>
														<td></td>
														<td class="num">
															<strong><${Money} amount=${i.cost} currency=${data.currency} /></strong>
														</td>
													</tr>
													${i.environments.map(
														e =>
															html`<tr key=${`${i.start}-${e.envId}`}>
																	<td></td>
																	<td>${e.name}</td>
																	<td></td>
																	<td class="num"><${Money} amount=${e.cost} currency=${data.currency} /></td>
																</tr>
																<${NodeRows} env=${e} currency=${data.currency} />`,
													)}`,
										)}
									</tbody>
								</table>
							</div>`
				}`
		}`;
}

const KINDS = ["charge", "refill", "bonus", "adjustment", "correction"];

export function Ledger() {
	const [page, setPage] = useState(1);
	const [kind, setKind] = useState("");
	const rows = useLoad(
		() => get<{ rows: Transaction[]; page: number; totalPages: number }>(`/billing/transactions?page=${page}&pageSize=50${kind ? `&kind=${kind}` : ""}`),
		[page, kind],
	);
	const balance = useLoad(() => get<{ currency: string }>("/billing/balance"));
	const currency = balance.data?.currency;
	return html`<${Page} title="Ledger">
		<${SubNav} label="Billing" links=${BILLING_NAV} />
		<div class="field">
			<label for="l-kind">Kind</label>
			<select
				id="l-kind"
				value=${kind}
				onChange=${(e: Event) => {
					setKind((e.currentTarget as HTMLSelectElement).value);
					setPage(1);
				}}
			>
				<option value="">Every kind</option>
				${KINDS.map(k => html`<option key=${k} value=${k}>${k}</option>`)}
			</select>
		</div>
		${rows.loading && html`<${Loading} what="the ledger" />`} ${!rows.loading && !rows.data && html`<${Failed} error=${rows.error} />`}
		${
			rows.data &&
			(rows.data.rows.length === 0
				? html`<p>No entries yet.</p>`
				: html`<div class="table-wrap" tabindex="0" role="region" aria-label="Ledger entries">
							<table>
								<thead>
									<tr>
										<th scope="col">Time</th>
										<th scope="col">Kind</th>
										<th scope="col">Description</th>
										<th scope="col" class="num">Amount</th>
										<th scope="col" class="num">Balance after</th>
										<th scope="col" class="num">Bonus after</th>
									</tr>
								</thead>
								<tbody>
									${rows.data.rows.map(
										t =>
											html`<tr key=${t.id}>
												<td>${dateTime(t.time)}</td>
												<td>${t.kind}</td>
												<td>${t.description}</td>
												<td class="num"><${Money} amount=${t.amount} currency=${currency} /></td>
												<td class="num"><${Money} amount=${t.balanceAfter.main} currency=${currency} /></td>
												<td class="num"><${Money} amount=${t.balanceAfter.bonus} currency=${currency} /></td>
											</tr>`,
									)}
								</tbody>
							</table>
						</div>
						<${Pager} page=${rows.data.page} totalPages=${rows.data.totalPages} onPage=${setPage} label="Ledger pages" />`)
		}
	<//>`;
}
