"""Which host names the index answers for, and the base URL every absolute link uses.

Links in emails must never be built from a request's ``Host``: anyone can send
``Host: evil.example`` and have the real user mailed a valid reset link to the attacker's
site. So the base URL is configuration (``STRONGROOM_BASE_URL``), or derived from where
``strongroom serve`` listens, and a request naming any other host is refused with 400 before
a view runs (:class:`AllowedHostsMiddleware`, and index.fastwsgi in front of Django).

The derivation functions take no request and import no Django: ``strongroom serve`` calls
them before Django starts, and settings.py calls them for its defaults.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Browsers accept WebAuthn on http:// only for "localhost": it is the name links use
# whenever the server listens on a loopback or wildcard address.
LOCALHOST = "localhost"
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
# The health probes (ops.middleware) answer whatever the Host: load balancers send their
# own (often the node's IP address), and the probes build no link and say only up or down.
PROBE_PATHS = frozenset({"/_/health/live", "/_/health/ready"})


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_wildcard(host: str) -> bool:
    address = _address(host)
    return address is not None and address.is_unspecified


def is_loopback(host: str) -> bool:
    address = _address(host)
    if address is None:
        return host.lower() in _LOOPBACK_NAMES
    return address.is_loopback


def is_ip_address(host: str) -> bool:
    """True for an IPv4 or IPv6 literal (with or without brackets), not a name."""
    return _address(host) is not None


def _netloc(host: str, port: int) -> str:
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    return shown if port == 80 else f"{shown}:{port}"


def derive_base_url(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
    """The base URL for a server listening on ``host:port``: ``http://localhost:PORT`` for
    a loopback or wildcard address, else ``http://HOST:PORT`` (no port for 80)."""
    if is_loopback(host) or is_wildcard(host):
        return f"http://{_netloc(LOCALHOST, port)}"
    return f"http://{_netloc(host, port)}"


def _allowed_form(host: str) -> str:
    """A host as Django's ALLOWED_HOSTS spells it: lower case, IPv6 in brackets."""
    host = host.strip().lower()
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def derive_allowed_hosts(
    host: str = DEFAULT_HOST, base_url: str = "", *, hostname: Callable[[], str] | None = None
) -> list[str]:
    """The host names a server listening on ``host`` answers for.

    Always ``localhost`` and the host itself, plus the base URL's host. A loopback or
    wildcard address adds 127.0.0.1 and ::1; a wildcard also adds this machine's name
    (``hostname``, default :func:`socket.gethostname`), the one others on the network
    use. Nothing here comes from a request.
    """
    names = [LOCALHOST]
    if is_wildcard(host) or is_loopback(host):
        names += ["127.0.0.1", "::1"]
    if is_wildcard(host):
        machine = (hostname or socket.gethostname)()
        if machine:
            names.append(machine)
    else:
        names.append(host)
    if base_url:
        base_host = urlsplit(base_url).hostname
        if base_host:
            names.append(base_host)
    allowed: list[str] = []
    for name in names:
        form = _allowed_form(name)
        if form and form not in allowed:
            allowed.append(form)
    return allowed


def serve_environment(environ: Mapping[str, str], host: str, port: int) -> dict[str, str]:
    """The ``STRONGROOM_BASE_URL`` / ``STRONGROOM_ALLOWED_HOSTS`` that ``strongroom serve``
    gives its workers: the operator's values where set, else derived from ``--host`` and
    ``--port``."""
    base_url = environ.get("STRONGROOM_BASE_URL", "").strip() or derive_base_url(host, port)
    allowed = environ.get("STRONGROOM_ALLOWED_HOSTS", "").strip() or ",".join(
        derive_allowed_hosts(host, base_url)
    )
    # Which of the two were derived here, not given: the config doctor tells them apart.
    derived = [
        name
        for name in ("BASE_URL", "ALLOWED_HOSTS")
        if not environ.get(f"STRONGROOM_{name}", "").strip()
        or name in environ.get("STRONGROOM_DERIVED", "").split(",")
    ]
    return {
        "STRONGROOM_BASE_URL": base_url.rstrip("/"),
        "STRONGROOM_ALLOWED_HOSTS": allowed,
        "STRONGROOM_DERIVED": ",".join(derived),
    }


# --- checking requests --------------------------------------------------------------------


def _extra_hosts(meta: Mapping[str, Any]) -> list[str]:
    """The hosts a request names besides Host: each X-Forwarded-Host value and the
    authority of an absolute-form request line (``GET http://host/path``)."""
    hosts: list[str] = []
    forwarded = meta.get("HTTP_X_FORWARDED_HOST")
    if forwarded is not None:
        hosts += (part.strip() for part in str(forwarded).split(","))
    raw_uri = meta.get("RAW_URI") or meta.get("REQUEST_URI") or ""
    if "://" in raw_uri[:16]:
        hosts.append(urlsplit(raw_uri).netloc.rpartition("@")[2])
    return hosts


class HostCheck:
    """Whether a WSGI environ (or a request's META) names only allowed hosts.

    The verdicts for the few distinct values real clients send are remembered (bounded,
    so hostile values cannot grow it).
    """

    def __init__(self, allowed_hosts: list[str], *, remember: int = 256):
        self.allowed_hosts = list(allowed_hosts)
        self.remember = remember
        self._verdicts: dict[str, bool] = {}

    def host_allowed(self, host: str) -> bool:
        verdict = self._verdicts.get(host)
        if verdict is None:
            from django.http.request import split_domain_port, validate_host

            domain, _port = split_domain_port(host)
            verdict = bool(domain) and validate_host(domain, self.allowed_hosts)
            if len(self._verdicts) < self.remember:
                self._verdicts[host] = verdict
        return verdict

    def allows(self, meta: Mapping[str, Any]) -> bool:
        """True when Host (or SERVER_NAME without one), every X-Forwarded-Host value and
        an absolute request line's authority are all allowed."""
        host = meta.get("HTTP_HOST")
        if not self.host_allowed(str(meta.get("SERVER_NAME", "")) if host is None else host):
            return False
        raw_uri = meta.get("RAW_URI") or meta.get("REQUEST_URI") or ""
        if "HTTP_X_FORWARDED_HOST" not in meta and "://" not in raw_uri[:16]:
            return True  # the common case: one dictionary look-up
        return all(self.host_allowed(extra) for extra in _extra_hosts(meta))


class AllowedHostsMiddleware:
    """Refuse, with 400, a request naming a host the index does not answer for.

    First in MIDDLEWARE, so nothing (no cached answer, no static file, no view) runs for
    it. Django checks only ``Host`` and only when a view asks; this checks every request,
    and X-Forwarded-Host and absolute request lines too, whether or not a proxy is trusted.
    The health probes (PROBE_PATHS) alone pass whatever the Host.
    """

    def __init__(self, get_response: Callable[[Any], Any]):
        self.get_response = get_response
        self.check = HostCheck([])

    def __call__(self, request: Any) -> Any:
        from django.conf import settings

        # Read on every request (a cheap comparison) so a changed setting applies at once.
        if self.check.allowed_hosts != settings.ALLOWED_HOSTS:
            self.check = HostCheck(settings.ALLOWED_HOSTS)
        # ops.middleware.HealthProbeMiddleware, next in MIDDLEWARE, answers these.
        if request.path_info not in PROBE_PATHS and not self.check.allows(request.META):
            return refused_host_response()
        return self.get_response(request)


def refused_host_response() -> Any:
    from django.http import HttpResponseBadRequest
    from django.utils.translation import gettext

    logger.info("refused a request for a host this index does not answer for")
    response = HttpResponseBadRequest(
        gettext(
            "This index does not answer for that host name. Use its address "
            "(STRONGROOM_BASE_URL), or ask its operator to add the name to "
            "STRONGROOM_ALLOWED_HOSTS."
        ),
        content_type="text/plain; charset=utf-8",
    )
    response.reason_phrase = "Unknown host"
    return response
