import { collection } from "./collection";

/**
 * Job leases of one service (each service keeps its own, so no two services share a collection):
 * `_id = <job>` is the running lease, `_id = <job>@<tick>` records that a scheduled tick was taken.
 * A lease names its `holder` (`<host>:<pid>:<run>`), the wall time its run last renewed it
 * (`heartbeatAt`) and the latest it may run to (`until`); mixins/jobs.mixin.ts says when it is free.
 */
export function jobLeases(service: string) {
	return collection({
		name: `${service}_job_leases`,
		indexes: [{ field: "expiresAt", expireAfterSeconds: 0 }],
		fields: { holder: String, heartbeatAt: Date, until: Date, expiresAt: Date },
	});
}
