// Package passkey owns passkeys and security keys (WebAuthn Level 3, with
// github.com/go-webauthn/webauthn): the registration and login ceremonies,
// their single-use state, the signature-counter rule and the credentials'
// names. It renders no pages: idp/web calls a Service and puts
// Ceremony.Options into the page for the browser script
// templates/static/passkey.js, which posts the browser's answer back in a
// plain form.
//
// # Policy
//
//   - Relying party: Config.RPID (e.g. "konto.kanton.example") and the exact
//     Config.Origins of the pages; a response for another origin
//     (ErrOrigin) or RP ID (ErrRPID) is refused.
//   - User verification (PIN, biometrics): "preferred" for registration and
//     for a passkey used as second factor after the password (the password
//     already is the knowledge factor; Result.UserVerified reports whether
//     the authenticator verified the user anyway); always "required" for
//     passwordless login (BeginDiscoverableLogin), where the passkey is the
//     only thing presented (it then counts as a multi-factor cryptographic
//     authenticator in NIST SP 800-63B-4 terms). Config.UserVerification "required"
//     makes it mandatory everywhere.
//   - Resident (discoverable) keys are preferred at registration, so most
//     passkeys can also be used without a password. Attestation is not
//     requested ("none"): we accept any authenticator and learn nothing
//     that identifies the person's device model beyond the AAGUID.
//   - Challenges are 32 random bytes (go-webauthn; ASVS 6.7.2 asks ≥ 64
//     bits). A ceremony lives Config.Timeout (5 min) in the ephemeral store
//     under a 130-bit random ID and is consumed with Take before anything
//     is verified, so a challenge can be answered once (a replay gets
//     ErrCeremonyExpired). A ceremony is bound to its purpose and account.
//   - The WebAuthn user handle is an HMAC of the account ID under the key
//     ring's index key (Config.UserHandles), never the e-mail address.
//   - Signature counter: checked and advanced in one store transaction
//     (mfa.WebAuthnStore.UpdateWebAuthnCredential). A non-zero counter that
//     did not increase sets CloneWarning and the login is refused with a
//     *CloneError (ErrCloneSuspected) for the caller to audit; a flagged
//     credential stays refused until the user removes it and registers the
//     key again. Authenticators without a counter (always 0, e.g. synced
//     passkeys) are accepted.
//   - Errors never tell whether another account owns a credential: a
//     foreign credential is ErrUnknownCredential like an unknown one.
//
// # Markup contract of passkey.js
//
// The page includes <script src="{{asset "passkey.js"}}" defer></script>
// (no inline script; CSP script-src 'self') and a plain POST form:
//
//	<form method="post" action="…" data-passkey="register"   (or "login")
//	      data-passkey-options="passkey-options"              (id of the JSON block)
//	      data-passkey-msg-unsupported="…"                    (texts in the page's language)
//	      data-passkey-msg-cancelled="…"
//	      data-passkey-msg-failed="…">
//	  <input type="hidden" name="csrf" value="…">             (the page's CSRF field)
//	  <input type="hidden" name="ceremony" value="{{.Ceremony.ID}}">
//	  <input type="hidden" name="credential">                 (filled by the script)
//	  <p class="passkey-message" role="alert" hidden data-passkey-message></p>
//	  <button type="submit">…</button>
//	</form>
//	<script type="application/json" id="passkey-options">{{.OptionsJS}}</script>
//
// html/template treats an application/json script as JavaScript, so the
// view model passes the options there as template.JS(ceremony.Options)
// (safe: encoding/json escapes <, > and &). Alternatively the attribute
// may hold the JSON itself, data-passkey-options="{{.Options}}" with a
// plain string, which html/template escapes; the script takes a value that
// starts with "{" as the options.
//
// The optional attribute data-passkey-msg-exists is shown when the
// authenticator already holds a passkey of this account (registration).
// On submit the script reads the options, calls navigator.credentials
// create (register) or get (login), writes the PublicKeyCredential JSON
// (id, rawId, type, response{clientDataJSON, attestationObject, transports
// | authenticatorData, signature, userHandle}, authenticatorAttachment,
// clientExtensionResults; binary values base64url) into the hidden field
// named "credential" and submits the form. On cancel or error it shows the
// matching text in the data-passkey-message element and does not submit.
// Without WebAuthn (no PublicKeyCredential, or not a secure context) the
// submit button is disabled and the unsupported text shown. Without
// JavaScript the form posts an empty credential field, which the server
// refuses (ErrVerification); pages should add a <noscript> text.
// data-passkey-autostart on a login form starts the ceremony on page load.
// The form is submitted with HTMLFormElement.submit, so the submit
// button's own name and value are not sent; other fields (e.g. the
// passkey's name, validated by the browser before the ceremony starts) are.
// The server takes the field as credentialJSON of FinishRegistration,
// FinishLogin or FinishDiscoverableLogin.
//
// What passkey does not do: decide when a second factor is needed, map a
// login to an acr/amr (the caller does: "hwk" plus "user" when
// Result.UserVerified), check the account's status, rate-limit (ceremonies
// cost no SMS; the login pages' limiters apply), or send e-mails (callers
// pass the sealed Outgoing messages to FinishRegistration and Remove).
package passkey
