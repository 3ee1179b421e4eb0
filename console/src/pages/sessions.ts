// The account's sessions (/account/sessions): where and when each signed in and was last seen,
// this one marked; sign one out, or every other one at once.
import { useState } from "preact/hooks";
import { del, get, post } from "../api";
import { ActionButton, Banner, dateTime, Failed, html, Loading, Page, useLoad } from "../ui";

interface Session {
	id: string;
	createdAt: string;
	lastSeenAt: string | null;
	ip: string;
	userAgent: string;
	current: boolean;
}

export function Sessions() {
	const list = useLoad(() => get<Session[]>("/auth/sessions"));
	const [done, setDone] = useState<string | null>(null);
	const others = (list.data ?? []).filter(s => !s.current).length;
	return html`<${Page} title="Sessions">
		<p>Where your account is signed in. Sign out any session you do not recognise, then change your password.</p>
		${done && html`<${Banner} kind="ok">${done}<//>`} ${list.loading && html`<${Loading} what="your sessions" />`}
		${!list.loading && !list.data && html`<${Failed} error=${list.error} />`}
		${
			list.data &&
			html`<ul class="method-list" aria-label="Sessions">
					${list.data.map(
						s =>
							html`<li key=${s.id}>
								<span>
									<strong>${s.current ? "This session" : s.userAgent || "Unknown device"}</strong> · ${s.ip}<br />
									${s.current && s.userAgent ? html`<span class="muted">${s.userAgent}</span><br />` : ""}
									<span class="muted">Signed in ${dateTime(s.createdAt)}; last seen ${dateTime(s.lastSeenAt)}</span>
								</span>
								${
									!s.current &&
									html`<${ActionButton}
										secondary
										label=${`Sign out the session from ${s.ip} started ${dateTime(s.createdAt)}`}
										onClick=${async () => {
											await del(`/auth/sessions/${encodeURIComponent(s.id)}`);
											setDone("The session is signed out.");
											await list.reload();
										}}
										>Sign out<//
									>`
								}
							</li>`,
					)}
				</ul>
				${
					others > 0 &&
					html`<div class="actions">
						<${ActionButton}
							onClick=${async () => {
								const r = await post<{ revoked: number }>("/auth/sessions/revoke-others");
								setDone(`${r.revoked} other session${r.revoked === 1 ? " is" : "s are"} signed out.`);
								await list.reload();
							}}
							>Sign out every other session<//
						>
					</div>`
				}`
		}
	<//>`;
}
