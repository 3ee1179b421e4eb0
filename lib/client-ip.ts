// The client IP that lockouts, rate limits, token allow-lists and session records use: the socket
// address, or — when the request comes from a trusted proxy (TRUST_PROXY) — the right-most
// X-Forwarded-For entry that is not itself a trusted proxy.
import { BlockList, isIP } from "net";

/** Parses "10.0.0.0/8", "2001:db8::/32" or a single address; null when malformed. */
export function parseCidr(raw: string): { addr: string; family: "ipv4" | "ipv6"; bits?: number } | null {
	const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(raw.trim());
	const addr = m?.[1] ?? "";
	const family = isIP(addr) === 6 ? "ipv6" : "ipv4";
	const bits = m?.[2] === undefined ? undefined : Number(m[2]);
	// A malformed prefix must never widen a list (e.g. "10.0.0.0/" read as /0 would match everyone).
	if (!m || !isIP(addr) || (bits !== undefined && bits > (family === "ipv6" ? 128 : 32))) return null;
	return { addr, family, bits };
}

/** A BlockList of well-formed CIDRs (callers validate first, e.g. with parseCidr). */
export function cidrList(entries: string[], name = "TRUST_PROXY"): BlockList {
	const list = new BlockList();
	for (const raw of entries) {
		const c = parseCidr(raw);
		if (!c) throw new Error(`${name}: "${raw}" is not an IP address or CIDR`);
		if (c.bits === undefined) list.addAddress(c.addr, c.family);
		else list.addSubnet(c.addr, c.bits, c.family);
	}
	return list;
}

export function parseTrustList(entries: string[]): BlockList {
	return cidrList(entries, "TRUST_PROXY");
}

/** Is `ip` inside any of `cidrs`? (IPv4-mapped IPv6 addresses count as IPv4.) */
export function ipInList(list: BlockList, ip: string): boolean {
	const v = normalise(ip);
	const family = isIP(v) === 6 ? "ipv6" : "ipv4";
	return isIP(v) !== 0 && list.check(v, family);
}

export function normaliseIp(ip: string): string {
	return normalise(ip);
}

function normalise(ip: string): string {
	const v = ip.trim();
	return v.startsWith("::ffff:") && isIP(v.slice(7)) === 4 ? v.slice(7) : v;
}

function trusted(list: BlockList, ip: string): boolean {
	const family = isIP(ip) === 6 ? "ipv6" : "ipv4";
	return isIP(ip) !== 0 && list.check(ip, family);
}

export function clientIp(socketAddress: string | undefined, forwardedFor: string | string[] | undefined, trust: BlockList): string {
	let ip = normalise(socketAddress ?? "");
	if (!trusted(trust, ip) || !forwardedFor) return ip;
	const chain = (Array.isArray(forwardedFor) ? forwardedFor.join(",") : forwardedFor).split(",").map(normalise).filter(Boolean);
	while (chain.length) {
		const hop = chain.pop() as string;
		if (isIP(hop) === 0) return ip; // garbage in the header: stop at the last good address
		ip = hop;
		if (!trusted(trust, hop)) return hop;
	}
	return ip;
}
