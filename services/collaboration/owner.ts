// COL-5, COL-7: whose members, roles and policies a request manages. The primary account's own, or,
// with `ownerId`, the owner's — when the gateway let a member act for it (the member's roles on the
// owner's account root hold the Collaboration policy's method, services/gateway/member-access.ts).
// The owner's role templates are seeded on its first use, once per process.
import { actingAccountId } from "../../lib/acting-for";
import type { Person } from "./members";
import { seedRoles, type CollabDb } from "./store";

export interface ActingMeta {
	user: Person;
	onBehalfOf?: { accountId: string; email: string };
}

/** The primary account a request acts as: the caller, or the owner it acts for; another `ownerId` → 404. */
export async function actingOwner(db: CollabDb, seeded: Set<string>, meta: ActingMeta, ownerId?: string): Promise<Person> {
	const id = actingAccountId(meta, ownerId);
	if (!seeded.has(id)) {
		await seedRoles(db, id);
		seeded.add(id);
	}
	return meta.onBehalfOf ? { id, email: meta.onBehalfOf.email } : meta.user;
}
