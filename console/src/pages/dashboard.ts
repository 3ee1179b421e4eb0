// The dashboard: balance and bonus, days left, this month's spending, a banner for what needs the
// customer's attention (trial ending, deactivated, an upgrade waiting for its first refill), and the
// charts of the last 30 days (loaded after the balance: it never waits for them).
import { get } from "../api";
import { Banner, date, Failed, html, Loading, Money, Page, useLoad } from "../ui";
import { BalanceChart, DailyCostChart } from "./charts";

export interface Account {
	id: string;
	email: string;
	name: string;
	type: string;
	group: string;
	status: string;
	role: string;
	trialEndsAt: string | null;
	upgrade: { state: string };
	twoFactorEnabled?: boolean;
}
export interface Balance {
	main: string;
	bonus: string;
	total: string;
	currency: string;
	minBalance: string;
	daysLeft: number | null;
}
interface Summary {
	debited: string;
	refilled: string;
	currency: string;
}

export function StatusBanner(props: { account: Account }) {
	const a = props.account;
	if (a.status === "deactivated")
		return html`<${Banner} kind="bad"
			>Your account is deactivated and its environments are stopped. <a href="/account/billing">Refill your balance</a> to start them again.<//
		>`;
	if (a.upgrade?.state === "pending")
		return html`<${Banner} kind="info">Your upgrade is pending: it completes with your first refill. <a href="/account/billing">Refill now</a><//>`;
	if (a.type === "trial")
		return html`<${Banner} kind="warn">Your trial ends ${date(a.trialEndsAt)}. <a href="/account/upgrade">Upgrade</a> to keep your environments running.<//>`;
	return null;
}

/** The balance, the bonus and the days left as the API gives them (and any further figures as children). */
export function BalanceFigures(props: { balance: Balance; children?: unknown }) {
	const { balance } = props;
	return html`<dl class="figures" aria-label="Balance">
		<div>
			<dt>Balance</dt>
			<dd data-testid="balance"><${Money} amount=${balance.main} currency=${balance.currency} /></dd>
		</div>
		<div>
			<dt>Bonus</dt>
			<dd data-testid="bonus"><${Money} amount=${balance.bonus} currency=${balance.currency} /></dd>
		</div>
		<div>
			<dt>Days left</dt>
			<dd>${balance.daysLeft ?? "—"}</dd>
		</div>
		${props.children}
	</dl>`;
}

export function Dashboard() {
	const load = useLoad(() => Promise.all([get<Account>("/account"), get<Balance>("/billing/balance")]));
	// The month's spending reads the month's ledger: the balance does not wait for it.
	const month = useLoad(() => get<Summary>("/billing/summary"));
	if (load.loading) return html`<${Page} title="Dashboard"><${Loading} what="your balance" /><//>`;
	if (!load.data) return html`<${Page} title="Dashboard"><${Failed} error=${load.error} /><//>`;
	const [account, balance] = load.data;
	const summary = month.data;
	return html`<${Page} title="Dashboard">
		<${StatusBanner} account=${account} />
		<${BalanceFigures} balance=${balance}>
			<div>
				<dt>Spent this month</dt>
				<dd>${summary ? html`<${Money} amount=${summary.debited} currency=${summary.currency} />` : month.loading ? "…" : "—"}</dd>
			</div>
		<//>
		<p class="muted">Signed in as ${account.email} · ${account.group} group · ${account.status}</p>
		<div class="actions">
			<a href="/environments/new">Create an environment</a>
			<a href="/account/billing">Refill the balance</a>
			${!account.twoFactorEnabled && html`<a href="/account/security">Turn on two-factor authentication</a>`}
		</div>
		<div class="charts">
			<${DailyCostChart} />
			<${BalanceChart} currency=${balance.currency} />
		</div>
	<//>`;
}
