// ACC-4: billing information, table-driven: postal codes of the EU, US, CA and GB, states where needed.
import { checkBillingInfo, COUNTRIES, type BillingInfo } from "../../services/accounts/billing-info";

const base: BillingInfo = {
	firstName: "Ada",
	lastName: "Lovelace",
	country: "GB",
	address: "12 St James's Square",
	city: "London",
	postalCode: "SW1Y 4JH",
	phone: "+44 20 7946 0000",
};
const check = (over: Partial<BillingInfo>) => checkBillingInfo({ ...base, ...over }).errors.map(e => e.field);

describe("billing information", () => {
	test.each([
		["DE", "10115"],
		["FR", "75008"],
		["NL", "1012 AB"],
		["PL", "00-950"],
		["PT", "1000-001"],
		["IE", "D02 X285"],
		["SE", "114 55"],
		["CZ", "110 00"],
		["LV", "LV-1050"],
		["MT", "VLT 1117"],
		["AT", "1010"],
		["ES", "28013"],
		["IT", "00184"],
		["RO", "010011"],
		["GB", "SW1A 1AA"],
		["GB", "ec1a1bb"],
		["CA", "K1A 0B1"],
		["CH", "8001"],
	])("accepts %s %s", (country, postalCode) => {
		expect(check({ country, postalCode, state: country === "CA" ? "ON" : undefined })).toEqual([]);
	});

	test.each([
		["DE", "1011"],
		["FR", "7500A"],
		["NL", "1012"],
		["PL", "00950"],
		["PT", "1000001"],
		["GB", "12345"],
		["CA", "D1A 0B1"],
		["US", "1234"],
	])("refuses %s %s", (country, postalCode) => {
		expect(check({ country, postalCode, state: country === "US" ? "NY" : country === "CA" ? "ON" : undefined })).toEqual(["billingInfo.postalCode"]);
	});

	test("US and CA need a known state or province", () => {
		expect(check({ country: "US", postalCode: "10001-0001" })).toEqual(["billingInfo.state"]);
		expect(check({ country: "US", postalCode: "10001", state: "ny" })).toEqual([]);
		expect(check({ country: "US", postalCode: "10001", state: "XX" })).toEqual(["billingInfo.state"]);
		expect(check({ country: "CA", postalCode: "H3Z 2Y7", state: "QC" })).toEqual([]);
	});

	test("refuses unknown countries and bad phones, and normalises what it keeps", () => {
		expect(check({ country: "XX" })).toEqual(["billingInfo.country"]);
		expect(check({ phone: "call me" })).toEqual(["billingInfo.phone"]);
		expect(checkBillingInfo({ ...base, country: "gb", postalCode: "sw1y  4jh" }).normalised).toMatchObject({ country: "GB", postalCode: "SW1Y 4JH" });
		for (const eu of [
			"AT",
			"BE",
			"BG",
			"HR",
			"CY",
			"CZ",
			"DK",
			"EE",
			"FI",
			"FR",
			"DE",
			"GR",
			"HU",
			"IE",
			"IT",
			"LV",
			"LT",
			"LU",
			"MT",
			"NL",
			"PL",
			"PT",
			"RO",
			"SK",
			"SI",
			"ES",
			"SE",
		]) {
			expect(COUNTRIES).toContain(eu);
		}
	});
});
