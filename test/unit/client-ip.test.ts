/**
 * The client IP used by lockouts, rate limits, token allow-lists and session records: the socket
 * address, or behind trusted proxies (TRUST_PROXY) the right-most X-Forwarded-For entry that is
 * not itself a trusted proxy.
 */
import { clientIp, parseTrustList } from "../../lib/client-ip";

const NONE = parseTrustList([]);
const PROXY = "10.0.0.5";
const TRUST = parseTrustList(["10.0.0.0/8", "192.168.1.1", "fd00::/8"]);

describe("clientIp without trusted proxies", () => {
	test.each([
		["no header", "203.0.113.7", undefined, "203.0.113.7"],
		["a forged X-Forwarded-For", "203.0.113.7", "1.2.3.4", "203.0.113.7"],
		["a header list", "203.0.113.7", ["1.2.3.4", "5.6.7.8"], "203.0.113.7"],
		["an IPv6 socket", "2001:db8::1", "1.2.3.4", "2001:db8::1"],
		["an IPv4-mapped socket address", "::ffff:203.0.113.7", undefined, "203.0.113.7"],
	])("%s → the socket address", (_name, socket, xff, expected) => {
		expect(clientIp(socket, xff, NONE)).toBe(expected);
	});

	test("a socket without an address gives an empty string", () => {
		expect(clientIp(undefined, "1.2.3.4", NONE)).toBe("");
	});
});

describe("clientIp behind trusted proxies", () => {
	test.each([
		["the proxy's entry", PROXY, "203.0.113.7", "203.0.113.7"],
		["a client-prepended entry is ignored", PROXY, "6.6.6.6, 203.0.113.7", "203.0.113.7"],
		["several forged entries are ignored", PROXY, "6.6.6.6, 7.7.7.7,203.0.113.7", "203.0.113.7"],
		["a chain of trusted proxies is skipped", PROXY, "6.6.6.6, 203.0.113.7, 10.1.2.3, 192.168.1.1", "203.0.113.7"],
		["the header as several lines", PROXY, ["6.6.6.6, 203.0.113.7", "10.1.2.3"], "203.0.113.7"],
		["spaces and empty entries", PROXY, " 203.0.113.7 ,, ", "203.0.113.7"],
		["an IPv6 client", PROXY, "2001:db8::42", "2001:db8::42"],
		["an IPv6 proxy", "fd00::1", "203.0.113.7", "203.0.113.7"],
		["an IPv4-mapped proxy socket", "::ffff:10.0.0.5", "203.0.113.7", "203.0.113.7"],
		["an IPv4-mapped client entry", PROXY, "::ffff:203.0.113.7", "203.0.113.7"],
		["an IPv4-mapped trusted hop", PROXY, "203.0.113.7, ::ffff:10.9.9.9", "203.0.113.7"],
		["no header: the proxy itself", PROXY, undefined, PROXY],
		["an empty header: the proxy itself", PROXY, "", PROXY],
		["only trusted hops: the left-most of them", PROXY, "10.1.1.1, 10.2.2.2", "10.1.1.1"],
	])("%s", (_name, socket, xff, expected) => {
		expect(clientIp(socket, xff, TRUST)).toBe(expected);
	});

	test.each([
		["garbage right after the proxy: the proxy", "203.0.113.7, unknown", PROXY],
		["a port in the entry is garbage", "203.0.113.7:1234", PROXY],
		["garbage after a trusted hop: that hop", "203.0.113.7, garbage, 10.1.2.3", "10.1.2.3"],
		["garbage left of the client is never reached", "<script>, 203.0.113.7", "203.0.113.7"],
	])("%s", (_name, xff, expected) => {
		expect(clientIp(PROXY, xff, TRUST)).toBe(expected);
	});

	test("a request from an untrusted address cannot pick its IP, even inside the trusted range's neighbourhood", () => {
		expect(clientIp("11.0.0.1", "1.2.3.4", TRUST)).toBe("11.0.0.1");
		expect(clientIp("192.168.1.2", "1.2.3.4", TRUST)).toBe("192.168.1.2");
	});
});

describe("parseTrustList", () => {
	test.each([
		["a single address", ["192.0.2.1"], "192.0.2.1", true],
		["a single address, neighbour", ["192.0.2.1"], "192.0.2.2", false],
		["an IPv4 CIDR, inside", ["172.16.0.0/12"], "172.31.255.255", true],
		["an IPv4 CIDR, outside", ["172.16.0.0/12"], "172.32.0.0", false],
		["a /32", ["192.0.2.1/32"], "192.0.2.1", true],
		["an IPv6 address", ["2001:db8::1"], "2001:db8::1", true],
		["an IPv6 CIDR, inside", ["2001:db8::/32"], "2001:db8:ffff::1", true],
		["an IPv6 CIDR, outside", ["2001:db8::/32"], "2001:db9::1", false],
		["a mapped IPv4 entry matches the plain IPv4 socket", ["::ffff:192.0.2.1"], "192.0.2.1", true],
	])("%s", (_name, entries, socket, trusted) => {
		const ip = clientIp(socket as string, "203.0.113.7", parseTrustList(entries as string[]));
		expect(ip).toBe(trusted ? "203.0.113.7" : socket);
	});

	test.each(["proxy.internal", "10.0.0", "10.0.0.256", "", "::g", "/8"])("%p is refused, naming TRUST_PROXY and the entry", entry => {
		expect(() => parseTrustList([entry])).toThrow(`TRUST_PROXY: "${entry}" is not an IP address or CIDR`);
	});

	test.each(["10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/abc", "10.0.0.0/8.5", "2001:db8::/129"])(
		"a bad prefix %p is refused, naming TRUST_PROXY and the entry",
		entry => {
			expect(() => parseTrustList([entry])).toThrow(/TRUST_PROXY/);
			expect(() => parseTrustList([entry])).toThrow(entry);
		},
	);

	test.each(["10.0.0.0/", "10.0.0.0/8/16"])("a malformed CIDR %p is refused rather than read as another range", entry => {
		expect(() => parseTrustList([entry])).toThrow(/TRUST_PROXY/);
	});

	test("an empty prefix does not make every IPv4 address a trusted proxy", () => {
		let trust: ReturnType<typeof parseTrustList> | undefined;
		try {
			trust = parseTrustList(["10.0.0.0/"]);
		} catch {
			return; // refused: fine
		}
		// accepted: then it must not trust an arbitrary internet client to name its own IP
		expect(clientIp("203.0.113.7", "1.2.3.4", trust)).toBe("203.0.113.7");
	});
});
