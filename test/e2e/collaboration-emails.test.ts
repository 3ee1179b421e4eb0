// COL-8, NTF-2 through HTTP: an email about an action on an environment names the action and its
// initiator (a member's email, an administrator's, or the platform, with the reason) and goes to
// the initiator and the owner — and to the member who created the environment for the owner. The
// owner acting on what it made itself gets no such email (as before). Delivered over SMTP to a real
// server (test/helpers/mail.ts) and kept in the outbox, once per action and recipient.
import { createAccount, startPlatform, type Platform } from "../helpers/platform";
import { signInWhenReady } from "../helpers/http";
import { startMailServer } from "../helpers/mail";

const ADMIN = { email: "emails-admin@example.com", password: "Emails-adm1n-passw0rd!" };
const PASSWORD = "Initiator-pass-1!";
const OWNER = "mail-owner@example.com";
const MEMBER = "mail-member@example.com";
const node = { layer: "cp", type: "nginx", reservedCloudlets: 1, scalingLimit: 2 };

interface Mail {
	to: string;
	template: string;
	subject: string;
	text: string;
}

describe("collaboration: emails about an action name it and reach the initiator and the owner (COL-8, NTF-2)", () => {
	let p: Platform;
	let smtp: Awaited<ReturnType<typeof startMailServer>>;
	let admin = "";
	const session: Record<string, string> = {};
	const ids: Record<string, string> = {};
	const as = (email: string) => ({ token: session[email] });
	/** The environment-action emails of `to` (any order: several may share a millisecond). */
	const notices = async (to: string) =>
		((await p.broker.call("notifications.adminOutbox", { to, pageSize: 100 })) as { rows: Mail[] }).rows.filter(m => m.template === "environment-action");
	const about = (mails: Mail[], subject: string) => mails.filter(m => m.subject === subject);
	const create = async (email: string, name: string, ownerId?: string) => {
		const r = await p.http.post("/environments", { name, ...(ownerId ? { ownerId } : {}), nodes: [node] }, as(email));
		expect(r.status).toBe(201);
		return r.body.id as string;
	};

	beforeAll(async () => {
		smtp = await startMailServer();
		p = await startPlatform({ env: { QM_ADMIN_EMAIL: ADMIN.email, QM_ADMIN_PASSWORD: ADMIN.password, SMTP_URL: smtp.url } });
		admin = await signInWhenReady(p.http, ADMIN);
		for (const email of [OWNER, MEMBER]) {
			ids[email] = (await createAccount(p, email, PASSWORD)).id;
			session[email] = (await p.http.post("/auth/signin", { email, password: PASSWORD })).body.session;
		}
		expect((await p.http.put(`/admin/accounts/${ids[OWNER]}/quotas/collaboration.enabled`, { value: 1 }, { token: admin })).status).toBe(200);
		const role = await p.http.post("/collaboration/roles", { name: "Builder", policies: ["environment.managing", "environment.state"] }, as(OWNER));
		const invited = await p.http.post("/collaboration/members", { email: MEMBER, resources: [{ type: "ACCOUNT", roleIds: [role.body.id] }] }, as(OWNER));
		expect(invited.status).toBe(201);
		const link = ((await p.broker.call("notifications.adminOutbox", { to: MEMBER })) as { rows: { template: string; links: string[] }[] }).rows.find(
			m => m.template === "collaboration-invitation",
		)!.links[0];
		const token = new URL(link).searchParams.get("token");
		expect((await p.http.post(`/collaboration/invitations/${invited.body.id}/accept`, { token }, as(MEMBER))).status).toBe(200);
		ids.ownersOwn = await create(OWNER, "owners-own");
		ids.byMember = await create(MEMBER, "by-member", ids[OWNER]);
	});
	afterAll(async () => {
		await p?.stop();
		await smtp?.close();
	});

	it("a member stops the owner's environment: the member and the owner are told, naming the member", async () => {
		expect((await p.http.post(`/environments/${ids.ownersOwn}/stop`, undefined, as(MEMBER))).status).toBe(200);
		for (const [to, role] of [
			[OWNER, "its owner"],
			[MEMBER, "the member who did it"],
		]) {
			const mails = await notices(to);
			expect(mails).toHaveLength(1);
			expect(mails[0].subject).toBe(`Environment owners-own stopped by ${MEMBER}`);
			expect(mails[0].text).toContain(`Environment owners-own of ${OWNER} was stopped by ${MEMBER}.`);
			expect(mails[0].text).toContain(`You get this email as ${role}.`);
		}
		// Delivered over SMTP as well.
		const delivered = await smtp.waitFor(OWNER, /owners-own stopped by/);
		expect(delivered.text).toContain(MEMBER);
	});

	it("the owner acting on what it made itself sends no such email", async () => {
		expect((await p.http.post(`/environments/${ids.ownersOwn}/start`, undefined, as(OWNER))).status).toBe(200);
		expect((await p.http.post(`/environments/${ids.ownersOwn}/stop`, undefined, as(OWNER))).status).toBe(200);
		expect(await notices(OWNER)).toHaveLength(1);
		expect(await notices(MEMBER)).toHaveLength(1);
	});

	it("an administrator's deactivation stops the member's environment: the member and the owner are told who and why", async () => {
		const off = await p.http.post(`/admin/accounts/${ids[OWNER]}/status`, { status: "deactivated", reason: "unpaid invoice" }, { token: admin });
		expect(off.status).toBe(200);
		for (const [to, role] of [
			[OWNER, "its owner"],
			[MEMBER, `the member who created it for ${OWNER}`],
		]) {
			const mails = await notices(to);
			expect(mails).toHaveLength(2); // the owner's own stopped environment was not running: nothing about it
			const [mail] = about(mails, `Environment by-member stopped by the administrator ${ADMIN.email}`);
			expect(mail.text).toContain("Reason: unpaid invoice");
			expect(mail.text).toContain(`You get this email as ${role}.`);
		}
		// The owner still gets the account's own email, as before.
		const owners = ((await p.broker.call("notifications.adminOutbox", { to: OWNER })) as { rows: Mail[] }).rows;
		expect(owners.filter(m => m.template === "account-status").map(m => m.subject)).toEqual(["Your account is deactivated"]);
		// Active again: the environment starts; a start sends nothing.
		expect((await p.http.post(`/admin/accounts/${ids[OWNER]}/status`, { status: "active", reason: "paid" }, { token: admin })).status).toBe(200);
		expect((await p.http.get(`/environments/${ids.byMember}`, as(OWNER))).body.status).toBe("running");
		expect(await notices(MEMBER)).toHaveLength(2);
	});

	it("a member deletes the owner's environment: the member and the owner are told, once each", async () => {
		expect((await p.http.del(`/environments/${ids.byMember}`, as(MEMBER))).status).toBe(204);
		expect((await p.http.del(`/environments/${ids.byMember}`, as(MEMBER))).status).toBe(404);
		for (const to of [OWNER, MEMBER]) {
			const mails = await notices(to);
			expect(mails).toHaveLength(3);
			expect(about(mails, `Environment by-member deleted by ${MEMBER}`)).toHaveLength(1);
		}
	});

	it("the platform deletes a destroyed account's environments: the member who created one is told, naming the platform and why", async () => {
		const another = await create(MEMBER, "another", ids[OWNER]);
		const r = (await p.broker.call("environments.deleteForAccount", {
			accountId: ids[OWNER],
			actor: "system",
			reason: "deactivated longer than the destroy period",
		})) as { deleted: number };
		expect(r.deleted).toBe(2);
		expect((await p.http.get(`/environments/${another}`, as(OWNER))).status).toBe(404);
		for (const to of [OWNER, MEMBER]) {
			const mails = await notices(to);
			expect(mails).toHaveLength(4); // owners-own, made by the owner, is deleted too: nothing about it here
			const [mail] = about(mails, "Environment another deleted by the platform");
			expect(mail.text).toContain("Reason: deactivated longer than the destroy period");
		}
	});
});
