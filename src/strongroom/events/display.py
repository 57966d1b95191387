"""Turning events into table rows for the history pages (account, project, staff)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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

# The extra fields worth a word in the table, in the order they are shown, with their label.
_DETAIL_KEYS = (
    ("email", _("email")),
    ("project", _("project")),
    ("version", _("version")),
    ("filename", _("filename")),
    ("name", _("name")),
    ("username", _("account")),  # whom a role event is about (invited, removed, ...)
    ("method", _("method")),
    ("token_name", _("token")),  # the API token an upload used (or was refused with)
    ("label", _("label")),
    ("limit", _("limit")),
    ("old_role", _("previous role")),
    ("role", _("role")),
    ("changed", _("changed")),
)


def detail(event: Event) -> str:
    """A short summary of ``extra``: ``"project: demo, version: 1.0"``."""
    extra: dict[str, Any] = event.extra if isinstance(event.extra, dict) else {}
    parts = []
    for key, label in _DETAIL_KEYS:
        value = extra.get(key)
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        parts.append(f"{label}: {value}")
    return ", ".join(parts)


def reason(event: Event) -> str:
    extra = event.extra if isinstance(event.extra, dict) else {}
    raw = extra.get("reason")
    if not raw:
        return ""
    return str(REASONS.get(str(raw), raw))


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a history page: their account id, and whether they are staff
    with a second factor (events.views.viewer_of builds it from the request)."""

    user_id: object | None
    is_staff: bool = False


def sees_client(event: Event, viewer: Viewer) -> bool:
    """A person's IP address and user agent are shown to that person and to staff only.

    The person is whoever acted; when nobody signed in acted (a failed login, a refused
    token), it is the account the event concerns. Everyone else (a co-Owner reading the
    project's history, an invitee reading their own) sees the event without them.
    """
    if viewer.is_staff:
        return True
    person = event.actor_id if event.actor_id is not None else event.user_id
    return person is not None and viewer.user_id is not None and str(person) == str(viewer.user_id)


def rows(events: Iterable[Event], viewer: Viewer) -> list[dict[str, Any]]:
    """Rows for ``events/table.html``; load events with select_related("actor")."""
    result = []
    for event in events:
        shown = sees_client(event, viewer)
        result.append(
            {
                "event": event,
                "ip": event.ip if shown else None,
                "client": describe_user_agent(event.user_agent) if shown else None,
                "reason": reason(event),
                "detail": detail(event),
            }
        )
    return result
