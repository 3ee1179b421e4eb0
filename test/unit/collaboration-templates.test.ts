// COL-4, COL-5: the collaboration emails — the invitation with its single link and validity, and the
// primary's notice of an accept, a reject or a leave; data a template needs but lacks is refused.
import { render } from "../../services/notifications/templates";

describe("collaboration emails", () => {
	const link = "https://qm.example/collaboration/invitations/c1?token=t0k";

	test("the invitation names who invites, the link and how long it works", () => {
		const r = render("collaboration-invitation", { owner: "boss@example.com", link, validDays: 7 });
		expect(r.subject).toBe("boss@example.com invites you to collaborate");
		expect(r.text).toContain("the link works once, for 7 days");
		expect(r.links).toEqual([link]);
		expect(r.html).toContain(`<a href="${link.replace("&", "&amp;")}">View invitation</a>`);
	});

	test.each([
		["accepted", "dev@example.com accepted your invitation", "dev@example.com accepted your invitation to collaborate."],
		["rejected", "dev@example.com rejected your invitation", "dev@example.com rejected your invitation to collaborate."],
		["left", "dev@example.com left your collaboration", "dev@example.com left your collaboration and no longer has access to your environments."],
	])("the primary hears: %s", (what, subject, line) => {
		const r = render("collaboration-answer", { member: "dev@example.com", what, link: "https://qm.example/collaboration/members" });
		expect(r.subject).toBe(subject);
		expect(r.text.split("\n")[0]).toBe(line);
		expect(r.inApp?.body).toBe(line);
	});

	test.each([
		["collaboration-invitation", "link", { owner: "a@example.com" }],
		["collaboration-answer", "member", { what: "left", link }],
	])("%s without %s is refused", (template, missing, data) => {
		expect(() => render(template, data)).toThrow(`missing "${missing}"`);
	});
});
