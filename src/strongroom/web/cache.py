"""Django's Redis cache, made to treat an unreachable Redis as an empty cache.

Everything Strongroom keeps in the cache can be rebuilt (index pages) or has a
durable copy (sessions live in the database too), so a Redis outage should cost
speed, not availability. Errors are logged, at most once a minute per process.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
_WARN_EVERY = 60.0


class ResilientRedisCache(RedisCache):
    _last_warning = 0.0

    def _failed(self, operation: str, error: Exception) -> None:
        now = time.monotonic()
        if now - ResilientRedisCache._last_warning > _WARN_EVERY:
            ResilientRedisCache._last_warning = now
            log.warning("Redis unavailable (%s): %s; serving without the cache", operation, error)

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        try:
            return super().get(key, default, version)
        except RedisError as exc:
            self._failed("get", exc)
            return default

    def get_many(self, keys: Any, version: Any = None) -> Any:
        try:
            return super().get_many(keys, version)
        except RedisError as exc:
            self._failed("get_many", exc)
            return {}

    def has_key(self, key: Any, version: Any = None) -> bool:
        try:
            return bool(super().has_key(key, version))
        except RedisError as exc:
            self._failed("has_key", exc)
            return False

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        try:
            super().set(key, value, timeout, version)
        except RedisError as exc:
            self._failed("set", exc)

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        try:
            return bool(super().add(key, value, timeout, version))
        except RedisError as exc:
            self._failed("add", exc)
            return False

    def delete(self, key: Any, version: Any = None) -> bool:
        try:
            return bool(super().delete(key, version))
        except RedisError as exc:
            self._failed("delete", exc)
            return False
