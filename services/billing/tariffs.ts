// Tariffs and pricing models, kept pure (no Moleculer, no I/O): the default pricing (PRC-2), the
// checks an admin's tariff must pass (PRC-1), what users see of their group's prices (PRC-3) and
// the wizard's cost estimate for a topology (PRC-4). The billing service stores and serves them.
import Big from "big.js";
import { formatMoney, multiplyRound, type Micros } from "../../lib/money";
import type { NodeGroup } from "../../lib/topology-rules";
import { allocate, isResource, RESOURCES, tierCost, toMicros, type PriceList, type Tariff, type TierMode } from "./rating";

/** PRC-2: monthly figures are hourly × 730 ("based on a 730 hour month"). */
export const HOURS_PER_MONTH = 730;
export const HOURS_PER_DAY = 24;
export const MAX_TIERS = 20;
export const MAX_PRICE = 1000;
export const MAX_PRICE_DECIMALS = 10;

export type NamedTariff = Tariff & { id: string; name: string };

const cloudletTiers = (prices: string[]) => [1, 5, 9, 17, 33].map((from, i) => ({ from, price: prices[i] }));

// PRC-2: the platform documentation's example prices. Single-tier tariffs start at 1, as the
// platform shows them ("1 GB – ∞"); L_0 = 0 whatever the first from is (PRC-1), so the first
// fraction of a GB is charged all the same.
export const DEFAULT_TARIFFS: NamedTariff[] = [
	{
		id: "default.cloudlet.reserved",
		name: "Reserved cloudlets",
		resource: "cloudlet.reserved",
		mode: "volume",
		tiers: cloudletTiers(["0.0043", "0.004", "0.0035", "0.0033", "0.003"]),
	},
	{
		id: "default.cloudlet.dynamic",
		name: "Dynamic cloudlets",
		resource: "cloudlet.dynamic",
		mode: "volume",
		tiers: cloudletTiers(["0.005", "0.0048", "0.0045", "0.0043", "0.004"]),
	},
	{ id: "default.disk", name: "Disk space", resource: "disk", mode: "volume", tiers: [{ from: 1, price: "0.00015" }] },
	{ id: "default.traffic", name: "External traffic", resource: "traffic", mode: "volume", tiers: [{ from: 1, price: "0" }] },
	{ id: "default.ip.v4", name: "Public IPv4", resource: "ip.v4", mode: "volume", tiers: [{ from: 1, price: "0.005" }] },
	{ id: "default.ip.v6", name: "Public IPv6", resource: "ip.v6", mode: "volume", tiers: [{ from: 1, price: "0" }] },
	{ id: "default.ssl", name: "Built-in SSL", resource: "ssl", mode: "volume", tiers: [{ from: 1, price: "0" }] },
];

export const DEFAULT_MODEL = {
	id: "default",
	name: "Default",
	description:
		"The platform's example pricing: volume discounts on reserved and dynamic cloudlets, disk per GB-hour, public IPv4 per hour; traffic, IPv6 and SSL free.",
	tariffs: DEFAULT_TARIFFS.map(t => t.id),
	groups: ["trial", "billing", "post", "beta", "collaboration"],
};

/** A price list (by resource) from a model's tariffs. */
export function priceList(tariffs: Tariff[]): PriceList {
	const out: PriceList = {};
	for (const t of tariffs) out[t.resource] = { resource: t.resource, mode: t.mode, tiers: t.tiers.map(x => ({ from: x.from, price: x.price })) };
	return out;
}

export const DEFAULT_PRICES: PriceList = priceList(DEFAULT_TARIFFS);

// ——— PRC-1: validation ———

export interface FieldError {
	field: string;
	message: string;
}

const PRICE = /^(\d+)(?:\.(\d+))?$/;
const TIER_FIELDS = new Set(["from", "price"]);

function priceError(price: unknown): string | null {
	const form = `must be a plain decimal string such as "0.0043" (at most ${MAX_PRICE_DECIMALS} decimals)`;
	if (typeof price !== "string") return price === undefined ? "is required" : form;
	if (price.length > 40) return "is too long to be a price";
	const m = PRICE.exec(price);
	if (!m) return form;
	// Trailing zeros are exact ("0.00430" is 0.0043): only significant decimals count, as in parseMoney.
	if ((m[2] ?? "").replace(/0+$/, "").length > MAX_PRICE_DECIMALS) return `has more than ${MAX_PRICE_DECIMALS} decimals`;
	if (new Big(price).gt(MAX_PRICE)) return `must be at most ${MAX_PRICE}`;
	return null;
}

/**
 * PRC-1: what is wrong with a tariff (an empty list when nothing is). `fieldPrefix` is prepended
 * to every field name, dot included ("tariffs[0]." → "tariffs[0].tiers[2].price"). A missing
 * mode is the default, volume; resource and tiers are required. Unknown fields of a tier are
 * refused (NFR-1); the top-level object's own fields are the caller's to check.
 */
export function tariffErrors(input: { resource?: unknown; mode?: unknown; tiers?: unknown }, fieldPrefix = ""): FieldError[] {
	const errors: FieldError[] = [];
	const fail = (field: string, message: string) => errors.push({ field: fieldPrefix + field, message });

	if (input.resource === undefined) fail("resource", "is required");
	else if (typeof input.resource !== "string" || !isResource(input.resource)) {
		fail("resource", `must be one of ${RESOURCES.join(", ")} or license:<name> (a-z, 0-9, ".", "_", "-"; up to 64 characters)`);
	}

	if (input.mode !== undefined && input.mode !== "volume" && input.mode !== "graduated") fail("mode", 'must be "volume" or "graduated"');

	const tiers = input.tiers;
	if (tiers === undefined) fail("tiers", "is required");
	else if (!Array.isArray(tiers) || tiers.length === 0 || tiers.length > MAX_TIERS) fail("tiers", `must be a list of 1 to ${MAX_TIERS} tiers`);
	else {
		let previous: number | null = null;
		tiers.forEach((tier: unknown, i) => {
			const at = `tiers[${i}]`;
			if (typeof tier !== "object" || tier === null || Array.isArray(tier)) {
				fail(at, "must be an object with from and price");
				previous = null;
				return;
			}
			const t = tier as Record<string, unknown>;
			for (const key of Object.keys(t)) if (!TIER_FIELDS.has(key)) fail(`${at}.${key}`, "is not a field of a tier");
			const from = t.from;
			if (typeof from !== "number" || !Number.isSafeInteger(from) || from < 0) {
				fail(`${at}.from`, from === undefined ? "is required" : "must be a whole number ≥ 0");
				previous = null;
			} else {
				// PRC-1: a first tier from 0 or 1 leaves no unit unpriced; later tiers must each start higher.
				if (i === 0 && from > 1) fail(`${at}.from`, "must be 0 or 1 for the first tier");
				if (i > 0 && previous !== null && from <= previous) fail(`${at}.from`, `must be greater than the previous tier's from (${previous})`);
				previous = from;
			}
			const bad = priceError(t.price);
			if (bad) fail(`${at}.price`, bad);
		});
	}
	return errors;
}

// ——— PRC-3: the "Quotas & Pricing" view ———

export interface PricingViewTier {
	from: number;
	to: number | null;
	price: string;
	monthly: string;
}
export interface PricingViewTariff {
	resource: string;
	mode: TierMode;
	tiers: PricingViewTier[];
}

/** BIL-1: unit prices are shown to 4 decimals, but never rounded: a price with more decimals shows them all. */
function hourlyPrice(price: string): string {
	const b = new Big(price);
	const decimals = (b.toFixed().split(".")[1] ?? "").length;
	return b.toFixed(Math.max(4, decimals));
}

/** PRC-3: the group's tariffs in RESOURCES order (then licences by name), each tier with its range and monthly price (× 730). */
export function pricingView(prices: PriceList, hoursPerMonth = HOURS_PER_MONTH): PricingViewTariff[] {
	const licences = Object.keys(prices)
		.filter(r => r.startsWith("license:") && isResource(r))
		.sort();
	return [...RESOURCES.filter(r => prices[r]), ...licences].map(resource => {
		const tariff = prices[resource];
		return {
			resource,
			mode: tariff.mode === "graduated" ? "graduated" : "volume",
			tiers: tariff.tiers.map((t, i) => ({
				from: t.from,
				to: i + 1 < tariff.tiers.length ? tariff.tiers[i + 1].from - 1 : null,
				price: hourlyPrice(t.price),
				monthly: new Big(t.price).times(hoursPerMonth).round(2, Big.roundHalfUp).toFixed(2),
			})),
		};
	});
}

// ——— PRC-4: the cost estimate of a topology ———

/** A node group as environments take it (`count`: the wizard sets a layer's nodes all at once); its software type does not price. */
export type EstimateNode = Omit<NodeGroup, "type">;

export interface Range {
	min: string;
	max: string;
}

export interface Estimate {
	hourly: Range;
	daily: Range;
	monthly: Range;
	/** Per layer, hourly; Σ layers + environment = hourly, to the last displayed digit. */
	layers: { layer: string; hourly: Range }[];
	/** Charges of the environment as a whole rather than of a layer (built-in SSL). */
	environment: { hourly: Range };
	discount: { reserved: string; dynamic: string };
	saved: { hourly: string; monthly: string };
}

function checkEstimateNode(n: EstimateNode, i: number): void {
	for (const field of ["count", "reservedCloudlets", "scalingLimit", "publicIPv4", "publicIPv6"] as const) {
		if (!Number.isSafeInteger(n[field]) || n[field] < 0) throw new RangeError(`nodes[${i}].${field} must be a whole number ≥ 0, got ${n[field]}`);
	}
	if (!Number.isFinite(n.diskLimitGB) || n.diskLimitGB < 0) throw new RangeError(`nodes[${i}].diskLimitGB must be a number ≥ 0, got ${n.diskLimitGB}`);
}

/** A discount as a whole percentage: 1 − (exact cost ÷ quantity) ÷ base, "0%" when there is nothing to discount. */
function discountPercent(exact: Big, quantity: Big, base: Big): string {
	if (quantity.eq(0) || base.eq(0)) return "0%";
	const pct = new Big(1).minus(exact.div(quantity).div(base)).times(100).round(0, Big.roundHalfUp);
	return `${pct.eq(0) ? "0" : pct.toFixed(0)}%`;
}

/**
 * Splits a displayed total (`decimals` places, rounded half-up from `total` micros) over parts by
 * their micros with the largest remainder, so that the displayed parts add up to the displayed total.
 */
function displayParts(total: Micros, parts: Micros[], decimals: number): string[] {
	const step = 10 ** (6 - decimals); // micros per displayed last digit
	const units = Number(new Big(total).div(step).round(0, Big.roundHalfUp));
	return allocate(units, parts).map(u => formatMoney(u * step, decimals));
}

/**
 * PRC-4: the wizard's estimated cost of a topology. min = reserved cloudlets only, plus IPs and
 * SSL; max = every node at its scaling limit, with its full disk. Each resource is priced at the
 * tier its environment-wide quantity reaches (DSC-1), rounded once to micros like a line item.
 */
export function estimate(nodes: EstimateNode[], ssl: boolean, prices: PriceList, hoursPerMonth = HOURS_PER_MONTH): Estimate {
	nodes.forEach(checkEstimateNode);
	const layerNames = [...new Set(nodes.map(n => n.layer))];
	const perLayer = layerNames.map(layer => {
		const q = { reserved: new Big(0), dynamic: new Big(0), disk: new Big(0), ipv4: new Big(0), ipv6: new Big(0) };
		for (const n of nodes.filter(x => x.layer === layer)) {
			q.reserved = q.reserved.plus(n.reservedCloudlets * n.count);
			q.dynamic = q.dynamic.plus(Math.max(0, n.scalingLimit - n.reservedCloudlets) * n.count);
			q.disk = q.disk.plus(new Big(n.diskLimitGB).times(n.count));
			q.ipv4 = q.ipv4.plus(n.publicIPv4 * n.count);
			q.ipv6 = q.ipv6.plus(n.publicIPv6 * n.count);
		}
		return q;
	});
	type Key = keyof (typeof perLayer)[number];
	const resourceOf: Record<Key, string> = { reserved: "cloudlet.reserved", dynamic: "cloudlet.dynamic", disk: "disk", ipv4: "ip.v4", ipv6: "ip.v6" };
	const priced = {} as Record<Key, { quantity: Big; exact: Big; micros: Micros; layers: Micros[] }>;
	for (const key of Object.keys(resourceOf) as Key[]) {
		const quantities = perLayer.map(q => q[key]);
		const quantity = quantities.reduce((a, b) => a.plus(b), new Big(0));
		const { exact } = tierCost(prices[resourceOf[key]], quantity);
		const micros = toMicros(exact);
		priced[key] = { quantity, exact, micros, layers: allocate(micros, quantities) };
	}
	const sslMicros = ssl ? toMicros(tierCost(prices["ssl"], 1).exact) : 0;

	const layerMin = layerNames.map((_, i) => priced.reserved.layers[i] + priced.ipv4.layers[i] + priced.ipv6.layers[i]);
	const layerMax = layerNames.map((_, i) => layerMin[i] + priced.dynamic.layers[i] + priced.disk.layers[i]);
	const min = layerMin.reduce((a, b) => a + b, sslMicros);
	const max = layerMax.reduce((a, b) => a + b, sslMicros);

	const range = (lo: Micros, hi: Micros, factor: number, decimals: number): Range => ({
		min: formatMoney(multiplyRound(lo, factor), decimals),
		max: formatMoney(multiplyRound(hi, factor), decimals),
	});
	const minParts = displayParts(min, [...layerMin, sslMicros], 4);
	const maxParts = displayParts(max, [...layerMax, sslMicros], 4);

	// PRC-4 / DSC-3: discounts are measured against the base (first-tier) dynamic price, as the platform's table does.
	const baseTier = prices["cloudlet.dynamic"]?.tiers[0];
	const base = new Big(baseTier ? baseTier.price : 0);
	const cloudlets = priced.reserved.quantity.plus(priced.dynamic.quantity);
	const saved = toMicros(cloudlets.times(base)) - priced.reserved.micros - priced.dynamic.micros;

	return {
		hourly: range(min, max, 1, 4),
		daily: range(min, max, HOURS_PER_DAY, 2),
		monthly: range(min, max, hoursPerMonth, 2),
		layers: layerNames.map((layer, i) => ({ layer, hourly: { min: minParts[i], max: maxParts[i] } })),
		environment: { hourly: { min: minParts[layerNames.length], max: maxParts[layerNames.length] } },
		discount: {
			reserved: discountPercent(priced.reserved.exact, priced.reserved.quantity, base),
			dynamic: discountPercent(priced.dynamic.exact, priced.dynamic.quantity, base),
		},
		saved: { hourly: formatMoney(saved, 4), monthly: formatMoney(multiplyRound(saved, hoursPerMonth), 2) },
	};
}
