// lib/start-banner.ts: the one line `npm start` prints when the platform is up (issue 14 item 14).
import { startBanner, type StartFacts } from "../../lib/start-banner";

const all = ["gateway", "accounts", "auth", "billing"];
const facts = (over: Partial<StartFacts>): StartFacts => ({ port: 3000, adminEmail: "", adminPasswordGiven: false, services: all, ...over });

describe("startBanner", () => {
	test.each([
		[
			"the admin's password generated",
			facts({ adminEmail: "ops@example.com" }),
			"Quartermaster is up: http://localhost:3000/api/v1 (health: /health, ready: /ready) — administrator: ops@example.com (a generated password is printed once, when it is created)",
		],
		[
			"the admin's password given",
			facts({ port: 8080, adminEmail: "ops@example.com", adminPasswordGiven: true }),
			"Quartermaster is up: http://localhost:8080/api/v1 (health: /health, ready: /ready) — administrator: ops@example.com, with the password in QM_ADMIN_PASSWORD",
		],
		[
			"no admin configured",
			facts({}),
			"Quartermaster is up: http://localhost:3000/api/v1 (health: /health, ready: /ready) — no administrator configured: set QM_ADMIN_EMAIL (and QM_ADMIN_PASSWORD) to create one",
		],
		[
			"a process without the gateway",
			facts({ port: null, services: ["billing", "metering"] }),
			"Quartermaster started billing, metering (no gateway in this process)",
		],
	])("%s", (_name, f, line) => {
		expect(startBanner(f)).toBe(line);
		expect(startBanner(f)).not.toContain("\n");
	});
});
