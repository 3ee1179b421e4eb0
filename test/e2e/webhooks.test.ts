// Outgoing webhooks through HTTP (BIL-7, issue 17 part 4), with a receiver on 127.0.0.1 (allowed by
// QM_WEBHOOKS_ALLOW_PRIVATE=1): each event arrives once, signed so that the test provider's own
// verification accepts it, with a stable event id; a receiver answering 500 twice gets it on the
// third try, on the backoff schedule run by `webhooks.deliver`; the delivery log lists every try;
// redelivery resends the same event id, a failed delivery too; a billing event carries money as a
// decimal string; the secret is answered by the creation alone (not by any read, log line or
// stored document). Without the variable, loopback and private targets are refused — at creation
// and again before a delivery. Two tries of one due delivery at once send it once.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { HOUR, MINUTE, nowMs } from "../../lib/clock";
import { seal } from "../../lib/secretbox";
import { verifySignature } from "../../services/billing/webhook-signature";
import { tryScheduled, type DeliveryDoc, type DeliveryParams } from "../../services/webhooks/deliveries";
import { signInWhenReady, waitUntil, type Reply } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const ADMIN = { email: "hooks-admin@example.com", password: "Hooks-adm1n-passw0rd!" };
const PASSWORD = "Customer-pass-123!";
const SECRET = "whsec_given_by_the_admin_0123";

interface Received {
	path: string;
	headers: http.IncomingHttpHeaders;
	body: string;
	/** the platform clock when it arrived (signatures are checked against it) */
	atSec: number;
}

/** A webhook receiver: records every request; answers the statuses planned for its path, then 200. */
async function startReceiver() {
	const received: Received[] = [];
	const plans = new Map<string, number[]>();
	const server = http.createServer((req, res) => {
		let body = "";
		req.setEncoding("utf8");
		req.on("data", chunk => (body += chunk));
		req.on("end", () => {
			const path = req.url ?? "";
			received.push({ path, headers: req.headers, body, atSec: Math.floor(nowMs() / 1000) });
			res.writeHead(plans.get(path)?.shift() ?? 200).end();
		});
	});
	await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
	const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	return {
		url: (path: string) => base + path,
		at: (path: string) => received.filter(r => r.path === path),
		plan: (path: string, statuses: number[]) => void plans.set(path, statuses),
		close: () => new Promise(resolve => server.close(resolve)),
	};
}
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

const json = (r: Received) => JSON.parse(r.body);
const signedBy = (r: Received, secret: string) => verifySignature(r.body, r.headers["qm-signature"] as string, [secret], r.atSec).ok;
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

describe("outgoing webhooks", () => {
	let p: Platform;
	let receiver: Receiver;
	let admin: string;
	/** every answer of a read (list, one, deliveries, redeliver): none may hold a secret */
	const reads: Reply[] = [];
	const secrets: string[] = [];

	const signIn = async () => (admin = await signInWhenReady(p.http, ADMIN));
	const read = async (path: string) => {
		const r = await p.http.get(path, { token: admin });
		reads.push(r);
		return r;
	};
	const deliveries = async (endpointId: string) => (await read(`/admin/webhooks/${endpointId}/deliveries`)).body.rows;
	/** Every try started by an event has ended (none holds a claim that a moved clock would make due). */
	const settled = (endpointId: string) => waitUntil(async () => (await deliveries(endpointId)).every((d: { attempts: unknown[] }) => d.attempts.length > 0));
	const runJob = async () => (await p.http.post("/admin/jobs/webhooks.deliver/run", {}, { token: admin })).body;
	const setClock = async (ms: number) => expect((await p.http.post("/admin/clock", { now: new Date(ms).toISOString() }, { token: admin })).status).toBe(200);
	async function createEndpoint(path: string, events: string[], secret?: string) {
		const r = await p.http.post("/admin/webhooks", { url: receiver.url(path), events, ...(secret ? { secret } : {}) }, { token: admin });
		expect(r.status).toBe(201);
		secrets.push(r.body.secret);
		return r.body as { id: string; url: string; events: string[]; secret: string };
	}

	beforeAll(async () => {
		receiver = await startReceiver();
		p = await startPlatform({
			captureLogs: true,
			env: { QM_TEST_CLOCK: "1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password, QM_WEBHOOKS_ALLOW_PRIVATE: "1", LOG_LEVEL: "info" },
		});
		await signIn();
	});
	afterAll(async () => {
		await p?.stop();
		await receiver?.close();
	});

	let crm: { id: string; secret: string };
	let customer: { id: string };

	test("an administrator adds an endpoint: 201 with a generated secret, shown by this answer only", async () => {
		const created = await createEndpoint("/crm", ["account.created", "account.status.changed"]);
		expect(created).toEqual({
			id: expect.any(String),
			url: receiver.url("/crm"),
			events: ["account.created", "account.status.changed"],
			description: "",
			createdAt: expect.any(String),
			secret: expect.stringMatching(/^whsec_[A-Za-z0-9_-]{40,}$/),
		});
		crm = created;
		const one = await read(`/admin/webhooks/${crm.id}`);
		expect(one.status).toBe(200);
		const { secret: _secret, ...view } = created;
		expect(one.body).toEqual(view);
		const list = await read("/admin/webhooks");
		expect(list.body).toMatchObject({ total: 1, page: 1, rows: [view] });
	});

	test("a customer signs up: the receiver gets exactly one account.created, signed, with a stable event id", async () => {
		customer = await createAccount(p, "ada@example.com", PASSWORD);
		const mine = () => receiver.at("/crm").filter(r => json(r).type === "account.created" && json(r).data.accountId === customer.id);
		await waitUntil(async () => mine().length === 1);
		const [got] = mine();
		expect(signedBy(got, crm.secret)).toBe(true);
		expect(signedBy(got, "whsec_not_the_secret_000000")).toBe(false);
		const body = json(got);
		expect(body).toEqual({
			id: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
			type: "account.created",
			created: expect.any(Number),
			data: { accountId: customer.id, email: "ada@example.com", group: expect.any(String) },
		});
		expect(got.headers["qm-event-id"]).toBe(body.id);
		expect(got.headers["qm-event-type"]).toBe("account.created");
		expect(got.headers["content-type"]).toBe("application/json");

		// Delivered: the job has nothing to try again, and nothing more arrives.
		expect(await runJob()).toEqual({ job: "webhooks.deliver", processed: 0 });
		await sleep(300);
		expect(mine()).toHaveLength(1);
		const [d] = await deliveries(crm.id);
		expect(d).toMatchObject({ eventId: body.id, type: "account.created", status: "delivered", nextTryAt: null, payload: body });
		expect(d.attempts).toEqual([{ at: expect.any(String), manual: false, statusCode: 200, error: null, durationMs: expect.any(Number) }]);
	});

	test("an administrator suspends the account: account.status.changed", async () => {
		const r = await p.http.post(`/admin/accounts/${customer.id}/status`, { status: "suspended", reason: "unpaid invoices" }, { token: admin });
		expect(r.status).toBe(200);
		const changes = () => receiver.at("/crm").filter(x => json(x).type === "account.status.changed");
		await waitUntil(async () => changes().length === 1);
		expect(signedBy(changes()[0], crm.secret)).toBe(true);
		expect(json(changes()[0]).data).toEqual({ accountId: customer.id, from: "active", to: "suspended", reason: "unpaid invoices" });
		await sleep(200);
		expect(changes()).toHaveLength(1);
	});

	test("a receiver answering 500 twice gets the event on the third try, on the backoff schedule", async () => {
		const flaky = await createEndpoint("/flaky", ["account.created"], SECRET);
		expect(flaky.secret).toBe(SECRET);
		receiver.plan("/flaky", [500, 500]);
		await createAccount(p, "grace@example.com", PASSWORD);

		// The first try, at once: 500, the next one in a minute.
		const first = await waitUntil(async () => (await deliveries(flaky.id)).find((d: { attempts: unknown[] }) => d.attempts.length === 1));
		expect(first).toMatchObject({ status: "pending", attempts: [{ statusCode: 500, manual: false }] });
		expect(Date.parse(first.nextTryAt) - Date.parse(first.attempts[0].at)).toBe(MINUTE);
		await settled(crm.id);
		expect(await runJob()).toEqual({ job: "webhooks.deliver", processed: 0 }); // not due yet

		// A minute on: the second try, 500 again, the next one 5 minutes later.
		await setClock(Date.parse(first.nextTryAt) + 1000);
		expect(await runJob()).toEqual({ job: "webhooks.deliver", processed: 1 });
		const [second] = await deliveries(flaky.id);
		expect(second).toMatchObject({ status: "pending", attempts: [{ statusCode: 500 }, { statusCode: 500 }] });
		expect(Date.parse(second.nextTryAt) - Date.parse(second.attempts[1].at)).toBe(5 * MINUTE);
		await setClock(Date.parse(second.nextTryAt) - 5000);
		expect(await runJob()).toEqual({ job: "webhooks.deliver", processed: 0 }); // 5 minutes are not up

		// Past them: the third try is answered 200.
		await setClock(Date.parse(second.nextTryAt) + 1000);
		expect(await runJob()).toEqual({ job: "webhooks.deliver", processed: 1 });
		const [third] = await deliveries(flaky.id);
		expect(third).toMatchObject({ status: "delivered", nextTryAt: null });
		expect(third.attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 500, 200]);
		for (const a of third.attempts)
			expect(a).toEqual({ at: expect.any(String), manual: false, statusCode: expect.any(Number), error: null, durationMs: expect.any(Number) });

		const got = receiver.at("/flaky");
		expect(got).toHaveLength(3);
		expect(new Set(got.map(r => r.headers["qm-event-id"]))).toEqual(new Set([third.eventId]));
		expect(new Set(got.map(r => r.body)).size).toBe(1); // the same bytes on every try
		for (const r of got) expect(signedBy(r, SECRET)).toBe(true);
		expect(await runJob()).toEqual({ job: "webhooks.deliver", processed: 0 });
	});

	test("redeliver sends the same event again, with the same id, and logs a manual try", async () => {
		const [d] = await deliveries(crm.id).then(rows => rows.filter((x: { type: string }) => x.type === "account.created").slice(-1));
		const before = receiver.at("/crm").filter(r => r.headers["qm-event-id"] === d.eventId).length;
		const r = await p.http.post(`/admin/webhooks/${crm.id}/deliveries/${d.id}/redeliver`, {}, { token: admin });
		reads.push(r);
		expect(r.status).toBe(200);
		expect(r.body).toMatchObject({ id: d.id, eventId: d.eventId, status: "delivered" });
		expect(r.body.attempts.at(-1)).toMatchObject({ manual: true, statusCode: 200, error: null });
		expect(r.body.attempts).toHaveLength(d.attempts.length + 1);
		const again = receiver.at("/crm").filter(x => x.headers["qm-event-id"] === d.eventId);
		expect(again).toHaveLength(before + 1);
		expect(signedBy(again.at(-1)!, crm.secret)).toBe(true);
		expect(json(again.at(-1)!)).toEqual(json(again[0]));
	});

	test("a billing event becomes invoice.paid, its amount a decimal string; heard twice, it is sent once", async () => {
		const billing = await createEndpoint("/billing", ["invoice.paid"]);
		const paid = { accountId: customer.id, invoiceId: "inv-webhooks-1", paymentId: "pay-webhooks-1", number: "2027-000042", amount: 11_900_000 };
		await p.broker.emit("billing.invoice.paid", paid);
		await waitUntil(async () => receiver.at("/billing").length === 1);
		const [got] = receiver.at("/billing");
		expect(signedBy(got, billing.secret)).toBe(true);
		expect(json(got)).toMatchObject({
			type: "invoice.paid",
			data: { accountId: customer.id, invoiceId: "inv-webhooks-1", paymentId: "pay-webhooks-1", number: "2027-000042", amount: "11.90", currency: "USD" },
		});
		// The same invoice paid heard again (a second replica, a repeated announcement): the same event id, recorded once.
		await p.broker.emit("billing.invoice.paid", paid);
		await sleep(300);
		expect(await runJob()).toEqual({ job: "webhooks.deliver", processed: 0 });
		expect(receiver.at("/billing")).toHaveLength(1);
		expect((await read(`/admin/webhooks/${billing.id}/deliveries`)).body.total).toBe(1);
		// Endpoints that did not ask for invoice.paid got nothing.
		expect(receiver.at("/crm").filter(r => json(r).type === "invoice.paid")).toHaveLength(0);
	});

	test("refuses unknown and bad fields, naming each (nothing is stored)", async () => {
		const before = (await read("/admin/webhooks")).body.total;
		const post = (body: Record<string, unknown>) => p.http.post("/admin/webhooks", body, { token: admin });
		const fields = (r: Reply) => (r.body.data as { field: string }[]).map(e => e.field);
		const ok = { url: receiver.url("/x"), events: ["account.created"] };

		const unknown = await post({ ...ok, colour: "red" });
		expect([unknown.status, unknown.body.type]).toEqual([422, "VALIDATION_ERROR"]);
		expect(unknown.body.data).toContainEqual({ field: "colour", message: "is not an accepted field" });
		expect(fields(await post({ ...ok, events: ["account.deleted"] }))).toEqual(["events[0]"]);
		expect(fields(await post({ ...ok, events: [] }))).toEqual(["events"]);
		expect(fields(await post({ ...ok, secret: "too-short" }))).toEqual(["secret"]);
		expect(fields(await post({ ...ok, url: "ftp://127.0.0.1/x" }))).toEqual(["url"]);
		expect(fields(await post({ ...ok, url: "http://user:pass@127.0.0.1/x" }))).toEqual(["url"]);
		expect(fields(await post({ events: ["account.created"] }))).toEqual(["url"]);
		expect((await read("/admin/webhooks")).body.total).toBe(before);
	});

	test("unknown ids answer 404; a deleted endpoint is gone with its deliveries", async () => {
		for (const path of ["/admin/webhooks/nope", "/admin/webhooks/nope/deliveries"]) expect((await read(path)).status).toBe(404);
		expect((await p.http.del("/admin/webhooks/nope", { token: admin })).status).toBe(404);
		expect((await p.http.post(`/admin/webhooks/${crm.id}/deliveries/nope/redeliver`, {}, { token: admin })).status).toBe(404);
		// A delivery of another endpoint is not this one's.
		const [other] = await deliveries(crm.id);
		const flakyId = (await read("/admin/webhooks")).body.rows.find((e: { url: string }) => e.url.endsWith("/flaky")).id;
		expect((await p.http.post(`/admin/webhooks/${flakyId}/deliveries/${other.id}/redeliver`, {}, { token: admin })).status).toBe(404);

		const temp = await createEndpoint("/temp", ["account.upgraded"]);
		expect((await p.http.del(`/admin/webhooks/${temp.id}`, { token: admin })).status).toBe(204);
		expect((await read(`/admin/webhooks/${temp.id}`)).status).toBe(404);
		expect((await read("/admin/webhooks")).body.rows.map((e: { id: string }) => e.id)).not.toContain(temp.id);
	});

	test("a plain user gets 403 on every webhook route", async () => {
		await createAccount(p, "plain@example.com", PASSWORD);
		const user = (await p.http.post("/auth/signin", { email: "plain@example.com", password: PASSWORD })).body.session as string;
		const list = await p.http.get("/admin/webhooks", { token: user });
		expect([list.status, list.body.type, list.body.data.method]).toEqual([403, "FORBIDDEN", "admin.webhooks.GetWebhooks"]);
		const create = await p.http.post("/admin/webhooks", { url: receiver.url("/evil"), events: ["account.created"] }, { token: user });
		expect([create.status, create.body.data.method]).toEqual([403, "admin.webhooks.AddWebhook"]);
		expect((await p.http.get(`/admin/webhooks/${crm.id}/deliveries`, { token: user })).status).toBe(403);
		expect((await p.http.del(`/admin/webhooks/${crm.id}`, { token: user })).status).toBe(403);
	});

	test("two tries of one due delivery at once (the event's try and the job, two replicas) send it once", async () => {
		const race = await createEndpoint("/race", ["account.upgraded"]);
		const svc = p.broker.getLocalService("webhooks") as unknown as { deps: DeliveryParams };
		const t = new Date(nowMs());
		const due: DeliveryDoc = {
			_id: "race-1",
			endpointId: race.id,
			eventId: "evt_race",
			type: "account.upgraded",
			body: JSON.stringify({ id: "evt_race", type: "account.upgraded", created: 0, data: {} }),
			status: "pending",
			tries: 0,
			attempts: [],
			nextTryAt: t,
			createdAt: t,
			expiresAt: new Date(t.getTime() + HOUR),
		};
		await svc.deps.deliveries.insert(due);
		expect(await Promise.all([tryScheduled(svc.deps, due), tryScheduled(svc.deps, due)])).toEqual(expect.arrayContaining([true, false]));
		expect(receiver.at("/race")).toHaveLength(1);
		expect((await deliveries(race.id))[0]).toMatchObject({ status: "delivered", attempts: [{ statusCode: 200 }] });
	});

	test("after 24 h of failures a delivery is failed; a redelivery still sends it", async () => {
		const down = await createEndpoint("/down", ["account.created"]);
		receiver.plan("/down", Array(50).fill(503));
		await createAccount(p, "linus@example.com", PASSWORD);
		const [first] = await waitUntil(async () => {
			const rows = await deliveries(down.id);
			return rows[0]?.attempts.length === 1 && rows;
		});
		expect(first.status).toBe("pending");
		for (const e of (await read("/admin/webhooks")).body.rows) await settled(e.id);

		await setClock(nowMs() + 25 * HOUR);
		await signIn(); // the session did not live 25 hours
		expect(await runJob()).toEqual({ job: "webhooks.deliver", processed: 1 });
		const [failed] = await deliveries(down.id);
		expect(failed).toMatchObject({ status: "failed", nextTryAt: null });
		expect(failed.attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([503, 503]);
		expect(await runJob()).toEqual({ job: "webhooks.deliver", processed: 0 }); // given up
		expect(p.logs.join("\n")).toContain(`Webhook delivery ${failed.id} (account.created ${failed.eventId}) to endpoint ${down.id} is given up after 2 tries`);

		receiver.plan("/down", []);
		const r = await p.http.post(`/admin/webhooks/${down.id}/deliveries/${failed.id}/redeliver`, {}, { token: admin });
		reads.push(r);
		expect(r.body).toMatchObject({ status: "delivered", eventId: failed.eventId });
		expect(r.body.attempts.map((a: { statusCode: number; manual: boolean }) => [a.statusCode, a.manual])).toEqual([
			[503, false],
			[503, false],
			[200, true],
		]);
		const got = receiver.at("/down");
		expect(got).toHaveLength(3);
		expect(new Set(got.map(x => x.headers["qm-event-id"]))).toEqual(new Set([failed.eventId]));
		expect(signedBy(got[2], down.secret)).toBe(true);
	});

	test("no secret in any read, log line or stored document (stored sealed)", async () => {
		expect(secrets.length).toBeGreaterThanOrEqual(4);
		const svc = p.broker.getLocalService("webhooks") as unknown as { db: Record<string, { find(q: object): Promise<unknown[]> }> };
		const stored = await Promise.all(Object.values(svc.db).map(async s => JSON.stringify(await s.find({}))));
		for (const haystack of [...reads.map(r => r.text), p.logs.join("\n"), ...stored]) {
			for (const secret of secrets) expect(haystack).not.toContain(secret);
			expect(haystack).not.toMatch(/"secret":/);
		}
		expect(reads.length).toBeGreaterThan(10);
	});
});

describe("outgoing webhooks without QM_WEBHOOKS_ALLOW_PRIVATE", () => {
	let p: Platform;
	let receiver: Receiver;
	let admin: string;

	beforeAll(async () => {
		receiver = await startReceiver();
		p = await startPlatform({ env: { QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password, QM_WEBHOOKS_ALLOW_PRIVATE: undefined } });
		admin = await signInWhenReady(p.http, ADMIN);
	});
	afterAll(async () => {
		await p?.stop();
		await receiver?.close();
	});

	test.each([
		["loopback", "http://127.0.0.1:8080/hook", /loopback address \(127\.0\.0\.1\)/],
		["loopback by name", "http://localhost:8080/hook", /loopback address/],
		["IPv6 loopback", "http://[::1]:8080/hook", /loopback/],
		["IPv4-mapped loopback", "http://[::ffff:127.0.0.1]/hook", /loopback/],
		["a private network", "https://10.1.2.3/hook", /private address/],
		["cloud metadata", "http://169.254.169.254/latest/meta-data/", /link-local/],
		["CGNAT", "https://100.64.1.1/hook", /carrier-grade NAT/],
		["unique-local IPv6", "https://[fd00::1]/hook", /unique-local/],
	])("refuses %s with 422 naming url", async (_, url, reason) => {
		const r = await p.http.post("/admin/webhooks", { url, events: ["account.created"] }, { token: admin });
		expect([r.status, r.body.type]).toEqual([422, "VALIDATION_ERROR"]);
		expect(r.body.data).toEqual([{ field: "url", message: expect.stringMatching(reason) }]);
	});

	test("checks the target again before each delivery (an address that turned private is not called)", async () => {
		// As if the endpoint's name had resolved to a public address at creation and to loopback now.
		const svc = p.broker.getLocalService("webhooks") as unknown as { db: { webhook_endpoints: { insert(doc: object): Promise<unknown> } } };
		await svc.db.webhook_endpoints.insert({
			_id: "rebound",
			url: receiver.url("/rebound"),
			events: ["account.upgraded"],
			description: "",
			secretSealed: seal("whsec_rebound_0123456789"),
			createdBy: "test",
			createdAt: new Date(nowMs()),
		});
		await p.broker.emit("accounts.upgraded", { id: "acc-rebound", from: "trial", to: "billing" });
		const [d] = await waitUntil(async () => {
			const rows = (await p.http.get("/admin/webhooks/rebound/deliveries", { token: admin })).body.rows;
			return rows[0]?.attempts.length === 1 && rows;
		});
		expect(d).toMatchObject({
			status: "pending",
			attempts: [{ statusCode: null, error: expect.stringMatching(/^refused: url must not point at a loopback address/) }],
		});
		expect(receiver.at("/rebound")).toHaveLength(0);
	});
});
