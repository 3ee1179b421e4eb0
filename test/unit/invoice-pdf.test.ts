/**
 * BIL-8: invoices render as PDF showing net, tax and total. The text is read back with pdf.js
 * (pdfjs-dist's legacy CommonJS build: unpdf only reaches its pdf.js bundle through a dynamic
 * ESM import, which jest's CommonJS runtime refuses).
 */
import path from "node:path";
import { PDFDocument, StandardFonts } from "pdf-lib";
import { getDocument } from "pdfjs-dist/legacy/build/pdf";
import { InvoicePdfInput, renderInvoicePdf, toWinAnsi } from "../../services/billing/invoice-pdf";

const sample: InvoicePdfInput = {
	number: "2027-000001",
	issuedAt: new Date("2027-03-01T09:30:00Z"),
	status: "paid",
	seller: { name: "Cloudlet Hosting GmbH", lines: ["Hauptstraße 1", "10115 Berlin", "Germany"] },
	customer: { name: "Jane Müller", company: "Müller Webdesign", email: "jane@example.com", lines: ["Marienplatz 8", "80331 München"] },
	items: [
		{ description: "Balance refill", amount: "20.00" },
		{ description: "Dedicated IPv4 address, March", amount: "5.00" },
	],
	net: "25.00",
	tax: "4.75",
	taxRate: "19%",
	total: "29.75",
	currency: "USD",
	payment: { provider: "stripe", status: "succeeded", method: "visa •••• 4242" },
};

const STANDARD_FONTS = path.join(path.dirname(require.resolve("pdfjs-dist/package.json")), "standard_fonts") + path.sep;

interface Extracted {
	pages: number;
	text: string;
	info: Record<string, unknown>;
	/** Every piece of text that lies (partly) outside its page, inset by 20 pt. */
	offPage: string[];
}

async function readPdf(bytes: Buffer): Promise<Extracted> {
	const pdf = await getDocument({ data: new Uint8Array(bytes), isEvalSupported: false, standardFontDataUrl: STANDARD_FONTS }).promise;
	const pageTexts: string[] = [];
	const offPage: string[] = [];
	for (let n = 1; n <= pdf.numPages; n++) {
		const page = await pdf.getPage(n);
		const [, , width, height] = page.view;
		for (const item of (await page.getTextContent()).items) {
			if (!("str" in item)) continue;
			pageTexts.push(item.str);
			const [x, y] = [item.transform[4] as number, item.transform[5] as number];
			if (x < 20 || y < 20 || x + item.width > width - 20 || y > height - 20) offPage.push(item.str);
		}
	}
	const { info } = await pdf.getMetadata();
	const pages = pdf.numPages;
	await pdf.destroy();
	return { pages, text: pageTexts.join("\n"), info: info as Record<string, unknown>, offPage };
}

describe("toWinAnsi", () => {
	test.each([
		["Jane Müller", "Jane Müller"],
		["€ 5 – “quoted” • ™ …", "€ 5 – “quoted” • ™ …"],
		["Иван Петров", "???? ??????"],
		["rocket 🚀", "rocket ?"], // one emoji (two UTF-16 units) is one "?"
		["東京", "??"],
		["line\tbreak\nhere", "line break here"],
		["\u0007bell", "?bell"],
	])("%j → %j", (input, expected) => {
		expect(toWinAnsi(input)).toBe(expected);
	});

	test("everything it lets through, Helvetica can draw", async () => {
		const font = await (await PDFDocument.create()).embedFont(StandardFonts.Helvetica);
		const all = Array.from({ length: 0x2200 }, (_, code) => String.fromCodePoint(code)).join("");
		expect(() => font.encodeText(toWinAnsi(all))).not.toThrow();
		expect(() => font.encodeText("Иван")).toThrow(); // the reason for the helper
	});
});

describe("renderInvoicePdf", () => {
	test("is a PDF with the number, customer, items, net, tax with rate and total", async () => {
		const bytes = await renderInvoicePdf(sample);
		expect(bytes.subarray(0, 5).toString("latin1")).toBe("%PDF-");

		const { pages, text, info } = await readPdf(bytes);
		expect(pages).toBe(1);
		for (const expected of [
			"Invoice 2027-000001",
			"2027-03-01",
			"paid",
			"Cloudlet Hosting GmbH",
			"Invoice to",
			"Jane Müller",
			"Müller Webdesign",
			"jane@example.com",
			"80331 München",
			"Amount (USD)",
			"Balance refill",
			"Dedicated IPv4 address, March",
			"20.00",
			"5.00",
			"Net",
			"25.00 USD",
			"Tax (19%)",
			"4.75 USD",
			"Total",
			"29.75 USD",
			"visa •••• 4242",
		]) {
			expect(text).toContain(expected);
		}
		expect(info).toMatchObject({ Title: "Invoice 2027-000001", Producer: "Quartermaster" });
	});

	test("no tax rate → a plain Tax row", async () => {
		const { text } = await readPdf(await renderInvoicePdf({ ...sample, tax: "0.00", taxRate: null, total: "25.00", payment: undefined }));
		expect(text).toMatch(/^Tax$/m);
		expect(text).toContain("0.00 USD");
		expect(text).not.toContain("Payment");
	});

	test("the same input gives the same bytes", async () => {
		const first = await renderInvoicePdf(sample);
		await new Promise(resolve => setTimeout(resolve, 1100)); // a clock-based date would now differ
		const second = await renderInvoicePdf(structuredClone(sample));
		expect(second.equals(first)).toBe(true);
	});

	test("Cyrillic and emoji in the customer name render as ?", async () => {
		const bytes = await renderInvoicePdf({ ...sample, customer: { ...sample.customer, name: "Иван Петров 🚀" } });
		const { text } = await readPdf(bytes);
		expect(text).toContain("???? ?????? ?");
	});

	test("a long description is cut to its column with …", async () => {
		const description = "Environment production-eu ".repeat(20) + "THE-END";
		const { text, offPage } = await readPdf(await renderInvoicePdf({ ...sample, items: [{ description, amount: "1.00" }] }));
		expect(offPage).toEqual([]);
		expect(text).toContain("Environment production-eu Environment");
		expect(text).toMatch(/(…|\.\.\.)$/m); // pdf.js hands "…" back as "..." (Unicode normalisation)
		expect(text).not.toContain("THE-END");
		expect(text).toContain("1.00");
	});

	test("80 items continue on further pages, down to the last item and the totals", async () => {
		const items = Array.from({ length: 80 }, (_, i) => ({ description: `Environment hour #${String(i + 1).padStart(3, "0")}`, amount: "0.25" }));
		const { pages, text, offPage } = await readPdf(await renderInvoicePdf({ ...sample, items, net: "20.00", tax: "3.80", total: "23.80" }));
		expect(pages).toBeGreaterThan(1);
		expect(offPage).toEqual([]);
		expect(text).toContain("Environment hour #001");
		expect(text).toContain("Environment hour #080");
		expect(text).toContain("Invoice 2027-000001 (continued)");
		expect(text).toContain("23.80 USD");
		expect(text).toContain(`page ${pages} of ${pages}`);
	});
});
