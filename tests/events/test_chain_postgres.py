"""Concurrent writers on PostgreSQL: the chain-head row lock keeps one unbroken chain.

This is about PostgreSQL itself, so it only runs in the scale-out pass of CI (the suite's
second run, with STRONGROOM_DATABASE_URL set). SQLite's concurrency is covered by
test_audit_cli.py with several writer processes on one database file.
"""

from __future__ import annotations

import os
import threading

import pytest
from django.db import connection, transaction

from strongroom.events.chain import verify_chain
from strongroom.events.models import Event
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from tests.support import require

# The embedded CI pass deselects "scale" tests; the scale-out pass runs them.
pytestmark = pytest.mark.scale


@pytest.mark.django_db(transaction=True)
def test_concurrent_writer_threads_keep_one_unbroken_chain_on_postgresql():
    require(
        bool(os.environ.get("STRONGROOM_DATABASE_URL")) and connection.vendor == "postgresql",
        "PostgreSQL-only: set STRONGROOM_DATABASE_URL (the scale-out pass of .ci/run does)",
    )
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(25):
                with transaction.atomic():
                    record_event(EventTag.ACCOUNT_LOGIN_FAILURE, extra={"writer": n, "n": i})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert Event.objects.count() == 200
    assert sorted(Event.objects.values_list("sequence", flat=True)) == list(range(1, 201))
    result = verify_chain()
    assert result.ok, result
