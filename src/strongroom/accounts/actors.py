"""Who acts: the explicit actor every state-changing service takes instead of a request.

An ``Actor`` says who (a user, or nobody: the system), from where (IP address, user agent)
and, for a browser session, when they last confirmed their password. The web builds one
from the request (``web.actor.actor_from``); the CLI, the staff console and tests build
one directly. A trusted publisher will be a further kind of "who" here.

Services check the actor's right themselves through the guards below and
``packages.permissions.require_role``; a refusal is ``NotPermitted``. No HTTP in here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from strongroom.accounts.models import User


class NotPermitted(PermissionDenied):
    """The actor may not do this; ``str(exc)`` is the sentence to show.

    ``two_factor`` is True when the only thing missing is a second factor a rule requires.
    """

    def __init__(self, message: str, *, two_factor: bool = False):
        super().__init__(message)
        self.message = message
        self.two_factor = two_factor

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Actor:
    """Who acts, from where, and (in a browser session) when they last re-authenticated.

    ``session`` is True for a signed-in browser session: there, sensitive actions need a
    password confirmed within ``REAUTH_MAX_AGE``. The CLI and API tokens have no session.
    ``system`` is True only for ``Actor.operator()`` (the CLI, background jobs): an
    anonymous web client is ``user=None`` with ``system=False``.
    """

    user: User | None = None
    ip: str | None = None
    user_agent: str = ""
    session: bool = False
    reauthenticated_at: float | None = None
    system: bool = False

    @classmethod
    def operator(cls) -> Actor:
        """The system: a management command run by whoever runs the server, or a job."""
        return cls(system=True)

    @classmethod
    def of(cls, user: User, *, ip: str | None = None, user_agent: str = "") -> Actor:
        """``user`` acting outside a browser session (the CLI, an API token)."""
        return cls(user=user, ip=ip, user_agent=user_agent)

    @property
    def username(self) -> str:
        return self.user.username if self.user is not None else ""

    def needs_reauthentication(self, now: float | None = None) -> bool:
        """True in a session whose last password proof is older than REAUTH_MAX_AGE."""
        if not self.session:
            return False
        if self.reauthenticated_at is None:
            return True
        now = time.time() if now is None else now
        return now - self.reauthenticated_at > settings.REAUTH_MAX_AGE


def require_user(actor: Actor) -> User:
    """The acting user, who must be an active account now: the database is asked, so an
    account deactivated after the actor was built (or a hand-made User) is refused."""
    user = actor.user
    if (
        user is None
        or not user.is_active
        or not get_user_model()._default_manager.filter(pk=user.pk, is_active=True).exists()
    ):
        raise NotPermitted(_("Sign in to do that."))
    return user


def require_staff(actor: Actor) -> User | None:
    """A staff account, or the system (the operator's CLI); None for the system."""
    if actor.system:
        return None
    user = require_user(actor)
    if not user.is_staff:
        raise NotPermitted(_("Only staff may do that."))
    return user


def require_recent_authentication(actor: Actor, message: str) -> None:
    """Refuse with ``message`` when the actor's session needs the password again."""
    if actor.needs_reauthentication():
        raise NotPermitted(message)
