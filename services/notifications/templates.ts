// Named email templates (NTF-1): subject, text and HTML from the same data. Links are absolute,
// built on PUBLIC_URL by the caller. Kept as code so a template change is reviewed like code.

export interface Rendered {
	subject: string;
	text: string;
	html: string;
	links: string[];
	/** what the in-app feed shows, when the template also has an in-app notice */
	inApp?: { title: string; body: string };
}

type Data = Record<string, string | number | undefined>;

export function escapeHtml(s: string): string {
	return s.replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

function page(title: string, paragraphs: string[], link?: { href: string; label: string }): string {
	const body = paragraphs.map(p => `<p>${escapeHtml(p)}</p>`).join("\n");
	const button = link ? `<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a></p>` : "";
	return `<!doctype html><html><body><h1>${escapeHtml(title)}</h1>\n${body}\n${button}</body></html>`;
}

function required(data: Data, key: string): string {
	const v = data[key];
	if (v === undefined || v === "") throw new Error(`Template data is missing "${key}"`);
	return String(v);
}

const TEMPLATES: Record<string, (d: Data) => Rendered> = {
	activation(d) {
		const link = required(d, "link");
		const hours = d.validHours ?? 24;
		const text = [
			"Welcome to the platform!",
			"",
			`Confirm your email address and choose a password here (the link works once, for ${hours} hours):`,
			link,
			"",
			"If you did not sign up, ignore this email.",
		].join("\n");
		return {
			subject: "Activate your account",
			text,
			html: page(
				"Activate your account",
				[`Confirm your email address and choose a password. The link works once, for ${hours} hours.`, "If you did not sign up, ignore this email."],
				{ href: link, label: "Activate my account" },
			),
			links: [link],
		};
	},
	"already-registered"(d) {
		const signin = required(d, "signinLink");
		const reset = required(d, "resetLink");
		const text = [
			"Someone — perhaps you — tried to sign up with this email address, which already has an account.",
			"",
			`Sign in: ${signin}`,
			`Forgot your password? Reset it: ${reset}`,
			"",
			"If this was not you, you can ignore this email; nothing has changed.",
		].join("\n");
		return {
			subject: "You already have an account",
			text,
			html: page(
				"You already have an account",
				[
					"Someone — perhaps you — tried to sign up with this email address, which already has an account.",
					"If this was not you, you can ignore this email; nothing has changed.",
				],
				{ href: signin, label: "Sign in" },
			),
			links: [signin, reset],
		};
	},
	welcome(d) {
		const signin = required(d, "signinLink");
		const name = d.name ? `, ${d.name}` : "";
		const text = [`Welcome${name}! Your account is active.`, "", `Sign in: ${signin}`].join("\n");
		return {
			subject: "Your account is ready",
			text,
			html: page("Your account is ready", [`Welcome${name}! Your account is active.`], { href: signin, label: "Sign in" }),
			links: [signin],
			inApp: { title: "Welcome!", body: "Your account is active." },
		};
	},
};

export function templateNames(): string[] {
	return Object.keys(TEMPLATES);
}

export function render(template: string, data: Data): Rendered {
	const t = TEMPLATES[template];
	if (!t) throw new Error(`Unknown email template "${template}"`);
	return t(data);
}
