// COL-8, NTF-2: who is emailed about a stop or deletion of an environment, and how the email names
// the action's initiator (services/environments/notices.ts).
import { accountChangeActor, actionNotices, byWhom, requestActor, type Actor, type ActionFacts } from "../../services/environments/notices";
import { render } from "../../services/notifications/templates";

const OWNER = { id: "acc_owner", email: "owner@example.com" };
const MAKER = { id: "acc_maker", email: "maker@example.com" };
const OTHER = { id: "acc_other", email: "other@example.com" };
const env = (initiator?: { id: string; email: string }): ActionFacts["env"] => ({ _id: "env_1", name: "shop", rev: 7, ownerId: OWNER.id, initiator });

describe("actionNotices", () => {
	const owner: Actor = { kind: "owner", ...OWNER };
	const member = (m: { id: string; email: string }): Actor => ({ kind: "member", ...m });
	const admin: Actor = { kind: "admin", email: "root@example.com", reason: "unpaid" };
	const platform: Actor = { kind: "platform", reason: "balance below the minimum" };

	test.each<[string, ActionFacts["env"], Actor, [string, string][]]>([
		["the owner, on what it made", env(), owner, []],
		["an administrator, on what the owner made", env(), admin, []],
		["the platform, on what the owner made", env(), platform, []],
		["a member, on what the owner made", env(), member(MAKER), [[MAKER.email, "the member who did it"], [OWNER.email, "its owner"]]],
		["the owner, on what a member made", env(MAKER), owner, [[MAKER.email, `the member who created it for ${OWNER.email}`], [OWNER.email, "its owner"]]],
		["the platform, on what a member made", env(MAKER), platform, [[MAKER.email, `the member who created it for ${OWNER.email}`], [OWNER.email, "its owner"]]],
		["the member who made it", env(MAKER), member(MAKER), [[MAKER.email, "the member who did it"], [OWNER.email, "its owner"]]],
		[
			"another member, on what a member made",
			env(MAKER),
			member(OTHER),
			[
				[OTHER.email, "the member who did it"],
				[MAKER.email, `the member who created it for ${OWNER.email}`],
				[OWNER.email, "its owner"],
			],
		],
	])("%s", (_, e, actor, expected) => {
		const notices = actionNotices({ env: e, ownerEmail: OWNER.email, action: "stopped", actor });
		expect(notices.map(n => [n.to, n.data.role])).toEqual(expected);
		// One dedup key per action and recipient (NTF-1).
		expect(new Set(notices.map(n => n.dedupKey)).size).toBe(notices.length);
		for (const n of notices) expect(n.dedupKey).toBe(`environment-action:stopped:env_1:7:${n.accountId}`);
	});

	test("the data names the action, the initiator and the reason", () => {
		const [n] = actionNotices({ env: env(MAKER), ownerEmail: OWNER.email, action: "deleted", actor: admin });
		expect(n.data).toEqual({ env: "shop", owner: OWNER.email, action: "deleted", by: "the administrator root@example.com", role: expect.any(String), reason: "unpaid" });
		const [m] = actionNotices({ env: env(), ownerEmail: OWNER.email, action: "stopped", actor: member(MAKER) });
		expect(m.data).not.toHaveProperty("reason");
	});
});

describe("the initiator as an email names it", () => {
	test.each<[Actor, string]>([
		[{ kind: "member", ...MAKER }, MAKER.email],
		[{ kind: "owner", ...OWNER }, OWNER.email],
		[{ kind: "admin", email: "root@example.com" }, "the administrator root@example.com"],
		[{ kind: "platform" }, "the platform"],
	])("%j → %s", (actor, name) => expect(byWhom(actor)).toBe(name));

	test.each<[string | undefined, string | undefined, Actor]>([
		["system", "balance below the minimum", { kind: "platform", reason: "balance below the minimum" }],
		[undefined, undefined, { kind: "platform", reason: undefined }],
		["admin:root@example.com", "unpaid", { kind: "admin", email: "root@example.com", reason: "unpaid" }],
	])("an account change by %s (%s)", (actor, reason, expected) => expect(accountChangeActor(actor, reason)).toEqual(expected));

	test("a request for another account is a member's, else the owner's", () => {
		expect(requestActor({ user: MAKER, onBehalfOf: { accountId: OWNER.id } })).toEqual({ kind: "member", ...MAKER });
		expect(requestActor({ user: OWNER })).toEqual({ kind: "owner", ...OWNER });
	});
});

describe("the environment-action email (services/notifications/templates.ts)", () => {
	test("names the environment, the owner, the action, its initiator, the reason and why the reader gets it", () => {
		const [n] = actionNotices({ env: env(MAKER), ownerEmail: OWNER.email, action: "stopped", actor: { kind: "platform", reason: "balance below the minimum" } });
		const r = render("environment-action", n.data);
		expect(r.subject).toBe("Environment shop stopped by the platform");
		expect(r.text.split("\n")).toEqual([
			`Environment shop of ${OWNER.email} was stopped by the platform.`,
			"Reason: balance below the minimum",
			`You get this email as the member who created it for ${OWNER.email}.`,
		]);
		expect(r.inApp).toEqual({ title: "Environment shop stopped", body: `Environment shop of ${OWNER.email} was stopped by the platform.` });
	});

	test.each(["env", "owner", "action", "by", "role"])("without %s it is refused", missing => {
		const data: Record<string, string> = { env: "shop", owner: OWNER.email, action: "deleted", by: MAKER.email, role: "its owner" };
		delete data[missing];
		expect(() => render("environment-action", data)).toThrow(`missing "${missing}"`);
	});
});
