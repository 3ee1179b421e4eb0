// BIL-2: balances never drift silently. A balance document that differs from Σ its applied ledger
// is set from the ledger (the ledger is the truth) by the reconcile job and again when the
// platform starts; each repair is logged, announced as `billing.balance.changed` and told to the
// administrators (email and in-app notice). A repair never overwrites a movement taken meanwhile,
// and a reconcile that finds nothing to repair tells no one.
//
// The test writes into billing's balance store directly: the protocol itself never lets a balance
// drift (test/integration/ledger.test.ts), so a torn or lost write — a disk, a restore, a hand edit
// — can only be simulated from outside it. Everything else goes through the front door.
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import type { ServiceSchema } from "moleculer";
import type { Store } from "../../mixins/db.mixin";
import { Ledger, type BalanceDoc, type Repair } from "../../services/billing/ledger-store";
import { signInWhenReady, waitUntil } from "../helpers/http";
import { createAccount, startPlatform, type Platform } from "../helpers/platform";

const U = 1_000_000;
const ADMIN = { email: "ledger-keeper@example.com", password: "Keeps-the-ledger-9!" };
const USER = { email: "drifter@example.com", password: "Drifting-balance-4!" };

type BillingInternals = { ledger: Ledger; db: { balances: Store<BalanceDoc> } };
type Changed = { accountId: string; main: number; bonus: number };

async function start(dataDir: string) {
	const changed: Changed[] = [];
	const p = await startPlatform({
		env: { DATA_DIR: dataDir, QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password },
		services: ["gateway", "accounts", "auth", "notifications", "quotas", "billing"],
		extra: [
			{
				name: "balance-listener",
				events: { "billing.balance.changed": { handler: (ctx: { params: Changed }) => void changed.push(ctx.params) } },
			} as unknown as ServiceSchema,
		],
	});
	const admin = await signInWhenReady(p.http, ADMIN);
	return { p, admin, changed, billing: p.broker.getLocalService("billing") as unknown as BillingInternals };
}

describe("balances that drift are set from the ledger, and administrators are told", () => {
	const dir = mkdtempSync(join(tmpdir(), "qm-balance-repair-"));
	let p: Platform;
	let admin: string;
	let changed: Changed[];
	let billing: BillingInternals;
	let user: { id: string; session: string };
	let keys = 0;

	const balance = async () => (await p.http.get("/billing/balance", { token: user.session })).body as { main: string; bonus: string };
	const accountBalance = async () => (await p.http.get("/account", { token: user.session })).body.balance as { main: string; bonus: string };
	const stored = async () => {
		const b = (await billing.db.balances.findById(user.id))!;
		return { main: b.main, bonus: b.bonus };
	};
	/** A torn or lost write of the balance document: what the test simulates (see the header). */
	const corrupt = (set: Partial<BalanceDoc>) => billing.db.balances.updateOne({ _id: user.id }, { $set: set });
	const runReconcile = async () => {
		const r = await p.http.post("/admin/jobs/billing.reconcile/run", {}, { token: admin });
		expect(r.status).toBe(200);
		return r.body as { job: string; processed: number };
	};
	const repairMails = async () => {
		const r = await p.http.get(`/admin/outbox?to=${encodeURIComponent(ADMIN.email)}&pageSize=100`, { token: admin });
		return (r.body.rows as { template: string; subject: string; text: string }[]).filter(m => m.template === "balance-repaired");
	};
	const repairNotices = async () => {
		const r = await p.http.get("/account/notifications?pageSize=100", { token: admin });
		return (r.body.rows as { title: string; body: string }[]).filter(n => n.title === "Balance repaired from the ledger");
	};
	const fund = (body: Record<string, unknown>) =>
		p.http.post(`/admin/accounts/${user.id}/fund`, body, { token: admin, headers: { "Idempotency-Key": `repair-${++keys}` } });

	beforeAll(async () => {
		({ p, admin, changed, billing } = await start(dir));
		const account = await createAccount(p, USER.email, USER.password);
		user = { id: account.id, session: (await p.http.post("/auth/signin", USER)).body.session };
		await waitUntil(async () => (await balance()).bonus === "10.00"); // the trial bonus, by event
		expect((await fund({ amount: "25.50", note: "Wire transfer" })).status).toBe(201);
		expect(await stored()).toEqual({ main: 25_500_000, bonus: 10 * U });
	});
	afterAll(async () => {
		await p?.stop();
		rmSync(dir, { recursive: true, force: true });
	});

	it("the reconcile job sets a balance that lost a write back to Σ ledger, announces it and tells every admin once", async () => {
		await corrupt({ main: 0 }); // the refill's $inc lost
		// GET /account keeps a balance a second; let it read the drifted one.
		await new Promise(r => setTimeout(r, 1_100));
		expect(await accountBalance()).toMatchObject({ main: "0.00", bonus: "10.00" });

		expect((await runReconcile()).processed).toBe(1); // accounts checked: the user (the admin has no balance yet)
		expect(await stored()).toEqual({ main: 25_500_000, bonus: 10 * U });
		expect(await balance()).toMatchObject({ main: "25.50", bonus: "10.00", total: "35.50" });
		// The announcement refreshed what GET /account keeps at once.
		expect(await accountBalance()).toMatchObject({ main: "25.50", bonus: "10.00" });
		await waitUntil(async () => changed.some(c => c.accountId === user.id && c.main === 25_500_000 && c.bonus === 10 * U));

		const mails = await waitUntil(async () => {
			const m = await repairMails();
			return m.length === 1 && m;
		});
		expect(mails[0].subject).toBe(`Balance of account ${user.id} repaired from its ledger`);
		expect(mails[0].text).toContain("Main: 0.00 → 25.50");
		expect(mails[0].text).toContain("Bonus: 10.00 → 10.00");
		expect(await repairNotices()).toEqual([expect.objectContaining({ body: `Account ${user.id}: main 0.00 → 25.50, bonus 10.00 → 10.00.` })]);

		// Nothing differs any more: another run repairs nothing and tells no one.
		const announced = changed.length;
		await runReconcile();
		const rows = await p.broker.call<Repair[], Record<string, never>>("billing.reconcile", {});
		expect(rows.filter(r => !r.ok || r.repaired !== undefined)).toEqual([]);
		await new Promise(r => setTimeout(r, 200));
		expect(await repairMails()).toHaveLength(1);
		expect(await repairNotices()).toHaveLength(1);
		expect(changed.length).toBe(announced);
	});

	it("never overwrites a movement taken while it checked: the account is repaired on the next run", async () => {
		await corrupt({ main: 1 * U });
		const restore = jest.spyOn(billing.ledger, "restoreBalance").mockImplementationOnce(async (seen, to) => {
			// A charge lands between the repair's read and its update (bonus first: 2.00 of the 10.00 bonus).
			const charged = await p.broker.call<{ state: string }, Record<string, unknown>>("billing.post", {
				accountId: user.id,
				key: `repair-race-${Date.now()}`,
				kind: "charge",
				amount: -2 * U,
				description: "an hour",
			});
			expect(charged.state).toBe("applied");
			return Ledger.prototype.restoreBalance.call(billing.ledger, seen, to);
		});
		try {
			const [row] = await p.broker.call<Repair[], { accountId: string }>("billing.reconcile", { accountId: user.id });
			expect(row).toMatchObject({ ok: false, repaired: false, balance: { main: 1 * U, bonus: 10 * U }, ledger: { main: 25_500_000, bonus: 10 * U } });
		} finally {
			restore.mockRestore();
		}
		expect(await stored()).toEqual({ main: 1 * U, bonus: 8 * U }); // the charge kept, nothing overwritten
		expect(await repairMails()).toHaveLength(1); // no repair, no notice

		const [again] = await p.broker.call<Repair[], { accountId: string }>("billing.reconcile", { accountId: user.id });
		expect(again).toMatchObject({ ok: false, repaired: true, ledger: { main: 25_500_000, bonus: 8 * U } });
		expect(await stored()).toEqual({ main: 25_500_000, bonus: 8 * U });
		await waitUntil(async () => (await repairMails()).length === 2);
		expect((await p.broker.call<Repair[], { accountId: string }>("billing.reconcile", { accountId: user.id }))[0]).toEqual({
			accountId: user.id,
			balance: { main: 25_500_000, bonus: 8 * U },
			ledger: { main: 25_500_000, bonus: 8 * U },
			ok: true,
			pending: 0,
		});
	});

	it("a platform started on a drifted store sets the balance from the ledger and tells the admins", async () => {
		await corrupt({ bonus: 3_141_592 }); // a torn write of the bonus
		await p.stop();

		({ p, admin, changed, billing } = await start(dir));
		user.session = (await p.http.post("/auth/signin", USER)).body.session;
		await waitUntil(async () => (await stored()).bonus === 8 * U);
		expect(await stored()).toEqual({ main: 25_500_000, bonus: 8 * U });
		expect(await balance()).toMatchObject({ main: "25.50", bonus: "8.00", total: "33.50" });
		await waitUntil(async () => changed.some(c => c.accountId === user.id && c.bonus === 8 * U));

		const mails = await waitUntil(async () => {
			const m = await repairMails();
			return m.length === 3 && m;
		});
		expect(mails[0].text).toContain("Bonus: 3.141592 → 8.00"); // newest first
		expect(mails[0].text).toContain("Main: 25.50 → 25.50");
		expect(await repairNotices()).toHaveLength(3);

		// And a reconcile after the start finds nothing left to tell.
		await runReconcile();
		await new Promise(r => setTimeout(r, 200));
		expect(await repairMails()).toHaveLength(3);
	});
});
