"""The one HTTP client for OIDC issuers: discovery and JWKS, with timeouts.

Issuer URLs must be https, except on loopback hosts (a CI runner on the same machine,
the tests' issuer). Every failure is an :class:`IssuerUnavailable` saying what went wrong
in a sentence; nothing else escapes, whatever the issuer answers.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any
from urllib.parse import urlparse

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

MAX_DOCUMENT_BYTES = 512 * 1024


class IssuerUnavailable(Exception):
    """The issuer could not be reached or answered something unusable."""


class UnsafeIssuerUrl(ValueError):
    """A URL this server will not fetch keys from (http on a non-loopback host...)."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_safe_url(url: str) -> str:
    """``url`` if it is https (or http on a loopback host), with a host and no credentials."""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    if not host or parsed.username or parsed.password or parsed.fragment:
        raise UnsafeIssuerUrl(_("%(url)s is not a valid issuer URL.") % {"url": url[:200]})
    if parsed.scheme == "https" or (parsed.scheme == "http" and _is_loopback(host)):
        return url
    raise UnsafeIssuerUrl(
        _("The issuer URL must use https (plain http only for loopback hosts): %(url)s")
        % {"url": url[:200]}
    )


def fetch_json(url: str) -> dict[str, Any]:
    """GET ``url`` and return its JSON object; IssuerUnavailable on any failure."""
    try:
        require_safe_url(url)
    except UnsafeIssuerUrl as exc:
        raise IssuerUnavailable(str(exc)) from None
    try:
        with (
            httpx.Client(timeout=settings.OIDC_HTTP_TIMEOUT, follow_redirects=False) as client,
            client.stream("GET", url, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise IssuerUnavailable(
                    _("%(url)s answered HTTP %(status)d.")
                    % {"url": url, "status": response.status_code}
                )
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise IssuerUnavailable(_("%(url)s answered too much data.") % {"url": url})
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise IssuerUnavailable(
            _("%(url)s could not be reached (%(why)s).") % {"url": url, "why": type(exc).__name__}
        ) from None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise IssuerUnavailable(_("%(url)s did not answer JSON.") % {"url": url}) from None
    if not isinstance(document, dict):
        raise IssuerUnavailable(_("%(url)s did not answer a JSON object.") % {"url": url})
    return document


def discover(issuer_url: str) -> str:
    """The ``jwks_uri`` from ``<issuer>/.well-known/openid-configuration``, whose ``issuer``
    must be ``issuer_url`` exactly (OpenID Connect Discovery 1.0, section 4.3)."""
    config = fetch_json(issuer_url.rstrip("/") + "/.well-known/openid-configuration")
    if config.get("issuer") != issuer_url:
        raise IssuerUnavailable(
            _("The issuer's configuration names another issuer (%(other)s).")
            % {"other": str(config.get("issuer"))[:200]}
        )
    jwks_uri = config.get("jwks_uri")
    if not isinstance(jwks_uri, str):
        raise IssuerUnavailable(_("The issuer's configuration has no jwks_uri."))
    try:
        return require_safe_url(jwks_uri)
    except UnsafeIssuerUrl as exc:
        raise IssuerUnavailable(str(exc)) from None


def fetch_jwks(jwks_uri: str) -> dict[str, Any]:
    """The key set at ``jwks_uri``, checked to hold a ``keys`` list."""
    document = fetch_json(jwks_uri)
    keys = document.get("keys")
    if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
        raise IssuerUnavailable(_("The issuer's key set is not a JSON Web Key Set."))
    return {"keys": keys}
