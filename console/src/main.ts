// The console's entry: the routes (each page has its own URL, the emails' links among them), the
// header, and the guard that sends a signed-out visitor to sign in and back.
import { render, type ComponentType } from "preact";
import { useEffect } from "preact/hooks";
import { post, session, signedOut } from "./api";
import { location$, match, navigate, startRouter } from "./router";
import { html, Page } from "./ui";
import { Activate, PasswordReset, SignIn, SignUp } from "./pages/auth";
import { Billing, Upgrade } from "./pages/billing";
import { Dashboard } from "./pages/dashboard";
import { Environments, NewEnvironment } from "./pages/environments";
import { InvoicePage, PayInvoice } from "./pages/invoices";
import { ChangePassword, Security } from "./pages/security";
import { BillingHistory, Ledger } from "./pages/billing-history";
import { AutoRefill, PaymentMethods } from "./pages/payment-methods";
import { Tokens } from "./pages/tokens";
import { Notifications } from "./pages/notifications";
import { Invitation, SharedByMe, SharedWithMe } from "./pages/collaboration";
import { ADMIN_ROUTES } from "./pages/admin-routes";
import { useIsAdmin } from "./pages/admin-common";
import { EnvironmentDetail } from "./pages/environment-detail";
import { EnvironmentGroups } from "./pages/env-groups";
import { QuotasPricing } from "./pages/quotas-pricing";

interface Route {
	path: string;
	page: ComponentType<any>;
	/** needs a session */
	auth?: boolean;
}

const ROUTES: Route[] = [
	{ path: "/", page: Dashboard, auth: true },
	{ path: "/signup", page: SignUp },
	{ path: "/signin", page: SignIn },
	{ path: "/activate", page: Activate },
	{ path: "/password/reset", page: PasswordReset },
	{ path: "/account/security", page: Security, auth: true },
	{ path: "/account/password", page: ChangePassword, auth: true },
	{ path: "/environments", page: Environments, auth: true },
	{ path: "/environments/new", page: NewEnvironment, auth: true },
	{ path: "/environments/groups", page: EnvironmentGroups, auth: true },
	{ path: "/environments/:id", page: EnvironmentDetail, auth: true },
	{ path: "/account/billing/quotas-pricing", page: QuotasPricing, auth: true },
	{ path: "/account/billing", page: Billing, auth: true },
	{ path: "/account/billing/invoices/:id", page: InvoicePage, auth: true },
	{ path: "/account/billing/invoices/:id/pay", page: PayInvoice, auth: true },
	{ path: "/account/upgrade", page: Upgrade, auth: true },
	{ path: "/account/billing/history", page: BillingHistory, auth: true },
	{ path: "/account/billing/transactions", page: Ledger, auth: true },
	{ path: "/account/billing/payment-methods", page: PaymentMethods, auth: true },
	{ path: "/account/billing/auto-refill", page: AutoRefill, auth: true },
	{ path: "/account/tokens", page: Tokens, auth: true },
	{ path: "/account/notifications", page: Notifications, auth: true },
	{ path: "/collaboration", page: SharedByMe, auth: true },
	{ path: "/collaboration/shared-with-me", page: SharedWithMe, auth: true },
	{ path: "/collaboration/invitations/:id", page: Invitation, auth: true },
	...ADMIN_ROUTES,
];

const NAV: [string, string][] = [
	["/", "Dashboard"],
	["/environments", "Environments"],
	["/account/billing", "Billing"],
	["/collaboration", "Collaboration"],
	["/account/tokens", "Tokens"],
	["/account/notifications", "Notifications"],
	["/account/security", "Security"],
	["/account/sessions", "Sessions"],
];

function NotFound() {
	return html`<${Page} title="Page not found"
		><p>There is no page here. <a href="/">Go to the dashboard</a></p><//
	>`;
}

function ToSignIn(props: { path: string }) {
	useEffect(() => navigate(`/signin?next=${encodeURIComponent(props.path)}`, true), [props.path]);
	return null;
}

async function signOut() {
	await post("/auth/signout").catch(() => undefined);
	signedOut();
	navigate("/signin");
}

function Header(props: { path: string }) {
	const current = (href: string) => (href === "/" ? props.path === "/" : props.path.startsWith(href)) || undefined;
	// The administration area, for administrators only (the server refuses everyone else anyway).
	const nav = useIsAdmin() ? [...NAV, ["/admin", "Administration"] as [string, string]] : NAV;
	return html`<header class="top">
		<a class="brand" href="/">Quartermaster</a>
		<nav aria-label="Main">
			<ul>
				${
					session.value
						? html`${nav.map(([href, label]) => html`<li key=${href}><a href=${href} aria-current=${current(href) && "page"}>${label}</a></li>`)}
								<li><button type="button" class="link" onClick=${signOut}>Sign out</button></li>`
						: html`<li><a href="/signin">Sign in</a></li>
								<li><a href="/signup">Sign up</a></li>`
				}
			</ul>
		</nav>
	</header>`;
}

function App() {
	const { path } = location$.value;
	let params: Record<string, string> | null = null;
	const route = ROUTES.find(r => (params = match(r.path, path)));
	const Page = route?.page ?? NotFound;
	const guarded = route?.auth && !session.value;
	return html`<a class="skip" href="#main">Skip to the content</a>
		<${Header} path=${path} />
		${guarded ? html`<${ToSignIn} path=${path + window.location.search} />` : html`<${Page} key=${path} ...${params ?? {}} />`}`;
}

startRouter();
render(html`<${App} />`, document.getElementById("app")!);
