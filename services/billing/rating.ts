// Rating: what one environment-hour costs (MTR-3..MTR-5, PRC-1, DSC-1..DSC-3, BIL-1), kept pure
// (no Moleculer, no I/O) so that the billing service only loads the hour, calls rateEnvHour and
// stores the charge. Quantities and prices are decimals in big.js; money leaves as whole micros,
// each line item rounded half-up once, then split over the nodes so that every micro is accounted for.
import Big from "big.js";
import type { Micros } from "../../lib/money";

export const RESOURCES = ["cloudlet.reserved", "cloudlet.dynamic", "disk", "traffic", "ip.v4", "ip.v6", "ssl"] as const;
export type Resource = (typeof RESOURCES)[number];

// PRC-1: software licences are tariffs too, one per licence name (rated later, with tariff grids).
const LICENSE = /^license:[a-z0-9][a-z0-9._-]{0,63}$/;

/** MTR-3: one cloudlet is 128 MiB of RAM and 400 MHz of CPU. */
export const CLOUDLET_RAM_MIB = 128;
export const CLOUDLET_CPU_MHZ = 400;

export type TierMode = "volume" | "graduated";
/** `from` is the first unit of the tier ("5–8" → 5); `price` is per unit-hour, a plain decimal string ("0.0043"). */
export interface Tier {
	from: number;
	price: string;
}
/** Tiers sorted by `from` ascending; the first `from` is 0 or 1 (both mean "from the first fraction of a unit"). */
export interface Tariff {
	resource: string;
	mode: TierMode;
	tiers: Tier[];
}
/** Tariffs by resource; a resource without a tariff is free. */
export type PriceList = Record<string, Tariff>;

export function isResource(r: string): boolean {
	return (RESOURCES as readonly string[]).includes(r) || LICENSE.test(r);
}

const ZERO = new Big(0);

// PRC-1: tier i holds the units above L_i = from_i − 1 (L_0 = 0 whatever the first from is), so
// "1–4" holds (0, 4] and "5–8" holds (4, 8]. A fractional quantity (disk, traffic) is therefore in
// the tier of the unit it has started: 4.5 GB has reached "5–8".
function lowerBound(tiers: Tier[], i: number): Big {
	return i === 0 ? ZERO : new Big(tiers[i].from - 1);
}

/** Index of the tier that quantity `q` reaches: the last tier whose lower bound q exceeds (the first one for q = 0). */
function reachedTier(tiers: Tier[], q: Big): number {
	let reached = 0;
	for (let i = 1; i < tiers.length; i++) if (q.gt(lowerBound(tiers, i))) reached = i;
	return reached;
}

/** Unit price as a canonical decimal ("0.00430" → "0.0043"). */
function canonicalPrice(price: string): string {
	return new Big(price).toFixed();
}

/** Exact (unrounded) cost of `quantity` units under a tariff, and the unit price of the tier reached. */
export function tierCost(tariff: Tariff | undefined, quantity: Big | string | number): { exact: Big; unitPrice: string } {
	const q = new Big(quantity);
	if (q.lt(0)) throw new RangeError(`A quantity cannot be negative: ${q.toFixed()}`);
	if (!tariff || tariff.tiers.length === 0) return { exact: ZERO, unitPrice: "0" };
	const tiers = tariff.tiers;
	if (tariff.mode === "graduated") {
		// PRC-1 graduated: each tier prices only its own units; the unit price shown is the highest tier's.
		let exact = ZERO;
		let reached = 0;
		for (let i = 0; i < tiers.length; i++) {
			const lower = lowerBound(tiers, i);
			if (q.lte(lower)) break;
			const upper = i + 1 < tiers.length ? lowerBound(tiers, i + 1) : null;
			const top = upper !== null && q.gt(upper) ? upper : q;
			if (top.gt(lower)) {
				exact = exact.plus(top.minus(lower).times(tiers[i].price));
				reached = i;
			}
		}
		return { exact, unitPrice: canonicalPrice(tiers[reached].price) };
	}
	// PRC-1 volume (the default, also for a stored tariff without a mode): the tier reached prices every unit.
	const tier = tiers[reachedTier(tiers, q)];
	return { exact: q.times(tier.price), unitPrice: canonicalPrice(tier.price) };
}

/** BIL-1: an exact amount → whole micros, rounded half-up once. */
export function toMicros(exact: Big): Micros {
	const n = Number(exact.times(1_000_000).round(0, Big.roundHalfUp).toFixed(0));
	if (!Number.isSafeInteger(n)) throw new RangeError(`Amount ${exact.toFixed()} is outside the exact range`);
	return n === 0 ? 0 : n;
}

/** ⌈x / d⌉ for x ≥ 0, exact: big.js division rounds at Big.DP places, so the ceiling is settled by multiplying back. */
function ceilDiv(x: number, d: number): number {
	if (!Number.isFinite(x) || x <= 0) return 0;
	if (Number.isSafeInteger(x) && Number.isSafeInteger(d)) {
		// Whole numbers (most usage): the float quotient, corrected by products that are exact.
		let n = Math.floor(x / d);
		if (n * d > x) n -= 1;
		return n * d < x ? n + 1 : n;
	}
	const b = new Big(x);
	let n = b.div(d).round(0, Big.roundDown);
	if (n.times(d).lt(b)) n = n.plus(1);
	return Number(n);
}

/** MTR-3: max(ceil(peakRamMiB/128), ceil(avgCpuMHz/400)) capped at scalingLimit, never negative. */
export function cloudletsUsed(peakRamMiB: number, avgCpuMHz: number, scalingLimit: number): number {
	const used = Math.max(ceilDiv(peakRamMiB, CLOUDLET_RAM_MIB), ceilDiv(avgCpuMHz, CLOUDLET_CPU_MHZ));
	const limit = Number.isFinite(scalingLimit) ? Math.max(0, Math.floor(scalingLimit)) : 0;
	return Math.min(used, limit);
}

/**
 * Splits `amount` micros over parts in proportion to `weights` with the largest-remainder method:
 * each part gets the floor of its exact share, the micros left go one each to the largest
 * remainders (ties → the earlier part). Σ result = amount, always (BIL-1: no micro lost or made up).
 */
export function allocate(amount: Micros, weights: (Big | number | string)[]): Micros[] {
	const w = weights.map(x => new Big(x));
	if (w.some(x => x.lt(0))) throw new RangeError("Allocation weights cannot be negative");
	if (amount === 0) return w.map(() => 0);
	const shares = integerShares(Math.abs(amount), w) ?? bigShares(Math.abs(amount), w);
	let left = Math.abs(amount) - shares.reduce((a, s) => a + s.floor, 0);
	const order = shares.map((_, i) => i).sort((a, b) => compare(shares[b].remainder, shares[a].remainder) || a - b);
	for (const i of order) {
		if (left <= 0) break;
		shares[i].floor += 1;
		left -= 1;
	}
	return shares.map(s => (amount < 0 && s.floor !== 0 ? -s.floor : s.floor));
}

type Share = { floor: number; remainder: Big | number };
const compare = (a: Big | number, b: Big | number) => (typeof a === "number" && typeof b === "number" ? Math.sign(a - b) : new Big(a).cmp(b));
const nothing = (amount: Micros) => new RangeError(`Cannot allocate ${amount} micros over nothing`);

/** Each part's exact floor of whole × w / Σw and what is left of it, in big.js (rounded divisions, checked). */
function bigShares(whole: number, w: Big[]): Share[] {
	const total = w.reduce((a, b) => a.plus(b), ZERO);
	if (total.eq(0)) throw nothing(whole);
	const amount = new Big(whole);
	return w.map(x => {
		const numerator = amount.times(x);
		let floor = numerator.div(total).round(0, Big.roundDown);
		while (floor.times(total).gt(numerator)) floor = floor.minus(1);
		while (floor.plus(1).times(total).lte(numerator)) floor = floor.plus(1);
		return { floor: Number(floor), remainder: numerator.minus(floor.times(total)) };
	});
}

/**
 * The same shares in integers, when the weights scaled alike to whole numbers (a split does not
 * change when every weight is multiplied by one factor) keep every product below 2^53: the
 * charge path's splits (cloudlets, MB), without big.js. Null when they would not.
 */
function integerShares(whole: number, w: Big[]): Share[] | null {
	// big.js: x.c its digits, x.e the exponent of the first one.
	const decimals = Math.max(0, ...w.map(x => x.c.length - 1 - x.e));
	if (decimals > 9) return null;
	const ints = w.map(x => Number(decimals ? x.times(10 ** decimals) : x));
	const total = ints.reduce((a, b) => a + b, 0);
	if (!ints.every(Number.isSafeInteger) || !Number.isSafeInteger(total) || (whole + 1) * total > Number.MAX_SAFE_INTEGER) return null;
	if (total === 0) throw nothing(whole);
	return ints.map(x => {
		const numerator = whole * x;
		let floor = Math.floor(numerator / total);
		if (floor * total > numerator) floor -= 1;
		else if ((floor + 1) * total <= numerator) floor += 1;
		return { floor, remainder: numerator - floor * total };
	});
}

/** One node in one hour: inventory (reserved, scaling limit, IPs) and the hour's usage (zeros without samples). */
export interface NodeHour {
	nodeId: string;
	layer: string;
	reservedCloudlets: number;
	scalingLimit: number;
	publicIPv4: number;
	publicIPv6: number;
	peakRamMiB: number;
	avgCpuMHz: number;
	/** The hour's peak, or the last known disk when the hour had no samples (MTR-3). */
	peakDiskMB: number;
	/** External in + out. */
	trafficMB: number;
}

export interface EnvHour {
	/** Ran for any part of the hour (MTR-3). */
	running: boolean;
	/** Created from a subscription: free of usage charges (MTR-5). */
	subscription: boolean;
	ssl: boolean;
	nodes: NodeHour[];
	/** DSC-2: the environment's external traffic in the previous calendar month, decimal GB. */
	previousMonthTrafficGB: string;
}

export interface RatedNode {
	nodeId: string;
	layer: string;
	reservedCloudlets: number;
	dynamicCloudlets: number;
	usedCloudlets: number;
	storageGB: string;
	trafficGB: string;
	cost: Micros;
}
export interface RatedOption {
	name: "ip.v4" | "ip.v6" | "ssl";
	quantity: number;
	cost: Micros;
}
export interface RatedLine {
	resource: string;
	quantity: string;
	unitPrice: string;
	amount: Micros;
}
export interface RatedEnvHour {
	nodes: RatedNode[];
	options: RatedOption[];
	lines: RatedLine[];
	total: Micros;
	tiers: { reserved: string | null; dynamic: string | null };
}

// Inventory and usage are validated where they enter (MTR-1, the inventory API): anything else here
// is a bug upstream, and charging a wrong amount is worse than not charging the hour yet.
function checkNode(n: NodeHour): void {
	for (const field of ["reservedCloudlets", "publicIPv4", "publicIPv6"] as const) {
		if (!Number.isSafeInteger(n[field]) || n[field] < 0) throw new RangeError(`Node ${n.nodeId}: ${field} must be a whole number ≥ 0, got ${n[field]}`);
	}
	for (const field of ["peakDiskMB", "trafficMB"] as const) {
		if (!Number.isFinite(n[field]) || n[field] < 0) throw new RangeError(`Node ${n.nodeId}: ${field} must be a number ≥ 0, got ${n[field]}`);
	}
}

const MB_IN_GB = "0.001"; // MTR-4: 1 GB = 1000 MB (multiplied, not divided: big.js multiplication is exact)

/** Rates one environment-hour: one line item per resource, split over the nodes; Σ nodes + Σ options = total = Σ lines. */
export function rateEnvHour(h: EnvHour, prices: PriceList): RatedEnvHour {
	if (h.subscription) {
		// MTR-5: nothing is charged, so nothing is shown as charged either.
		return {
			nodes: h.nodes.map(n => ({
				nodeId: n.nodeId,
				layer: n.layer,
				reservedCloudlets: 0,
				dynamicCloudlets: 0,
				usedCloudlets: 0,
				storageGB: "0",
				trafficGB: "0",
				cost: 0,
			})),
			options: [],
			lines: [],
			total: 0,
			tiers: { reserved: null, dynamic: null },
		};
	}
	const running = h.running;
	// MTR-3: a stopped environment pays no cloudlets and no traffic; disk, IPs and SSL it pays still.
	const perNode = h.nodes.map(n => {
		checkNode(n);
		const used = cloudletsUsed(n.peakRamMiB, n.avgCpuMHz, n.scalingLimit);
		return {
			reserved: running ? n.reservedCloudlets : 0,
			dynamic: running ? Math.max(0, used - n.reservedCloudlets) : 0,
			used,
			storage: new Big(n.peakDiskMB).times(MB_IN_GB),
			traffic: running ? new Big(n.trafficMB).times(MB_IN_GB) : ZERO,
		};
	});
	const sum = (xs: Big[]) => xs.reduce((a, b) => a.plus(b), ZERO);

	// DSC-1: both cloudlet tiers from the environment's sums in this hour, independently.
	const reserved = sum(perNode.map(n => new Big(n.reserved)));
	const dynamic = sum(perNode.map(n => new Big(n.dynamic)));
	// DSC-2: the disk tier from the environment's GB in the hour.
	const storage = sum(perNode.map(n => n.storage));
	const traffic = sum(perNode.map(n => n.traffic));
	// DSC-2: the traffic price is the tier reached by last month's traffic, always looked up as a volume tier.
	const trafficTariff = prices["traffic"];
	const trafficPrice = tierCost(trafficTariff && { ...trafficTariff, mode: "volume" }, h.previousMonthTrafficGB).unitPrice;

	// DSC-2: options by count, whatever the environment's state.
	const ipv4 = new Big(h.nodes.reduce((a, n) => a + n.publicIPv4, 0));
	const ipv6 = new Big(h.nodes.reduce((a, n) => a + n.publicIPv6, 0));
	const ssl = new Big(h.ssl ? 1 : 0);

	const costs: Record<Resource, { quantity: Big; exact: Big; unitPrice: string }> = {
		"cloudlet.reserved": { quantity: reserved, ...tierCost(prices["cloudlet.reserved"], reserved) },
		"cloudlet.dynamic": { quantity: dynamic, ...tierCost(prices["cloudlet.dynamic"], dynamic) },
		disk: { quantity: storage, ...tierCost(prices["disk"], storage) },
		traffic: { quantity: traffic, exact: traffic.times(trafficPrice), unitPrice: trafficPrice },
		"ip.v4": { quantity: ipv4, ...tierCost(prices["ip.v4"], ipv4) },
		"ip.v6": { quantity: ipv6, ...tierCost(prices["ip.v6"], ipv6) },
		ssl: { quantity: ssl, ...tierCost(prices["ssl"], ssl) },
	};

	// BIL-1: one line per resource used, rounded once; a free resource used still gets its line (amount 0).
	const lines: RatedLine[] = [];
	const amounts = {} as Record<Resource, Micros>;
	for (const resource of RESOURCES) {
		const c = costs[resource];
		amounts[resource] = c.quantity.gt(0) ? toMicros(c.exact) : 0;
		if (c.quantity.gt(0)) lines.push({ resource, quantity: c.quantity.toFixed(), unitPrice: c.unitPrice, amount: amounts[resource] });
	}

	// BIL-2: the line amounts are split over the nodes by their own quantities, so node rows add up to the charge.
	const nodeCost = perNode.map(() => 0);
	const split: [Resource, Big[]][] = [
		["cloudlet.reserved", perNode.map(n => new Big(n.reserved))],
		["cloudlet.dynamic", perNode.map(n => new Big(n.dynamic))],
		["disk", perNode.map(n => n.storage)],
		["traffic", perNode.map(n => n.traffic)],
	];
	for (const [resource, weights] of split) allocate(amounts[resource], weights).forEach((m, i) => (nodeCost[i] += m));

	const options: RatedOption[] = (["ip.v4", "ip.v6", "ssl"] as const)
		.filter(name => costs[name].quantity.gt(0))
		.map(name => ({ name, quantity: Number(costs[name].quantity), cost: amounts[name] }));

	return {
		nodes: h.nodes.map((n, i) => ({
			nodeId: n.nodeId,
			layer: n.layer,
			reservedCloudlets: perNode[i].reserved,
			dynamicCloudlets: perNode[i].dynamic,
			usedCloudlets: perNode[i].used,
			storageGB: perNode[i].storage.toFixed(),
			trafficGB: perNode[i].traffic.toFixed(),
			cost: nodeCost[i],
		})),
		options,
		lines,
		total: lines.reduce((a, l) => a + l.amount, 0),
		tiers: {
			reserved: reserved.gt(0) ? costs["cloudlet.reserved"].unitPrice : null,
			dynamic: dynamic.gt(0) ? costs["cloudlet.dynamic"].unitPrice : null,
		},
	};
}
