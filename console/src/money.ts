// Money on screen: the server's decimal strings (API.md), shown to 2 decimals with the exact value
// kept for the title. Only the digits are rounded (half-up, as the server rounds), never added:
// no money arithmetic in the browser. No imports, so the unit test can load it.

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** "12.345" → "12.35", "0.077" → "0.08", "-1.005" → "-1.01", "7" → "7.00"; anything else as it is. */
export function roundDecimal(amount: string, places = 2): string {
	const m = DECIMAL.exec(amount.trim());
	if (!m) return amount;
	const [, sign, whole, frac = ""] = m;
	const kept = (frac + "0".repeat(places)).slice(0, places);
	let digits = whole + kept;
	if (Number(frac[places] ?? "0") >= 5) {
		// carry the rounding through the digit string
		const out = digits.split("");
		let i = out.length - 1;
		for (; i >= 0; i--) {
			if (out[i] === "9") out[i] = "0";
			else {
				out[i] = String(Number(out[i]) + 1);
				break;
			}
		}
		digits = (i < 0 ? "1" : "") + out.join("");
	}
	const intPart = digits.slice(0, digits.length - places).replace(/^0+(?=\d)/, "") || "0";
	const shown = places ? `${intPart}.${digits.slice(digits.length - places)}` : intPart;
	return sign && /[1-9]/.test(shown) ? `-${shown}` : shown;
}
