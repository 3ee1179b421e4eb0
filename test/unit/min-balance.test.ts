// services/environments/access.ts `checkMinBalance` (QTA-3, BIL-6): creating an environment needs
// the balance `account.minbalance` asks of a pre-paid account; a post-paid one is never held to it
// (it pays its monthly invoice; only an overdue one, through its status, stops it).
import { checkMinBalance } from "../../services/environments/access";

const M = 1_000_000;

describe("the balance creating an environment needs", () => {
	it.each<[string, string, { main: number; bonus: number }, string | undefined, boolean]>([
		["billing at the minimum", "0", { main: 0, bonus: 0 }, "billing", true],
		["billing below it", "0", { main: -1, bonus: 0 }, "billing", false],
		["billing below it, the bonus making up for it", "0", { main: -2 * M, bonus: 2 * M }, "billing", true],
		["billing under a negative minimum", "-5.00", { main: -4_999_999, bonus: 0 }, "billing", true],
		["billing under a negative minimum, below it", "-5.00", { main: -5_000_001, bonus: 0 }, "billing", false],
		["trial with its bonus spent", "0", { main: 0, bonus: -1 }, "trial", false],
		["type unknown (as before)", "0", { main: -1, bonus: 0 }, undefined, false],
		["post-paid with a negative balance", "0", { main: -123_456_789, bonus: 0 }, "post", true],
		["post-paid far below a positive minimum", "10.00", { main: -M, bonus: 0 }, "post", true],
	])("%s (minbalance %s): allowed %s", (_, min, balance, type, allowed) => {
		const check = () => checkMinBalance({ "account.minbalance": min }, balance, type);
		if (allowed) expect(check).not.toThrow();
		else expect(check).toThrow(expect.objectContaining({ type: "INSUFFICIENT_BALANCE" }));
	});
});
