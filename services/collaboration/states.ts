// COL-5: a membership's states and what moves it, pure. pending → active (accept) | rejected (reject);
// active ↔ suspended (suspend / activate, by the primary); active or suspended → left (leave, by the
// member); anything but removed → removed (remove, by the primary: its shares are dropped, the record
// stays so the primary can invite again). A pending, rejected or left membership can be sent a new
// link (resend), and only a rejected, left or removed one invited again.
import { invalidState } from "../../lib/errors";

export type MemberStatus = "pending" | "active" | "suspended" | "rejected" | "left" | "removed";
export type MemberAction = "accept" | "reject" | "suspend" | "activate" | "leave" | "remove" | "resend" | "reinvite" | "edit";

const MOVES: Record<MemberAction, Partial<Record<MemberStatus, MemberStatus>>> = {
	accept: { pending: "active" },
	reject: { pending: "rejected" },
	suspend: { active: "suspended" },
	activate: { suspended: "active" },
	leave: { active: "left", suspended: "left" },
	remove: { pending: "removed", active: "removed", suspended: "removed", rejected: "removed", left: "removed" },
	resend: { pending: "pending", rejected: "pending", left: "pending" },
	reinvite: { rejected: "pending", left: "pending", removed: "pending" },
	edit: { pending: "pending", active: "active", suspended: "suspended" },
};

/** The state after `action`, or null when `action` is not possible from `status`. */
export function nextStatus(status: MemberStatus, action: MemberAction): MemberStatus | null {
	return MOVES[action][status] ?? null;
}

/** The state after `action`; 422 INVALID_STATE when it is not possible. */
export function mustMove(status: MemberStatus, action: MemberAction): MemberStatus {
	const next = nextStatus(status, action);
	if (!next) throw invalidState(`A ${status} membership cannot be ${PAST[action]}`, { status, action });
	return next;
}

const PAST: Record<MemberAction, string> = {
	accept: "accepted",
	reject: "rejected",
	suspend: "suspended",
	activate: "activated",
	leave: "left",
	remove: "removed",
	resend: "sent a new invitation",
	reinvite: "invited again",
	edit: "edited",
};

/** States in which the membership holds its shares (a role named there is in use). */
export const HOLDING: MemberStatus[] = ["pending", "active", "suspended"];
