// Every service of the platform, by name. SERVICES=a,b picks some of them for one process; the
// `clock` service runs in every process (it moves that process's clock in tests).
import type { ServiceSchema } from "moleculer";
import AccountsService from "./accounts.service";
import AuditService from "./audit.service";
import AuthService from "./auth.service";
import EnvironmentsService from "./environments.service";
import MeteringService from "./metering.service";
import BillingService from "./billing.service";
import CollaborationService from "./collaboration.service";
import ClockService from "./clock.service";
import { createGatewayService } from "./gateway.service";
import NotificationsService from "./notifications.service";
import QuotasService from "./quotas.service";
import TokensService from "./tokens.service";
import WebhooksService from "./webhooks.service";

export const ALL_SERVICES: Record<string, () => ServiceSchema> = {
	gateway: createGatewayService,
	accounts: () => AccountsService,
	auth: () => AuthService,
	notifications: () => NotificationsService,
	tokens: () => TokensService,
	quotas: () => QuotasService,
	environments: () => EnvironmentsService,
	metering: () => MeteringService,
	billing: () => BillingService,
	webhooks: () => WebhooksService,
	collaboration: () => CollaborationService,
	audit: () => AuditService,
};

export function selectServices(list: string[]): ServiceSchema[] {
	const names = list.length ? list : Object.keys(ALL_SERVICES);
	const unknown = names.filter(n => !ALL_SERVICES[n]);
	if (unknown.length) throw new Error(`SERVICES names unknown services: ${unknown.join(", ")} (known: ${Object.keys(ALL_SERVICES).join(", ")})`);
	return [ClockService, ...names.map(n => ALL_SERVICES[n]())];
}
