// ACC-4: billing information for an upgrade. Countries are ISO 3166-1 alpha-2 codes; postal codes
// are checked for every EU country, the US, Canada and the UK (and a few more), states or
// provinces are required where the address needs one. Pure: the shell reports the field errors.
import type { FieldError } from "../../lib/errors";

export interface BillingInfo {
	firstName: string;
	lastName: string;
	company?: string;
	country: string;
	state?: string;
	address: string;
	city: string;
	postalCode: string;
	phone: string;
}

/** The request's shape of billing information (the validator's rule; checkBillingInfo checks the rest). */
export const billingInfoRule = {
	type: "object",
	props: {
		firstName: { type: "string", trim: true, min: 1, max: 100 },
		lastName: { type: "string", trim: true, min: 1, max: 100 },
		company: { type: "string", trim: true, max: 200, optional: true },
		country: { type: "string", trim: true, min: 2, max: 2 },
		state: { type: "string", trim: true, max: 10, optional: true },
		address: { type: "string", trim: true, min: 1, max: 300 },
		city: { type: "string", trim: true, min: 1, max: 100 },
		postalCode: { type: "string", trim: true, min: 1, max: 20 },
		phone: { type: "string", trim: true, min: 1, max: 30 },
	},
} as const;

/** Postal code shapes (upper-cased input, inner spaces as people write them). */
// prettier-ignore
export const POSTAL_CODES: Record<string, RegExp> = {
	// European Union
	AT: /^\d{4}$/, BE: /^\d{4}$/, BG: /^\d{4}$/, HR: /^\d{5}$/, CY: /^\d{4}$/, CZ: /^\d{3} ?\d{2}$/, DK: /^\d{4}$/, EE: /^\d{5}$/,
	FI: /^\d{5}$/, FR: /^\d{5}$/, DE: /^\d{5}$/, GR: /^\d{3} ?\d{2}$/, HU: /^\d{4}$/, IE: /^[AC-FHKNPRTV-Y]\d{2}[ 0-9AC-FHKNPRTV-Y]?[0-9AC-FHKNPRTV-Y]{0,4}$/,
	IT: /^\d{5}$/, LV: /^(LV-)?\d{4}$/, LT: /^(LT-)?\d{5}$/, LU: /^(L-)?\d{4}$/, MT: /^[A-Z]{3} ?\d{2,4}$/, NL: /^\d{4} ?[A-Z]{2}$/,
	PL: /^\d{2}-\d{3}$/, PT: /^\d{4}-\d{3}$/, RO: /^\d{6}$/, SK: /^\d{3} ?\d{2}$/, SI: /^(SI-)?\d{4}$/, ES: /^\d{5}$/, SE: /^\d{3} ?\d{2}$/,
	// North America and the UK
	US: /^\d{5}(-\d{4})?$/,
	CA: /^[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d$/,
	GB: /^([A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}|GIR ?0AA)$/,
	// A few more
	CH: /^\d{4}$/, NO: /^\d{4}$/, IS: /^\d{3}$/, AU: /^\d{4}$/, NZ: /^\d{4}$/, JP: /^\d{3}-?\d{4}$/, IN: /^\d{6}$/, BR: /^\d{5}-?\d{3}$/, UA: /^\d{5}$/,
};

// prettier-ignore
const US_STATES = ["AL","AK","AZ","AR","CA","CO","CT","DE","DC","FL","GA","HI","ID","IL","IN","IA","KS","KY","LA","ME","MD","MA","MI","MN","MS","MO","MT","NE","NV","NH","NJ","NM","NY","NC","ND","OH","OK","OR","PA","RI","SC","SD","TN","TX","UT","VT","VA","WA","WV","WI","WY","PR","GU","VI","AS","MP"];
// prettier-ignore
const CA_PROVINCES = ["AB","BC","MB","NB","NL","NS","NT","NU","ON","PE","QC","SK","YT"];

export const STATES: Record<string, string[]> = { US: US_STATES, CA: CA_PROVINCES };

/** Countries accepted for billing: those with a postal-code rule. */
export const COUNTRIES = Object.keys(POSTAL_CODES).sort();

/** Field errors of a billing address, and the normalised address when there are none. */
export function checkBillingInfo(info: BillingInfo): { errors: FieldError[]; normalised: BillingInfo } {
	const errors: FieldError[] = [];
	const country = info.country.trim().toUpperCase();
	const postalCode = info.postalCode.trim().toUpperCase().replace(/\s+/g, " ");
	const state = info.state?.trim().toUpperCase();
	const rule = POSTAL_CODES[country];
	if (!rule) errors.push({ field: "billingInfo.country", message: `must be one of ${COUNTRIES.join(", ")} (ISO 3166-1 alpha-2)` });
	else if (!rule.test(postalCode)) errors.push({ field: "billingInfo.postalCode", message: `is not a valid postal code for ${country}` });
	const states = STATES[country];
	if (states) {
		if (!state) errors.push({ field: "billingInfo.state", message: `is required for ${country}` });
		else if (!states.includes(state)) errors.push({ field: "billingInfo.state", message: `must be one of ${states.join(", ")}` });
	}
	if (!/^\+?[0-9][0-9 ()-]{5,24}$/.test(info.phone.trim())) errors.push({ field: "billingInfo.phone", message: "must be a phone number such as +1 555 0100" });
	return { errors, normalised: { ...info, country, postalCode, ...(state ? { state } : {}) } };
}
