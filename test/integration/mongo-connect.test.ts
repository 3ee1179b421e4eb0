// The MongoDB store's start on a server it cannot reach (no server needed): the service refuses to
// start with the driver's reason and the URI's password masked — not the adapter's bare "MongoDB
// connection failed" — and loading moleculer-db-adapter-mongoose leaves mongoose's strictQuery as
// it was.
import mongoose from "mongoose";
import { ServiceBroker } from "moleculer";
import { createDbMixin } from "../../mixins/db.mixin";
import { collection } from "../../models/collection";
import { freePort } from "../helpers/processes";

const things = collection({ name: "test_things", indexes: [{ field: "owner" }] });

test("a MongoDB it cannot reach stops the start with the reason, the password masked", async () => {
	const saved = { MONGO_URI: process.env.MONGO_URI, DATA_DIR: process.env.DATA_DIR };
	const strictQuery = mongoose.get("strictQuery");
	// A port nothing listens on: refused at once.
	process.env.MONGO_URI = `mongodb://qm:s3cret-pass@127.0.0.1:${await freePort()}/qm`;
	const broker = new ServiceBroker({ logger: false });
	broker.createService({ name: "unreachable", mixins: [createDbMixin([things])] } as never);
	try {
		const started = broker.start().then(
			() => null,
			(err: Error) => err,
		);
		const err = await started;
		expect(err).toBeInstanceOf(Error);
		expect(err!.message).toMatch(/MongoDB at mongodb:\/\/qm:\[masked\]@127\.0\.0\.1:\d+\/qm could not be reached: .*ECONNREFUSED/);
		expect(err!.message).not.toContain("s3cret-pass");
		expect(mongoose.get("strictQuery")).toBe(strictQuery);
	} finally {
		await broker.stop().catch(() => undefined);
		for (const [k, v] of Object.entries(saved)) {
			if (v === undefined) delete process.env[k];
			else process.env[k] = v;
		}
	}
}, 20_000);
