from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from strongroom.accounts.models import User


def on_user_logged_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """Every login, whatever the path, gets a session record (see SessionTrackingMiddleware)."""
    if request is not None and hasattr(request, "session"):
        from strongroom.accounts.services import start_session

        start_session(request, user)
