// The routes of the administration area, the sessions list and the roles screen, in one list that
// main.ts spreads into its own (the area's pages say "for administrators only" to anyone else).
import type { ComponentType } from "preact";
import { useEffect } from "preact/hooks";
import { navigate } from "../router";
import { AdminAccount, AdminAccounts } from "./admin-accounts";
import { AdminGroups } from "./admin-groups";
import { AdminAudit, AdminJobs, AdminLockouts, AdminOutbox } from "./admin-ops";
import { AdminPricing, AdminTaxRates } from "./admin-pricing";
import { AdminWebhooks } from "./admin-webhooks";
import { RolesAndPolicies } from "./roles";
import { Sessions } from "./sessions";

function ToAccounts() {
	useEffect(() => navigate("/admin/accounts", true), []);
	return null;
}

export const ADMIN_ROUTES: { path: string; page: ComponentType<any>; auth: true }[] = [
	{ path: "/account/sessions", page: Sessions, auth: true },
	{ path: "/collaboration/roles", page: RolesAndPolicies, auth: true },
	{ path: "/admin", page: ToAccounts, auth: true },
	{ path: "/admin/accounts", page: AdminAccounts, auth: true },
	{ path: "/admin/accounts/:id", page: AdminAccount, auth: true },
	{ path: "/admin/groups", page: AdminGroups, auth: true },
	{ path: "/admin/pricing", page: AdminPricing, auth: true },
	{ path: "/admin/tax-rates", page: AdminTaxRates, auth: true },
	{ path: "/admin/lockouts", page: AdminLockouts, auth: true },
	{ path: "/admin/outbox", page: AdminOutbox, auth: true },
	{ path: "/admin/audit", page: AdminAudit, auth: true },
	{ path: "/admin/jobs", page: AdminJobs, auth: true },
	{ path: "/admin/webhooks", page: AdminWebhooks, auth: true },
];
