// Administration — groups (ADM-1, ACC-4): the groups with their type, conversion group and
// settings; add one, edit one (description, conversion group, provider settings), and set a
// group's value of a quota (GET /admin/quotas names the keys and every group's values).
import { useState } from "preact/hooks";
import { get, patch, post, put } from "../api";
import { Banner, Check, Failed, Field, Form, html, Loading, useLoad } from "../ui";
import { AdminPage, quotaValue, Select, Table } from "./admin-common";

interface Group {
	name: string;
	type: string;
	conversionGroup: string | null;
	signupDefault: boolean;
	builtIn: boolean;
	description: string;
	settings: Record<string, unknown>;
}
interface QuotaKey {
	key: string;
	description: string;
	unit?: string;
	groups: Record<string, unknown>;
}

const settingsText = (s: Record<string, unknown>) =>
	`password expires after ${String(s["password.expiry.days"])} days; 2FA ${s["2fa.required"] ? "required" : "optional"}; tokens at most ${String(s["token.max.lifetime.days"])} days`;

export function AdminGroups() {
	const data = useLoad(() => Promise.all([get<Group[]>("/admin/groups"), get<QuotaKey[]>("/admin/quotas")]));
	const [done, setDone] = useState<string | null>(null);
	if (!data.data)
		return html`<${AdminPage} title="Groups">${data.loading ? html`<${Loading} what="the groups" />` : html`<${Failed} error=${data.error} />`}<//>`;
	const [groups, quotas] = data.data;
	const names = groups.map(g => g.name);
	const saved = (what: string) => {
		setDone(what);
		void data.reload();
	};
	return html`<${AdminPage} title="Groups">
		${done && html`<${Banner} kind="ok">${done}<//>`}
		<${Table} label="Groups" head=${["Name", "Type", "Converts to", "Settings", "Description"]}>
			${groups.map(
				g =>
					html`<tr key=${g.name}>
						<td>${g.name}${g.signupDefault ? " (sign-up default)" : ""}</td>
						<td>${g.type}</td>
						<td>${g.conversionGroup ?? "—"}</td>
						<td class="muted">${settingsText(g.settings)}</td>
						<td>${g.description || "—"}</td>
					</tr>`,
			)}
		<//>
		<section class="card" aria-labelledby="new-group-h">
			<h2 id="new-group-h">Add a group</h2>
			<${Form}
				submit="Add the group"
				label="Add a group"
				onSubmit=${async (v: { name: string; type: string; conversionGroup: string; description: string }) => {
					await post("/admin/groups", {
						name: v.name.trim(),
						type: v.type,
						...(v.conversionGroup ? { conversionGroup: v.conversionGroup } : {}),
						...(v.description.trim() ? { description: v.description.trim() } : {}),
					});
					saved(`Group ${v.name.trim()} is added.`);
				}}
			>
				<${Field} label="Name" name="name" hint="2-32 lower-case letters, digits and dashes" required />
				<${Select} label="Type" name="type" options=${["trial", "beta", "billing", "post"]} />
				<${Select} label="Converts to (upgrade)" name="conversionGroup" id="f-new-conversion" options=${[["", "Default for its type"], ...names]} />
				<${Field} label="Description" name="description" />
			<//>
		</section>
		<section class="card" aria-labelledby="edit-group-h">
			<h2 id="edit-group-h">Edit a group</h2>
			<${Form}
				submit="Save the group"
				label="Edit a group"
				onSubmit=${async (v: { group: string; editDescription: string; conversionGroup: string; expiry: string; tokenDays: string; twoFactor: boolean }) => {
					const settings: Record<string, number> = { "2fa.required": v.twoFactor ? 1 : 0 };
					if (v.expiry.trim()) settings["password.expiry.days"] = Number(v.expiry);
					if (v.tokenDays.trim()) settings["token.max.lifetime.days"] = Number(v.tokenDays);
					await patch(`/admin/groups/${encodeURIComponent(v.group)}`, {
						...(v.editDescription.trim() ? { description: v.editDescription.trim() } : {}),
						...(v.conversionGroup === "-" ? {} : { conversionGroup: v.conversionGroup || null }),
						settings,
					});
					saved(`Group ${v.group} is saved.`);
				}}
			>
				<${Select} label="Group" name="group" id="f-edit-group" options=${names} />
				<${Field} label="New description (empty keeps it)" name="editDescription" />
				<${Select} label="Converts to" name="conversionGroup" id="f-edit-conversion" options=${[["-", "Unchanged"], ["", "None"], ...names]} />
				<${Field} label="Password expiry (days, 0 = never; empty keeps it)" name="expiry" inputmode="numeric" />
				<${Field} label="Longest token lifetime (days; empty keeps it)" name="tokenDays" inputmode="numeric" />
				<${Check} label="Two-factor authentication required" name="twoFactor" />
			<//>
		</section>
		<section class="card" aria-labelledby="group-quota-h">
			<h2 id="group-quota-h">Set a group's quota</h2>
			<details>
				<summary>Every quota by group</summary>
				<${Table} label="Quotas by group" head=${["Quota", ...names]}>
					${quotas.map(
						q =>
							html`<tr key=${q.key}>
								<td title=${q.description}>${q.key}</td>
								${names.map(n => html`<td key=${n}>${String(q.groups[n] ?? "—")}</td>`)}
							</tr>`,
					)}
				<//>
			</details>
			<${Form}
				submit="Set the quota"
				label="Set a group's quota"
				onSubmit=${async (v: { group: string; key: string; value: string }) => {
					await put(`/admin/groups/${encodeURIComponent(v.group)}/quotas/${encodeURIComponent(v.key)}`, { value: quotaValue(v.value) });
					saved(`${v.key} of ${v.group} is set.`);
				}}
			>
				<${Select} label="Group" name="group" id="f-quota-group" options=${names} />
				<${Select}
					label="Quota"
					name="key"
					id="f-quota-key"
					options=${quotas.map(q => [q.key, `${q.key}${q.unit ? ` (${q.unit})` : ""}`] as [string, string])}
				/>
				<${Field} label="Value" name="value" required />
			<//>
		</section>
	<//>`;
}
