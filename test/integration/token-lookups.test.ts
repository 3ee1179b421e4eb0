// Moved here from test/e2e/tokens.test.ts (issue 15): over HTTP a malformed token, a wrong checksum
// and an unknown well-formed token all answer 401 alike. That the first two are refused before any
// store read is an internal property, shown by spying on the tokens store, so it lives here.
import { newPat } from "../../lib/pat";
import { startPlatform, type Platform } from "../helpers/platform";

describe("personal access tokens: lookups", () => {
	let p: Platform;

	beforeAll(async () => {
		p = await startPlatform();
	});
	afterAll(() => p?.stop());

	it("refuses a malformed token or a wrong checksum without reading the store", async () => {
		const tokens = p.broker.getLocalService("tokens") as unknown as { db: { tokens: { findOne: (...a: unknown[]) => unknown } } };
		const lookups = jest.spyOn(tokens.db.tokens, "findOne");
		try {
			const good = newPat();
			const badChecksum = good.slice(0, -1) + (good.endsWith("A") ? "B" : "A");
			for (const token of [badChecksum, "qm_pat_short", `${good}x`]) {
				const r = await p.http.get("/account", { token });
				expect(r.status).toBe(401);
			}
			expect(lookups).not.toHaveBeenCalled();
			expect((await p.http.get("/account", { token: good })).status).toBe(401); // well formed, unknown: one lookup
			expect(lookups).toHaveBeenCalledTimes(1);
		} finally {
			lookups.mockRestore();
		}
	});
});
