// One per process (the runner adds it to every node, whatever SERVICES says) so that the platform
// clock of every process can be moved in tests (QM_TEST_CLOCK=1, never in production).
// POST /admin/clock broadcasts `clock.set` and then calls `clock.set` on every node, answering
// only when each has confirmed.
import type { Context, ServiceSchema } from "moleculer";
import { now, setClock, testClockEnabled } from "../lib/clock";
import { notFound } from "../lib/errors";

const ClockService: ServiceSchema = {
	name: "clock",
	actions: {
		set: {
			visibility: "public",
			params: { now: { type: "string", min: 1 } },
			handler(ctx: Context<{ now: string }>) {
				if (!testClockEnabled()) throw notFound("Test clock");
				return { nodeID: this.broker.nodeID, now: setClock(ctx.params.now).toISOString() };
			},
		},
		now: {
			visibility: "public",
			handler() {
				return { nodeID: this.broker.nodeID, now: now().toISOString() };
			},
		},
	},
	events: {
		"clock.set": {
			params: { now: "string" },
			handler(ctx: Context<{ now: string }>) {
				if (testClockEnabled()) setClock(ctx.params.now);
			},
		},
	},
};

export default ClockService;
