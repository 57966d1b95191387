"""Rate-limit backends selected by ``settings.RATELIMIT_BACKEND``."""

from __future__ import annotations

import limits
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from strongroom.ratelimit.sqlite_storage import SQLiteStorage


class LimitsBackend:
    """Moving-window limits from the ``limits`` library on a shared store.

    ``sqlite://`` URIs use :class:`SQLiteStorage`; anything else (``redis://``) is
    handed to ``limits`` as is.
    """

    def __init__(self, storage_url: str):
        storage: Storage
        if storage_url.startswith("sqlite://"):
            storage = SQLiteStorage(storage_url)
        else:
            storage = storage_from_string(storage_url)  # type: ignore[assignment]
        self.limiter = MovingWindowRateLimiter(storage)

    def hit(self, item: limits.RateLimitItem, *identifiers: str) -> bool:
        return self.limiter.hit(item, *identifiers)

    def test(self, item: limits.RateLimitItem, *identifiers: str) -> bool:
        return self.limiter.test(item, *identifiers)

    def reset_at(self, item: limits.RateLimitItem, *identifiers: str) -> float:
        return float(self.limiter.get_window_stats(item, *identifiers).reset_time)

    def clear(self, item: limits.RateLimitItem, *identifiers: str) -> None:
        self.limiter.clear(item, *identifiers)
