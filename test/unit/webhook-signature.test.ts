/**
 * Signed webhooks (services/billing/webhook-signature.ts; PAY-2, API.md POST
 * /billing/providers/{name}/webhook): the header format against an HMAC computed here, the raw
 * body byte for byte, unsigned / malformed / stale (300 s either way) / mismatch, secret rotation
 * and several v1 entries in one header.
 */
import { createHmac } from "node:crypto";
import { signPayload, verifySignature, type Verdict } from "../../services/billing/webhook-signature";

const SECRET = "whsec_new_0123456789";
const OLD_SECRET = "whsec_old_9876543210";
const NOW = 1_750_000_000;
const BODY = '{"id":"evt_1","type":"payment.succeeded","created":1750000000,"data":{"paymentId":"pay_1","amount":"10.00","currency":"EUR"}}';

const hex = (secret: string, t: number | string, body: string) => createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");
const OK: Verdict = { ok: true, timestamp: NOW };
const fail = (reason: string) => ({ ok: false, reason });

describe("signPayload", () => {
	it("writes t=<unix s>,v1=<hex HMAC-SHA256(secret, '<t>.<raw body>')>", () => {
		expect(signPayload(SECRET, BODY, NOW)).toBe(`t=${NOW},v1=${hex(SECRET, NOW, BODY)}`);
	});
	it("signs a Buffer and the same string alike", () => {
		const body = '{"note":"Zoë paid €10"}';
		expect(signPayload(SECRET, Buffer.from(body, "utf8"), NOW)).toBe(signPayload(SECRET, body, NOW));
	});
	it.each<[string, string, number]>([
		["an empty secret", "", NOW],
		["a fractional timestamp", SECRET, NOW + 0.5],
		["a negative timestamp", SECRET, -1],
		["a timestamp beyond safe integers", SECRET, Number.MAX_SAFE_INTEGER + 2],
	])("refuses %s", (_, secret, t) => {
		expect(() => signPayload(secret, BODY, t)).toThrow(RangeError);
	});
});

describe("verifySignature: accepted", () => {
	const header = signPayload(SECRET, BODY, NOW);
	it.each<[string, Buffer | string, string, string[], number]>([
		["a valid signature", BODY, header, [SECRET], NOW],
		["the raw body as a Buffer", Buffer.from(BODY, "utf8"), header, [SECRET], NOW],
		["299 s old", BODY, header, [SECRET], NOW + 299],
		["exactly 300 s old", BODY, header, [SECRET], NOW + 300],
		["299 s in the future", BODY, header, [SECRET], NOW - 299],
		["rotation: signed with the old secret, checked against [new, old]", BODY, signPayload(OLD_SECRET, BODY, NOW), [SECRET, OLD_SECRET], NOW],
		["rotation: signed with the new secret, checked against [new, old]", BODY, header, [SECRET, OLD_SECRET], NOW],
		["two v1 entries, the second matches", BODY, `t=${NOW},v1=${hex(OLD_SECRET, NOW, BODY)},v1=${hex(SECRET, NOW, BODY)}`, [SECRET], NOW],
		["two v1 entries, the first matches", BODY, `t=${NOW},v1=${hex(SECRET, NOW, BODY)},v1=${"0".repeat(64)}`, [SECRET], NOW],
		["an unknown v0 scheme beside v1", BODY, `t=${NOW},v0=${hex("other", NOW, BODY)},v1=${hex(SECRET, NOW, BODY)}`, [SECRET], NOW],
		["v1 before t, spaces after commas", BODY, `v1=${hex(SECRET, NOW, BODY)}, t=${NOW}`, [SECRET], NOW],
		["upper-case hex", BODY, `t=${NOW},v1=${hex(SECRET, NOW, BODY).toUpperCase()}`, [SECRET], NOW],
		["an empty body", "", signPayload(SECRET, "", NOW), [SECRET], NOW],
	])("%s → ok", (_, body, h, secrets, now) => {
		expect(verifySignature(body, h, secrets, now)).toEqual(OK);
	});
	it("a custom tolerance", () => {
		expect(verifySignature(BODY, header, [SECRET], NOW + 30, 30)).toEqual(OK);
		expect(verifySignature(BODY, header, [SECRET], NOW + 31, 30)).toEqual(fail("stale"));
	});
});

describe("verifySignature: the raw body, byte for byte", () => {
	const header = signPayload(SECRET, BODY, NOW);
	const parsed = JSON.parse(BODY) as Record<string, unknown>;
	const { id, ...rest } = parsed;
	it.each<[string, Buffer | string]>([
		["one byte changed", BODY.replace("10.00", "10.01")],
		["one byte appended", BODY + " "],
		["a trailing newline", BODY + "\n"],
		["the same JSON with other whitespace", JSON.stringify(parsed, null, 2)],
		["the same JSON with another key order", JSON.stringify({ ...rest, id })],
		["one byte changed in a Buffer", Buffer.from(BODY.replace("evt_1", "evt_2"), "utf8")],
		["the body of another event", BODY.replace("payment.succeeded", "payment.failed")],
	])("%s → mismatch", (_, body) => {
		expect(verifySignature(body, header, [SECRET], NOW)).toEqual(fail("mismatch"));
	});
	it("a re-serialised body fails although it means the same", () => {
		const spaced = '{ "id": "evt_1", "amount": "10.00" }';
		const reserialised = JSON.stringify(JSON.parse(spaced));
		expect(verifySignature(spaced, signPayload(SECRET, spaced, NOW), [SECRET], NOW)).toEqual(OK);
		expect(verifySignature(reserialised, signPayload(SECRET, spaced, NOW), [SECRET], NOW)).toEqual(fail("mismatch"));
	});
});

describe("verifySignature: refused", () => {
	const v1 = hex(SECRET, NOW, BODY);
	it.each<[string, string | undefined, string[], number, string]>([
		["no header", undefined, [SECRET], NOW, "unsigned"],
		["an empty header", "", [SECRET], NOW, "unsigned"],
		["a blank header", "   ", [SECRET], NOW, "unsigned"],
		["garbage", "garbage", [SECRET], NOW, "malformed"],
		["no t", `v1=${v1}`, [SECRET], NOW, "malformed"],
		["no v1", `t=${NOW}`, [SECRET], NOW, "malformed"],
		["only an unknown scheme", `t=${NOW},v0=${v1}`, [SECRET], NOW, "malformed"],
		["a non-numeric t", `t=abc,v1=${v1}`, [SECRET], NOW, "malformed"],
		["an empty t", `t=,v1=${v1}`, [SECRET], NOW, "malformed"],
		["a fractional t", `t=${NOW}.5,v1=${v1}`, [SECRET], NOW, "malformed"],
		["a negative t", `t=-${NOW},v1=${v1}`, [SECRET], NOW, "malformed"],
		["an exponent t", `t=1.75e9,v1=${v1}`, [SECRET], NOW, "malformed"],
		["a t with trailing letters", `t=${NOW}abc,v1=${v1}`, [SECRET], NOW, "malformed"],
		["two t", `t=${NOW},t=${NOW},v1=${v1}`, [SECRET], NOW, "malformed"],
		["an item without =", `t=${NOW},v1=${v1},junk`, [SECRET], NOW, "malformed"],
		["301 s old", `t=${NOW},v1=${v1}`, [SECRET], NOW + 301, "stale"],
		["301 s in the future", `t=${NOW},v1=${v1}`, [SECRET], NOW - 301, "stale"],
		["a day old", `t=${NOW},v1=${v1}`, [SECRET], NOW + 86_400, "stale"],
		["an empty secrets list", `t=${NOW},v1=${v1}`, [], NOW, "mismatch"],
		["a retired secret only", signPayload(OLD_SECRET, BODY, NOW), [SECRET], NOW, "mismatch"],
		["signed with another secret", signPayload("whsec_attacker", BODY, NOW), [SECRET, OLD_SECRET], NOW, "mismatch"],
		["an empty secret never matches", `t=${NOW},v1=${hex("", NOW, BODY)}`, [""], NOW, "mismatch"],
		["the t changed, the v1 kept", `t=${NOW + 1},v1=${v1}`, [SECRET], NOW, "mismatch"],
		["a truncated v1", `t=${NOW},v1=${v1.slice(0, 63)}`, [SECRET], NOW, "mismatch"],
		["a v1 with non-hex after a good prefix", `t=${NOW},v1=${v1.slice(0, 62)}zz`, [SECRET], NOW, "mismatch"],
		["a v1 twice as long", `t=${NOW},v1=${v1}${v1}`, [SECRET], NOW, "mismatch"],
		["an empty v1", `t=${NOW},v1=`, [SECRET], NOW, "mismatch"],
		["the right v1 under v0", `t=${NOW},v0=${v1},v1=${"0".repeat(64)}`, [SECRET], NOW, "mismatch"],
		// The signature is checked first: "stale" is only ever said of an authentic message.
		["a forged and stale header", `t=${NOW},v1=${"0".repeat(64)}`, [SECRET], NOW + 3600, "mismatch"],
	])("%s → %s", (_, header, secrets, now, reason) => {
		expect(verifySignature(BODY, header, secrets, now)).toEqual(fail(reason));
	});
});
