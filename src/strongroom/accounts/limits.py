"""The failure budgets of password attempts (sign-in, re-authentication, password change).

An attempt takes a slot of each budget *before* its password is checked
(``ratelimit.take``), so a burst never gets more checks than a budget allows; the
caller keeps the slots of a wrong password and gives back those of a right one.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import ngettext

from strongroom import keys, ratelimit
from strongroom.accounts.errors import RateLimited
from strongroom.accounts.models import User
from strongroom.accounts.usernames import normalize_username
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.ops import metrics
from strongroom.web.http import client_ip


def _login_limits(*, signed_in: bool = False) -> list[tuple[ratelimit.Limit, str]]:
    """The failure budgets a password attempt draws on, most specific first.

    One account from one address (a person's typos lock only that account, only from
    there), one account from everywhere (a distributed guess at one password), one
    address across every account (credential stuffing from an office, NAT or VPN address
    stops, but only after several people's budgets), and the whole site. A signed-in
    user confirming their password is not stuffing: the address-wide and site-wide
    budgets do not apply to them.
    """
    limits = [
        (
            ratelimit.Limit("login:ip-account", settings.LOGIN_FAILURE_LIMIT_PER_IP_ACCOUNT),
            "ip_account",
        ),
        (ratelimit.Limit("login:account", settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT), "account"),
    ]
    if not signed_in:
        limits += [
            (ratelimit.Limit("login:ip", settings.LOGIN_FAILURE_LIMIT_PER_IP), "ip"),
            (ratelimit.Limit("login:global", settings.LOGIN_FAILURE_LIMIT_GLOBAL), "global"),
        ]
    return limits


def _too_many_attempts(retry_after: int, scope: str = "") -> str:
    """The refusal, naming what was limited."""
    minutes = max(1, (retry_after + 59) // 60)
    if scope == "ip_account":
        message = ngettext(
            "Too many failed sign-ins for this account from your network. "
            "Try again in %(minutes)d minute.",
            "Too many failed sign-ins for this account from your network. "
            "Try again in %(minutes)d minutes.",
            minutes,
        )
    elif scope == "account":
        message = ngettext(
            "Too many failed sign-ins for this account. Try again in %(minutes)d minute.",
            "Too many failed sign-ins for this account. Try again in %(minutes)d minutes.",
            minutes,
        )
    elif scope == "ip":
        message = ngettext(
            "Too many failed sign-ins from your network. Try again in %(minutes)d minute.",
            "Too many failed sign-ins from your network. Try again in %(minutes)d minutes.",
            minutes,
        )
    elif scope == "global":
        message = ngettext(
            "Too many failed sign-ins on this site right now. Try again in %(minutes)d minute.",
            "Too many failed sign-ins on this site right now. Try again in %(minutes)d minutes.",
            minutes,
        )
    else:
        message = ngettext(
            "Too many failed attempts. Try again in %(minutes)d minute.",
            "Too many failed attempts. Try again in %(minutes)d minutes.",
            minutes,
        )
    return message % {"minutes": minutes}


def login_key(login: str) -> str:
    """A keyed hash of an attempted login name: stable for counting and searching,
    useless to someone who reads the audit log hoping to find a mistyped password."""
    normalized = normalize_username(login).lower()
    # Keyed with its own derived key; after a key rotation the hashes of new attempts
    # differ from older ones, which only restarts the counting of unknown logins.
    key = keys.current(keys.Purpose.LOGIN).key
    digest = hmac.new(key, normalized.encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:32]


def _identifiers(request: HttpRequest, login: str, user: User | None) -> dict[str, str]:
    # An existing account is counted by its id, so its username in any case or width and
    # each of its email addresses all share one budget of attempts.
    account = f"user:{user.pk}" if user is not None else f"login:{login_key(login)}"
    ip = client_ip(request)
    return {"ip_account": f"{ip}|{account}", "account": account, "ip": ip, "global": "all"}


def check_login_limits(
    request: HttpRequest, login: str, user: User | None = None, *, signed_in: bool = False
) -> ratelimit.Held:
    """Take a slot of every failure budget for one password attempt, before it is checked.

    Raises RateLimited, naming the budget that was used up, when any has no slot left:
    the password must then not be checked at all. The caller keeps the returned slots
    when the password was wrong (that is the failure's count) and gives them back when
    it was right, so only failures count and a burst never gets more checks than a
    budget allows.
    """
    ids = _identifiers(request, login, user)
    scopes = {limit: scope for limit, scope in _login_limits(signed_in=signed_in)}
    try:
        return ratelimit.take(*((limit, ids[scope]) for limit, scope in scopes.items()))
    except ratelimit.LimitReached as reached:
        record_limit_hit(request, reached.limit, user=user, login_hash=login_key(login))
        scope = scopes[reached.limit]
        message = _too_many_attempts(reached.retry_after, scope)
        raise RateLimited(message, reached.retry_after) from None


def record_limit_hit(
    request: HttpRequest,
    limit: ratelimit.Limit,
    *,
    user: User | None = None,
    key: str | None = None,
    **extra: object,
) -> None:
    """A limit was reached: keep a trace for the administrators, once per limit and
    ``key`` (the client's address unless given) in each of the limit's periods, so one
    address cannot flood the audit chain with refusals. The metric counts every hit."""
    metrics.LIMIT_HITS.labels(limit.scope).inc()
    if not ratelimit.first_refusal(limit, key if key is not None else client_ip(request)):
        return
    with transaction.atomic():
        record_event(
            EventTag.ACCOUNT_RATELIMIT_HIT,
            request=request,
            user=user,
            extra={
                "limit": limit.scope,
                "rate": limit.rate,
                **extra,
                "once_per_seconds": limit.period,
            },
        )


def record_login_failure(
    request: HttpRequest, user: User | None, *, second_factor: bool = False, **extra: object
) -> None:
    """A password (or, with ``second_factor``, a second-factor code) was refused: the
    audit event and the metric, for every place a sign-in step can fail."""
    metrics.LOGIN_FAILURES.labels("second_factor" if second_factor else "password").inc()
    if second_factor:
        extra["second_factor"] = True
    with transaction.atomic():
        record_event(EventTag.ACCOUNT_LOGIN_FAILURE, request=request, user=user, extra=extra)
