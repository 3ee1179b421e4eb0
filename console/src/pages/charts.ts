// The dashboard's pictures (plain SVG): the daily cost by environment (GET /billing/history,
// interval DAY) and the balance at the end of each of the last 30 days (the ledger's balanceAfter).
// Amounts turn into numbers only for the bars' and line's geometry; every amount written on screen
// is the server's string, and every chart has its figures as a table beside it for screen readers.
import { get } from "../api";
import { date, html, Loading, Money, useLoad } from "../ui";
import type { History, Transaction } from "./billing-history";

const DAY_MS = 86_400_000;
const DAYS = 30;
const COLOURS = ["#1f4f82", "#b8521a", "#1d6b35", "#7a3b8f", "#8a6d00", "#0f6e7a", "#a3231b", "#4a5360"];
const W = 600;
const H = 200;
const PAD = { left: 8, right: 8, top: 8, bottom: 20 };

/** The last 30 days as UTC days: [from, to). */
function window30(now = Date.now()) {
	const to = Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
	return { from: to - DAYS * DAY_MS, to };
}

const geometry = (amount: string | undefined) => (amount ? Number(amount) || 0 : 0);

function Legend(props: { items: [string, string][] }) {
	return html`<ul class="legend" aria-hidden="true">
		${props.items.map(
			([name, colour]) =>
				html`<li key=${name}>
					<svg class="swatch" width="12" height="12" viewBox="0 0 12 12"><rect width="12" height="12" fill=${colour} /></svg>${name}
				</li>`,
		)}
	</ul>`;
}

export function DailyCostChart() {
	const { from, to } = window30();
	const load = useLoad(() =>
		get<History>(`/billing/history?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}&interval=DAY&tzOffset=%2B00:00`),
	);
	if (load.loading) return html`<${Loading} what="the daily cost" />`;
	if (!load.data) return html`<p class="muted">The daily cost cannot be shown now.</p>`;
	const h = load.data;
	const names = new Map<string, string>();
	for (const i of h.intervals) for (const e of i.environments) names.set(e.envId, e.name);
	const colour = new Map([...names.keys()].map((id, n) => [id, COLOURS[n % COLOURS.length]]));
	const max = Math.max(0, ...h.intervals.map(i => geometry(i.cost)));
	const slot = (W - PAD.left - PAD.right) / DAYS;
	const scale = max > 0 ? (H - PAD.top - PAD.bottom) / max : 0;
	const bars = h.intervals.flatMap(i => {
		const x = PAD.left + Math.floor((Date.parse(i.start) - from) / DAY_MS) * slot;
		let y = H - PAD.bottom;
		return i.environments.map(e => {
			const height = geometry(e.cost) * scale;
			y -= height;
			return html`<rect key=${`${i.start}-${e.envId}`} x=${x + 1} y=${y} width=${Math.max(1, slot - 2)} height=${height} fill=${colour.get(e.envId)}>
				<title>${date(i.start)} · ${e.name}: ${e.cost} ${h.currency}</title>
			</rect>`;
		});
	});
	return html`<figure class="chart card" aria-labelledby="cost-chart-h">
		<h2 id="cost-chart-h">Daily cost by environment, last 30 days</h2>
		${
			h.intervals.length === 0
				? html`<p>Nothing was charged in the last 30 days.</p>`
				: html`<svg
							viewBox=${`0 0 ${W} ${H}`}
							role="img"
							aria-label=${`Daily cost by environment: ${h.total} ${h.currency} in 30 days`}
							data-testid="cost-chart"
						>
							<line x1=${PAD.left} y1=${H - PAD.bottom} x2=${W - PAD.right} y2=${H - PAD.bottom} stroke="#6b7582" />
							${bars}
							<text x=${PAD.left} y=${H - 4} font-size="11" fill="#4a5360">${date(new Date(from).toISOString())}</text>
							<text x=${W - PAD.right} y=${H - 4} font-size="11" fill="#4a5360" text-anchor="end">${date(new Date(to - DAY_MS).toISOString())}</text>
						</svg>
						<${Legend} items=${[...names].map(([id, name]) => [name, colour.get(id)!] as [string, string])} />
						<p>Total: <${Money} amount=${h.total} currency=${h.currency} /></p>
						<details>
							<summary>The daily cost as a table</summary>
							<div class="table-wrap" tabindex="0" role="region" aria-label="Daily cost">
								<table>
									<thead>
										<tr>
											<th scope="col">Day</th>
											<th scope="col">Environment</th>
											<th scope="col" class="num">Cost</th>
										</tr>
									</thead>
									<tbody>
										${h.intervals.flatMap(i =>
											i.environments.map(
												e =>
													html`<tr key=${`${i.start}-${e.envId}`}>
														<td>${date(i.start)}</td>
														<td>${e.name}</td>
														<td class="num"><${Money} amount=${e.cost} currency=${h.currency} /></td>
													</tr>`,
											),
										)}
									</tbody>
								</table>
							</div>
						</details>`
		}
	</figure>`;
}

type Page = { rows: Transaction[]; totalPages: number };
const MAX_PAGES = 40;

/** The ledger of the last 30 days, newest first, its pages read 4 at a time. */
async function monthOfLedger(from: number): Promise<Transaction[]> {
	const path = (page: number) => `/billing/transactions?from=${new Date(from).toISOString()}&page=${page}&pageSize=100`;
	const first = await get<Page>(path(1));
	const rows = [...first.rows];
	const last = Math.min(first.totalPages, MAX_PAGES);
	for (let page = 2; page <= last; page += 4) {
		const batch = await Promise.all([page, page + 1, page + 2, page + 3].filter(n => n <= last).map(n => get<Page>(path(n))));
		for (const b of batch) rows.push(...b.rows);
	}
	return rows;
}

/** Each day's closing balance: the newest entry's balanceAfter.main of the day, or the day before's. */
export function closingBalances(rows: Transaction[], from: number): ({ day: number; main: string } | null)[] {
	const byDay = new Map<number, string>();
	for (const r of rows) {
		const day = Math.floor((Date.parse(r.time) - from) / DAY_MS);
		if (day >= 0 && day < DAYS && !byDay.has(day)) byDay.set(day, r.balanceAfter.main); // newest first
	}
	const out: ({ day: number; main: string } | null)[] = [];
	let last: string | null = null;
	for (let day = 0; day < DAYS; day++) {
		last = byDay.get(day) ?? last;
		out.push(last === null ? null : { day, main: last });
	}
	return out;
}

export function BalanceChart(props: { currency: string }) {
	const { from } = window30();
	const load = useLoad(() => monthOfLedger(from));
	if (load.loading) return html`<${Loading} what="the balance over time" />`;
	if (!load.data) return html`<p class="muted">The balance over time cannot be shown now.</p>`;
	const points = closingBalances(load.data, from).filter((p): p is { day: number; main: string } => p !== null);
	const values = points.map(p => geometry(p.main));
	const max = Math.max(0, ...values);
	const min = Math.min(0, ...values);
	const scale = max > min ? (H - PAD.top - PAD.bottom) / (max - min) : 0;
	const slot = (W - PAD.left - PAD.right) / (DAYS - 1);
	const xy = points.map((p, n) => `${(PAD.left + p.day * slot).toFixed(1)},${(H - PAD.bottom - (values[n] - min) * scale).toFixed(1)}`);
	const latest = points[points.length - 1];
	return html`<figure class="chart card" aria-labelledby="balance-chart-h">
		<h2 id="balance-chart-h">Balance, last 30 days</h2>
		${
			points.length === 0
				? html`<p>No balance changes in the last 30 days.</p>`
				: html`<svg
							viewBox=${`0 0 ${W} ${H}`}
							role="img"
							aria-label=${`Balance at the end of each day; latest ${latest.main} ${props.currency}`}
							data-testid="balance-chart"
						>
							<line x1=${PAD.left} y1=${H - PAD.bottom} x2=${W - PAD.right} y2=${H - PAD.bottom} stroke="#6b7582" />
							<polyline points=${xy.join(" ")} fill="none" stroke="#1f4f82" stroke-width="2" />
							${points.map((p, n) => {
								const [x, y] = xy[n].split(",");
								return html`<circle key=${p.day} cx=${x} cy=${y} r="3" fill="#1f4f82"
									><title>${date(new Date(from + p.day * DAY_MS).toISOString())}: ${p.main} ${props.currency}</title></circle
								>`;
							})}
							<text x=${PAD.left} y=${H - 4} font-size="11" fill="#4a5360">${date(new Date(from).toISOString())}</text>
						</svg>
						<details>
							<summary>The balance as a table</summary>
							<div class="table-wrap" tabindex="0" role="region" aria-label="Balance by day">
								<table>
									<thead>
										<tr>
											<th scope="col">Day</th>
											<th scope="col" class="num">Balance at the end of the day</th>
										</tr>
									</thead>
									<tbody>
										${points.map(
											p =>
												html`<tr key=${p.day}>
													<td>${date(new Date(from + p.day * DAY_MS).toISOString())}</td>
													<td class="num"><${Money} amount=${p.main} currency=${props.currency} /></td>
												</tr>`,
										)}
									</tbody>
								</table>
							</div>
						</details>`
		}
	</figure>`;
}
