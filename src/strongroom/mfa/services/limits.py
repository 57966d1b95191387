"""The budgets of failed second-factor attempts (TOTP, recovery code, security key, passkey).

Like passwords, an attempt takes its slots *before* it is checked (``ratelimit.take``):
a burst of concurrent codes never gets more checks than a budget allows. The caller
keeps the slots of an attempt that failed and gives back those of one that succeeded,
so only failures count.
"""

from __future__ import annotations

from typing import NoReturn

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import ngettext

from strongroom import ratelimit
from strongroom.accounts.limits import record_limit_hit, record_login_failure
from strongroom.accounts.models import User
from strongroom.mfa.services.common import MfaError, RateLimited
from strongroom.web.http import client_ip


def _limits(
    user: User | None, ip: str, *, address: bool = True
) -> list[tuple[ratelimit.Limit, str]]:
    """The account's budgets first (a person's mistakes), then the address's."""
    limits = []
    if user is not None:
        limits += [
            (ratelimit.Limit(f"mfa:account:{rate}", rate), str(user.pk))
            for rate in settings.MFA_LIMITS_PER_ACCOUNT
        ]
    if address:
        limits.append((ratelimit.Limit("mfa:ip", settings.MFA_LIMIT_PER_IP), ip))
    return limits


def _too_many(retry_after: int, *, for_account: bool) -> str:
    minutes = max(1, (retry_after + 59) // 60)
    if for_account:
        message = ngettext(
            "Too many two-factor attempts for this account. Try again in %(minutes)d minute.",
            "Too many two-factor attempts for this account. Try again in %(minutes)d minutes.",
            minutes,
        )
    else:
        message = ngettext(
            "Too many two-factor attempts from your network. Try again in %(minutes)d minute.",
            "Too many two-factor attempts from your network. Try again in %(minutes)d minutes.",
            minutes,
        )
    return message % {"minutes": minutes}


def check_limits(
    request: HttpRequest, user: User | None, *, address: bool = True
) -> ratelimit.Held:
    """Take a slot of each budget for one second-factor attempt, before it is checked.

    Raises RateLimited, naming the account's or the network's budget, when one is used
    up; the code must then not be checked. ``address=False`` takes only the account's
    budgets (the address's slot was already taken for this attempt). Give the returned
    slots back when the attempt succeeds.
    """
    ip = client_ip(request)
    try:
        return ratelimit.take(*_limits(user, ip, address=address))
    except ratelimit.LimitReached as reached:
        record_limit_hit(request, reached.limit, user=user, key=ip, second_factor=True)
        for_account = reached.limit.scope.startswith("mfa:account:")
        raise RateLimited(
            _too_many(reached.retry_after, for_account=for_account), reached.retry_after
        ) from None


def _refuse(
    request: HttpRequest, user: User | None, *, method: str, reason: str, message: str
) -> NoReturn:
    """Record a failed attempt and refuse with ``message``.

    The attempt's slots were taken by ``check_limits`` before it was checked; they are
    kept, which is what counts the failure.
    """
    record_login_failure(request, user, second_factor=True, reason=reason, method=method)
    raise MfaError(message)
