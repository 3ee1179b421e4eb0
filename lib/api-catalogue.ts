// PAT-6: the single catalogue of public operations. The gateway builds its routes from it (and
// serves nothing else), the OpenAPI document is generated from those routes, token scopes and
// collaboration policies name its `method`s. Adding an endpoint = adding an entry here.

/**
 * Who may call an entry:
 * - public:  nobody needs to be signed in
 * - user:    a session or a personal access token whose scope holds `method`
 * - session: a session only (password, 2FA, tokens, email — PAT-3)
 * - admin:   a session of an account with role admin
 */
export type Access = "public" | "user" | "session" | "admin";

export interface ApiEntry {
	/** HTTP verb and path below /api/v1, with `:param` placeholders */
	rest: string;
	/** the Moleculer action that serves it */
	action: string;
	/** the API method name (token scopes, policies); none for public endpoints */
	method?: string;
	access: Access;
	description: string;
	/** HTTP status of a success (default 200) */
	status?: 200 | 201 | 202 | 204;
	/** per client IP, per gateway: at most `limit` calls each `windowSeconds` */
	rateLimit?: { limit: number; windowSeconds: number }[];
	/** only served when QM_TEST_CLOCK=1 */
	testOnly?: boolean;
	/** open to a session that must set up 2FA first (group setting 2fa.required, TFA-6) */
	setup2fa?: boolean;
	/** the body is handed over as the bytes received (a signed webhook), not parsed */
	rawBody?: boolean;
}

// Per client IP and gateway, in front of the per-address limits the services keep (REG-3).
// Generous enough for an office behind one NAT address, tight enough to stop a script.
const AUTH_PUBLIC_LIMITS = [
	{ limit: 20, windowSeconds: 60 },
	{ limit: 200, windowSeconds: 3600 },
];

// One line per endpoint, so the catalogue reads as a table.
// prettier-ignore
export const API_CATALOGUE: ApiEntry[] = [
	// Registration and authentication
	{ rest: "POST /auth/signup", action: "accounts.signup", access: "public", status: 202, rateLimit: AUTH_PUBLIC_LIMITS, description: "Sign up with an email address; an activation link is emailed (REG-1)" },
	{ rest: "POST /auth/activate", action: "accounts.activate", access: "public", rateLimit: AUTH_PUBLIC_LIMITS, description: "Activate an account from the emailed link and set its password (REG-2)" },
	{ rest: "POST /auth/signin", action: "auth.signin", access: "public", rateLimit: [{ limit: 60, windowSeconds: 60 }], description: "Sign in with email and password (REG-4)" },
	{ rest: "POST /auth/signin/2fa", action: "auth.signin2fa", access: "public", rateLimit: [{ limit: 60, windowSeconds: 60 }], description: "Finish a 2FA sign-in with a TOTP or recovery code (TFA-4)" },
	{ rest: "POST /auth/signout", action: "auth.signout", method: "users.authentication.Signout", access: "session", status: 204, setup2fa: true, description: "End the current session (REG-6)" },
	{ rest: "GET /auth/sessions", action: "auth.listSessions", method: "users.authentication.GetSessions", access: "session", description: "My sessions: created, last seen, IP, user agent (REG-6)" },
	{ rest: "DELETE /auth/sessions/:id", action: "auth.endSession", method: "users.authentication.SignoutSessions", access: "session", status: 204, description: "End one of my sessions" },
	{ rest: "POST /auth/sessions/revoke-others", action: "auth.revokeOtherSessions", method: "users.authentication.SignoutSessions", access: "session", description: "End all my sessions but this one" },
	{ rest: "POST /auth/password/change", action: "auth.changePassword", method: "users.account.ChangePassword", access: "session", status: 204, description: "Change my password (PWD-3)" },
	{ rest: "POST /auth/password/expired", action: "auth.changeExpiredPassword", access: "public", rateLimit: AUTH_PUBLIC_LIMITS, description: "Renew an expired password with the changeToken of PASSWORD_EXPIRED (PWD-2)" },
	{ rest: "POST /auth/password/reset", action: "auth.requestReset", access: "public", status: 202, rateLimit: AUTH_PUBLIC_LIMITS, description: "Email a password reset link (PWD-4)" },
	{ rest: "POST /auth/password/reset/confirm", action: "auth.confirmReset", access: "public", status: 204, rateLimit: AUTH_PUBLIC_LIMITS, description: "Set a new password with the emailed reset link (PWD-4)" },
	{ rest: "POST /auth/2fa/setup", action: "auth.setup2fa", method: "users.account.Get2FAConfig", access: "session", setup2fa: true, description: "Start 2FA setup: secret, otpauth URI and QR code (TFA-1)" },
	{ rest: "POST /auth/2fa/enable", action: "auth.enable2fa", method: "users.account.Enable2FA", access: "session", setup2fa: true, description: "Turn 2FA on with a valid code; returns the recovery codes once (TFA-2)" },
	{ rest: "POST /auth/2fa/recovery-codes", action: "auth.recoveryCodes", method: "users.account.Get2FABackupCodes", access: "session", description: "View the unused recovery codes (TFA-5)" },
	{ rest: "POST /auth/2fa/recovery-codes/regenerate", action: "auth.regenerateRecoveryCodes", method: "users.account.Regenerate2FABackupCodes", access: "session", description: "Replace the recovery codes (TFA-5)" },
	{ rest: "POST /auth/2fa/disable", action: "auth.disable2fa", method: "users.account.Disable2FA", access: "session", status: 204, description: "Turn 2FA off (TFA-5)" },

	// Personal access tokens (session only: a token cannot see or change tokens, PAT-3)
	{ rest: "GET /tokens", action: "tokens.list", method: "users.authentication.GetTokens", access: "session", description: "My access tokens, without their values (PAT-1)" },
	{ rest: "POST /tokens", action: "tokens.create", method: "users.authentication.CreateToken", access: "session", status: 201, description: "Create an access token; the value is shown once (PAT-1…3)" },
	{ rest: "GET /tokens/templates", action: "tokens.templates", method: "users.authentication.GetTokenTemplates", access: "session", description: "Token templates and the API methods each allows" },
	{ rest: "PATCH /tokens/:id", action: "tokens.edit", method: "users.authentication.EditToken", access: "session", description: "Change a token's description, scope, expiry or IP allow-list" },
	{ rest: "POST /tokens/:id/regenerate", action: "tokens.regenerate", method: "users.authentication.RegenerateToken", access: "session", description: "A new value for a token; the old one stops working at once" },
	{ rest: "POST /tokens/:id/copy", action: "tokens.copy", method: "users.authentication.CreateToken", access: "session", status: 201, description: "A new token with the same scope as another" },
	{ rest: "POST /tokens/delete", action: "tokens.remove", method: "users.authentication.DeleteTokens", access: "session", description: "Delete tokens by id, or all with \"*\"" },

	// Account
	{ rest: "GET /account", action: "accounts.me", method: "users.account.GetUserInfo", access: "user", setup2fa: true, description: "The signed-in account" },
	{ rest: "PATCH /account", action: "accounts.update", method: "users.account.ChangeName", access: "user", description: "Change the account's name, phone or time zone (IANA; its post-paid months, BIL-6)" },
	{ rest: "POST /account/upgrade", action: "accounts.upgrade", method: "billing.account.ConvertToCommercial", access: "user", description: "Upgrade a trial to a commercial account with billing information (ACC-4)" },
	{ rest: "GET /account/status-history", action: "accounts.statusHistory", method: "billing.account.GetAccount", access: "user", description: "My account's status changes: from, to, reason, when (STS-6)" },
	{ rest: "GET /account/audit", action: "audit.accountList", method: "users.account.GetAuditLog", access: "user", description: "What happened in my account: my members' and administrators' actions (COL-8); ?actor&action&from&to" },
	{ rest: "GET /account/notifications", action: "notifications.list", method: "users.account.GetNotifications", access: "user", description: "In-app notifications, newest first" },
	{ rest: "POST /account/notifications/:id/read", action: "notifications.markRead", method: "users.account.GetNotifications", access: "user", description: "Mark an in-app notification read" },

	// Quotas (QTA-1…QTA-5)
	{ rest: "GET /account/quotas", action: "quotas.mine", method: "billing.account.GetQuotas", access: "user", description: "My effective limits, beside the billing group's (what upgrading unlocks)" },

	// Environments (ENV-1…ENV-3)
	{ rest: "GET /environments", action: "environments.list", method: "environment.control.GetEnvs", access: "user", description: "My environments" },
	{ rest: "POST /environments", action: "environments.create", method: "environment.control.CreateEnvironment", access: "user", status: 201, description: "Create an environment (checked against my quotas and status)" },
	{ rest: "GET /environments/:id", action: "environments.get", method: "environment.control.GetEnvInfo", access: "user", description: "One environment: nodes, options, groups, status" },
	{ rest: "PATCH /environments/:id", action: "environments.change", method: "environment.control.ChangeTopology", access: "user", description: "Change an environment's nodes or options" },
	{ rest: "POST /environments/:id/start", action: "environments.start", method: "environment.control.StartEnv", access: "user", description: "Start an environment" },
	{ rest: "POST /environments/:id/stop", action: "environments.stop", method: "environment.control.StopEnv", access: "user", description: "Stop an environment" },
	{ rest: "DELETE /environments/:id", action: "environments.remove", method: "environment.control.DeleteEnv", access: "user", status: 204, description: "Delete an environment" },
	{ rest: "POST /environments/:id/transfer", action: "environments.transfer", method: "environment.control.ChangeOwner", access: "user", description: "Give an environment to another (active, non-trial) account" },
	{ rest: "GET /environments/:id/usage", action: "metering.usage", method: "environment.control.GetStats", access: "user", description: "An environment's hourly usage per node: peak RAM, average CPU, peak disk, traffic (MTR-2); ?from&to" },
	{ rest: "GET /env-groups", action: "environments.listGroups", method: "environment.group.GetGroups", access: "user", description: "My environment groups (a tree: parentId)" },
	{ rest: "POST /env-groups", action: "environments.createGroup", method: "environment.group.AddGroup", access: "user", status: 201, description: "Create an environment group" },
	{ rest: "DELETE /env-groups/:id", action: "environments.removeGroup", method: "environment.group.RemoveGroup", access: "user", status: 204, description: "Delete an environment group without subgroups" },

	// Collaboration (COL-1…COL-9): the primary account's members, roles and policies; the member's side
	{ rest: "GET /collaboration/members", action: "collaboration.members", method: "users.collaboration.GetMembers", access: "user", description: "My members: email, display name, status, shared items with their roles (COL-5)" },
	{ rest: "POST /collaboration/members", action: "collaboration.invite", method: "users.collaboration.InviteMember", access: "user", status: 201, description: "Invite by email with shared items (ENV, ENV_GROUP, ACCOUNT), each with roles; the link works once, 7 days (COL-1, COL-4)" },
	{ rest: "PATCH /collaboration/members/:id", action: "collaboration.editMember", method: "users.collaboration.EditMember", access: "user", description: "Change a member's display name or shared items and roles (COL-5)" },
	{ rest: "DELETE /collaboration/members/:id", action: "collaboration.removeMember", method: "users.collaboration.DeleteMember", access: "user", status: 204, description: "Remove a member: sharing ends at once, the record stays for a new invitation (COL-5, COL-9)" },
	{ rest: "POST /collaboration/members/:id/suspend", action: "collaboration.suspendMember", method: "users.collaboration.SuspendMember", access: "user", description: "Stop sharing with an active member for now (COL-5)" },
	{ rest: "POST /collaboration/members/:id/activate", action: "collaboration.activateMember", method: "users.collaboration.ActivateMember", access: "user", description: "Share with a suspended member again (COL-5)" },
	{ rest: "POST /collaboration/members/:id/resend", action: "collaboration.resendInvitation", method: "users.collaboration.ResendMemberInvitation", access: "user", description: "Email a new invitation link; the previous one stops working (COL-4)" },
	{ rest: "POST /collaboration/members/:id/copy", action: "collaboration.copyMember", method: "users.collaboration.InviteMember", access: "user", status: 201, description: "Invite another email with the same shared items and roles (COL-5)" },
	{ rest: "GET /collaboration/roles", action: "collaboration.roles", method: "users.collaboration.GetRoles", access: "user", description: "My roles, the seeded templates included (COL-3)" },
	{ rest: "POST /collaboration/roles", action: "collaboration.addRole", method: "users.collaboration.AddRole", access: "user", status: 201, description: "Add a role: name, description, policies, receive load alerts (COL-3)" },
	{ rest: "PATCH /collaboration/roles/:id", action: "collaboration.editRole", method: "users.collaboration.EditRole", access: "user", description: "Change a role; its members' rights change on their next request (COL-3, COL-9)" },
	{ rest: "DELETE /collaboration/roles/:id", action: "collaboration.removeRole", method: "users.collaboration.DeleteRole", access: "user", status: 204, description: "Delete a role no member holds (409 names where it is used) (COL-3)" },
	{ rest: "POST /collaboration/roles/:id/copy", action: "collaboration.copyRole", method: "users.collaboration.AddRole", access: "user", status: 201, description: "A new role with the same policies as another (COL-3)" },
	{ rest: "GET /collaboration/policies", action: "collaboration.policies", method: "users.collaboration.GetPolicies", access: "user", description: "The system policy tree and my custom policies, each with its API methods (COL-2)" },
	{ rest: "POST /collaboration/policies", action: "collaboration.addPolicy", method: "users.collaboration.AddPolicy", access: "user", status: 201, description: "Add a custom policy: a name and API methods of the catalogue (COL-2)" },
	{ rest: "DELETE /collaboration/policies/:id", action: "collaboration.removePolicy", method: "users.collaboration.DeletePolicy", access: "user", status: 204, description: "Delete a custom policy no role holds (409 names the roles) (COL-2)" },
	{ rest: "GET /collaboration/shared-with-me", action: "collaboration.sharedWithMe", method: "users.collaboration.GetCollaborations", access: "user", description: "What others share with me: owner, status, items and roles; pending invitations too (COL-5)" },
	{ rest: "POST /collaboration/invitations/:id/accept", action: "collaboration.accept", method: "users.collaboration.AcceptCollaboration", access: "user", description: "Accept an invitation sent to my email; {token} from the email's link (COL-4, COL-5)" },
	{ rest: "POST /collaboration/invitations/:id/reject", action: "collaboration.reject", method: "users.collaboration.RejectCollaboration", access: "user", description: "Reject an invitation sent to my email; {token} from the email's link (COL-5)" },
	{ rest: "POST /collaboration/:id/leave", action: "collaboration.leave", method: "users.collaboration.LeaveCollaboration", access: "user", description: "Leave a collaboration: access to everything shared ends at once (COL-5)" },

	// Billing: balance and ledger (BIL-1, BIL-3)
	{ rest: "GET /billing/balance", action: "billing.balance", method: "billing.account.GetAccount", access: "user", description: "My main and bonus balances" },
	{ rest: "GET /billing/transactions", action: "billing.transactions", method: "billing.account.GetFundAccountHistory", access: "user", description: "My ledger: charges, refills, bonuses, adjustments" },
	{ rest: "GET /billing/history", action: "billing.history", method: "billing.account.GetAccountBillingHistoryByPeriod", access: "user", description: "Billing history by interval, environment and node, JSON or CSV (BIL-4)" },
	{ rest: "GET /billing/summary", action: "billing.summary", method: "billing.account.GetSum", access: "user", description: "Debited, refilled and the balance for a period (BIL-4)" },

	// Billing: paying (PAY-1…PAY-5, BIL-6, BIL-8)
	{ rest: "GET /billing/payment-methods", action: "billing.paymentMethods", method: "billing.paymethod.GetPaymentMethods", access: "user", description: "My saved payment methods: brand, last 4 digits, expiry, which is the default (PAY-3)" },
	{ rest: "POST /billing/payment-methods", action: "billing.addPaymentMethod", method: "billing.paymethod.AddPaymentMethod", access: "user", status: 201, description: "Save a card: checked, handed to the provider, kept as brand, last 4 and expiry only (PAY-3)" },
	{ rest: "DELETE /billing/payment-methods/:id", action: "billing.removePaymentMethod", method: "billing.paymethod.DeletePaymentMethod", access: "user", status: 204, description: "Delete a saved payment method" },
	{ rest: "POST /billing/payment-methods/:id/default", action: "billing.defaultPaymentMethod", method: "billing.paymethod.SetDefaultPaymentMethod", access: "user", description: "Make a saved payment method the default" },
	{ rest: "POST /billing/refill", action: "billing.refill", method: "billing.account.Refill", access: "user", status: 201, description: "Refill my balance with a saved payment method: an invoice and its payment; Idempotency-Key required (PAY-1)" },
	{ rest: "GET /billing/auto-refill", action: "billing.autoRefill", method: "billing.serviceplan.GetAutoPay", access: "user", description: "My automatic refill rule (PAY-4)" },
	{ rest: "PUT /billing/auto-refill", action: "billing.setAutoRefill", method: "billing.serviceplan.SetAutoPay", access: "user", description: "Refill automatically weekly, monthly or when a charge takes the balance below a threshold, with a card that can be charged unattended (PAY-4)" },
	{ rest: "DELETE /billing/auto-refill", action: "billing.deleteAutoRefill", method: "billing.serviceplan.DeleteAutoPay", access: "user", status: 204, description: "Turn my automatic refill off" },
	{ rest: "GET /billing/invoices", action: "billing.invoices", method: "billing.invoice.GetInvoices", access: "user", description: "My invoices, newest first (BIL-6)" },
	{ rest: "GET /billing/invoices/:id", action: "billing.invoice", method: "billing.invoice.GetInvoice", access: "user", description: "One of my invoices; ?format=pdf for the PDF (BIL-6, BIL-8)" },
	{ rest: "POST /billing/invoices/:id/pay", action: "billing.payInvoice", method: "billing.invoice.PayInvoice", access: "user", description: "Pay my pending or failed post-paid invoice with a saved payment method (3-D Secure as a refill's); Idempotency-Key required (BIL-6)" },
	{ rest: "POST /billing/providers/:name/webhook", action: "billing.providerWebhook", access: "public", rawBody: true, description: "A payment provider's signed webhook, verified on the raw body; each event once (PAY-2)" },
	{ rest: "POST /billing/providers/:provider/challenges/:token", action: "billing.paymentChallenge", access: "public", description: "The test provider's 3-D Secure step: {outcome: approve|decline} (PAY-2)" },
	{ rest: "GET /billing/providers/:provider/challenges/:token", action: "billing.paymentReturn", access: "public", description: "Where a provider's own 3-D Secure page sends the customer back (Stripe's return_url): the payment as the provider has it (PAY-2)" },
	{ rest: "GET /pricing", action: "billing.pricing", method: "billing.pricing.GetPricing", access: "user", description: "My group's tariffs with tiers, hourly and monthly (PRC-3)" },
	{ rest: "POST /pricing/estimate", action: "billing.estimate", method: "billing.pricing.Estimate", access: "user", description: "Estimated cost of a topology, min to max per hour, day and month, with the discount (PRC-4)" },
	// Metering (the orchestrator, with an admin's token holding metering.usage.Ingest)
	{ rest: "POST /meta/echo", action: "metering.echo", method: "meta.platform.Echo", access: "admin", testOnly: true, description: "Takes a batch like POST /metering/usage and stores nothing: the no-op that bench/ingest compares ingestion with" },
	{ rest: "POST /metering/usage", action: "metering.ingest", method: "metering.usage.Ingest", access: "admin", description: "Usage samples, up to 1,000 a batch; bad samples are rejected one by one (MTR-1)" },

	// Meta
	{ rest: "GET /meta/ping", action: "accounts.ping", method: "meta.platform.Ping", access: "user", description: "Answers {pong: true}: the API is up and the credentials work" },

	// Administration
	{ rest: "GET /admin/audit", action: "audit.adminList", method: "admin.audit.GetAuditLog", access: "admin", description: "The audit trail: every admin action and every member action for another account, with before/after (ADM-2, COL-8); ?actor&account&action&target&from&to" },
	{ rest: "GET /admin/accounts", action: "accounts.adminList", method: "admin.accounts.GetAccounts", access: "admin", description: "Search accounts by email/name, status and group" },
	{ rest: "GET /admin/accounts/:id", action: "accounts.adminGet", method: "admin.accounts.GetAccount", access: "admin", description: "One account in full: profile, quotas, balance, status history" },
	{ rest: "POST /admin/accounts/:id/group", action: "accounts.adminSetGroup", method: "admin.accounts.SetGroup", access: "admin", description: "Move an account to another group, optionally resetting its balances (ACC-5)" },
	{ rest: "GET /admin/groups", action: "accounts.adminGroups", method: "admin.groups.GetGroups", access: "admin", description: "The groups: type, conversion group, settings" },
	{ rest: "PATCH /admin/groups/:name", action: "accounts.adminEditGroup", method: "admin.groups.EditGroup", access: "admin", description: "Change a group's conversion group, description or settings (password expiry, 2FA required, token lifetime)" },
	{ rest: "POST /admin/groups", action: "accounts.adminCreateGroup", method: "admin.groups.AddGroup", access: "admin", status: 201, description: "Add a group; its quotas follow its type until set" },
	{ rest: "POST /admin/accounts/:id/status", action: "accounts.adminSetStatus", method: "admin.accounts.SetStatus", access: "admin", description: "Suspend, activate, deactivate or destroy an account, with a reason (STS-5)" },
	{ rest: "GET /admin/signin-attempts", action: "auth.adminAttempts", method: "admin.auth.GetSigninAttempts", access: "admin", description: "Failing and locked sign-in pairs, by email and IP (REG-6)" },
	{ rest: "DELETE /admin/signin-attempts", action: "auth.adminResetAttempts", method: "admin.auth.ResetSigninAttempts", access: "admin", description: "Lift sign-in lockouts by email and/or IP" },
	{ rest: "GET /admin/quotas", action: "quotas.adminCatalogue", method: "admin.quotas.GetQuotaKeys", access: "admin", description: "The quota keys with description, unit and every group's value" },
	{ rest: "PUT /admin/groups/:name/quotas/:key", action: "quotas.adminSetGroupQuota", method: "admin.quotas.SetGroupQuota", access: "admin", description: "Set a group's value of a quota" },
	{ rest: "PUT /admin/accounts/:id/quotas/:key", action: "quotas.adminSetOverride", method: "admin.quotas.SetAccountQuota", access: "admin", description: "Override a quota for one account" },
	{ rest: "DELETE /admin/accounts/:id/quotas/:key", action: "quotas.adminDeleteOverride", method: "admin.quotas.RemoveAccountQuota", access: "admin", status: 204, description: "Remove an account's override: the group's value applies again" },
	{ rest: "POST /admin/accounts/:id/fund", action: "billing.adminFund", method: "admin.billing.FundAccount", access: "admin", status: 201, description: "Fund (or, negative, unfund) an account's main or bonus balance, with a note; Idempotency-Key required" },
	{ rest: "POST /admin/accounts/:id/charge", action: "billing.adminCharge", method: "admin.billing.ChargeAccount", access: "admin", status: 201, description: "Charge an account, with a description; Idempotency-Key required" },
	{ rest: "GET /admin/tariffs", action: "billing.adminTariffs", method: "admin.pricing.GetTariffs", access: "admin", description: "The tariffs: resource, mode, tiers (PRC-1)" },
	{ rest: "POST /admin/tariffs", action: "billing.adminCreateTariff", method: "admin.pricing.AddTariff", access: "admin", status: 201, description: "Add a tariff (PRC-1)" },
	{ rest: "PATCH /admin/tariffs/:id", action: "billing.adminEditTariff", method: "admin.pricing.EditTariff", access: "admin", description: "Change a tariff's name, mode or tiers; charges already made keep their prices" },
	{ rest: "GET /admin/pricing-models", action: "billing.adminModels", method: "admin.pricing.GetPricingModels", access: "admin", description: "The pricing models: tariffs and the groups that pay them (PRC-1)" },
	{ rest: "POST /admin/pricing-models", action: "billing.adminCreateModel", method: "admin.pricing.AddPricingModel", access: "admin", status: 201, description: "Add a pricing model; the groups it names leave their previous model" },
	{ rest: "PATCH /admin/pricing-models/:id", action: "billing.adminEditModel", method: "admin.pricing.EditPricingModel", access: "admin", description: "Change a pricing model's tariffs or groups" },
	{ rest: "GET /admin/tax-rates", action: "billing.adminTaxRates", method: "admin.billing.GetTaxRates", access: "admin", description: "Tax rates per country (BIL-8)" },
	{ rest: "PUT /admin/tax-rates/:country", action: "billing.adminSetTaxRate", method: "admin.billing.SetTaxRate", access: "admin", description: "Set a country's tax rate, a decimal fraction such as \"0.19\" (BIL-8)" },
	{ rest: "DELETE /admin/tax-rates/:country", action: "billing.adminDeleteTaxRate", method: "admin.billing.DeleteTaxRate", access: "admin", status: 204, description: "Remove a country's tax rate: no tax there" },
	{ rest: "POST /admin/invoices/:id/void", action: "billing.adminVoidInvoice", method: "admin.billing.VoidInvoice", access: "admin", description: "Void a pending invoice; its payment, if under way, is canceled (BIL-6)" },
	{ rest: "GET /admin/outbox", action: "notifications.adminOutbox", method: "admin.notifications.GetOutbox", access: "admin", description: "Emails the platform sent or queued (subject, text, links)" },
	{ rest: "GET /admin/webhooks", action: "webhooks.list", method: "admin.webhooks.GetWebhooks", access: "admin", description: "Outgoing webhook endpoints: URL and event types, never the secret (BIL-7)" },
	{ rest: "POST /admin/webhooks", action: "webhooks.create", method: "admin.webhooks.AddWebhook", access: "admin", status: 201, description: "Add an outgoing webhook endpoint; its signing secret is shown once (BIL-7)" },
	{ rest: "GET /admin/webhooks/:id", action: "webhooks.get", method: "admin.webhooks.GetWebhook", access: "admin", description: "One outgoing webhook endpoint" },
	{ rest: "DELETE /admin/webhooks/:id", action: "webhooks.remove", method: "admin.webhooks.DeleteWebhook", access: "admin", status: 204, description: "Delete an outgoing webhook endpoint and its deliveries" },
	{ rest: "GET /admin/webhooks/:id/deliveries", action: "webhooks.deliveries", method: "admin.webhooks.GetDeliveries", access: "admin", description: "An endpoint's deliveries, newest first, with every try (time, status code or error, duration)" },
	{ rest: "POST /admin/webhooks/:id/deliveries/:deliveryId/redeliver", action: "webhooks.redeliver", method: "admin.webhooks.Redeliver", access: "admin", description: "Send a delivery again now, with the same event id" },
	{ rest: "POST /admin/jobs/:name/run", action: "gateway.runJob", method: "admin.jobs.RunJob", access: "admin", description: "Run a scheduled job now and answer when it is done" },
	{ rest: "POST /admin/clock", action: "gateway.setClock", method: "admin.clock.SetClock", access: "admin", testOnly: true, description: "Set the platform clock on every service (QM_TEST_CLOCK=1 only)" },
];

/** The API method's group: `users.account.GetUserInfo` → `users.account`. */
export function methodGroup(method: string): string {
	return method.split(".").slice(0, -1).join(".");
}

export function splitRest(rest: string): { verb: string; path: string } {
	const [verb, path] = rest.split(" ");
	return { verb, path };
}

/** The catalogue as GET /api/v1/api-methods shows it: one row per API method. */
export function apiMethods(entries: ApiEntry[] = API_CATALOGUE) {
	const byMethod = new Map<string, { method: string; group: string; description: string; rest: string; routes: string[] }>();
	for (const e of entries) {
		if (!e.method) continue;
		const row = byMethod.get(e.method) ?? { method: e.method, group: methodGroup(e.method), description: e.description, rest: e.rest, routes: [] };
		row.routes.push(e.rest);
		byMethod.set(e.method, row);
	}
	return [...byMethod.values()].sort((a, b) => a.method.localeCompare(b.method));
}

/** The services the gateway's routes call (readiness waits for them). */
export function servicesBehind(entries: ApiEntry[] = API_CATALOGUE): string[] {
	return [...new Set(entries.map(e => e.action.split(".")[0]).filter(s => s !== "gateway"))].sort();
}
