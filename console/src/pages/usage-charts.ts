// An environment's usage (GET /environments/{id}/usage: hourly buckets per node) as four plain SVG
// charts — peak RAM, average CPU, peak disk, external traffic — each against its limit, the bars
// coloured as the original platform colours its usage: green, yellow when near the limit, red at or
// over it. The limits come from the topology (the scaling limit in cloudlets of 128 MiB and 400 MHz,
// the disk limit in GB of 1000 MB) and, for traffic, the bandwidth quota for one hour. Every chart
// has its figures as a table, with the state in words, for screen readers. No money here.
import { useState } from "preact/hooks";
import { get } from "../api";
import { dateTime, Failed, html, Loading, useLoad } from "../ui";
import type { NodeGroup } from "./environments";
import type { NodeUsage } from "../../../lib/usage-record";

/** A node's hour as GET /environments/{id}/usage answers it (the usage record's, lib/usage-record.ts). */
export type UsageNode = Pick<NodeUsage, "nodeId" | "peakRamMiB" | "avgCpuMHz" | "peakDiskMB" | "trafficInMB" | "trafficOutMB" | "samples">;
export interface Usage {
	envId: string;
	from: string;
	to: string;
	hours: { hour: string; nodes: UsageNode[] }[];
}

const HOUR_MS = 3_600_000;
const CLOUDLET_RAM_MIB = 128;
const CLOUDLET_CPU_MHZ = 400;
const MB_PER_GB = 1000;
/** At or above this share of its limit a resource is "near" it (yellow); at or above the limit, red. */
export const NEAR_SHARE = 0.8;

export type Level = "ok" | "near" | "over";
export const LEVEL_TEXT: Record<Level, string> = { ok: "within the limit", near: "near the limit", over: "at or over the limit" };
const LEVEL_FILL: Record<Level, string> = { ok: "#1d6b35", near: "#b58a00", over: "#a3231b" };

export function levelOf(value: number, limit: number | null): Level {
	if (!limit || limit <= 0) return "ok";
	if (value >= limit) return "over";
	return value >= limit * NEAR_SHARE ? "near" : "ok";
}

interface Metric {
	key: string;
	title: string;
	unit: string;
	value: (n: UsageNode) => number;
	/** one node's limit in its group, or null when there is none */
	limit: (g: NodeGroup, bandwidthMbps: number | null) => number | null;
	/** the environment's limit is one for all its nodes (traffic: the account's bandwidth) */
	shared?: boolean;
}

export const METRICS: Metric[] = [
	{ key: "ram", title: "RAM, peak", unit: "MiB", value: n => n.peakRamMiB, limit: g => g.scalingLimit * CLOUDLET_RAM_MIB },
	{ key: "cpu", title: "CPU, average", unit: "MHz", value: n => n.avgCpuMHz, limit: g => g.scalingLimit * CLOUDLET_CPU_MHZ },
	{ key: "disk", title: "Disk, peak", unit: "MB", value: n => n.peakDiskMB, limit: g => g.diskLimitGB * MB_PER_GB },
	{
		key: "traffic",
		title: "External traffic",
		unit: "MB",
		value: n => n.trafficInMB + n.trafficOutMB,
		// Mbit/s for an hour: × 3600 s ÷ 8 bits
		limit: (_g, mbps) => (mbps !== null && mbps > 0 ? (mbps * 3600) / 8 : null),
		shared: true,
	},
];

/** The nodes of a topology, one per id, with their group. */
export function nodesOf(groups: NodeGroup[]): { nodeId: string; group: NodeGroup; label: string }[] {
	return groups.flatMap((g, gi) =>
		(g.nodeIds ?? []).map((nodeId, i) => ({ nodeId, group: g, label: `${g.layer} · ${g.type} · node ${i + 1}${gi ? ` of group ${gi + 1}` : ""}` })),
	);
}

export interface Point {
	hour: string;
	value: number;
	limit: number | null;
	level: Level;
}

/** Each hour's value of a metric for one node or (nodeId "") all of them, beside the limit that applies. */
export function series(usage: Usage, metric: Metric, topology: NodeGroup[], nodeId: string, bandwidthMbps: number | null): Point[] {
	const nodes = nodesOf(topology).filter(n => !nodeId || n.nodeId === nodeId);
	let limit: number | null = null;
	if (metric.shared) limit = topology.length ? metric.limit(topology[0], bandwidthMbps) : null;
	else {
		const limits = nodes.map(n => metric.limit(n.group, bandwidthMbps));
		if (limits.length && limits.every(l => l !== null)) limit = limits.reduce<number>((a, l) => a + l!, 0);
	}
	return usage.hours.map(h => {
		const value = round(h.nodes.filter(n => !nodeId || n.nodeId === nodeId).reduce((a, n) => a + metric.value(n), 0));
		return { hour: h.hour, value, limit, level: levelOf(value, limit) };
	});
}

const round = (x: number) => Math.round(x * 1000) / 1000;
const W = 600;
const H = 160;
const PAD = { left: 8, right: 8, top: 8, bottom: 20 };

function UsageChart(props: { metric: Metric; points: Point[]; from: number; to: number }) {
	const { metric, points, from, to } = props;
	const hours = Math.max(1, Math.ceil((to - from) / HOUR_MS));
	const limit = points.find(p => p.limit !== null)?.limit ?? null;
	const peak = points.reduce<Point | null>((best, p) => (!best || p.value > best.value ? p : best), null);
	const max = Math.max(limit ?? 0, peak?.value ?? 0) * 1.1 || 1;
	const scale = (H - PAD.top - PAD.bottom) / max;
	const slot = (W - PAD.left - PAD.right) / hours;
	const base = H - PAD.bottom;
	const worst: Level = points.some(p => p.level === "over") ? "over" : points.some(p => p.level === "near") ? "near" : "ok";
	const summary = peak
		? `${metric.title}: highest ${peak.value} ${metric.unit}${limit !== null ? ` of a ${limit} ${metric.unit} limit` : ", no limit"}; ${LEVEL_TEXT[worst]}`
		: `${metric.title}: no usage recorded`;
	const id = `usage-${metric.key}`;
	return html`<figure class="chart card" aria-labelledby=${`${id}-h`} data-testid=${id} data-level=${worst}>
		<h3 id=${`${id}-h`}>${metric.title} (${metric.unit})</h3>
		<svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${summary}>
			<line x1=${PAD.left} y1=${base} x2=${W - PAD.right} y2=${base} stroke="#6b7582" />
			${points.map(p => {
				const x = PAD.left + Math.floor((Date.parse(p.hour) - from) / HOUR_MS) * slot;
				const height = p.value * scale;
				return html`<rect
					key=${p.hour}
					class=${`usage-${p.level}`}
					x=${x + 0.5}
					y=${base - height}
					width=${Math.max(1, slot - 1)}
					height=${height}
					fill=${LEVEL_FILL[p.level]}
				>
					<title>${dateTime(p.hour)}: ${p.value} ${metric.unit} — ${LEVEL_TEXT[p.level]}</title>
				</rect>`;
			})}
			${
				limit !== null &&
				html`<line
						class="limit"
						x1=${PAD.left}
						y1=${base - limit * scale}
						x2=${W - PAD.right}
						y2=${base - limit * scale}
						stroke="#a3231b"
						stroke-dasharray="6 4"
					/>
					<text x=${PAD.left} y=${Math.max(12, base - limit * scale - 4)} font-size="11" fill="#6d1710">limit ${limit} ${metric.unit}</text>`
			}
			<text x=${PAD.left} y=${H - 4} font-size="11" fill="#4a5360">${dateTime(new Date(from).toISOString())}</text>
			<text x=${W - PAD.right} y=${H - 4} font-size="11" fill="#4a5360" text-anchor="end">${dateTime(new Date(to).toISOString())}</text>
		</svg>
		<p class=${`usage-state usage-${worst}`}>${summary}</p>
		<details>
			<summary>${metric.title} as a table</summary>
			<div class="table-wrap" tabindex="0" role="region" aria-label=${`${metric.title} by hour`}>
				<table>
					<thead>
						<tr>
							<th scope="col">Hour</th>
							<th scope="col" class="num">${metric.title} (${metric.unit})</th>
							<th scope="col" class="num">Limit (${metric.unit})</th>
							<th scope="col">State</th>
						</tr>
					</thead>
					<tbody>
						${points.map(
							p =>
								html`<tr key=${p.hour}>
									<td>${dateTime(p.hour)}</td>
									<td class="num">${p.value}</td>
									<td class="num">${p.limit ?? "none"}</td>
									<td>${LEVEL_TEXT[p.level]}</td>
								</tr>`,
						)}
					</tbody>
				</table>
			</div>
		</details>
	</figure>`;
}

const RANGES: [string, string, number][] = [
	["24h", "Last 24 hours", 0],
	["7d", "Last 7 days", 7],
	["30d", "Last 30 days", 30],
];

/** The usage section of an environment's page: the range and node to show, and the four charts. */
export function UsageCharts(props: { envId: string; nodes: NodeGroup[] }) {
	const [range, setRange] = useState("24h");
	const [nodeId, setNodeId] = useState("");
	const days = RANGES.find(r => r[0] === range)![2];
	// The last 24 hours are the API's default, as its clock sees them; longer ranges start from here.
	const query = days ? `?from=${new Date(Date.now() - days * 24 * HOUR_MS).toISOString()}` : "";
	const usage = useLoad(() => get<Usage>(`/environments/${encodeURIComponent(props.envId)}/usage${query}`), [props.envId, query]);
	const quotas = useLoad(() => get<{ quotas: Record<string, number | string> }>("/account/quotas"));
	const bandwidth = Number(quotas.data?.quotas["network.bandwidth"] ?? -1);
	const nodes = nodesOf(props.nodes);
	return html`<div class="row">
			<div class="field">
				<label for="u-range">Period</label>
				<select id="u-range" value=${range} onChange=${(e: Event) => setRange((e.currentTarget as HTMLSelectElement).value)}>
					${RANGES.map(([value, label]) => html`<option key=${value} value=${value}>${label}</option>`)}
				</select>
			</div>
			<div class="field">
				<label for="u-node">Node</label>
				<select id="u-node" value=${nodeId} onChange=${(e: Event) => setNodeId((e.currentTarget as HTMLSelectElement).value)}>
					<option value="">All nodes</option>
					${nodes.map(n => html`<option key=${n.nodeId} value=${n.nodeId}>${n.label}</option>`)}
				</select>
			</div>
		</div>
		<p class="muted">
			Bars turn yellow from ${NEAR_SHARE * 100}% of a limit and red at the limit. RAM and CPU limits are the scaling limits (a cloudlet is 128 MiB and 400 MHz);
			traffic is measured against your bandwidth for an hour.
		</p>
		${usage.loading && html`<${Loading} what="the usage" />`} ${!usage.loading && !usage.data && html`<${Failed} error=${usage.error} />`}
		${
			usage.data &&
			(usage.data.hours.length === 0
				? html`<p data-testid="usage-empty">No usage was recorded in this period.</p>`
				: html`<div class="charts">
						${METRICS.map(
							m =>
								html`<${UsageChart}
									key=${m.key}
									metric=${m}
									points=${series(usage.data!, m, props.nodes, nodeId, bandwidth > 0 ? bandwidth : null)}
									from=${Math.floor(Date.parse(usage.data!.from) / HOUR_MS) * HOUR_MS}
									to=${Date.parse(usage.data!.to)}
								/>`,
						)}
					</div>`)
		}`;
}
