/*
 * passkey.js: runs WebAuthn ceremonies (passkeys, security keys) for plain
 * server-rendered forms. The server side is mfa/passkey. No inline script is
 * needed (CSP script-src 'self'); all texts come from the page, so every
 * language is rendered by the templates.
 *
 * Markup contract:
 *
 *   <script src="/static/passkey.<hash>.js" defer></script>
 *
 *   <form method="post" action="…"
 *         data-passkey="register"              register | login
 *         data-passkey-options="passkey-options"
 *             the id of a <script type="application/json"> element holding
 *             Ceremony.Options, or the options JSON itself (a value that
 *             starts with "{"; html/template escapes it in an attribute)
 *         data-passkey-msg-unsupported="…"     browser cannot do WebAuthn
 *         data-passkey-msg-cancelled="…"       user cancelled, timed out or
 *                                              no matching passkey
 *         data-passkey-msg-failed="…"          any other failure
 *         data-passkey-msg-exists="…"          optional (register): the
 *                                              authenticator already holds
 *                                              a passkey of this account
 *         data-passkey-autostart>              optional (login): start on load
 *     <input type="hidden" name="csrf" value="…">
 *     <input type="hidden" name="ceremony" value="…">
 *     <input type="hidden" name="credential">  filled in by this script
 *     … other fields (e.g. the passkey's name), validated by the browser first
 *     <p data-passkey-message role="alert" hidden></p>
 *     <button type="submit">…</button>
 *   </form>
 *   <script type="application/json" id="passkey-options">{…}</script>
 *     (in html/template pass template.JS(ceremony.Options) here; a plain
 *     string would be quoted as a JavaScript string)
 *
 * On submit the script calls navigator.credentials.create (register) or
 * get (login) with the options (base64url values decoded), writes the
 * PublicKeyCredential as JSON into the "credential" field (WebAuthn L3
 * RegistrationResponseJSON / AuthenticationResponseJSON: id, rawId, type,
 * authenticatorAttachment, clientExtensionResults and response with
 * clientDataJSON plus attestationObject and transports, or
 * authenticatorData, signature and userHandle; binary values base64url)
 * and submits the form (with HTMLFormElement.submit: the submit button's
 * own name and value are not sent). On cancel or error it shows the matching text in
 * the [data-passkey-message] element and does not submit. Without WebAuthn
 * the submit buttons are disabled and the unsupported text is shown.
 */
(function () {
  "use strict";

  function fromB64u(s) {
    var b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function toB64u(buf) {
    var bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf)
      : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // binary turns ArrayBuffers (and views) in extension results into base64url.
  function binary(key, value) {
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
      return toB64u(value);
    }
    return value;
  }

  function decodeDescriptors(list) {
    return (list || []).map(function (d) {
      var c = Object.assign({}, d);
      c.id = fromB64u(d.id);
      return c;
    });
  }

  function creationOptions(o) {
    var p = Object.assign({}, o);
    p.challenge = fromB64u(o.challenge);
    p.user = Object.assign({}, o.user, { id: fromB64u(o.user.id) });
    p.excludeCredentials = decodeDescriptors(o.excludeCredentials);
    return p;
  }

  function requestOptions(o) {
    var p = Object.assign({}, o);
    p.challenge = fromB64u(o.challenge);
    p.allowCredentials = decodeDescriptors(o.allowCredentials);
    return p;
  }

  function credentialJSON(cred) {
    var r = cred.response;
    var response = { clientDataJSON: toB64u(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64u(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      response.authenticatorData = toB64u(r.authenticatorData);
      response.signature = toB64u(r.signature);
      if (r.userHandle && r.userHandle.byteLength > 0) {
        response.userHandle = toB64u(r.userHandle);
      }
    }
    return JSON.stringify({
      id: cred.id,
      rawId: toB64u(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      response: response,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    }, binary);
  }

  function readOptions(form) {
    var ref = form.getAttribute("data-passkey-options") || "";
    var text = ref.charAt(0) === "{" ? ref : (document.getElementById(ref) || {}).textContent;
    if (!text) {
      throw new Error("passkey: no options for the form");
    }
    return JSON.parse(text);
  }

  function show(form, key) {
    var el = form.querySelector("[data-passkey-message]");
    var text = form.getAttribute("data-passkey-msg-" + key) ||
      form.getAttribute("data-passkey-msg-failed") || "";
    if (el) {
      el.textContent = text;
      el.hidden = false;
    }
  }

  function hide(form) {
    var el = form.querySelector("[data-passkey-message]");
    if (el) {
      el.hidden = true;
      el.textContent = "";
    }
  }

  function buttons(form, disabled) {
    var list = form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]");
    for (var i = 0; i < list.length; i++) {
      list[i].disabled = disabled;
    }
  }

  function supported() {
    return typeof window.PublicKeyCredential === "function" && !!navigator.credentials &&
      typeof navigator.credentials.create === "function" && window.isSecureContext;
  }

  function run(form) {
    if (form.getAttribute("aria-busy") === "true") {
      return;
    }
    var kind = form.getAttribute("data-passkey");
    var field = form.querySelector("input[name=credential]");
    var options;
    try {
      options = readOptions(form);
    } catch (e) {
      show(form, "failed");
      return;
    }
    hide(form);
    form.setAttribute("aria-busy", "true");
    buttons(form, true);
    var pending = kind === "register"
      ? navigator.credentials.create({ publicKey: creationOptions(options) })
      : navigator.credentials.get({ publicKey: requestOptions(options) });
    pending.then(function (cred) {
      if (!cred || !field) {
        throw new Error("passkey: no credential");
      }
      field.value = credentialJSON(cred);
      form.setAttribute("data-passkey-state", "submitting");
      // The prototype's submit, in case a control is named "submit".
      HTMLFormElement.prototype.submit.call(form);
    }).catch(function (err) {
      form.removeAttribute("aria-busy");
      buttons(form, false);
      form.setAttribute("data-passkey-state", "error");
      var name = err && err.name;
      if (name === "NotAllowedError" || name === "AbortError") {
        show(form, "cancelled");
      } else if (name === "InvalidStateError" && kind === "register") {
        show(form, "exists");
      } else {
        show(form, "failed");
      }
    });
  }

  function init() {
    var forms = document.querySelectorAll("form[data-passkey]");
    for (var i = 0; i < forms.length; i++) {
      var form = forms[i];
      if (!supported()) {
        buttons(form, true);
        show(form, "unsupported");
        form.setAttribute("data-passkey-state", "unsupported");
        continue;
      }
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        run(e.currentTarget);
      });
      form.setAttribute("data-passkey-state", "ready");
      if (form.hasAttribute("data-passkey-autostart") && form.getAttribute("data-passkey") === "login") {
        run(form);
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
