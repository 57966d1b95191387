"""The actor of a request: who is signed in, from where, and when they last re-authenticated."""

from __future__ import annotations

from typing import TYPE_CHECKING

from strongroom.accounts.actors import Actor
from strongroom.accounts.services import SESSION_AUTH_AT_KEY
from strongroom.web.http import client_ip, user_agent

if TYPE_CHECKING:
    from django.http import HttpRequest

    from strongroom.accounts.models import User


def actor_from(request: HttpRequest, user: User | None = None) -> Actor:
    """The actor for ``request``: its signed-in user (or ``user``, authenticated another
    way, as the upload API does), the client's address and user agent."""
    session_user = getattr(request, "user", None)
    in_session = user is None and session_user is not None and session_user.is_authenticated
    at = request.session.get(SESSION_AUTH_AT_KEY) if in_session else None
    return Actor(
        user=session_user if in_session else user,
        ip=client_ip(request),
        user_agent=user_agent(request),
        session=in_session,
        reauthenticated_at=float(at) if at else None,
    )
