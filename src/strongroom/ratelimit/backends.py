"""Rate-limit backends selected by ``settings.RATELIMIT_BACKEND``."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import limits
from django.conf import settings
from limits.storage import MemoryStorage, RedisStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from strongroom.ratelimit.sqlite_storage import SQLiteStorage

log = logging.getLogger(__name__)
_WARN_EVERY = 60.0
T = TypeVar("T")


@dataclass(frozen=True)
class Slot:
    """One entry taken in a moving window: the store that holds it and its key."""

    storage: Storage
    key: str


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
        return self._call_with(operation)[1]

    def _call_with(
        self, operation: Callable[[MovingWindowRateLimiter], T]
    ) -> tuple[MovingWindowRateLimiter, T]:
        try:
            return self.limiter, operation(self.limiter)
        except self._errors as exc:
            self._warn(exc)
            return self.fallback, operation(self.fallback)

    def _warn(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._last_warning > _WARN_EVERY:
            self._last_warning = now
            log.warning(
                "rate-limit store unavailable (%s); counting in this process until it is back",
                exc,
            )

    def hit(self, item: limits.RateLimitItem, *identifiers: str) -> bool:
        return self._call(lambda limiter: limiter.hit(item, *identifiers))

    def acquire(self, item: limits.RateLimitItem, *identifiers: str) -> Slot | None:
        """Take one entry in the moving window atomically (see ``ratelimit.take``)."""
        limiter, taken = self._call_with(lambda limiter: limiter.hit(item, *identifiers))
        return Slot(limiter.storage, item.key_for(*identifiers)) if taken else None

    def release(self, slot: Slot) -> None:
        """Remove one entry from the slot's window, in the store that took it.

        The newest entry goes, which may be a concurrent attempt's rather than this
        one's: entries differ only by their time, by less than one check's duration.
        When the store cannot be reached the entry stays: limits get stricter, not looser.
        """
        try:
            _remove_newest_entry(slot.storage, slot.key)
        except self._errors as exc:
            self._warn(exc)

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


def _remove_newest_entry(storage: Storage, key: str) -> None:
    if isinstance(storage, SQLiteStorage):
        storage.release_entry(key)
    elif isinstance(storage, RedisStorage):
        # The moving window is a list of times, newest first (limits' own layout).
        storage.get_connection().lpop(storage.prefixed_key(key))  # type: ignore[attr-defined]
    elif isinstance(storage, MemoryStorage):
        with storage.locks[key]:
            entries = storage.events.get(key)
            if entries:
                entries.pop(0)
    else:
        raise NotImplementedError(f"cannot give back a slot in {type(storage).__name__}")


def _errors_of(storage: Storage) -> tuple[type[BaseException], ...]:
    base = storage.base_exceptions
    errors = base if isinstance(base, tuple) else (base,)
    return (*errors, ConnectionError, TimeoutError)
