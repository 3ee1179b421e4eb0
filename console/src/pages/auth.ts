// Signing up, activating (the emailed link lands on /activate?token=…), signing in with a second
// factor or an expired password's renewal, and resetting a forgotten password (/password/reset).
import { useState } from "preact/hooks";
import { ApiError, post, refusal, signedIn } from "../api";
import { location$, navigate } from "../router";
import { Banner, Check, Field, Form, html, Page } from "../ui";

const PASSWORD_HINT = "At least 10 characters; not your email address.";

export function SignUp() {
	const [sentTo, setSentTo] = useState<string | null>(null);
	if (sentTo)
		return html`<${Page} title="Check your inbox" narrow>
			<${Banner} kind="ok">We sent an email to ${sentTo}. Open its link to choose your password.<//>
		<//>`;
	return html`<${Page} title="Create your account" narrow>
		<${Form}
			submit="Sign up"
			onSubmit=${async (v: { email: string; name: string; acceptTerms: boolean }) => {
				await post("/auth/signup", { email: v.email, acceptTerms: v.acceptTerms, ...(v.name ? { name: v.name } : {}) });
				setSentTo(v.email);
			}}
		>
			<${Field} label="Email" name="email" type="email" autocomplete="email" required />
			<${Field} label="Name (optional)" name="name" autocomplete="name" />
			<${Check} label="I accept the terms of service" name="acceptTerms" />
		<//>
		<p>Already have an account? <a href="/signin">Sign in</a></p>
	<//>`;
}

export function Activate() {
	const token = location$.value.query.get("token") ?? "";
	if (!token)
		return html`<${Page} title="Activate your account" narrow
			><${Banner} kind="bad" alert>This link is incomplete: open the link from your email again.<//><//
		>`;
	return html`<${Page} title="Choose your password" narrow>
		<p>Your email address is confirmed once you choose a password.</p>
		<${Form}
			submit="Activate my account"
			onSubmit=${async (v: { password: string; confirm: string }) => {
				if (v.password !== v.confirm) throw new ApiError(422, "VALIDATION_ERROR", "", [{ field: "confirm", message: "does not match the password" }]);
				await post("/auth/activate", { token, password: v.password });
				navigate("/signin?activated=1", true);
			}}
		>
			<${Field} label="Password" name="password" type="password" autocomplete="new-password" hint=${PASSWORD_HINT} required />
			<${Field} label="Password again" name="confirm" type="password" autocomplete="new-password" required />
		<//>
	<//>`;
}

type SignInAnswer = { session: string; twoFactorSetupRequired?: boolean };

export function SignIn() {
	const query = location$.value.query;
	const [challenge, setChallenge] = useState<string | null>(null);
	const [changeToken, setChangeToken] = useState<string | null>(null);
	const done = (r: SignInAnswer) => {
		signedIn(r.session);
		const next = query.get("next");
		navigate(r.twoFactorSetupRequired ? "/account/security" : next && next.startsWith("/") && !next.startsWith("//") ? next : "/", true);
	};
	if (challenge)
		return html`<${Page} title="Two-factor authentication" narrow>
			<${Form} submit="Verify" onSubmit=${async (v: { code: string }) => done(await post("/auth/signin/2fa", { challenge, code: v.code.trim() }))}>
				<${Field}
					label="Authentication code"
					name="code"
					autocomplete="one-time-code"
					hint="The 6-digit code from your authenticator app, or one of your recovery codes."
					required
				/>
			<//>
		<//>`;
	if (changeToken)
		return html`<${Page} title="Your password has expired" narrow>
			<${Form}
				submit="Save and sign in"
				onSubmit=${async (v: { newPassword: string }) => done(await post("/auth/password/expired", { changeToken, newPassword: v.newPassword }))}
			>
				<${Field} label="New password" name="newPassword" type="password" autocomplete="new-password" hint=${PASSWORD_HINT} required />
			<//>
		<//>`;
	return html`<${Page} title="Sign in" narrow>
		${refusal.value && html`<${Banner} kind="bad" alert>${refusal.value}<//>`}
		${query.get("activated") && html`<${Banner} kind="ok">Your account is active. Sign in with your new password.<//>`}
		${query.get("reset") && html`<${Banner} kind="ok">Your password was changed. Sign in with the new one.<//>`}
		<${Form}
			submit="Sign in"
			onSubmit=${async (v: { email: string; password: string }) => {
				try {
					const r = await post<SignInAnswer & { twoFactorRequired?: boolean; challenge?: string }>("/auth/signin", v);
					if (r.twoFactorRequired) setChallenge(r.challenge!);
					else done(r);
				} catch (err) {
					const token = err instanceof ApiError && err.type === "PASSWORD_EXPIRED" ? (err.data as { changeToken?: string })?.changeToken : null;
					if (!token) throw err;
					setChangeToken(token);
				}
			}}
		>
			<${Field} label="Email" name="email" type="email" autocomplete="username" required />
			<${Field} label="Password" name="password" type="password" autocomplete="current-password" required />
		<//>
		<p><a href="/password/reset">Forgot your password?</a> · <a href="/signup">Create an account</a></p>
	<//>`;
}

export function PasswordReset() {
	const token = location$.value.query.get("token");
	const [sent, setSent] = useState(false);
	if (token)
		return html`<${Page} title="Choose a new password" narrow>
			<${Form}
				submit="Change my password"
				onSubmit=${async (v: { newPassword: string; invalidateSessions: boolean }) => {
					await post("/auth/password/reset/confirm", { token, newPassword: v.newPassword, invalidateSessions: v.invalidateSessions });
					navigate("/signin?reset=1", true);
				}}
			>
				<${Field} label="New password" name="newPassword" type="password" autocomplete="new-password" hint=${PASSWORD_HINT} required />
				<${Check} label="Sign out everywhere else" name="invalidateSessions" />
			<//>
		<//>`;
	return html`<${Page} title="Reset your password" narrow>
		${
			sent
				? html`<${Banner} kind="ok">If the address has an account, an email with a reset link is on its way. The link works for 30 minutes.<//>`
				: html`<${Form}
						submit="Email me a link"
						onSubmit=${async (v: { email: string }) => {
							await post("/auth/password/reset", v);
							setSent(true);
						}}
					>
						<${Field} label="Email" name="email" type="email" autocomplete="email" required />
					<//>`
		}
		<p><a href="/signin">Back to sign in</a></p>
	<//>`;
}
