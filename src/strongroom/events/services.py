"""record_event(): the only writer of the audit log."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from strongroom.accounts.actors import Actor
from strongroom.events import chain, forwarding
from strongroom.events.models import Event
from strongroom.events.tags import EventTag
from strongroom.web.http import client_ip, user_agent

if TYPE_CHECKING:
    from django.http import HttpRequest

    from strongroom.accounts.models import User


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def record_event(
    tag: EventTag,
    *,
    request: HttpRequest | None = None,
    actor: Actor | User | None = None,
    user: User | None = None,
    ip: str | None = None,
    ua: str | None = None,
    extra: dict[str, Any] | None = None,
    **subjects: Any,
) -> Event:
    """Store one audit event in the caller's transaction.

    ``actor`` is who acted, ``user`` whose history it belongs to (defaults to the actor).
    IP and user agent come from the ``Actor`` (or, for the session functions that still
    pass one, ``request``) unless given. Further keyword arguments name
    other subjects (``project=...``) that apps add to the model. The event joins the hash
    chain (``chain.append``) and, once the transaction commits, is forwarded to the
    configured collector, if any.
    """
    if not isinstance(tag, EventTag):
        tag = EventTag(tag)
    who: User | None
    if isinstance(actor, Actor):
        ip = ip or actor.ip
        ua = ua if ua is not None else actor.user_agent
        who = actor.user
    else:
        who = actor
    if request is not None:
        ip = ip or client_ip(request)
        ua = ua if ua is not None else user_agent(request)
        request_user = getattr(request, "user", None)
        if who is None and request_user is not None and request_user.is_authenticated:
            who = request_user
    event = chain.append(
        Event(
            created=timezone.now(),
            tag=tag.value,
            actor=who,
            user=user if user is not None else who,
            ip=_valid_ip(ip),
            user_agent=(ua or "")[:512],
            extra=chain.normalize_extra(extra),
            **subjects,
        )
    )
    if forwarding.enabled():
        transaction.on_commit(lambda: forwarding.submit(event))
    return event
