"""Rate limits that hold across every worker process.

Callers name a :class:`Limit` and the identifiers it applies to (an IP, a user id);
the backend chosen by ``settings.RATELIMIT_BACKEND`` keeps the counts in a store that
all processes share: Redis when configured, a SQLite file in embedded mode.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import cache
from typing import Protocol

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


@cache
def _parse(scope: str, rate: str) -> limits.RateLimitItem:
    item = limits.parse(rate)
    item.namespace = f"strongroom:{scope}"
    return item


class RateLimitBackend(Protocol):
    def hit(self, item: limits.RateLimitItem, *identifiers: str) -> bool: ...

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


def is_exceeded(limit: Limit, *identifiers: str) -> bool:
    """True when no attempt is left within the window (counts nothing)."""
    return not _backend().test(limit.item, *identifiers)


def retry_after(limit: Limit, *identifiers: str) -> int:
    """Whole seconds until one attempt is allowed again (at least 1)."""
    reset = _backend().reset_at(limit.item, *identifiers)
    return max(1, math.ceil(reset - time.time()))


def clear(limit: Limit, *identifiers: str) -> None:
    _backend().clear(limit.item, *identifiers)
