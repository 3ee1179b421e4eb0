// The in-app notifications feed (/account/notifications): newest first, unread marked, each read
// with a button (POST /account/notifications/{id}/read).
import { useState } from "preact/hooks";
import { get, post } from "../api";
import { ActionButton, dateTime, Failed, html, Loading, Page, Pager, useLoad } from "../ui";

interface Notification {
	id: string;
	title: string;
	body: string;
	createdAt: string;
	read: boolean;
}

export function Notifications() {
	const [page, setPage] = useState(1);
	const feed = useLoad(() => get<{ rows: Notification[]; page: number; totalPages: number }>(`/account/notifications?page=${page}&pageSize=20`), [page]);
	return html`<${Page} title="Notifications">
		${feed.loading && html`<${Loading} what="your notifications" />`} ${!feed.loading && !feed.data && html`<${Failed} error=${feed.error} />`}
		${
			feed.data &&
			(feed.data.rows.length === 0
				? html`<p>No notifications.</p>`
				: html`<ul class="method-list" aria-label="Notifications">
							${feed.data.rows.map(
								n =>
									html`<li key=${n.id}>
										<span>
											<span class=${n.read ? "" : "unread"}>${n.read ? "" : "New: "}${n.title}</span><br />
											<span>${n.body}</span><br />
											<span class="muted">${dateTime(n.createdAt)}</span>
										</span>
										${
											!n.read &&
											html`<${ActionButton}
												secondary
												label=${`Mark read: ${n.title}`}
												onClick=${async () => {
													await post(`/account/notifications/${encodeURIComponent(n.id)}/read`);
													await feed.reload();
												}}
												>Mark read<//
											>`
										}
									</li>`,
							)}
						</ul>
						<${Pager} page=${feed.data.page} totalPages=${feed.data.totalPages} onPage=${setPage} label="Notification pages" />`)
		}
	<//>`;
}
