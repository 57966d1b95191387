"""``{% mfa_summary user as mfa %}`` for pages of other apps (the account page), and
``{% webauthn_support %}`` for every page that offers a security key or passkey."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import template
from django.conf import settings
from django.http.request import split_domain_port

from strongroom.accounts.models import User
from strongroom.mfa.services import changes
from strongroom.web.hosts import is_ip_address

register = template.Library()


@register.simple_tag
def mfa_summary(user: object) -> dict[str, Any]:
    if not isinstance(user, User):
        return {}
    return changes.summary(user)


@register.inclusion_tag("mfa/webauthn_support.html", takes_context=True)
def webauthn_support(context: template.Context) -> dict[str, Any]:
    """What webauthn.js needs on a page: browser errors as sentences, and a notice when
    the page was reached by an IP address, where browsers refuse WebAuthn ("This is an
    invalid domain"), with a link to the same page on the site's name when it has one."""
    request = context.get("request")
    domain = split_domain_port(request.get_host())[0] if request is not None else ""
    by_ip = is_ip_address(domain)
    named_url = ""
    base_host = urlsplit(settings.BASE_URL).hostname or ""
    if by_ip and request is not None and base_host and not is_ip_address(base_host):
        named_url = settings.BASE_URL + request.get_full_path()
    return {"by_ip": by_ip, "address": domain, "named_url": named_url}
