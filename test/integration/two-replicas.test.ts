// Jobs on two replicas (NFR-3): two `auth` brokers joined over NATS and sharing one store (in
// memory here, as replicas share MongoDB in production) run the password-expiry job at the same
// moments; each notice still arrives exactly once (PWD-2), through the job lease and the
// notifications dedup key.
import { nowMs } from "../../lib/clock";
import { createAccount, startReplicaPair, type Platform } from "../helpers/platform";

const DAY = 86_400_000;

describe("password-expiry job on two auth replicas", () => {
	let main: Platform;
	let replica: Platform;
	let pair: Awaited<ReturnType<typeof startReplicaPair>>;

	beforeAll(async () => {
		pair = await startReplicaPair("replicas", ["auth"], { QM_TEST_CLOCK: "1" });
		({ main, replica } = pair);
	});
	afterAll(() => pair?.stop());

	it("sends the 14/7/3/1-day notices once each although both replicas run the job each time", async () => {
		const t0 = nowMs();
		await main.broker.call("gateway.setClock", { now: new Date(t0).toISOString() });
		await createAccount(main, "replicated@example.com", "Twice-as-safe-pass-1!");
		// The replica sees what the main broker's auth wrote: one store, as with MongoDB.
		const replicaAuth = replica.broker.getLocalService("auth") as unknown as { db: { credentials: { count(q: object): Promise<number> } } };
		expect(await replicaAuth.db.credentials.count({})).toBe(1);
		type Jobs = { schema: { jobs: Record<string, { handler(ctx: unknown): Promise<number> }> } };
		const handlers = [main, replica].map(p => {
			const auth = p.broker.getLocalService("auth") as unknown as Jobs;
			return () => auth.schema.jobs["password-expiry"].handler.call(auth, p.broker.ContextFactory.create(p.broker, null as never, {}, {}));
		});
		let ranOnDemand = 0;
		// Just past each notice day (177.01: 2.99 days left), as the platform clock runs on after it is set.
		for (const day of [150, 166, 166.4, 173, 173.2, 177.01, 179, 179.9]) {
			await main.broker.call("gateway.setClock", { now: new Date(t0 + day * DAY).toISOString() }); // every node's clock
			// On demand through each replica: the shared lease lets one run at a time...
			const onDemand = await Promise.allSettled(["main", "replica"].map(nodeID => main.broker.call("auth.runJob", { job: "password-expiry" }, { nodeID })));
			ranOnDemand += onDemand.filter(r => r.status === "fulfilled").length;
			// ...and the job bodies themselves, on both replicas at the very same moment.
			await Promise.all(handlers.map(h => h()));
		}
		expect(ranOnDemand).toBeGreaterThanOrEqual(8);
		const mail = (await main.broker.call("notifications.adminOutbox", { to: "replicated@example.com", pageSize: 100 })) as {
			rows: { template: string; subject: string }[];
		};
		const notices = mail.rows.filter(m => m.template === "password-expiry").map(m => m.subject);
		expect(notices.sort()).toEqual(
			["Your password expires in 14 days", "Your password expires in 3 days", "Your password expires in 7 days", "Your password expires tomorrow"].sort(),
		);
	});
});
