"""The fetch lease that makes concurrent first downloads fetch once (without threads, so
it runs on every database; tests/e2e/test_proxy.py races real workers)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from strongroom.proxy import fetch
from strongroom.proxy.models import CachedFile

pytestmark = pytest.mark.django_db


@pytest.fixture
def row() -> CachedFile:
    return CachedFile.objects.create(
        sha256="a" * 64, normalized_name="x", filename="x-1.0.tar.gz",
        url="http://up.example/x-1.0.tar.gz", expected="a" * 64,
    )  # fmt: skip


def test_only_one_worker_takes_the_lease(row: CachedFile) -> None:
    assert fetch.take_lease(row)
    assert not fetch.take_lease(row)
    fetch.release_lease(row)
    assert fetch.take_lease(row)


def test_an_expired_lease_is_taken_over(row: CachedFile) -> None:
    assert fetch.take_lease(row)
    CachedFile.objects.filter(pk=row.pk).update(fetching_until=timezone.now() - timedelta(1))
    assert fetch.take_lease(row)


def test_a_stored_file_takes_no_lease(row: CachedFile) -> None:
    CachedFile.objects.filter(pk=row.pk).update(stored=True)
    assert not fetch.take_lease(row)


def test_waiting_ends_when_the_file_is_stored_or_the_fetch_gave_up(row: CachedFile) -> None:
    assert fetch.take_lease(row)
    deadline = time.monotonic() + 0.3
    assert not fetch.wait_for_other_fetch(row, deadline)  # still fetching at the deadline
    CachedFile.objects.filter(pk=row.pk).update(stored=True)
    assert fetch.wait_for_other_fetch(row, time.monotonic() + 5)
    CachedFile.objects.filter(pk=row.pk).update(stored=False, fetching_until=None)
    assert not fetch.wait_for_other_fetch(row, time.monotonic() + 5)  # gave up: fetch it
