// NTF-1, BIL-6: the post-paid emails (services/notifications/templates.ts) — an issued invoice paid
// at once with the saved card, one due by a date with the link to pay it, and the deactivation for
// an overdue one; each says the amount, and a template refuses data it needs but lacks.
import { render, templateNames } from "../../services/notifications/templates";

const base = {
	number: "2027-000042",
	period: "January 2027",
	total: "12.34",
	currency: "USD",
	dueAt: "2027-02-15",
	invoiceLink: "https://qm.example/account/billing/invoices/inv_1",
};

describe("post-paid invoice emails", () => {
	test("paid automatically: the amount and the card, no pay link", () => {
		const r = render("postpaid-invoice", { ...base, paidWith: "card •••• 4242" });
		expect(r.subject).toBe("Invoice 2027-000042: 12.34 USD, paid");
		expect(r.text).toContain("Invoice 2027-000042 for your usage in January 2027: 12.34 USD.");
		expect(r.text).toContain("It was paid automatically with card •••• 4242");
		expect(r.links).toEqual([base.invoiceLink]);
		expect(r.inApp?.title).toBe("Invoice 2027-000042 paid");
	});

	test("due: the amount, the due date and the link to pay it", () => {
		const payLink = "https://qm.example/account/billing/invoices/inv_1/pay";
		const r = render("postpaid-invoice", { ...base, payLink });
		expect(r.subject).toBe("Invoice 2027-000042: 12.34 USD, due by 2027-02-15");
		expect(r.text).toContain("It is due by 2027-02-15");
		expect(r.text).toContain(`Pay it here: ${payLink}`);
		expect(r.html).toContain(`<a href="${payLink}">Pay the invoice</a>`);
		expect(r.links).toEqual([payLink]);
	});

	test("overdue: the account is deactivated, which invoice, and how to come back", () => {
		const payLink = "https://qm.example/account/billing/invoices/inv_1/pay";
		const r = render("postpaid-overdue", { number: base.number, total: "12.34", currency: "USD", dueAt: "2027-02-15", payLink });
		expect(r.subject).toBe("Your account is deactivated: invoice 2027-000042 is overdue");
		expect(r.text).toContain("invoice 2027-000042 of 12.34 USD was due on 2027-02-15 and is not paid");
		expect(r.text).toContain(`Pay it here: ${payLink}`);
		expect(r.inApp?.title).toBe("Account deactivated: invoice overdue");
	});

	test.each([
		["postpaid-invoice", "payLink", { ...base }],
		["postpaid-invoice", "invoiceLink", { ...base, paidWith: "card •••• 4242", invoiceLink: "" }],
		["postpaid-overdue", "payLink", { number: "1", total: "1.00", currency: "USD", dueAt: "2027-02-15" }],
	])("%s without %s is refused", (template, missing, data) => {
		expect(() => render(template, data)).toThrow(`missing "${missing}"`);
	});

	test("both are known templates (notifications.send accepts them)", () => {
		expect(templateNames()).toEqual(expect.arrayContaining(["postpaid-invoice", "postpaid-overdue"]));
	});
});
