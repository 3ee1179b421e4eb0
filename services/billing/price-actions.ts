// billing's administration of tariffs and pricing models (PRC-1, ADM-1), mixed into the billing
// service: a thin shell over the price book (services/billing/price-book.ts).
import type { Context, Service } from "moleculer";
import { defineService } from "../../lib/service-schema";
import { knownGroups } from "./calls";
import { modelView, tariffView, type ModelInput, type PriceBook, type TariffInput } from "./price-book";
import * as rules from "./rules";

type Self = Service & { priceBook: PriceBook };

const PriceActions = defineService<Self>({
	name: "billing",

	actions: {
		adminTariffs: {
			params: {},
			async handler(this: Self) {
				return (await this.priceBook.listTariffs()).map(tariffView);
			},
		},
		adminCreateTariff: {
			params: rules.createTariffParams,
			async handler(this: Self, ctx: Context<TariffInput>) {
				return tariffView(await this.priceBook.createTariff(ctx.params));
			},
		},
		adminEditTariff: {
			params: rules.editTariffParams,
			async handler(this: Self, ctx: Context<TariffInput & { id: string }>) {
				const { id, ...input } = ctx.params;
				return tariffView(await this.priceBook.editTariff(id, input));
			},
		},
		adminModels: {
			params: {},
			async handler(this: Self) {
				return (await this.priceBook.listModels()).map(modelView);
			},
		},
		adminCreateModel: {
			params: rules.createModelParams,
			async handler(this: Self, ctx: Context<ModelInput>) {
				return modelView(await this.priceBook.createModel(ctx.params, await knownGroups(ctx)));
			},
		},
		adminEditModel: {
			params: rules.editModelParams,
			async handler(this: Self, ctx: Context<ModelInput & { id: string }>) {
				const { id, ...input } = ctx.params;
				return modelView(await this.priceBook.editModel(id, input, await knownGroups(ctx)));
			},
		},
	},
});

export default PriceActions;
