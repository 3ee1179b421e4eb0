// A real SMTP server (smtp-server) that keeps what it receives, parsed by mailparser.
import { SMTPServer } from "smtp-server";
import { simpleParser } from "mailparser";
import type { AddressInfo } from "net";
import { waitUntil } from "./http";

export interface Mail {
	to: string;
	from: string;
	subject: string;
	text: string;
	html: string;
}

export async function startMailServer(port = 0) {
	const messages: Mail[] = [];
	const server = new SMTPServer({
		authOptional: true,
		disabledCommands: ["STARTTLS", "AUTH"],
		logger: false,
		onData(stream, session, callback) {
			simpleParser(stream)
				.then(m => {
					const to = session.envelope.rcptTo.map(r => r.address.toLowerCase()).join(",");
					messages.push({
						to,
						from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
						subject: m.subject ?? "",
						text: m.text ?? "",
						html: typeof m.html === "string" ? m.html : "",
					});
					callback();
				})
				.catch(callback);
		},
	});
	await new Promise<void>(resolve => server.listen(port, "127.0.0.1", resolve));
	const listening = (server.server.address() as AddressInfo).port;
	return {
		url: `smtp://127.0.0.1:${listening}`,
		messages,
		/** the first message to `to` (and matching `subject`) that arrives */
		waitFor(to: string, subject?: RegExp, timeoutMs = 10_000): Promise<Mail> {
			return waitUntil(async () => messages.find(m => m.to === to.toLowerCase() && (!subject || subject.test(m.subject))), timeoutMs);
		},
		close: () => new Promise<void>(resolve => server.close(() => resolve())),
	};
}

export function linkToken(mail: Mail, path: string): string {
	const m = new RegExp(`https?://[^\\s]+${path}\\?token=([A-Za-z0-9_-]+)`).exec(mail.text);
	if (!m) throw new Error(`No ${path} link in: ${mail.text}`);
	return m[1];
}
