// Two-factor authentication (TFA-1, TFA-2): the password again, the QR code (the server draws it
// from the otpauth URI) with the secret for typing, a first code, then the recovery codes, shown
// once, which the customer confirms having saved before going on.
import { useState } from "preact/hooks";
import { get, post } from "../api";
import { navigate } from "../router";
import { Banner, Check, Field, Form, html, Page, useLoad } from "../ui";

type Setup = { secret: string; otpauthUrl: string; qrCode: string };

export function Security() {
	const account = useLoad(() => get<{ twoFactorEnabled?: boolean }>("/account").catch(() => ({ twoFactorEnabled: false })));
	const [setup, setSetup] = useState<Setup | null>(null);
	const [codes, setCodes] = useState<string[] | null>(null);
	const [saved, setSaved] = useState(false);

	if (codes)
		return html`<${Page} title="Save your recovery codes">
			<${Banner} kind="ok">Two-factor authentication is on.<//>
			<section class="card" aria-labelledby="codes-h">
				<h2 id="codes-h">Recovery codes</h2>
				<p>Each code signs you in once if you lose your phone. They are shown only now: print them or keep them in a password manager.</p>
				<ul class="codes" aria-label="Recovery codes">
					${codes.map(c => html`<li key=${c}>${c}</li>`)}
				</ul>
				<div class="check">
					<input type="checkbox" id="saved-codes" checked=${saved} onChange=${(e: Event) => setSaved((e.currentTarget as HTMLInputElement).checked)} />
					<label for="saved-codes">I saved my recovery codes</label>
				</div>
				<div class="actions"><button type="button" disabled=${!saved} onClick=${() => navigate("/")}>Continue</button></div>
			</section>
		<//>`;
	if (setup)
		return html`<${Page} title="Scan the QR code">
			<section class="card">
				<p>Scan this code with an authenticator app (Google Authenticator, 1Password, FreeOTP…), then type the 6-digit code it shows.</p>
				<img class="qr" src=${setup.qrCode} alt="QR code holding your two-factor secret" width="200" height="200" />
				<p>Cannot scan? Type this key instead: <span class="secret" data-testid="totp-secret">${setup.secret}</span></p>
				<${Form}
					submit="Turn on two-factor authentication"
					onSubmit=${async (v: { code: string }) => setCodes((await post<{ recoveryCodes: string[] }>("/auth/2fa/enable", { code: v.code.trim() })).recoveryCodes)}
				>
					<${Field} label="Code from the app" name="code" inputmode="numeric" autocomplete="one-time-code" required />
				<//>
			</section>
		<//>`;
	return html`<${Page} title="Security">
		${
			account.data?.twoFactorEnabled
				? html`<${Banner} kind="ok">Two-factor authentication is on.<//>`
				: html`<section class="card" aria-labelledby="tfa-h">
						<h2 id="tfa-h">Two-factor authentication</h2>
						<p>A code from your phone at every sign-in keeps your account safe even if your password leaks.</p>
						<${Form} submit="Set up two-factor authentication" onSubmit=${async (v: { password: string }) => setSetup(await post<Setup>("/auth/2fa/setup", v))}>
							<${Field} label="Your password" name="password" type="password" autocomplete="current-password" required />
						<//>
					</section>`
		}
	<//>`;
}

/** /account/password — the expiry notice's link (PWD-3). */
export function ChangePassword() {
	const [done, setDone] = useState(false);
	return html`<${Page} title="Change your password" narrow>
		${
			done
				? html`<${Banner} kind="ok">Your password was changed.<//>`
				: html`<${Form}
						submit="Change my password"
						onSubmit=${async (v: { currentPassword: string; newPassword: string; invalidateSessions: boolean }) => {
							await post("/auth/password/change", v);
							setDone(true);
						}}
					>
						<${Field} label="Current password" name="currentPassword" type="password" autocomplete="current-password" required />
						<${Field}
							label="New password"
							name="newPassword"
							type="password"
							autocomplete="new-password"
							hint="At least 10 characters; not your email address."
							required
						/>
						<${Check} label="Sign out everywhere else" name="invalidateSessions" />
					<//>`
		}
	<//>`;
}
