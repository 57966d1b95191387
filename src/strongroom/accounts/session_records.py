"""Which signed-in browser session is this, and ending the others: for services that are
handed the session rather than the request."""

from __future__ import annotations

from django.contrib.sessions.backends.base import SessionBase

from strongroom.accounts.models import SessionRecord, User

SESSION_RECORD_KEY = "strongroom_sid"


def session_record_id(session: SessionBase) -> str | None:
    """The SessionRecord id of this browser session, if it is signed in."""
    value = session.get(SESSION_RECORD_KEY)
    return str(value) if value else None


def end_sessions_except(user: User, keep: str | None) -> int:
    """End every session of ``user`` but the one recorded as ``keep``; how many ended."""
    others = SessionRecord.objects.filter(user=user)
    if keep:
        others = others.exclude(pk=keep)
    deleted, _rows = others.delete()
    return deleted
