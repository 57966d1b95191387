"""Rate-limit backends selected by ``settings.RATELIMIT_BACKEND``."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import limits
from django.conf import settings
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from strongroom.ratelimit.sqlite_storage import SQLiteStorage

log = logging.getLogger(__name__)
_WARN_EVERY = 60.0
T = TypeVar("T")


class LimitsBackend:
    """Moving-window limits from the ``limits`` library on a shared store.

    ``sqlite://`` URIs use :class:`SQLiteStorage`; anything else (``redis://``) is
    handed to ``limits`` as is.

    When the shared store cannot be reached, counting moves to a per-process store with
    the same rates and a warning is logged: limits get looser by the number of worker
    processes, but never disappear and never turn into an error page. Counting returns
    to the shared store as soon as it answers again.
    """

    def __init__(self, storage_url: str):
        storage: Storage
        if storage_url.startswith("sqlite://"):
            storage = SQLiteStorage(storage_url)
        else:
            options: dict[str, Any] = dict(getattr(settings, "RATELIMIT_STORAGE_OPTIONS", {}))
            storage = storage_from_string(storage_url, **options)  # type: ignore[assignment]
        self.limiter = MovingWindowRateLimiter(storage)
        self.fallback = MovingWindowRateLimiter(MemoryStorage())
        self._errors: tuple[type[BaseException], ...] = _errors_of(storage)
        self._last_warning = 0.0

    def _call(self, operation: Callable[[MovingWindowRateLimiter], T]) -> T:
        try:
            return operation(self.limiter)
        except self._errors as exc:
            now = time.monotonic()
            if now - self._last_warning > _WARN_EVERY:
                self._last_warning = now
                log.warning(
                    "rate-limit store unavailable (%s); counting in this process until it is back",
                    exc,
                )
            return operation(self.fallback)

    def hit(self, item: limits.RateLimitItem, *identifiers: str) -> bool:
        return self._call(lambda limiter: limiter.hit(item, *identifiers))

    def test(self, item: limits.RateLimitItem, *identifiers: str) -> bool:
        return self._call(lambda limiter: limiter.test(item, *identifiers))

    def reset_at(self, item: limits.RateLimitItem, *identifiers: str) -> float:
        return self._call(
            lambda limiter: float(limiter.get_window_stats(item, *identifiers).reset_time)
        )

    def clear(self, item: limits.RateLimitItem, *identifiers: str) -> None:
        self.fallback.clear(item, *identifiers)
        self._call(lambda limiter: limiter.clear(item, *identifiers))

    def reset(self) -> None:
        """Forget every count (tests)."""
        self.fallback.storage.reset()
        self.limiter.storage.reset()


def _errors_of(storage: Storage) -> tuple[type[BaseException], ...]:
    base = storage.base_exceptions
    errors = base if isinstance(base, tuple) else (base,)
    return (*errors, ConnectionError, TimeoutError)
