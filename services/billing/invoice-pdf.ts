/**
 * BIL-8: an invoice rendered as PDF — seller, "invoice to", the items, then net, tax and total.
 * Pure: input in, bytes out. The same input gives the same bytes (the dates come from `issuedAt`,
 * never from the clock), so a stored invoice can be rendered again on demand.
 */
import { PDFDocument, PDFFont, PDFPage, rgb, StandardFonts } from "pdf-lib";

export interface InvoicePdfInput {
	number: string; // "2027-000001"
	issuedAt: Date;
	status: "pending" | "paid" | "failed" | "void";
	period?: string; // a post-paid invoice's month, "2027-01"
	dueAt?: Date; // when a post-paid invoice is due
	seller: { name: string; lines: string[] }; // the hosting provider
	customer: { name: string; company?: string; email: string; lines: string[] };
	items: { description: string; amount: string }[]; // decimal strings, already formatted
	net: string;
	tax: string;
	taxRate: string | null; // "19%", or null when no tax applies
	total: string;
	/** what a card is charged, when not the total exactly (the total to whole cents) */
	due?: string;
	currency: string; // "USD"
	payment?: { provider: string; status: string; method?: string }; // method e.g. "visa •••• 4242"
}

// The standard fonts draw WinAnsi only: printable ASCII, printable Latin-1 and these 27.
const WIN_ANSI_EXTRA = new Set("€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ");

/** Replaces each character the standard fonts cannot draw (Cyrillic, emoji, …) with "?". */
export function toWinAnsi(text: string): string {
	let out = "";
	for (const char of text) {
		const code = char.codePointAt(0) as number;
		if (char === "\t" || char === "\n" || char === "\r") out += " ";
		else if ((code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xff) || WIN_ANSI_EXTRA.has(char)) out += char;
		else out += "?";
	}
	return out;
}

const A4: [number, number] = [595.28, 841.89];
const MARGIN = 50;
const SIZE = 10;
const LINE = 15;
const RIGHT = A4[0] - MARGIN;
const AMOUNT_WIDTH = 110; // the amount column, right-aligned at RIGHT
const GREY = rgb(0.4, 0.4, 0.4);

/** Draws one page after another, top to bottom; a row that does not fit starts a new page. */
class Writer {
	page!: PDFPage;
	y = 0;
	constructor(
		readonly doc: PDFDocument,
		readonly regular: PDFFont,
		readonly bold: PDFFont,
		readonly heading: string,
	) {
		this.newPage();
	}

	newPage(): void {
		this.page = this.doc.addPage(A4);
		this.y = A4[1] - MARGIN;
		if (this.doc.getPageCount() === 1) return;
		this.text(`${this.heading} (continued)`, MARGIN, { font: this.bold });
		this.y -= LINE * 1.5;
	}

	/** Keeps the next `rows` rows together on one page. */
	room(rows: number): void {
		if (this.y - rows * LINE < MARGIN + LINE) this.newPage();
	}

	/** Draws at the current line, clipped to `width` with "…"; `align: "right"` ends the text at x. */
	text(raw: string, x: number, opts: { font?: PDFFont; size?: number; width?: number; align?: "right"; grey?: boolean } = {}): void {
		const font = opts.font ?? this.regular;
		const size = opts.size ?? SIZE;
		const width = opts.width ?? (opts.align === "right" ? x - MARGIN : RIGHT - x);
		const text = fit(toWinAnsi(raw), font, size, width);
		const left = opts.align === "right" ? x - font.widthOfTextAtSize(text, size) : x;
		this.page.drawText(text, { x: left, y: this.y, font, size, color: opts.grey ? GREY : undefined });
	}

	rule(): void {
		this.page.drawLine({ start: { x: MARGIN, y: this.y + LINE - 4 }, end: { x: RIGHT, y: this.y + LINE - 4 }, thickness: 0.5, color: GREY });
	}

	tableHeader(currency: string): void {
		this.room(2);
		this.text("Description", MARGIN, { font: this.bold });
		this.text(`Amount (${currency})`, RIGHT, { font: this.bold, align: "right" });
		this.y -= LINE;
		this.rule();
	}
}

/** Cuts `text` so it fits `width`, ending in "…" (WinAnsi 0x85: Helvetica draws it, no "..." needed). */
function fit(text: string, font: PDFFont, size: number, width: number): string {
	if (font.widthOfTextAtSize(text, size) <= width) return text;
	const chars = [...text];
	while (chars.length > 0 && font.widthOfTextAtSize(chars.join("") + "…", size) > width) chars.pop();
	return chars.join("") + "…";
}

export async function renderInvoicePdf(input: InvoicePdfInput): Promise<Buffer> {
	const heading = `Invoice ${input.number}`;
	const doc = await PDFDocument.create({ updateMetadata: false });
	doc.setTitle(heading);
	doc.setCreator("Quartermaster billing");
	doc.setProducer("Quartermaster");
	// A copy: pdf-lib checks `instanceof Date`, which a Date from another realm (a jest sandbox,
	// structuredClone) fails.
	const issuedAt = new Date(input.issuedAt.getTime());
	doc.setCreationDate(issuedAt);
	doc.setModificationDate(issuedAt);
	const w = new Writer(doc, await doc.embedFont(StandardFonts.Helvetica), await doc.embedFont(StandardFonts.HelveticaBold), heading);
	const half = (RIGHT - MARGIN) / 2;

	w.text(heading, MARGIN, { font: w.bold, size: 20 });
	w.y -= LINE * 1.6;
	w.text(`Issued: ${issuedAt.toISOString().slice(0, 10)}`, MARGIN);
	w.y -= LINE;
	w.text(`Status: ${input.status}`, MARGIN);
	for (const line of [input.period && `Period: ${input.period}`, input.dueAt && `Due: ${new Date(input.dueAt.getTime()).toISOString().slice(0, 10)}`]) {
		if (!line) continue;
		w.y -= LINE;
		w.text(line, MARGIN);
	}
	w.y -= LINE * 2;

	// Seller on the left, "Invoice to" on the right, side by side.
	const c = input.customer;
	const seller = [input.seller.name, ...input.seller.lines];
	const customer = [c.name, ...(c.company ? [c.company] : []), c.email, ...c.lines];
	w.text("From", MARGIN, { grey: true });
	w.text("Invoice to", MARGIN + half, { grey: true });
	for (let i = 0; i < Math.max(seller.length, customer.length); i++) {
		w.y -= LINE;
		if (i < seller.length) w.text(seller[i], MARGIN, { width: half - 10, font: i === 0 ? w.bold : w.regular });
		if (i < customer.length) w.text(customer[i], MARGIN + half, { width: half, font: i === 0 ? w.bold : w.regular });
	}
	w.y -= LINE * 2.5;

	w.tableHeader(input.currency);
	for (const item of input.items) {
		w.y -= LINE;
		if (w.y < MARGIN + LINE) {
			w.newPage();
			w.tableHeader(input.currency);
			w.y -= LINE;
		}
		w.text(item.description, MARGIN, { width: RIGHT - MARGIN - AMOUNT_WIDTH - 10 });
		w.text(item.amount, RIGHT, { align: "right", width: AMOUNT_WIDTH });
	}

	// BIL-8: net, tax and total — kept together with the payment line.
	w.y -= LINE * 1.5;
	w.room((input.payment ? 6 : 4) + (input.due ? 1 : 0));
	w.rule();
	const totals: [string, string, PDFFont][] = [
		["Net", input.net, w.regular],
		[input.taxRate === null ? "Tax" : `Tax (${input.taxRate})`, input.tax, w.regular],
		["Total", input.total, w.bold],
		...(input.due ? ([["Amount due", input.due, w.bold]] as [string, string, PDFFont][]) : []),
	];
	for (const [label, amount, font] of totals) {
		w.text(label, RIGHT - AMOUNT_WIDTH - 120, { font, width: 110 });
		w.text(`${amount} ${input.currency}`, RIGHT, { font, align: "right", width: AMOUNT_WIDTH });
		w.y -= LINE;
	}
	if (input.payment) {
		const p = input.payment;
		w.y -= LINE;
		w.text(`Payment: ${[p.provider, p.status, p.method].filter(Boolean).join(", ")}`, MARGIN, { grey: true });
	}

	const pages = doc.getPages();
	pages.forEach((page, i) => {
		const label = toWinAnsi(`${heading} - page ${i + 1} of ${pages.length}`);
		page.drawText(label, { x: RIGHT - w.regular.widthOfTextAtSize(label, 8), y: MARGIN / 2, size: 8, font: w.regular, color: GREY });
	});
	return Buffer.from(await doc.save());
}
