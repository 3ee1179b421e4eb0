// COL-7: whose account a request acts on. The gateway alone sets `onBehalfOf`, after checking that
// the caller is a member of that owner whose roles there allow the route's API method
// (services/gateway/member-access.ts); otherwise a request acts on the caller's own account.
import { notFound } from "./errors";

export interface ActingMeta {
	user?: { id: string } | null;
	onBehalfOf?: { accountId: string } | null;
}

/** `ownerId` of a route that takes one: another account only as the gateway let the caller act for it. */
export const ownerIdParam = { type: "string", optional: true, min: 1, max: 64 } as const;

/** The account a request acts on: the owner a member acts for, else the caller; an `ownerId` that is neither → 404. */
export function actingAccountId(meta: ActingMeta, ownerId?: string): string {
	const id = meta.onBehalfOf?.accountId ?? meta.user?.id;
	if (!id) throw new Error("actingAccountId: no signed-in caller");
	if (ownerId !== undefined && ownerId !== id) throw notFound(`Account ${ownerId}`);
	return id;
}
