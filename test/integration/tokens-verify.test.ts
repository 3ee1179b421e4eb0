// PAT-4 at the source: `tokens.verify` itself refuses an expired token with 401 TOKEN_EXPIRED
// (the gateway checks its cached answer again, but any caller of the action is refused too), and
// answers a token until the instant it expires.
import type { Store } from "../../mixins/db.mixin";
import { nowMs, setClock } from "../../lib/clock";
import { displayPrefix, newPat, patDigest } from "../../lib/pat";
import { startPlatform, type Platform } from "../helpers/platform";

type Verified = { tokenId: string; accountId: string; apiList: string[]; allowedIps: string[]; expiresAt: Date | string | null };

describe("tokens.verify", () => {
	let p: Platform;
	let store: Store<{ _id: string } & Record<string, unknown>>;
	const HOUR = 3_600_000;

	/** A token stored as tokens.create stores it, expiring at `expiresAt`. */
	async function storedToken(id: string, expiresAt: Date | null): Promise<string> {
		const token = newPat();
		const t = new Date(nowMs());
		await store.insert({
			_id: id,
			accountId: "acc-1",
			description: id,
			template: null,
			apiList: ["GET /account"],
			allowedIps: [],
			expiresAt,
			digest: patDigest(token),
			prefix: displayPrefix(token),
			createdAt: t,
			updatedAt: t,
			lastUsedAt: null,
			lastUsedIp: null,
		});
		return token;
	}
	const verify = (token: string) => p.broker.call<Verified, { token: string }>("tokens.verify", { token });

	beforeAll(async () => {
		p = await startPlatform({ services: ["tokens"], env: { QM_TEST_CLOCK: "1" } });
		store = (p.broker.getLocalService("tokens") as unknown as { db: { tokens: typeof store } }).db.tokens;
	});
	afterAll(() => p?.stop());

	it("answers a token without expiry", async () => {
		const token = await storedToken("forever", null);
		expect(await verify(token)).toMatchObject({ tokenId: "forever", accountId: "acc-1", apiList: ["GET /account"], allowedIps: [], expiresAt: null });
	});

	it("answers a token until it expires, then refuses it with TOKEN_EXPIRED", async () => {
		const start = nowMs();
		const token = await storedToken("hour", new Date(start + HOUR));
		expect(await verify(token)).toMatchObject({ tokenId: "hour" });
		// The set clock keeps running: two seconds before the end leaves room for a slow machine.
		setClock(start + HOUR - 2_000);
		expect(await verify(token)).toMatchObject({ tokenId: "hour" });
		setClock(start + HOUR);
		await expect(verify(token)).rejects.toMatchObject({ code: 401, type: "TOKEN_EXPIRED", message: "The access token has expired" });
	});

	it("still refuses unknown and malformed tokens as unknown", async () => {
		await expect(verify(newPat())).rejects.toMatchObject({ code: 401, type: "UNAUTHORIZED", message: "Unknown access token" });
		await expect(verify("qm_pat_not-a-token")).rejects.toMatchObject({ code: 401, message: "Unknown access token" });
	});
});
