// SSRF guard for outgoing webhooks: where an administrator's URL may send the platform. Only
// http(s) without credentials, and only to public addresses — never loopback, private networks,
// link-local (cloud metadata at 169.254.169.254), CGNAT, unique-local IPv6, multicast or reserved
// space, nor those addresses written as IPv4-mapped IPv6 (net.BlockList matches them itself). The
// check runs at creation and again before every delivery, since DNS may answer differently later
// (rebinding); the delivery then connects to the very addresses checked (send.ts).
// QM_WEBHOOKS_ALLOW_PRIVATE=1 lifts the address rule (a receiver on the provider's own network).
import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

export interface ResolvedAddress {
	address: string;
	family: 4 | 6;
}

export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export type TargetCheck = { ok: true; url: URL; addresses: ResolvedAddress[] } | { ok: false; reason: string };

/** Blocked ranges by the name a refusal gives them. */
const RANGES: { name: string; v4?: [string, number][]; v6?: [string, number][] }[] = [
	{ name: "unspecified", v4: [["0.0.0.0", 8]], v6: [["::", 128]] },
	{ name: "loopback", v4: [["127.0.0.0", 8]], v6: [["::1", 128]] },
	{
		name: "private",
		v4: [
			["10.0.0.0", 8],
			["172.16.0.0", 12],
			["192.168.0.0", 16],
		],
	},
	{ name: "carrier-grade NAT", v4: [["100.64.0.0", 10]] },
	{ name: "link-local", v4: [["169.254.0.0", 16]], v6: [["fe80::", 10]] },
	{ name: "unique-local", v6: [["fc00::", 7]] },
	{ name: "multicast", v4: [["224.0.0.0", 4]], v6: [["ff00::", 8]] },
	// 240/4 is reserved and ends in the broadcast address; nothing public lives there.
	{ name: "reserved", v4: [["240.0.0.0", 4]] },
];

const LISTS = RANGES.map(r => {
	const list = new BlockList();
	for (const [net, prefix] of r.v4 ?? []) list.addSubnet(net, prefix, "ipv4");
	for (const [net, prefix] of r.v6 ?? []) list.addSubnet(net, prefix, "ipv6");
	return { name: r.name, list };
});

/** The blocked range an IP address lies in ("loopback", "private", …), or null for a public one. */
export function blockedRange(address: string): string | null {
	const family = isIP(address);
	if (family === 0) return "invalid";
	const type = family === 4 ? "ipv4" : "ipv6";
	return LISTS.find(l => l.list.check(address, type))?.name ?? null;
}

export const resolveAll: Resolver = async hostname => (await dnsLookup(hostname, { all: true, verbatim: true })) as ResolvedAddress[];

/**
 * Whether `raw` may be a webhook target now, and the addresses to connect to. A refusal's reason
 * completes "url …" in an error (API.md: the field and the reason).
 */
export async function checkTarget(raw: string, opts: { allowPrivate: boolean; resolve?: Resolver }): Promise<TargetCheck> {
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		return { ok: false, reason: "must be an absolute http or https URL" };
	}
	if (url.protocol !== "http:" && url.protocol !== "https:") return { ok: false, reason: "must be an http or https URL" };
	if (url.username || url.password) return { ok: false, reason: "must not carry credentials (user:password@)" };
	// WHATWG URL has already turned 0x7f.1, 2130706433 and the like into dotted IPv4.
	const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
	let addresses: ResolvedAddress[];
	if (isIP(host)) addresses = [{ address: host, family: isIP(host) as 4 | 6 }];
	else {
		try {
			addresses = await (opts.resolve ?? resolveAll)(host);
		} catch {
			return { ok: false, reason: `host ${host} does not resolve` };
		}
		if (!addresses.length) return { ok: false, reason: `host ${host} does not resolve` };
	}
	if (!opts.allowPrivate) {
		// Every address: a name answering one public and one private address is refused too.
		for (const a of addresses) {
			const range = blockedRange(a.address);
			if (range) return { ok: false, reason: `must not point at a ${range} address (${a.address}); set QM_WEBHOOKS_ALLOW_PRIVATE=1 to allow private targets` };
		}
	}
	return { ok: true, url, addresses };
}
