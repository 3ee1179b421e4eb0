// Parameter rules of billing's actions (fastest-validator): shapes only. What needs the price
// book or the other tariffs — tiers in order, known resources and groups (PRC-1) — is checked in
// depth by tariffErrors (tariffs.ts) and the price book, which name each bad field.
import { MAX_MICROS } from "../../lib/money";
import { ENTRY_KINDS } from "./ledger";

export const idRule = { type: "string", min: 1, max: 64 } as const;
export const amountRule = { type: "string", min: 1, max: 40 } as const;
const timeRule = { type: "string", max: 40, optional: true } as const;
const slugRule = {
	type: "string",
	pattern: /^[a-z0-9][a-z0-9._-]{0,63}$/,
	messages: { stringPattern: "must be 1-64 lower-case letters, digits, dots, dashes or underscores" },
} as const;
const nameRule = { type: "string", trim: true, min: 1, max: 100 } as const;
const descriptionRule = { type: "string", trim: true, max: 500, optional: true } as const;
const modeRule = { type: "enum", values: ["volume", "graduated"], optional: true } as const;
const tiersRule = {
	type: "array",
	min: 1,
	max: 20,
	items: { type: "object", props: { from: { type: "number" }, price: { type: "string", max: 40 } } },
} as const;
const groupsRule = { type: "array", items: { type: "string", min: 1, max: 64 }, max: 50, optional: true } as const;
const modelTariffsRule = { type: "array", items: slugRule, max: 50 } as const;

/** GET /billing/transactions filters (the page comes from lib/pagination). */
export const transactionFilterParams = {
	kind: { type: "enum", values: [...ENTRY_KINDS], optional: true },
	from: timeRule,
	to: timeRule,
	envId: { ...idRule, optional: true },
} as const;

export const periodParams = { from: timeRule, to: timeRule } as const;

export const historyParams = {
	...periodParams,
	interval: { type: "string", max: 10, optional: true },
	groupByLayer: { type: "boolean", convert: true, optional: true },
	envId: { ...idRule, optional: true },
	tzOffset: { type: "string", max: 10, optional: true },
	format: { type: "enum", values: ["json", "csv"], optional: true },
} as const;

/** PRC-1, ADM-1: a new tariff (a random id under its resource when none is given). */
export const createTariffParams = {
	id: { ...slugRule, optional: true },
	name: nameRule,
	resource: { type: "string", min: 1, max: 80 },
	mode: modeRule,
	tiers: tiersRule,
	description: descriptionRule,
} as const;

/** A tariff edit: its resource never changes (charges already rated name it). */
export const editTariffParams = {
	id: slugRule,
	name: { ...nameRule, optional: true },
	mode: modeRule,
	tiers: { ...tiersRule, optional: true },
	description: descriptionRule,
} as const;

export const createModelParams = { id: slugRule, name: nameRule, description: descriptionRule, tariffs: modelTariffsRule, groups: groupsRule } as const;

export const editModelParams = {
	id: slugRule,
	name: { ...nameRule, optional: true },
	description: descriptionRule,
	tariffs: { ...modelTariffsRule, optional: true },
	groups: groupsRule,
} as const;

/** billing.post: one money movement in signed micros (charges negative). */
export const postParams = {
	accountId: idRule,
	key: { type: "string", min: 1, max: 400 },
	kind: { type: "enum", values: [...ENTRY_KINDS] },
	amount: { type: "number", integer: true, min: -MAX_MICROS, max: MAX_MICROS },
	description: { type: "string", max: 500 },
	envId: { ...idRule, optional: true },
	toBonus: { type: "boolean", optional: true },
	mainFirst: { type: "boolean", optional: true },
} as const;
