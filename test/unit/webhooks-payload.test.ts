/**
 * What an outgoing webhook says (services/webhooks/payload.ts): each followed platform event
 * becomes `{id, type, created, data}` with money as exact decimal strings; the event id is the same
 * however often (and wherever) the event is heard, and differs between occurrences; the headers
 * are signed so that the test provider's own verification (billing/webhook-signature.ts) accepts them.
 */
import { verifySignature } from "../../services/billing/webhook-signature";
import { deliveryHeaders, EVENT_SOURCES, eventBody, WEBHOOK_EVENTS, webhookEvent } from "../../services/webhooks/payload";

const AT = new Date("2027-03-01T12:00:00.750Z");
const CREATED = Math.floor(AT.getTime() / 1000);

describe("webhookEvent", () => {
	it("follows exactly the event types of the API, one platform event each", () => {
		expect(Object.values(EVENT_SOURCES).sort()).toEqual([...WEBHOOK_EVENTS].sort());
		expect(webhookEvent("accounts.updated", { id: "a1" }, "r1", AT)).toBeNull();
	});

	it.each<[string, string, Record<string, unknown>, Record<string, unknown>]>([
		[
			"accounts.created",
			"account.created",
			{ id: "a1", email: "ada@example.com", group: "trial", role: "user" },
			{ accountId: "a1", email: "ada@example.com", group: "trial" },
		],
		[
			"accounts.status.changed",
			"account.status.changed",
			{ id: "a1", from: "active", to: "suspended", reason: "abuse" },
			{ accountId: "a1", from: "active", to: "suspended", reason: "abuse" },
		],
		["accounts.upgraded", "account.upgraded", { id: "a1", from: "trial", to: "billing" }, { accountId: "a1", from: "trial", to: "billing" }],
		[
			"billing.invoice.created",
			"invoice.created",
			{ accountId: "a1", invoiceId: "i1", number: "2027-000001", amount: 11_900_000 },
			{ accountId: "a1", invoiceId: "i1", number: "2027-000001", amount: "11.90", currency: "USD" },
		],
		[
			"billing.invoice.paid",
			"invoice.paid",
			{ accountId: "a1", invoiceId: "i1", paymentId: "p1", number: "2027-000001", amount: 1_234_567 },
			{ accountId: "a1", invoiceId: "i1", paymentId: "p1", number: "2027-000001", amount: "1.234567", currency: "USD" },
		],
		[
			"billing.payment.failed",
			"payment.failed",
			{ accountId: "a1", invoiceId: "i1", paymentId: "p1", amount: 500_000, reason: "card_declined" },
			{ accountId: "a1", invoiceId: "i1", paymentId: "p1", amount: "0.50", currency: "USD", reason: "card_declined" },
		],
		[
			"billing.balance.low",
			"balance.low",
			{ accountId: "a1", balance: -2_500_000, threshold: 10_000_000 },
			{ accountId: "a1", balance: "-2.50", threshold: "10.00", currency: "USD" },
		],
		[
			"billing.autorefill.failed",
			"autorefill.failed",
			{ accountId: "a1", failures: 3, reason: "card_declined" },
			{ accountId: "a1", failures: 3, reason: "card_declined" },
		],
	])("%s → %s", (source, type, params, data) => {
		const e = webhookEvent(source, params, "req-1", AT)!;
		expect(e).toEqual({ id: expect.stringMatching(/^evt_[0-9a-f]{32}$/), type, created: CREATED, data });
		// Money never travels as a number (a count, such as failures, does).
		for (const field of ["amount", "balance", "threshold"]) expect(typeof e.data[field]).not.toBe("number");
	});

	it("gives one occurrence the same id wherever and whenever it is heard", () => {
		const id = (source: string, params: Record<string, unknown>, requestId: string, at = AT) => webhookEvent(source, params, requestId, at)!.id;
		// Subject-named events: the request and the time do not matter.
		expect(id("billing.invoice.paid", { accountId: "a1", invoiceId: "i1", amount: 1 }, "r1")).toBe(
			id("billing.invoice.paid", { accountId: "a1", invoiceId: "i1", amount: 1 }, "r2", new Date(AT.getTime() + 60_000)),
		);
		expect(id("accounts.created", { id: "a1" }, "r1")).toBe(id("accounts.created", { id: "a1", email: "x@example.com" }, "r2"));
		// Another invoice, another type of the same invoice: other ids.
		expect(id("billing.invoice.paid", { accountId: "a1", invoiceId: "i1" }, "r1")).not.toBe(
			id("billing.invoice.paid", { accountId: "a1", invoiceId: "i2" }, "r1"),
		);
		expect(id("billing.invoice.paid", { accountId: "a1", invoiceId: "i1" }, "r1")).not.toBe(
			id("billing.invoice.created", { accountId: "a1", invoiceId: "i1" }, "r1"),
		);
		// A status change is named by the request that made it: the same change made again later is another event.
		const suspend = { id: "a1", from: "active", to: "suspended", reason: "x" };
		expect(id("accounts.status.changed", suspend, "r1")).toBe(id("accounts.status.changed", { ...suspend }, "r1"));
		expect(id("accounts.status.changed", suspend, "r1")).not.toBe(id("accounts.status.changed", suspend, "r2"));
		// Passed-through events: the same payload in any key order is the same event.
		expect(id("billing.balance.low", { accountId: "a1", day: "d" }, "r1")).toBe(id("billing.balance.low", { day: "d", accountId: "a1" }, "r1"));
		expect(id("billing.balance.low", { accountId: "a1", day: "d" }, "r1")).not.toBe(id("billing.balance.low", { accountId: "a1", day: "e" }, "r1"));
	});
});

describe("the body and its signature", () => {
	const SECRET = "whsec_receiver_0123456789";
	const e = webhookEvent("billing.invoice.paid", { accountId: "a1", invoiceId: "i1", paymentId: "p1", amount: 11_900_000 }, "r1", AT)!;
	const body = eventBody(e);

	it("is {id, type, created, data}", () => {
		expect(JSON.parse(body)).toEqual({ id: e.id, type: "invoice.paid", created: CREATED, data: e.data });
		expect(Object.keys(JSON.parse(body))).toEqual(["id", "type", "created", "data"]);
	});

	it("carries the event id and type, and a signature the test provider's verification accepts", () => {
		const headers = deliveryHeaders(SECRET, body, e, CREATED + 5);
		expect(headers).toMatchObject({ "Content-Type": "application/json", "Qm-Event-Id": e.id, "Qm-Event-Type": "invoice.paid" });
		expect(headers["Qm-Signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
		expect(verifySignature(body, headers["Qm-Signature"], [SECRET], CREATED + 5)).toEqual({ ok: true, timestamp: CREATED + 5 });
		expect(verifySignature(body, headers["Qm-Signature"], ["whsec_someone_else_000"], CREATED + 5)).toEqual({ ok: false, reason: "mismatch" });
		expect(verifySignature(body.replace("11.90", "99.90"), headers["Qm-Signature"], [SECRET], CREATED + 5)).toEqual({ ok: false, reason: "mismatch" });
	});
});
