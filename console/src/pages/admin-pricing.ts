// Administration — pricing (PRC-1, BIL-8): the tariffs with their tiers (unit prices as the server
// writes them, 4 decimals shown), the pricing models with their tariffs and groups, and the tax
// rates per country. Tiers are typed as "from:price" pairs, e.g. "0:0.0100, 8:0.0080".
import { useState } from "preact/hooks";
import { del, get, patch, post, put } from "../api";
import { ActionButton, Banner, dateTime, Failed, Field, Form, html, Loading, Money, useLoad } from "../ui";
import { AdminPage, Select, Table } from "./admin-common";

interface Tariff {
	id: string;
	name: string;
	resource: string;
	mode: string;
	tiers: { from: number; price: string }[];
	description?: string;
}
interface Model {
	id: string;
	name: string;
	description?: string;
	tariffs: string[];
	groups: string[];
}

/** "0:0.01, 8:0.008" → [{from: 0, price: "0.01"}, …]; the price stays the typed decimal string. */
function tiersOf(text: string): { from: number; price: string }[] {
	return text
		.split(/[,;\n]+/)
		.map(s => s.trim())
		.filter(Boolean)
		.map(pair => {
			const [from, price = ""] = pair.split(/\s*[:=]\s*|\s+/);
			return { from: Number(from), price: price.trim() };
		});
}

const list = (text: string) =>
	text
		.split(/[\s,]+/)
		.map(s => s.trim())
		.filter(Boolean);

export function AdminPricing() {
	const data = useLoad(() => Promise.all([get<Tariff[]>("/admin/tariffs"), get<Model[]>("/admin/pricing-models")]));
	const [done, setDone] = useState<string | null>(null);
	if (!data.data)
		return html`<${AdminPage} title="Tariffs and pricing models"
			>${data.loading ? html`<${Loading} what="the tariffs" />` : html`<${Failed} error=${data.error} />`}<//
		>`;
	const [tariffs, models] = data.data;
	const saved = (what: string) => {
		setDone(what);
		void data.reload();
	};
	return html`<${AdminPage} title="Tariffs and pricing models">
		${done && html`<${Banner} kind="ok">${done}<//>`}
		<h2>Tariffs</h2>
		<${Table} label="Tariffs" head=${["Id", "Name", "Resource", "Mode", "Tiers (from: unit price)"]}>
			${tariffs.map(
				t =>
					html`<tr key=${t.id}>
						<td>${t.id}</td>
						<td>${t.name}</td>
						<td>${t.resource}</td>
						<td>${t.mode}</td>
						<td>${t.tiers.map((tier, n) => html`<span key=${n}>${n ? ", " : ""}${tier.from}: <${Money} amount=${tier.price} places=${4} /></span>`)}</td>
					</tr>`,
			)}
		<//>
		<section class="card" aria-labelledby="new-tariff-h">
			<h2 id="new-tariff-h">Add a tariff</h2>
			<${Form}
				submit="Add the tariff"
				label="Add a tariff"
				onSubmit=${async (v: { tariffId: string; tariffName: string; resource: string; mode: string; tiers: string }) => {
					const t = await post<Tariff>("/admin/tariffs", {
						...(v.tariffId.trim() ? { id: v.tariffId.trim() } : {}),
						name: v.tariffName.trim(),
						resource: v.resource.trim(),
						mode: v.mode,
						tiers: tiersOf(v.tiers),
					});
					saved(`Tariff ${t.id} is added.`);
				}}
			>
				<${Field} label="Id (optional)" name="tariffId" />
				<${Field} label="Name" name="tariffName" required />
				<${Field} label="Resource" name="resource" list="resources" required />
				<datalist id="resources">${[...new Set(tariffs.map(t => t.resource))].map(r => html`<option key=${r} value=${r} />`)}</datalist>
				<${Select} label="Mode" name="mode" id="f-new-mode" options=${["volume", "graduated"]} />
				<${Field} label="Tiers" name="tiers" hint="from:price pairs, e.g. 0:0.0100, 8:0.0080" required />
			<//>
		</section>
		<section class="card" aria-labelledby="edit-tariff-h">
			<h2 id="edit-tariff-h">Change a tariff</h2>
			<p class="muted">Charges already made keep their prices.</p>
			<${Form}
				submit="Save the tariff"
				label="Change a tariff"
				onSubmit=${async (v: { tariff: string; newName: string; editMode: string; newTiers: string }) => {
					await patch(`/admin/tariffs/${encodeURIComponent(v.tariff)}`, {
						...(v.newName.trim() ? { name: v.newName.trim() } : {}),
						...(v.editMode ? { mode: v.editMode } : {}),
						...(v.newTiers.trim() ? { tiers: tiersOf(v.newTiers) } : {}),
					});
					saved(`Tariff ${v.tariff} is saved.`);
				}}
			>
				<${Select} label="Tariff" name="tariff" options=${tariffs.map(t => [t.id, `${t.name} (${t.id})`] as [string, string])} />
				<${Field} label="New name (empty keeps it)" name="newName" />
				<${Select} label="Mode" name="editMode" options=${[["", "Unchanged"], "volume", "graduated"]} />
				<${Field} label="New tiers (empty keeps them)" name="newTiers" hint="from:price pairs" />
			<//>
		</section>

		<h2>Pricing models</h2>
		<${Table} label="Pricing models" head=${["Id", "Name", "Tariffs", "Groups"]}>
			${models.map(
				m =>
					html`<tr key=${m.id}>
						<td>${m.id}</td>
						<td>${m.name}</td>
						<td>${m.tariffs.join(", ")}</td>
						<td>${m.groups.join(", ") || "—"}</td>
					</tr>`,
			)}
		<//>
		<section class="card" aria-labelledby="model-h">
			<h2 id="model-h">Add or change a pricing model</h2>
			<p class="muted">The groups a model names leave their previous model. Ids and groups are separated by commas.</p>
			<${Form}
				submit="Save the pricing model"
				label="Add or change a pricing model"
				onSubmit=${async (v: { modelId: string; modelName: string; modelTariffs: string; modelGroups: string }) => {
					const id = v.modelId.trim();
					const body = {
						...(v.modelName.trim() ? { name: v.modelName.trim() } : {}),
						...(v.modelTariffs.trim() ? { tariffs: list(v.modelTariffs) } : {}),
						...(v.modelGroups.trim() ? { groups: list(v.modelGroups) } : {}),
					};
					if (models.some(m => m.id === id)) await patch(`/admin/pricing-models/${encodeURIComponent(id)}`, body);
					else await post("/admin/pricing-models", { id, tariffs: [], ...body });
					saved(`Pricing model ${id} is saved.`);
				}}
			>
				<${Field} label="Model id" name="modelId" list="model-ids" hint="an existing id changes that model" required />
				<datalist id="model-ids">${models.map(m => html`<option key=${m.id} value=${m.id} />`)}</datalist>
				<${Field} label="Model name (empty keeps it)" name="modelName" />
				<${Field} label="Tariff ids (empty keeps them)" name="modelTariffs" />
				<${Field} label="Groups (empty keeps them)" name="modelGroups" />
			<//>
		</section>
	<//>`;
}

interface TaxRate {
	country: string;
	rate: string;
	updatedAt: string;
}

export function AdminTaxRates() {
	const rates = useLoad(() => get<TaxRate[]>("/admin/tax-rates"));
	const [done, setDone] = useState<string | null>(null);
	return html`<${AdminPage} title="Tax rates">
		${done && html`<${Banner} kind="ok">${done}<//>`} ${rates.loading && html`<${Loading} what="the tax rates" />`}
		${!rates.loading && !rates.data && html`<${Failed} error=${rates.error} />`}
		${
			rates.data &&
			(rates.data.length === 0
				? html`<p>No tax rate is set: no tax is added anywhere.</p>`
				: html`<${Table} label="Tax rates" head=${["Country", "Rate", "Changed", ""]}>
						${rates.data.map(
							r =>
								html`<tr key=${r.country}>
									<td>${r.country}</td>
									<td>${r.rate}</td>
									<td>${dateTime(r.updatedAt)}</td>
									<td>
										<${ActionButton}
											secondary
											label=${`Remove the tax rate of ${r.country}`}
											onClick=${async () => {
												await del(`/admin/tax-rates/${encodeURIComponent(r.country)}`);
												setDone(`${r.country} has no tax rate now.`);
												await rates.reload();
											}}
											>Remove<//
										>
									</td>
								</tr>`,
						)}
					<//>`)
		}
		<section class="card" aria-labelledby="tax-h">
			<h2 id="tax-h">Set a country's rate</h2>
			<${Form}
				submit="Set the rate"
				label="Set a tax rate"
				onSubmit=${async (v: { country: string; rate: string }) => {
					const country = v.country.trim().toUpperCase();
					await put(`/admin/tax-rates/${encodeURIComponent(country)}`, { rate: v.rate.trim() });
					setDone(`The tax rate of ${country} is ${v.rate.trim()}.`);
					await rates.reload();
				}}
			>
				<${Field} label="Country" name="country" hint="two letters, e.g. DE" autocomplete="off" required />
				<${Field} label="Rate" name="rate" inputmode="decimal" hint="a decimal fraction, e.g. 0.19" required />
			<//>
		</section>
	<//>`;
}
