// The one line a start prints once the platform is up: where the API is, and how to get in as an
// administrator (the generated password, when there is one, is printed apart, once). Pure.

export interface StartFacts {
	/** the gateway's port in this process, or null when this process runs no gateway */
	port: number | null;
	/** QM_ADMIN_EMAIL, or "" */
	adminEmail: string;
	/** QM_ADMIN_PASSWORD was given (else a generated one is printed once, when the admin is created) */
	adminPasswordGiven: boolean;
	/** the services this process runs */
	services: string[];
}

export function startBanner(f: StartFacts): string {
	const where =
		f.port === null
			? `Quartermaster started ${f.services.join(", ")} (no gateway in this process)`
			: `Quartermaster is up: http://localhost:${f.port}/api/v1 (health: /health, ready: /ready)`;
	if (f.port === null) return where;
	const admin = !f.adminEmail
		? "no administrator configured: set QM_ADMIN_EMAIL (and QM_ADMIN_PASSWORD) to create one"
		: f.adminPasswordGiven
			? `administrator: ${f.adminEmail}, with the password in QM_ADMIN_PASSWORD`
			: `administrator: ${f.adminEmail} (a generated password is printed once, when it is created)`;
	return `${where} — ${admin}`;
}
