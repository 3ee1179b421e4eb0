// Single-use links and tokens of auth (`auth_links`): password reset links (PWD-4), the change
// token of PASSWORD_EXPIRED (PWD-2) and the sign-in challenge of an account with 2FA (REG-4, TFA-4).
// - A token is 256 random bits; only its digest is stored.
// - A link is found while unused and unexpired, and is used by one conditional update: exactly one
//   caller wins it, however many arrive together.
// - Finding a link does not use it: a refused new password leaves the reset link usable.
import { addMs, MINUTE, now } from "../../lib/clock";
import { digest, newId, randomToken } from "../../lib/crypto";
import type { Doc, Store } from "../../mixins/db.mixin";

export type LinkKind = "reset" | "change" | "challenge";

export interface LinkDoc extends Doc {
	kind: LinkKind;
	tokenDigest: string;
	accountId: string;
	createdAt: Date;
	expiresAt: Date;
	usedAt: Date | null;
	ip: string;
}

/** How long each kind of link lives. */
export const LINK_VALID_MS: Record<LinkKind, number> = {
	reset: 30 * MINUTE, // PWD-4
	change: 15 * MINUTE, // PWD-2: after PASSWORD_EXPIRED
	challenge: 5 * MINUTE, // REG-4
};

/** What a link that is unknown, used or expired answers, by kind. */
export const LINK_INVALID = {
	reset: "This reset link is invalid, already used or expired; ask for a new one",
	change: "The change token is invalid, used or expired; sign in again",
} as const;

/** PWD-4: reset requests per address (fixed windows), so nobody floods an inbox with reset emails. */
export const RESET_REQUESTS_PER_ADDRESS = [
	{ limit: 1, windowSeconds: 60 },
	{ limit: 5, windowSeconds: 3600 },
];

export class Links {
	constructor(private links: Store<LinkDoc>) {}

	/** A new link of `kind` for the account; the token is answered once and never stored. */
	async create(kind: LinkKind, accountId: string, ip: string): Promise<{ token: string; expiresAt: Date }> {
		const token = randomToken(32);
		const t = now();
		const expiresAt = addMs(t, LINK_VALID_MS[kind]);
		await this.links.insert({ _id: newId(), kind, tokenDigest: digest(token), accountId, createdAt: t, expiresAt, usedAt: null, ip });
		return { token, expiresAt };
	}

	/** The unused, unexpired link of this kind and token, if any. */
	find(kind: LinkKind, token: string): Promise<LinkDoc | null> {
		return this.links.findOne({ kind, tokenDigest: digest(token), usedAt: null, expiresAt: { $gt: now() } });
	}

	/** Single use: true for exactly one caller. */
	async use(link: LinkDoc): Promise<boolean> {
		return !!(await this.links.updateOne({ _id: link._id, usedAt: null }, { $set: { usedAt: now() } }));
	}
}
