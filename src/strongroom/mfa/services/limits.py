"""Limits on second-factor attempts: checked before, counted on failure."""

from __future__ import annotations

from typing import NoReturn

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import ngettext

from strongroom import ratelimit
from strongroom.accounts.models import User
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.mfa.services.common import (
    MfaError,
    RateLimited,
)
from strongroom.web.http import client_ip


def _limits(user: User | None, ip: str) -> list[tuple[ratelimit.Limit, str]]:
    limits = [(ratelimit.Limit("mfa:ip", settings.MFA_LIMIT_PER_IP), ip)]
    if user is not None:
        limits += [
            (ratelimit.Limit(f"mfa:account:{rate}", rate), str(user.pk))
            for rate in settings.MFA_LIMITS_PER_ACCOUNT
        ]
    return limits


def check_limits(request: HttpRequest, user: User | None) -> None:
    """Raise RateLimited when this account or address has failed too often lately."""
    for limit, identifier in _limits(user, client_ip(request)):
        if ratelimit.is_exceeded(limit, identifier):
            wait = ratelimit.retry_after(limit, identifier)
            with transaction.atomic():
                record_event(
                    EventTag.ACCOUNT_RATELIMIT_HIT,
                    request=request,
                    user=user,
                    extra={"limit": limit.scope, "rate": limit.rate, "second_factor": True},
                )
            minutes = max(1, (wait + 59) // 60)
            raise RateLimited(
                ngettext(
                    "Too many two-factor attempts. Try again in %(minutes)d minute.",
                    "Too many two-factor attempts. Try again in %(minutes)d minutes.",
                    minutes,
                )
                % {"minutes": minutes},
                wait,
            )


def _refuse(
    request: HttpRequest, user: User | None, *, method: str, reason: str, message: str
) -> NoReturn:
    """Count a failed attempt, record it, and refuse with ``message``."""
    for limit, identifier in _limits(user, client_ip(request)):
        ratelimit.hit(limit, identifier)
    with transaction.atomic():
        record_event(
            EventTag.ACCOUNT_LOGIN_FAILURE,
            request=request,
            user=user,
            extra={"reason": reason, "method": method, "second_factor": True},
        )
    raise MfaError(message)
