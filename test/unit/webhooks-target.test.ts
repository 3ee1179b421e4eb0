/**
 * SSRF guard of outgoing webhooks (services/webhooks/target.ts): the address classifier over every
 * blocked range and its edges, IPv4-mapped IPv6 of them, and the URL check — scheme, credentials,
 * names resolving to a blocked address (any one of several), names that do not resolve, and
 * QM_WEBHOOKS_ALLOW_PRIVATE's switch.
 */
import { blockedRange, checkTarget, type ResolvedAddress, type Resolver } from "../../services/webhooks/target";

describe("blockedRange", () => {
	it.each<[string, string | null]>([
		// public
		["93.184.216.34", null],
		["8.8.8.8", null],
		["1.1.1.1", null],
		["2606:4700:4700::1111", null],
		["2001:db8::1", null],
		// this network, loopback
		["0.0.0.0", "unspecified"],
		["0.255.255.255", "unspecified"],
		["::", "unspecified"],
		["127.0.0.1", "loopback"],
		["127.255.255.254", "loopback"],
		["::1", "loopback"],
		// RFC 1918 and the edges around it
		["10.0.0.1", "private"],
		["10.255.255.255", "private"],
		["11.0.0.0", null],
		["172.16.0.1", "private"],
		["172.31.255.255", "private"],
		["172.15.255.255", null],
		["172.32.0.0", null],
		["192.168.1.1", "private"],
		["192.169.0.0", null],
		// CGNAT 100.64/10
		["100.64.0.1", "carrier-grade NAT"],
		["100.127.255.255", "carrier-grade NAT"],
		["100.63.255.255", null],
		["100.128.0.0", null],
		// link-local (cloud metadata)
		["169.254.169.254", "link-local"],
		["fe80::1", "link-local"],
		["febf::1", "link-local"],
		// unique-local fc00::/7
		["fc00::1", "unique-local"],
		["fd12:3456:789a::1", "unique-local"],
		["fe00::1", null],
		// multicast, reserved, broadcast
		["224.0.0.1", "multicast"],
		["239.255.255.255", "multicast"],
		["ff02::1", "multicast"],
		["240.0.0.1", "reserved"],
		["255.255.255.255", "reserved"],
		// IPv4-mapped IPv6 of blocked IPv4, in both notations
		["::ffff:127.0.0.1", "loopback"],
		["::ffff:7f00:1", "loopback"],
		["::ffff:10.1.2.3", "private"],
		["::ffff:169.254.169.254", "link-local"],
		["::ffff:100.64.0.1", "carrier-grade NAT"],
		["::ffff:93.184.216.34", null],
		// not an address at all
		["localhost", "invalid"],
	])("%s → %p", (address, range) => {
		expect(blockedRange(address)).toBe(range);
	});
});

describe("checkTarget", () => {
	const resolver =
		(table: Record<string, ResolvedAddress[]>): Resolver =>
		async host => {
			if (!table[host]) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
			return table[host];
		};
	const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
	const v6 = (address: string): ResolvedAddress => ({ address, family: 6 });
	const resolve = resolver({
		"hooks.example.com": [v4("93.184.216.34"), v6("2606:2800:220:1::1")],
		"internal.example.com": [v4("10.0.0.5")],
		"mixed.example.com": [v4("93.184.216.34"), v4("127.0.0.1")],
		"rebind.example.com": [v6("::ffff:192.168.0.1")],
	});
	const check = (url: string, allowPrivate = false) => checkTarget(url, { allowPrivate, resolve });

	it("accepts a public https URL and answers the addresses to connect to", async () => {
		const r = await check("https://hooks.example.com/qm?x=1");
		expect(r).toEqual({ ok: true, url: new URL("https://hooks.example.com/qm?x=1"), addresses: [v4("93.184.216.34"), v6("2606:2800:220:1::1")] });
	});

	it("takes an IP literal as its own address, without DNS", async () => {
		const r = await checkTarget("http://93.184.216.34:8080/hook", { allowPrivate: false, resolve: resolver({}) });
		expect(r.ok && r.addresses).toEqual([v4("93.184.216.34")]);
	});

	it.each<[string, string, RegExp]>([
		["not a URL", "hooks.example.com/qm", /absolute http or https URL/],
		["another scheme", "ftp://hooks.example.com/", /http or https/],
		["a file URL", "file:///etc/passwd", /http or https/],
		["credentials", "https://user:pass@hooks.example.com/", /credentials/],
		["a user alone", "https://user@hooks.example.com/", /credentials/],
		["a name that does not resolve", "https://nowhere.example.com/", /does not resolve/],
		["a name resolving to a private address", "https://internal.example.com/", /private address \(10\.0\.0\.5\)/],
		["a name with one loopback address among public ones", "https://mixed.example.com/", /loopback address \(127\.0\.0\.1\)/],
		["a name answering an IPv4-mapped private address", "https://rebind.example.com/", /private address/],
		["loopback by IP", "http://127.0.0.1:3000/", /loopback/],
		["loopback in another IPv4 spelling", "http://2130706433/", /loopback/],
		["loopback in hex", "http://0x7f.1/", /loopback/],
		["IPv6 loopback", "http://[::1]:3000/", /loopback/],
		["IPv4-mapped loopback", "http://[::ffff:127.0.0.1]/", /loopback/],
		["cloud metadata", "http://169.254.169.254/latest/meta-data/", /link-local/],
		["this network", "http://0.0.0.0:3000/", /unspecified/],
	])("refuses %s", async (_, url, reason) => {
		const r = await check(url);
		expect(r.ok).toBe(false);
		expect(!r.ok && r.reason).toMatch(reason);
	});

	it("QM_WEBHOOKS_ALLOW_PRIVATE lifts the address rule, and only that one", async () => {
		expect((await check("http://127.0.0.1:3000/hook", true)).ok).toBe(true);
		expect((await check("https://internal.example.com/", true)).ok).toBe(true);
		expect((await check("https://user:pass@127.0.0.1/", true)).ok).toBe(false);
		expect((await check("gopher://127.0.0.1/", true)).ok).toBe(false);
	});
});
