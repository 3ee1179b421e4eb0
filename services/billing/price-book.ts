// PRC-1/PRC-2: tariffs and pricing models in billing's store. The default model of PRC-2 is
// seeded on first start and assigned to the built-in groups; a group belongs to at most one
// model (assigning it to another moves it), and a group no model names pays the default model.
import { createHash } from "crypto";
import { now } from "../../lib/clock";
import { TtlCache } from "../../lib/ttl-cache";
import { conflict, notFound, validationError, type FieldError } from "../../lib/errors";
import { DuplicateKeyError, type Doc, type Store } from "../../mixins/db.mixin";
import type { PriceList, Tariff, TierMode } from "./rating";
import { DEFAULT_MODEL, DEFAULT_TARIFFS, priceList, tariffErrors } from "./tariffs";

export interface TariffDoc extends Doc, Tariff {
	name: string;
	description: string;
	createdAt: Date;
	updatedAt: Date;
}

export interface ModelDoc extends Doc {
	name: string;
	description: string;
	tariffs: string[];
	groups: string[];
	createdAt: Date;
	updatedAt: Date;
}

export interface TariffInput {
	id?: string;
	name?: string;
	resource?: string;
	mode?: TierMode;
	tiers?: { from: number; price: string }[];
	description?: string;
}

export interface ModelInput {
	id?: string;
	name?: string;
	description?: string;
	tariffs?: string[];
	groups?: string[];
}

export interface SnapshotDoc extends Doc {
	/** a list, not the PriceList map: its keys ("cloudlet.reserved") have dots, which stores refuse in field names */
	tariffs: Tariff[];
	createdAt: Date;
}

const CACHE_MS = 5_000;

export function tariffView(t: TariffDoc) {
	return {
		id: t._id,
		name: t.name,
		resource: t.resource,
		mode: t.mode,
		tiers: t.tiers,
		description: t.description,
		createdAt: t.createdAt,
		updatedAt: t.updatedAt,
	};
}

export function modelView(m: ModelDoc) {
	return { id: m._id, name: m.name, description: m.description, tariffs: m.tariffs, groups: m.groups, createdAt: m.createdAt, updatedAt: m.updatedAt };
}

export class PriceBook {
	private cache = new TtlCache<string, { model: ModelDoc; prices: PriceList; pricesId: string }>(CACHE_MS, 1_000);
	private snapshots = new Map<string, PriceList>();

	constructor(
		private tariffs: Store<TariffDoc>,
		private models: Store<ModelDoc>,
		private snapshotStore: Store<SnapshotDoc>,
	) {}

	/** PRC-2: the default tariffs and model, once (a replica starting at the same time finds them there). */
	async seed(): Promise<void> {
		const t = now();
		for (const d of DEFAULT_TARIFFS) {
			await this.insertOnce(this.tariffs, {
				_id: d.id,
				name: d.name,
				resource: d.resource,
				mode: d.mode,
				tiers: d.tiers,
				description: "",
				createdAt: t,
				updatedAt: t,
			});
		}
		await this.insertOnce(this.models, {
			_id: DEFAULT_MODEL.id,
			name: DEFAULT_MODEL.name,
			description: DEFAULT_MODEL.description,
			tariffs: DEFAULT_MODEL.tariffs,
			groups: DEFAULT_MODEL.groups,
			createdAt: t,
			updatedAt: t,
		});
	}

	private async insertOnce<T extends Doc>(store: Store<T>, doc: T) {
		try {
			await store.insert(doc);
		} catch (err) {
			if (!(err instanceof DuplicateKeyError)) throw err;
		}
	}

	/** The model a group pays (PRC-1), with its tariffs by resource and their snapshot id; cached for a few seconds. */
	async forGroup(group: string): Promise<{ model: ModelDoc; prices: PriceList; pricesId: string }> {
		const hit = this.cache.get(group, Date.now());
		if (hit) return hit;
		const [named] = await this.models.find({ groups: group }, { sort: { updatedAt: -1 }, limit: 1 });
		const model = named ?? (await this.models.findById(DEFAULT_MODEL.id));
		if (!model) throw new Error("The default pricing model is missing");
		const prices = priceList(await this.tariffs.find({ _id: { $in: model.tariffs } }));
		const entry = { model, prices, pricesId: await this.snapshot(prices) };
		this.cache.set(group, entry, Date.now());
		return entry;
	}

	/** Stores a price list once under the digest of its content: charges name the prices they were rated at. */
	async snapshot(prices: PriceList): Promise<string> {
		const canonical = JSON.stringify(
			Object.keys(prices)
				.sort()
				.map(r => [r, prices[r].mode, prices[r].tiers.map(t => [t.from, t.price])]),
		);
		const id = createHash("sha256").update(canonical).digest("hex").slice(0, 32);
		if (!this.snapshots.has(id)) {
			await this.insertOnce(this.snapshotStore, { _id: id, tariffs: Object.values(prices), createdAt: now() });
			this.snapshots.set(id, prices);
		}
		return id;
	}

	async pricesById(id: string): Promise<PriceList> {
		const hit = this.snapshots.get(id);
		if (hit) return hit;
		const doc = await this.snapshotStore.findById(id);
		if (!doc) throw new Error(`Price snapshot ${id} is missing`);
		const prices = priceList(doc.tariffs);
		this.snapshots.set(id, prices);
		return prices;
	}

	listTariffs() {
		return this.tariffs.find({}, { sort: { _id: 1 } });
	}

	listModels() {
		return this.models.find({}, { sort: { _id: 1 } });
	}

	async createTariff(input: TariffInput): Promise<TariffDoc> {
		const errors = tariffErrors({ resource: input.resource, mode: input.mode ?? "volume", tiers: input.tiers });
		if (errors.length) throw validationError(errors);
		const t = now();
		const doc: TariffDoc = {
			_id: input.id ?? `${input.resource}.${Math.random().toString(36).slice(2, 8)}`,
			name: input.name as string,
			resource: input.resource as string,
			mode: input.mode ?? "volume",
			tiers: input.tiers as Tariff["tiers"],
			description: input.description ?? "",
			createdAt: t,
			updatedAt: t,
		};
		try {
			await this.tariffs.insert(doc);
		} catch (err) {
			if (err instanceof DuplicateKeyError) throw conflict(`A tariff ${doc._id} exists already`, [{ field: "id", message: "is taken" }]);
			throw err;
		}
		this.cache.clear();
		return doc;
	}

	async editTariff(id: string, input: TariffInput): Promise<TariffDoc> {
		const current = await this.tariffs.findById(id);
		if (!current) throw notFound("Tariff");
		const next = { mode: input.mode ?? current.mode, tiers: input.tiers ?? current.tiers };
		const errors = tariffErrors({ resource: current.resource, ...next });
		if (errors.length) throw validationError(errors);
		const updated = await this.tariffs.updateOne(
			{ _id: id, updatedAt: current.updatedAt },
			{ $set: { ...next, name: input.name ?? current.name, description: input.description ?? current.description, updatedAt: now() } },
		);
		if (!updated) throw conflict("The tariff changed at the same moment; read it again and retry");
		this.cache.clear();
		return updated;
	}

	/** A model's tariffs must exist, one per resource; its groups must exist. */
	private async modelErrors(tariffIds: string[], groups: string[], knownGroups: string[]): Promise<FieldError[]> {
		const errors: FieldError[] = [];
		const found = new Map((await this.tariffs.find({ _id: { $in: tariffIds } })).map(t => [t._id, t]));
		const byResource = new Map<string, string>();
		tariffIds.forEach((id, i) => {
			const t = found.get(id);
			if (!t) return errors.push({ field: `tariffs[${i}]`, message: `no tariff ${id}` });
			const other = byResource.get(t.resource);
			if (other) errors.push({ field: `tariffs[${i}]`, message: `prices ${t.resource} like ${other}: a model has one tariff per resource` });
			byResource.set(t.resource, id);
		});
		groups.forEach((g, i) => {
			if (!knownGroups.includes(g)) errors.push({ field: `groups[${i}]`, message: `no group ${g}` });
		});
		return errors;
	}

	async createModel(input: ModelInput, knownGroups: string[]): Promise<ModelDoc> {
		const errors = await this.modelErrors(input.tariffs ?? [], input.groups ?? [], knownGroups);
		if (errors.length) throw validationError(errors);
		const t = now();
		const doc: ModelDoc = {
			_id: input.id as string,
			name: input.name as string,
			description: input.description ?? "",
			tariffs: input.tariffs ?? [],
			groups: input.groups ?? [],
			createdAt: t,
			updatedAt: t,
		};
		try {
			await this.models.insert(doc);
		} catch (err) {
			if (err instanceof DuplicateKeyError) throw conflict(`A pricing model ${doc._id} exists already`, [{ field: "id", message: "is taken" }]);
			throw err;
		}
		await this.moveGroups(doc);
		return doc;
	}

	async editModel(id: string, input: ModelInput, knownGroups: string[]): Promise<ModelDoc> {
		const current = await this.models.findById(id);
		if (!current) throw notFound("Pricing model");
		const tariffs = input.tariffs ?? current.tariffs;
		const groups = input.groups ?? current.groups;
		const errors = await this.modelErrors(tariffs, groups, knownGroups);
		if (errors.length) throw validationError(errors);
		const updated = await this.models.updateOne(
			{ _id: id, updatedAt: current.updatedAt },
			{ $set: { tariffs, groups, name: input.name ?? current.name, description: input.description ?? current.description, updatedAt: now() } },
		);
		if (!updated) throw conflict("The pricing model changed at the same moment; read it again and retry");
		await this.moveGroups(updated);
		return updated;
	}

	/** A group pays one model: naming it in this one takes it out of the others. */
	private async moveGroups(model: ModelDoc) {
		for (const g of model.groups) await this.models.updateMany({ _id: { $ne: model._id }, groups: g }, { $pull: { groups: g } });
		this.cache.clear();
	}
}
