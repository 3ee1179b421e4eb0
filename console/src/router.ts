// A small history router: the location in a signal, links followed without reloading, and focus
// moved to the new page's heading so screen readers announce it.
import { signal } from "@preact/signals";

export const location$ = signal({ path: window.location.pathname, query: new URLSearchParams(window.location.search) });

export function navigate(to: string, replace = false) {
	const url = new URL(to, window.location.origin);
	if (replace) history.replaceState(null, "", url);
	else history.pushState(null, "", url);
	location$.value = { path: url.pathname, query: url.searchParams };
	window.scrollTo(0, 0);
}

/** Matches "/a/:id/b" against a path: the named parts, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
	const want = pattern.split("/");
	const got = (path.length > 1 ? path.replace(/\/+$/, "") : path).split("/");
	if (want.length !== got.length) return null;
	const params: Record<string, string> = {};
	for (let i = 0; i < want.length; i++) {
		if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(got[i]);
		else if (want[i] !== got[i]) return null;
	}
	return params;
}

export function startRouter() {
	window.addEventListener("popstate", () => {
		location$.value = { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
	});
	document.addEventListener("click", e => {
		const a = (e.target as Element | null)?.closest?.("a");
		if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target || a.hasAttribute("download")) return;
		const url = new URL(a.href, window.location.href);
		if (url.origin !== window.location.origin || url.pathname.startsWith("/api/")) return;
		e.preventDefault();
		navigate(url.pathname + url.search);
	});
}
