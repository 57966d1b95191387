// WebAuthn ceremonies for forms marked data-webauthn="register|authenticate|passkey".
// The form posts normally once the browser has answered: the server gets the
// credential as JSON in the hidden "credential" field and replies with a page.
(function () {
  "use strict";

  function b64urlToBuffer(value) {
    var b64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function bufferToB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(json) {
    json.challenge = b64urlToBuffer(json.challenge);
    json.user.id = b64urlToBuffer(json.user.id);
    (json.excludeCredentials || []).forEach(function (c) { c.id = b64urlToBuffer(c.id); });
    return json;
  }

  function requestOptions(json) {
    json.challenge = b64urlToBuffer(json.challenge);
    (json.allowCredentials || []).forEach(function (c) { c.id = b64urlToBuffer(c.id); });
    return json;
  }

  function registrationJSON(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: bufferToB64url(cred.rawId),
      type: cred.type,
      response: {
        clientDataJSON: bufferToB64url(r.clientDataJSON),
        attestationObject: bufferToB64url(r.attestationObject),
        transports: r.getTransports ? r.getTransports() : []
      },
      clientExtensionResults: cred.getClientExtensionResults(),
      authenticatorAttachment: cred.authenticatorAttachment || null
    };
  }

  function assertionJSON(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: bufferToB64url(cred.rawId),
      type: cred.type,
      response: {
        clientDataJSON: bufferToB64url(r.clientDataJSON),
        authenticatorData: bufferToB64url(r.authenticatorData),
        signature: bufferToB64url(r.signature),
        userHandle: r.userHandle ? bufferToB64url(r.userHandle) : null
      },
      clientExtensionResults: cred.getClientExtensionResults(),
      authenticatorAttachment: cred.authenticatorAttachment || null
    };
  }

  // The browser's errors (DOMException names) as sentences saying what happened and what
  // to do; the translated sentences are rendered by {% webauthn_support %} into data-
  // attributes. Errors from the server are already sentences and are shown as they are.
  var REASONS = {
    NotAllowedError: "notAllowed",
    InvalidStateError: "invalidState",
    SecurityError: "security",
    NotSupportedError: "notSupported",
    ConstraintError: "constraint",
    AbortError: "abort",
    NetworkError: "network"
  };

  function ServerError(message) { this.name = "ServerError"; this.message = message; }
  function NetworkFailure() { this.name = "NetworkError"; }

  function explain(error) {
    if (error instanceof ServerError) { return error.message; }
    var box = document.getElementById("webauthn-messages");
    var texts = box ? box.dataset : {};
    var reason = REASONS[error && error.name] || "unknown";
    // A reply that is not JSON (an error page) cannot be parsed.
    if (error instanceof SyntaxError) { reason = "server"; }
    return texts[reason] || texts.unknown ||
      "Your security key could not be used. Try again, or use another method.";
  }

  function showError(form, message) {
    var box = form.querySelector("[data-webauthn-error]");
    if (box) { box.textContent = message; }
  }

  function start(form) {
    var mode = form.getAttribute("data-webauthn");
    var button = form.querySelector("button[type=submit]");
    if (!window.PublicKeyCredential) {
      // Browsers hide WebAuthn on plain-HTTP addresses other than localhost.
      showError(form, !window.isSecureContext ? explain({ name: "SecurityError" }) :
        form.getAttribute("data-unsupported") || "This browser does not support security keys.");
      return;
    }
    if (button) { button.disabled = true; }
    showError(form, "");
    fetch(form.getAttribute("data-options-url"), {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).catch(function () {
      throw new NetworkFailure();  // fetch() rejects only when nothing answered
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) { throw new ServerError(body.error || response.statusText); }
        return body;
      });
    }).then(function (options) {
      if (mode === "register") {
        return navigator.credentials.create({ publicKey: creationOptions(options) })
          .then(registrationJSON);
      }
      return navigator.credentials.get({ publicKey: requestOptions(options) })
        .then(assertionJSON);
    }).then(function (credential) {
      // A form with a prefix (the staff console's) marks its field instead of naming it.
      form.querySelector("input[name=credential], input[data-webauthn-credential]").value =
        JSON.stringify(credential);
      form.submit();
    }).catch(function (error) {
      if (button) { button.disabled = false; }
      showError(form, explain(error));
    });
  }

  // The forms are hidden in the HTML: without JavaScript they cannot work, and a sentence
  // (data-without-javascript) says so instead. With JavaScript: the form, not the sentence.
  document.querySelectorAll("[data-without-javascript]").forEach(function (note) {
    note.hidden = true;
  });
  document.querySelectorAll("form[data-webauthn]").forEach(function (form) {
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      start(form);
    });
  });
})();
