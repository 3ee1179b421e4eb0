// Issue 14 item 13: every `curl` example of README.md runs, with curl itself, against a started
// platform, in the order the README gives them — a broken example (a missing field, a renamed
// route) fails here. The README's placeholders (<session>, qm_pat_…, <env id>) are filled from the
// answers of the examples before them, as a reader would.
import { execFile } from "child_process";
import { promisify } from "util";
import { readmeCurls, shellCommands } from "../helpers/readme-curl";
import { signInWhenReady } from "../helpers/http";
import { startPlatform, type Platform } from "../helpers/platform";

const run = promisify(execFile);
const ADMIN = { email: "readme-admin@example.com", password: "Readme-adm1n-passw0rd!" };

describe("README.md's curl examples", () => {
	let p: Platform;
	let origin: string;
	let ingestToken: string;

	beforeAll(async () => {
		p = await startPlatform({ env: { QM_TEST_CLOCK: "1", QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password } });
		origin = new URL(p.url).host;
		// The sample of the example is dated 2026-11-26T10:00:20Z: the platform's clock is set just after it.
		await p.broker.call("clock.set", { now: "2026-11-26T10:05:00Z" });
		const admin = await signInWhenReady(p.http, ADMIN);
		// "the orchestrator posts usage with an administrator's token holding metering.usage.Ingest"
		const t = await p.http.post("/tokens", { password: ADMIN.password, description: "orchestrator", apiList: ["metering.usage.Ingest"] }, { token: admin });
		ingestToken = t.body.token;
	});
	afterAll(() => p?.stop());

	it("reads sh the way sh does", () => {
		expect(shellCommands(`# a comment\ncurl -s 'a b' -d '{"x":"it'"'"'s"}' \\\n  -H "h: \\"q\\"" # trailing\necho x`)).toEqual([
			["curl", "-s", "a b", "-d", `{"x":"it's"}`, "-H", 'h: "q"'],
			["echo", "x"],
		]);
	});

	it("has curl examples, and each answers 2xx", async () => {
		const curls = readmeCurls();
		expect(curls.length).toBeGreaterThanOrEqual(10);
		const values: Record<string, string> = {};
		const fill = (word: string, url: string) =>
			word
				.replace("localhost:3000", origin)
				.replace(/qm_pat_…/g, () => (url.includes("/metering/usage") ? ingestToken : need("qm_pat_…")))
				.replace(/<[^<>]+>/g, placeholder => need(placeholder));
		const need = (placeholder: string) => {
			const v = values[placeholder];
			if (v === undefined) throw new Error(`README.md uses ${placeholder} before any example gives it (or this test does not know it)`);
			return v;
		};

		for (const words of curls) {
			const url = words.slice(1).find(w => /^'?[a-z]*:?\/?\/?localhost:3000/.test(w)) ?? "";
			const label = `${words.find(w => /^-X/.test(w)) ?? "GET"} ${url}`;
			if (url.includes("/auth/activate")) {
				// "the activation link is in the email"
				const mail = (await p.broker.call("notifications.adminOutbox", { to: "me@example.com" })) as { rows: { template: string; links: string[] }[] };
				values["<from the link>"] = new URL(mail.rows.find(m => m.template === "activation")!.links[0]).searchParams.get("token")!;
			}
			const args = words.slice(1).map(w => fill(w, url));
			const { stdout } = await run("curl", [...args, "--max-time", "10", "-w", "\n%{http_code}"]);
			const cut = stdout.lastIndexOf("\n");
			const status = Number(stdout.slice(cut + 1));
			const text = stdout.slice(0, cut);
			expect([label, status >= 200 && status < 300 ? "2xx" : `${status} ${text}`]).toEqual([label, "2xx"]);
			const body = text.startsWith("{") ? JSON.parse(text) : text;
			if (Array.isArray(body?.rejected)) expect([label, body.rejected]).toEqual([label, []]); // metering takes every sample
			// What later examples name: the session, the token shown once, the environment and its node.
			if (url.includes("/auth/signin")) values["<session>"] = body.session;
			if (url.endsWith("/tokens")) values["qm_pat_…"] = body.token;
			if (url.endsWith("/environments")) {
				values["<env id>"] = body.id;
				values["<from the env's nodes[].nodeIds>"] = body.nodes[0].nodeIds[0];
			}
		}
	});
});
