"""Issue 21, item 6: a slot is taken before the attempt is checked, atomically, in the
shared store, so a burst of concurrent attempts never gets more than the limit."""

from __future__ import annotations

import os
import secrets
import threading

import pytest
from django.conf import settings as django_settings

from strongroom import ratelimit
from strongroom.ratelimit.backends import LimitsBackend
from tests.support import require

LIMIT = ratelimit.Limit("test:burst", "10/5minutes")


def _redis_url() -> str:
    url = os.environ.get("STRONGROOM_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    except Exception as exc:  # any failure means "no Redis here"
        require(False, f"Redis is not reachable at {url} ({exc})")
    return url


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.scale)])
def store(request, settings, tmp_path):  # type: ignore[no-untyped-def]
    """The embedded store, or Redis with a key prefix of this test's own."""
    if request.param == "sqlite":
        settings.RATELIMIT_STORAGE_URL = f"sqlite://{tmp_path}/ratelimits.sqlite3"
        settings.RATELIMIT_STORAGE_OPTIONS = {}
    else:
        settings.RATELIMIT_STORAGE_URL = _redis_url()
        settings.RATELIMIT_STORAGE_OPTIONS = {"key_prefix": f"test-{secrets.token_hex(4)}"}
    ratelimit.reset_backend()
    yield request.param
    ratelimit.reset_backend()


def _burst(count: int, identifier: str) -> list[ratelimit.Held | None]:
    """``count`` threads, each with its own store connection (and, in the store's eyes,
    its own worker), take a slot at the same moment."""
    start = threading.Barrier(count)
    results: list[ratelimit.Held | None] = [None] * count

    def attempt(n: int) -> None:
        backend = LimitsBackend(django_settings.RATELIMIT_STORAGE_URL)
        start.wait()
        slot = backend.acquire(LIMIT.item, identifier)
        results[n] = ratelimit.Held([slot]) if slot is not None else None

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_a_burst_of_forty_gets_exactly_ten_slots(store):
    identifier = secrets.token_hex(4)
    taken = [held for held in _burst(40, identifier) if held is not None]
    assert len(taken) == 10
    with pytest.raises(ratelimit.LimitReached) as caught:
        ratelimit.take((LIMIT, identifier))
    assert caught.value.limit == LIMIT and 0 < caught.value.retry_after <= 300


def test_given_back_slots_can_be_taken_again_and_only_those(store):
    identifier = secrets.token_hex(4)
    held = [ratelimit.take((LIMIT, identifier)) for _ in range(10)]
    held[0].give_back()
    held[0].give_back()  # twice is harmless: one slot came back, not two
    ratelimit.take((LIMIT, identifier))
    with pytest.raises(ratelimit.LimitReached):
        ratelimit.take((LIMIT, identifier))


def test_all_or_nothing_across_limits(store):
    small = ratelimit.Limit("test:small", "1/5minutes")
    identifier = secrets.token_hex(4)
    ratelimit.take((small, identifier))
    for _attempt in range(15):
        with pytest.raises(ratelimit.LimitReached) as caught:
            ratelimit.take((LIMIT, identifier), (small, identifier))
        assert caught.value.limit == small
    # The big limit's slots taken before the small one said no were all given back.
    for _attempt in range(10):
        ratelimit.take((LIMIT, identifier))


def test_first_refusal_is_true_once_per_period_and_key(store):
    identifier = secrets.token_hex(4)
    assert ratelimit.first_refusal(LIMIT, identifier)
    assert not any(ratelimit.first_refusal(LIMIT, identifier) for _ in range(50))
    assert ratelimit.first_refusal(LIMIT, identifier + "-other")
