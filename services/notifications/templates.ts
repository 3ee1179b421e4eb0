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
	"password-changed"(d) {
		const reset = required(d, "resetLink");
		const how = d.how === "reset" ? "reset with an emailed link" : d.how === "expired" ? "renewed after it expired" : "changed";
		const text = [`The password of your account was ${how} on ${required(d, "when")}.`, "", `If this was not you, reset it now: ${reset}`].join("\n");
		return {
			subject: "Your password was changed",
			text,
			html: page("Your password was changed", [`The password of your account was ${how} on ${required(d, "when")}.`, "If this was not you, reset it now."], {
				href: reset,
				label: "Reset my password",
			}),
			links: [reset],
		};
	},
	"password-reset"(d) {
		const link = required(d, "link");
		const text = [
			"Someone — perhaps you — asked to reset the password of your account.",
			"",
			`Choose a new password here (the link works once, for 30 minutes):`,
			link,
			"",
			"If this was not you, ignore this email: your password stays as it is.",
		].join("\n");
		return {
			subject: "Confirm account password reset",
			text,
			html: page(
				"Confirm account password reset",
				[
					"Someone — perhaps you — asked to reset the password of your account. The link works once, for 30 minutes.",
					"If this was not you, ignore this email.",
				],
				{ href: link, label: "Reset password" },
			),
			links: [link],
		};
	},
	"password-expiry"(d) {
		const days = Number(required(d, "days"));
		const link = required(d, "changeLink");
		const when = days === 1 ? "tomorrow" : `in ${days} days`;
		const text = [`Your password expires ${when} (${required(d, "expiresAt")}).`, "", `Change it now to keep access without interruption: ${link}`].join("\n");
		return {
			subject: `Your password expires ${when}`,
			text,
			html: page(`Your password expires ${when}`, [`Your password expires ${when} (${d.expiresAt}). Change it now to keep access without interruption.`], {
				href: link,
				label: "Change password",
			}),
			links: [link],
			inApp: { title: `Password expires ${when}`, body: "Change your password to keep access without interruption." },
		};
	},
	"2fa-enabled"(d) {
		const text = [
			`Two-factor authentication was turned on for your account on ${required(d, "when")}.`,
			"",
			"Keep your recovery codes somewhere safe: they are the only way in if you lose your device.",
		].join("\n");
		return { subject: "Two-factor authentication is on", text, html: page("Two-factor authentication is on", text.split("\n").filter(Boolean)), links: [] };
	},
	"2fa-disabled"(d) {
		const text = [
			`Two-factor authentication was turned off for your account on ${required(d, "when")}.`,
			"",
			"If this was not you, change your password and turn it on again.",
		].join("\n");
		return { subject: "Two-factor authentication is off", text, html: page("Two-factor authentication is off", text.split("\n").filter(Boolean)), links: [] };
	},
	"2fa-codes-regenerated"(d) {
		const text = [`New recovery codes were generated for your account on ${required(d, "when")}. The old ones no longer work.`].join("\n");
		return { subject: "New recovery codes", text, html: page("New recovery codes", [text]), links: [] };
	},
	"2fa-recovery-used"(d) {
		const left = Number(required(d, "remaining"));
		const warn = left <= 3 ? ` Only ${left} left: generate new ones soon.` : "";
		const text = `A recovery code was used to sign in to your account on ${required(d, "when")}. ${left} unused codes remain.${warn}`;
		return {
			subject: "A recovery code was used",
			text,
			html: page("A recovery code was used", [text]),
			links: [],
			inApp: { title: "Recovery code used", body: `${left} unused recovery codes remain.${warn}` },
		};
	},
	"token-expiry"(d) {
		const days = Number(required(d, "days"));
		const link = required(d, "tokensLink");
		const when = days === 1 ? "tomorrow" : `in ${days} days`;
		const text = [
			`Your access token "${required(d, "description")}" (${required(d, "prefix")}…) expires ${when} (${required(d, "expiresAt")}).`,
			"",
			`Scripts and tools that use it will stop working then. Regenerate it or create a new one: ${link}`,
		].join("\n");
		return {
			subject: `An access token expires ${when}`,
			text,
			html: page(`An access token expires ${when}`, [text.split("\n")[0], "Scripts and tools that use it will stop working then."], {
				href: link,
				label: "Manage tokens",
			}),
			links: [link],
			inApp: { title: `Access token expires ${when}`, body: `"${d.description}" stops working ${when}.` },
		};
	},
	"account-status"(d) {
		const to = required(d, "to");
		const reason = required(d, "reason");
		const link = required(d, "billingLink");
		const lines: Record<string, string> = {
			active: "Your account is active again; environments that were running before have been started.",
			deactivated:
				"Your account has been deactivated and its running environments stopped. Upgrade or refill your balance to activate it again; it is destroyed if it stays deactivated.",
			suspended: "Your account has been suspended. Contact your hosting provider.",
			destroyed: "Your account has been destroyed and its environments deleted. A refill activates it again, with no environments.",
		};
		const text = [lines[to] ?? `Your account is now ${to}.`, "", `Reason: ${reason}`, "", `Balance and upgrade: ${link}`].join("\n");
		return {
			subject: `Your account is ${to}`,
			text,
			html: page(`Your account is ${to}`, [lines[to] ?? `Your account is now ${to}.`, `Reason: ${reason}`], { href: link, label: "Open billing" }),
			links: [link],
			inApp: { title: `Account ${to}`, body: reason },
		};
	},
	"destroy-warning"(d) {
		const days = Number(required(d, "days"));
		const link = required(d, "billingLink");
		const when = days === 1 ? "tomorrow" : `in ${days} days`;
		const text = [
			`Your deactivated account will be destroyed ${when} (${required(d, "destroyAt")}), with all its environments.`,
			"",
			`Refill or upgrade to keep it: ${link}`,
		].join("\n");
		return {
			subject: `Your account will be destroyed ${when}`,
			text,
			html: page(`Your account will be destroyed ${when}`, [text.split("\n")[0]], { href: link, label: "Keep my account" }),
			links: [link],
			inApp: { title: `Account destroyed ${when}`, body: "Refill or upgrade to keep it." },
		};
	},
	"trial-reminder"(d) {
		const days = Number(required(d, "days"));
		const link = required(d, "upgradeLink");
		const when = days === 1 ? "tomorrow" : `in ${days} days`;
		const text = [
			`Your trial ends ${when} (${required(d, "endsAt")}). Then the account is deactivated and its environments stop.`,
			"",
			`Upgrade to keep everything running: ${link}`,
		].join("\n");
		return {
			subject: `Your trial ends ${when}`,
			text,
			html: page(`Your trial ends ${when}`, [text.split("\n")[0]], { href: link, label: "Upgrade" }),
			links: [link],
			inApp: { title: `Trial ends ${when}`, body: "Upgrade to keep your environments running." },
		};
	},
	/** PAY-1: the receipt of a paid refill. Amounts are decimal strings. */
	"refill-receipt"(d) {
		const number = required(d, "number");
		const link = required(d, "invoiceLink");
		const cur = required(d, "currency");
		const lines = [
			`Thank you: your payment of ${required(d, "total")} ${cur} went through and ${required(d, "amount")} ${cur} was added to your balance.`,
			`Invoice ${number}: net ${required(d, "amount")}, tax ${required(d, "tax")}, total ${required(d, "total")} ${cur}.`,
		];
		return {
			subject: `Receipt for invoice ${number}`,
			text: [...lines, "", `The invoice, as PDF too: ${link}`].join("\n"),
			html: page(`Receipt for invoice ${number}`, lines, { href: link, label: "View the invoice" }),
			links: [link],
			inApp: { title: `Payment received: invoice ${number}`, body: lines[0] },
		};
	},
	/** PAY-4: an automatic refill waits for the card's 3-D Secure step. */
	"autorefill-action"(d) {
		const link = required(d, "link");
		const lines = [`Your automatic refill of ${required(d, "amount")} needs your bank's confirmation (3-D Secure) before the card can be charged.`];
		return {
			subject: "Confirm your automatic refill",
			text: [...lines, "", `Confirm it here: ${link}`].join("\n"),
			html: page("Confirm your automatic refill", lines, { href: link, label: "Confirm the payment" }),
			links: [link],
			inApp: { title: "Confirm your automatic refill", body: lines[0] },
		};
	},
	/** PAY-4: three automatic refills in a row failed: the rule is off. */
	"autorefill-disabled"(d) {
		const link = required(d, "link");
		const lines = [
			`Your automatic refill of ${required(d, "amount")} failed ${required(d, "failures")} times in a row and has been turned off.`,
			`The last payment failed: ${required(d, "reason")}.`,
			"Check your card, then turn the automatic refill on again.",
		];
		return {
			subject: "Your automatic refill was turned off",
			text: [...lines, "", link].join("\n"),
			html: page("Your automatic refill was turned off", lines, { href: link, label: "Billing settings" }),
			links: [link],
			inApp: { title: "Automatic refill turned off", body: lines[0] },
		};
	},
	/** BIL-6: a post-paid month's invoice, issued: paid at once with the saved card (`paidWith`), or due by a date (`payLink`). */
	"postpaid-invoice"(d) {
		const number = required(d, "number");
		const amount = `${required(d, "total")} ${required(d, "currency")}`;
		const paidWith = d.paidWith === undefined ? null : required(d, "paidWith");
		const link = paidWith ? required(d, "invoiceLink") : required(d, "payLink");
		const lines = [
			`Invoice ${number} for your usage in ${required(d, "period")}: ${amount}.`,
			paidWith
				? `It was paid automatically with ${paidWith}: nothing to do.`
				: `It is due by ${required(d, "dueAt")}. If it is not paid by then, your account is deactivated and its environments stopped.`,
		];
		return {
			subject: paidWith ? `Invoice ${number}: ${amount}, paid` : `Invoice ${number}: ${amount}, due by ${required(d, "dueAt")}`,
			text: [...lines, "", paidWith ? `The invoice: ${link}` : `Pay it here: ${link}`].join("\n"),
			html: page(`Invoice ${number}`, lines, { href: link, label: paidWith ? "View the invoice" : "Pay the invoice" }),
			links: [link],
			inApp: { title: paidWith ? `Invoice ${number} paid` : `Invoice ${number} due by ${required(d, "dueAt")}`, body: lines[0] },
		};
	},
	/** BIL-6, STS-2: the account was deactivated because a post-paid invoice is unpaid past its due date. */
	"postpaid-overdue"(d) {
		const number = required(d, "number");
		const link = required(d, "payLink");
		const lines = [
			`Your account has been deactivated and its running environments stopped: invoice ${number} of ${required(d, "total")} ${required(d, "currency")} was due on ${required(d, "dueAt")} and is not paid.`,
			"Pay it to activate the account again; the environments that were running start again.",
		];
		return {
			subject: `Your account is deactivated: invoice ${number} is overdue`,
			text: [...lines, "", `Pay it here: ${link}`].join("\n"),
			html: page(`Invoice ${number} is overdue`, lines, { href: link, label: "Pay the invoice" }),
			links: [link],
			inApp: { title: "Account deactivated: invoice overdue", body: lines[0] },
		};
	},
	/** BIL-5: the balance is under the account's warning threshold. Amounts are decimal strings. */
	"low-balance"(d) {
		const link = required(d, "link");
		const cur = required(d, "currency");
		const lines = [
			`Your balance is ${required(d, "balance")} ${cur}, under your warning threshold of ${required(d, "threshold")} ${cur}.`,
			"Refill it, or turn on automatic refill, to keep your environments running.",
		];
		return {
			subject: "Your balance is low",
			text: [...lines, "", link].join("\n"),
			html: page("Your balance is low", lines, { href: link, label: "Refill" }),
			links: [link],
			inApp: { title: "Low balance", body: lines[0] },
		};
	},
	/** BIL-5: at the recent average spend, the balance runs out within days. */
	"balance-forecast"(d) {
		const link = required(d, "link");
		const days = required(d, "days");
		const lines = [
			`At your average spending of the last ${required(d, "period")} days, your balance of ${required(d, "balance")} ${required(d, "currency")} lasts about ${days} more day${days === "1" ? "" : "s"}.`,
			"Refill it, or turn on automatic refill, to keep your environments running.",
		];
		return {
			subject: `About ${days} day${days === "1" ? "" : "s"} of balance left`,
			text: [...lines, "", link].join("\n"),
			html: page("Your balance runs out soon", lines, { href: link, label: "Refill" }),
			links: [link],
			inApp: { title: `About ${days} day${days === "1" ? "" : "s"} left`, body: lines[0] },
		};
	},
	/** To administrators (BIL-2): a balance differed from its ledger and was set from it. Amounts are decimal strings. */
	"balance-repaired"(d) {
		const id = required(d, "accountId");
		const [oldMain, oldBonus, newMain, newBonus] = ["oldMain", "oldBonus", "newMain", "newBonus"].map(k => required(d, k));
		const lines = [
			`The balance of account ${id} differed from the sum of its ledger and was set from the ledger.`,
			`Main: ${oldMain} → ${newMain}`,
			`Bonus: ${oldBonus} → ${newBonus}`,
		];
		const text = [lines[0], "", lines[1], lines[2], "", "The ledger is the truth; look for what wrote the balance (a torn or lost write, a manual edit)."].join(
			"\n",
		);
		return {
			subject: `Balance of account ${id} repaired from its ledger`,
			text,
			html: page("Balance repaired from the ledger", lines),
			links: [],
			inApp: { title: "Balance repaired from the ledger", body: `Account ${id}: main ${oldMain} → ${newMain}, bonus ${oldBonus} → ${newBonus}.` },
		};
	},
	/** COL-4: an invitation to collaborate; the link works once, for `validDays`, for this address only. */
	"collaboration-invitation"(d) {
		const link = required(d, "link");
		const owner = required(d, "owner");
		const days = d.validDays ?? 7;
		const lines = [
			`${owner} invites you to collaborate on their environments.`,
			`Accept or reject the invitation here (the link works once, for ${days} days, signed in with this email address):`,
		];
		return {
			subject: `${owner} invites you to collaborate`,
			text: [...lines, link, "", "If you do not know the sender, ignore this email."].join("\n"),
			html: page("An invitation to collaborate", [...lines, "If you do not know the sender, ignore this email."], { href: link, label: "View invitation" }),
			links: [link],
		};
	},
	/** COL-8, NTF-2: an environment was stopped or deleted — by whom (a member, an administrator, the platform), to the owner and the members concerned. */
	"environment-action"(d) {
		const env = required(d, "env");
		const owner = required(d, "owner");
		const action = required(d, "action");
		const by = required(d, "by");
		const line = `Environment ${env} of ${owner} was ${action} by ${by}.`;
		const lines = [line, ...(d.reason ? [`Reason: ${d.reason}`] : []), `You get this email as ${required(d, "role")}.`];
		return {
			subject: `Environment ${env} ${action} by ${by}`,
			text: lines.join("\n"),
			html: page(`Environment ${env} ${action}`, lines),
			links: [],
			inApp: { title: `Environment ${env} ${action}`, body: line },
		};
	},
	/** COL-5: to the primary account, when a member accepts, rejects or leaves. */
	"collaboration-answer"(d) {
		const member = required(d, "member");
		const what = required(d, "what");
		const link = required(d, "link");
		const line =
			what === "left"
				? `${member} left your collaboration and no longer has access to your environments.`
				: `${member} ${what} your invitation to collaborate.`;
		return {
			subject: what === "left" ? `${member} left your collaboration` : `${member} ${what} your invitation`,
			text: [line, "", `Your members: ${link}`].join("\n"),
			html: page("Collaboration", [line], { href: link, label: "Your members" }),
			links: [link],
			inApp: { title: what === "left" ? "A member left" : `Invitation ${what}`, body: line },
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
