"""Sending the security emails: HTML with a plain-text part, after the commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from strongroom.web.http import absolute_url, client_ip, user_agent
from strongroom.web.useragents import describe_user_agent

if TYPE_CHECKING:
    from django.http import HttpRequest

    from strongroom.accounts.actors import Actor
    from strongroom.accounts.models import User
    from strongroom.events.models import Event

log = logging.getLogger("strongroom.notify")


def history_link(event: Event | None) -> str:
    """The security history page, anchored at ``event``'s row when there is one."""
    path = reverse("accounts:security_history")
    return f"{path}#event-{event.pk}" if event is not None and event.pk else path


def _render(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    subject = " ".join(render_to_string(f"notify/{template}.subject.txt", context).split())
    text = render_to_string(f"notify/{template}.txt", context)
    html = render_to_string(f"notify/{template}.html", context)
    return subject, text, html


def _requester(request: HttpRequest | None) -> User | None:
    user = getattr(request, "user", None) if request is not None else None
    return user if user is not None and user.is_authenticated else None


def _addresses_of(user: User | None) -> set[str]:
    if user is None:
        return set()
    return {e.lower() for e in user.emails.values_list("email", flat=True)}


def send_email(
    recipients: Iterable[str],
    template: str,
    context: dict[str, Any],
    *,
    request: HttpRequest | None = None,
    actor: Actor | None = None,
    event: Event | None = None,
    client_to: Iterable[str] | None = None,
) -> None:
    """Queue one email per recipient, sent once the current transaction commits.

    The address and browser the email mentions come from ``actor`` (or ``request``).

    With ``event``, the link to the security history points at that event's row.
    The request's IP address and browser go only to ``client_to`` (by default the
    addresses of whoever is signed in): they are that person's, not the other recipients'.
    A failure to send is logged, never raised: the action the email reports on has
    already happened and must not be undone by a mail outage.
    """
    recipients = sorted(set(recipients))
    if not recipients:
        return
    base = {
        "site_name": settings.SITE_NAME,
        "account_url": absolute_url(reverse("accounts:manage")),
        "history_url": absolute_url(history_link(event)),
        "when": timezone.now(),
    }
    full_context = {**base, **context}
    shared = _render(template, full_context)
    # Where the request came from is for the person who made it only (see
    # events.display.sees_client): an Owner told of a co-Owner's change does not get it.
    client: dict[str, str] | None = None
    requester = _requester(request)
    if actor is not None and actor.ip:
        client = {"ip": actor.ip, "browser": describe_user_agent(actor.user_agent)}
        requester = actor.user
    elif request is not None:
        client = {"ip": client_ip(request), "browser": describe_user_agent(user_agent(request))}
    # By default the request's details are for whoever made it, if they are a recipient.
    person = {a.lower() for a in client_to} if client_to is not None else _addresses_of(requester)
    own = shared
    if client is not None and person & {a.lower() for a in recipients}:
        own = _render(template, {**full_context, **client})

    def deliver() -> None:
        for address in recipients:
            subject, text, html = own if address.lower() in person else shared
            message = EmailMultiAlternatives(
                subject=f"[{settings.SITE_NAME}] {subject}",
                body=text,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[address],
            )
            message.attach_alternative(html, "text/html")
            try:
                message.send()
            except Exception:  # a mail outage must not fail the action
                log.exception("could not send %r to %s", template, address)

    transaction.on_commit(deliver)


def send_security_email(
    user: User,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    request: HttpRequest | None = None,
    actor: Actor | None = None,
    recipients: Iterable[str] | None = None,
    event: Event | None = None,
) -> None:
    """A security notice to the user's primary address (or the given addresses).

    Pass the ``event`` recorded for the same action so the email links straight to it.
    """
    if recipients is None:
        primary = user.primary_email
        recipients = [primary.email] if primary else []
    recipients = list(recipients)
    # The notice is the user's: the request's IP and browser are theirs too, unless someone
    # else signed in made it (an Owner inviting them, staff changing their account).
    requester = actor.user if actor is not None and not actor.system else _requester(request)
    client_to = recipients if requester is None or requester.pk == user.pk else []
    send_email(
        recipients,
        template,
        {"user": user, **(context or {})},
        request=request,
        actor=actor,
        event=event,
        client_to=client_to,
    )
