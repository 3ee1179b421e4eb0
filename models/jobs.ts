import { collection } from "./collection";

/**
 * Job leases of one service (each service keeps its own, so no two services share a collection):
 * `_id = <job>` is the running lease, `_id = <job>@<tick>` records that a scheduled tick was taken.
 */
export function jobLeases(service: string) {
	return collection({
		name: `${service}_job_leases`,
		indexes: [{ field: "expiresAt", expireAfterSeconds: 0 }],
		fields: { holder: String, until: Date, expiresAt: Date },
	});
}
