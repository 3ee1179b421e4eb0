// Quotas & Pricing (/account/billing/quotas-pricing, QTA-5, PRC-3): my limits beside the billing
// group's (what upgrading unlocks), and my group's tariffs with their tiers, per hour and per month
// as the server computed them (GET /pricing: ×730 hours). Prices are the server's decimal strings:
// unit prices to 4 decimals, monthly ones to 2, the exact value on hover; nothing computed here.
import { get } from "../api";
import { Failed, html, Loading, Money, Page, SubNav, useLoad } from "../ui";
import { BILLING_NAV } from "./billing-history";

interface Quotas {
	group: string;
	quotas: Record<string, number | string>;
	billingGroup: string;
	billingGroupQuotas: Record<string, number | string>;
}
interface Tier {
	from: number;
	to: number | null;
	price: string;
	monthly: string;
}
interface Pricing {
	group: string;
	model: { id: string; name: string };
	currency: string;
	hoursPerMonth: number;
	tariffs: { resource: string; mode: string; tiers: Tier[] }[];
}

/** What each resource's price is for: [name, the unit of a tier's range, the unit of the price]. */
const RESOURCES: Record<string, [string, string, string]> = {
	"cloudlet.reserved": ["Reserved cloudlets", "cloudlets", "per cloudlet-hour"],
	"cloudlet.dynamic": ["Dynamic cloudlets", "cloudlets", "per cloudlet-hour"],
	disk: ["Disk space", "GB", "per GB-hour"],
	traffic: ["External traffic", "GB", "per GB"],
	"ip.v4": ["Public IPv4", "addresses", "per address-hour"],
	"ip.v6": ["Public IPv6", "addresses", "per address-hour"],
	ssl: ["Built-in SSL", "environments", "per environment-hour"],
};
const resourceOf = (r: string): [string, string, string] =>
	RESOURCES[r] ?? (r.startsWith("license:") ? [`Licence ${r.slice(8)}`, "licences", "per licence-hour"] : [r, "units", "per unit-hour"]);

/** A quota's value in words: -1 is unlimited, flags yes or no, money as the server's decimal string. */
function QuotaValue(props: { name: string; value: number | string | undefined }) {
	const { value } = props;
	if (value === undefined) return html`<span class="muted">—</span>`;
	if (typeof value === "string") return html`<${Money} amount=${value} />`;
	if (value === -1) return html`unlimited`;
	if (props.name.endsWith(".enabled") || props.name.startsWith("account.charge.") || props.name.startsWith("collaboration.enabled"))
		return html`${value ? "yes" : "no"}`;
	return html`${value}`;
}

function QuotaTable(props: { q: Quotas }) {
	const { q } = props;
	const keys = [...new Set([...Object.keys(q.quotas), ...Object.keys(q.billingGroupQuotas)])].sort();
	const same = q.group === q.billingGroup;
	return html`<div class="table-wrap quotas" tabindex="0" role="region" aria-label="Quotas">
		<table>
			<caption class="skip">
				My limits beside the ${q.billingGroup} group's
			</caption>
			<thead>
				<tr>
					<th scope="col">Quota</th>
					<th scope="col" class="num">Mine (${q.group})</th>
					${!same && html`<th scope="col" class="num">${q.billingGroup} group</th>`}
				</tr>
			</thead>
			<tbody>
				${keys.map(k => {
					const differs = !same && q.quotas[k] !== q.billingGroupQuotas[k];
					return html`<tr key=${k} class=${differs ? "differs" : undefined}>
						<th scope="row"><code>${k}</code>${differs && html` <span class="muted">(differs)</span>`}</th>
						<td class="num"><${QuotaValue} name=${k} value=${q.quotas[k]} /></td>
						${!same && html`<td class="num"><${QuotaValue} name=${k} value=${q.billingGroupQuotas[k]} /></td>`}
					</tr>`;
				})}
			</tbody>
		</table>
	</div>`;
}

function TariffTable(props: { tariff: Pricing["tariffs"][number]; currency: string }) {
	const [name, unit, per] = resourceOf(props.tariff.resource);
	const id = `tariff-${props.tariff.resource.replace(/[^a-z0-9]/gi, "-")}`;
	return html`<section class="card" aria-labelledby=${`${id}-h`} data-testid=${id}>
		<h3 id=${`${id}-h`}>${name}</h3>
		<p class="muted">
			${
				props.tariff.mode === "graduated"
					? "Graduated: each tier's price applies to the units within it."
					: "Volume: the tier the total falls in prices every unit."
			}
		</p>
		<div class="table-wrap" tabindex="0" role="region" aria-label=${`${name} tiers`}>
			<table>
				<thead>
					<tr>
						<th scope="col">Tier (${unit})</th>
						<th scope="col" class="num">Price ${per}</th>
						<th scope="col" class="num">Per month</th>
					</tr>
				</thead>
				<tbody>
					${props.tariff.tiers.map(
						t =>
							html`<tr key=${t.from}>
								<th scope="row">${t.to === null ? `${t.from} and more` : `${t.from} – ${t.to}`}</th>
								<td class="num"><${Money} amount=${t.price} currency=${props.currency} places=${4} /></td>
								<td class="num"><${Money} amount=${t.monthly} currency=${props.currency} /></td>
							</tr>`,
					)}
				</tbody>
			</table>
		</div>
	</section>`;
}

export function QuotasPricing() {
	const quotas = useLoad(() => get<Quotas>("/account/quotas"));
	const pricing = useLoad(() => get<Pricing>("/pricing"));
	return html`<${Page} title="Quotas & pricing">
		<${SubNav} label="Billing" links=${BILLING_NAV} />
		<h2>Quotas</h2>
		${quotas.loading && html`<${Loading} what="your quotas" />`} ${!quotas.loading && !quotas.data && html`<${Failed} error=${quotas.error} />`}
		${
			quotas.data &&
			html`<p>
					You are in the <strong>${quotas.data.group}</strong> group.
					${
						quotas.data.group !== quotas.data.billingGroup &&
						html` Upgrading moves you to the <strong>${quotas.data.billingGroup}</strong> group: its values differ in the rows marked “(differs)”.${" "}<a
								href="/account/upgrade"
								>Upgrade</a
							>`
					}
				</p>
				<${QuotaTable} q=${quotas.data} />`
		}
		<h2>Pricing</h2>
		${pricing.loading && html`<${Loading} what="the prices" />`} ${!pricing.loading && !pricing.data && html`<${Failed} error=${pricing.error} />`}
		${
			pricing.data &&
			html`<p>Prices of the ${pricing.data.group} group (pricing model ${pricing.data.model.name}). A month is ${pricing.data.hoursPerMonth} hours.</p>
				${pricing.data.tariffs.map(t => html`<${TariffTable} key=${t.resource} tariff=${t} currency=${pricing.data!.currency} />`)}`
		}
	<//>`;
}
