// An invoice's PDF as a customer downloads it (GET /billing/invoices/{id}?format=pdf), read back
// to its text with pdfjs: what a reader of the document would see.
import path from "node:path";
import { getDocument } from "pdfjs-dist/legacy/build/pdf";

const STANDARD_FONTS = path.join(path.dirname(require.resolve("pdfjs-dist/package.json")), "standard_fonts") + path.sep;

/** The invoice's PDF fetched with `token` (its content type checked), as text: one line per text item, pages in order. */
export async function invoicePdfText(apiUrl: string, invoiceId: string, token: string): Promise<string> {
	const pdf = await fetch(`${apiUrl}/billing/invoices/${invoiceId}?format=pdf`, { headers: { authorization: `Bearer ${token}` } });
	if (!pdf.headers.get("content-type")?.includes("application/pdf")) throw new Error(`not a PDF: ${pdf.status} ${pdf.headers.get("content-type")}`);
	const doc = await getDocument({ data: new Uint8Array(await pdf.arrayBuffer()), isEvalSupported: false, standardFontDataUrl: STANDARD_FONTS }).promise;
	let text = "";
	for (let i = 1; i <= doc.numPages; i++) text += (await (await doc.getPage(i)).getTextContent()).items.map(x => ("str" in x ? x.str : "")).join("\n");
	await doc.destroy();
	return text;
}
