"""Turning events into table rows for the history pages (account, project, staff)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext_lazy as _

from strongroom.events.models import Event
from strongroom.web.useragents import describe_user_agent

REASONS = {
    "invalid_password": _("wrong password"),
    "unknown_user": _("unknown user"),
    "inactive": _("account disabled"),
    "invalid_totp": _("wrong authenticator code"),
    "reused_totp": _("authenticator code used twice"),
    "invalid_recovery_code": _("wrong recovery code"),
    "used_recovery_code": _("recovery code already used"),
    "invalid_webauthn": _("security key not verified"),
    "cloned_key": _("security key looks copied"),
}

# The extra fields worth a word in the table, in the order they are shown.
_DETAIL_KEYS = (
    "email",
    "project",
    "version",
    "filename",
    "name",
    "method",
    "label",
    "limit",
    "role",
    "changed",
)


def detail(event: Event) -> str:
    """A short summary of ``extra``: ``"project: demo, version: 1.0"``."""
    extra: dict[str, Any] = event.extra if isinstance(event.extra, dict) else {}
    parts = []
    for key in _DETAIL_KEYS:
        value = extra.get(key)
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        parts.append(f"{key}: {value}")
    return ", ".join(parts)


def reason(event: Event) -> str:
    extra = event.extra if isinstance(event.extra, dict) else {}
    raw = extra.get("reason")
    if not raw:
        return ""
    return str(REASONS.get(str(raw), raw))


def rows(events: Iterable[Event]) -> list[dict[str, Any]]:
    """Rows for ``events/table.html``; load events with select_related("actor")."""
    return [
        {
            "event": event,
            "client": describe_user_agent(event.user_agent),
            "reason": reason(event),
            "detail": detail(event),
        }
        for event in events
    ]
