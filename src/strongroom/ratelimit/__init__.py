"""Rate limits that hold across every worker process.

Callers name a :class:`Limit` and the identifiers it applies to (an IP, a user id);
the backend chosen by ``settings.RATELIMIT_BACKEND`` keeps the counts in a store that
all processes share: Redis when configured, a SQLite file in embedded mode.

Guarded attempts (a password, a second-factor code) are counted *before* they are
checked: :func:`take` atomically takes one slot of every limit that applies, or none,
and only then may the caller check the secret. A burst of concurrent attempts therefore
never gets more checks than a limit allows, whichever worker or node answers. A slot
taken by an attempt that turned out right is given back (:meth:`Held.give_back`), so
only failures count against a budget, as on PyPI. The price: an attempt holds its slot
while it is being checked, so a budget also caps how many attempts may be in flight at
once; an attempt arriving while every slot is held (even a right one) is refused with a
``Retry-After`` like any other.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import limits
from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Limit:
    """A named rate such as ``Limit("login:ip", "10/5minutes")``."""

    scope: str
    rate: str

    @property
    def item(self) -> limits.RateLimitItem:
        return _parse(self.scope, self.rate)

    @property
    def period(self) -> int:
        """The length of the limit's window, in seconds."""
        return int(self.item.get_expiry())


@cache
def _parse(scope: str, rate: str) -> limits.RateLimitItem:
    item = limits.parse(rate)
    item.namespace = f"strongroom:{scope}"
    return item


class RateLimitBackend(Protocol):
    def hit(self, item: limits.RateLimitItem, *identifiers: str) -> bool: ...

    def acquire(self, item: limits.RateLimitItem, *identifiers: str) -> Any | None:
        """Take one slot atomically; return a handle for :meth:`release`, or None."""

    def release(self, slot: Any) -> None:
        """Give back a slot taken by :meth:`acquire`."""

    def test(self, item: limits.RateLimitItem, *identifiers: str) -> bool: ...

    def reset_at(self, item: limits.RateLimitItem, *identifiers: str) -> float: ...

    def clear(self, item: limits.RateLimitItem, *identifiers: str) -> None: ...


@cache
def _backend() -> RateLimitBackend:
    backend_class = import_string(settings.RATELIMIT_BACKEND)
    backend: RateLimitBackend = backend_class(settings.RATELIMIT_STORAGE_URL)
    return backend


def reset_backend() -> None:
    """Forget the configured backend (tests that change settings call this)."""
    _backend.cache_clear()


def hit(limit: Limit, *identifiers: str) -> bool:
    """Count one attempt; return False when the limit was already used up."""
    return _backend().hit(limit.item, *identifiers)


class LimitReached(Exception):
    """No slot was left in ``limit`` for ``identifier``; nothing was counted."""

    def __init__(self, limit: Limit, identifier: str, retry_after: int):
        super().__init__(f"{limit.scope} ({limit.rate}) reached")
        self.limit = limit
        self.identifier = identifier
        self.retry_after = retry_after


@dataclass
class Held:
    """The slots one attempt took before it was checked.

    Keep them when the attempt failed (they are its count); give them back when it
    turned out right. Giving back twice is harmless.
    """

    slots: list[Any] = field(default_factory=list)

    def give_back(self) -> None:
        backend = _backend()
        while self.slots:
            backend.release(self.slots.pop())

    def extend(self, other: Held) -> None:
        self.slots += other.slots
        other.slots = []


def take(*limits_and_ids: tuple[Limit, str]) -> Held:
    """Take one slot of each ``(limit, identifier)`` for an attempt about to be checked.

    All or nothing: when one limit has no slot left, the slots already taken are given
    back and :class:`LimitReached` names that limit, so the attempt must be refused
    without checking it. Each slot is taken atomically in the shared store (a Lua script
    on Redis, an immediate transaction on SQLite), so concurrent attempts on any number
    of workers and nodes never take more slots than a limit has.
    """
    backend = _backend()
    held = Held()
    for limit, identifier in limits_and_ids:
        slot = backend.acquire(limit.item, identifier)
        if slot is None:
            held.give_back()
            raise LimitReached(limit, identifier, retry_after(limit, identifier))
        held.slots.append(slot)
    return held


def first_refusal(limit: Limit, key: str) -> bool:
    """True for the first refusal by ``limit`` for ``key`` within the limit's period.

    Callers record one audit event per limit and address per period instead of one per
    refused attempt, so a client hammering a limit cannot flood the audit chain.
    """
    marker = limits.RateLimitItemPerSecond(1, limit.period, namespace="strongroom:refused")
    return _backend().hit(marker, limit.scope, key)


def is_exceeded(limit: Limit, *identifiers: str) -> bool:
    """True when no attempt is left within the window (counts nothing)."""
    return not _backend().test(limit.item, *identifiers)


def retry_after(limit: Limit, *identifiers: str) -> int:
    """Whole seconds until one attempt is allowed again (at least 1)."""
    reset = _backend().reset_at(limit.item, *identifiers)
    return max(1, math.ceil(reset - time.time()))


def clear(limit: Limit, *identifiers: str) -> None:
    _backend().clear(limit.item, *identifiers)
