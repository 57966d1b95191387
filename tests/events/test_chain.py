"""Tamper evidence: the hash chain names the first event that was altered, removed or inserted."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from strongroom.accounts.actors import Actor
from strongroom.events.chain import purge_before, verify_chain
from strongroom.events.models import ChainCheckpoint, ChainHead, Event
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _events(n: int = 5) -> list[Event]:
    user = UserFactory()
    return [
        record_event(
            EventTag.ACCOUNT_LOGIN_SUCCESS,
            actor=user,
            ip="192.0.2.7",
            ua="Mozilla/5.0",
            extra={"method": "password", "n": i},
        )
        for i in range(n)
    ]


def test_each_event_links_to_the_previous_one_and_the_chain_verifies():
    events = _events(4)
    assert [e.sequence for e in events] == [1, 2, 3, 4]
    assert events[0].prev_hash == ""
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
    assert ChainHead.objects.get(pk=1).sequence == 4
    result = verify_chain()
    assert result.ok, result
    assert result.checked == 4


def test_a_row_edited_with_raw_sql_is_pinpointed():
    events = _events(5)
    target = events[2]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE events_event SET ip = %s WHERE id = %s", ["198.51.100.1", target.pk])
    result = verify_chain()
    assert not result.ok
    assert result.event_id == target.pk
    assert f"event {target.pk} " in result.problem
    assert "altered" in result.problem


def test_a_rewritten_hash_does_not_hide_an_edit():
    """Without the key, recomputing a plain SHA-256 does not help: the HMAC still differs."""
    import hashlib

    events = _events(3)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE events_event SET tag = %s, hash = %s WHERE id = %s",
            ["account:logout", hashlib.sha256(b"forged").hexdigest(), events[1].pk],
        )
    result = verify_chain()
    assert result.event_id == events[1].pk


def test_a_removed_row_is_named_by_the_event_after_the_gap():
    events = _events(5)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM events_event WHERE id = %s", [events[1].pk])
    result = verify_chain()
    assert not result.ok
    assert result.event_id == events[2].pk
    assert "removed" in result.problem


def test_removing_the_newest_rows_is_noticed():
    events = _events(4)
    Event.objects.filter(pk=events[-1].pk).delete()
    result = verify_chain()
    assert not result.ok
    assert "#4" in result.problem and "removed" in result.problem


def test_an_inserted_row_is_named():
    events = _events(3)
    forged = Event.objects.create(
        created=timezone.now(),
        tag="account:login:success",
        sequence=4,
        prev_hash=events[-1].hash,
        hash="0" * 64,
    )
    ChainHead.objects.filter(pk=1).update(sequence=4, hash=forged.hash)
    result = verify_chain()
    assert not result.ok
    assert result.event_id == forged.pk


def test_a_row_written_outside_record_event_is_named():
    _events(2)
    stray = Event.objects.create(created=timezone.now(), tag="account:logout")
    result = verify_chain()
    assert not result.ok
    assert result.event_id == stray.pk
    assert "outside the chain" in result.problem


def test_purge_removes_old_events_and_leaves_a_checkpoint_that_verifies():
    events = _events(6)
    old = timezone.now() - timedelta(days=800)
    Event.objects.filter(pk__in=[e.pk for e in events[:4]]).update(created=old)
    # Back-dating breaks these four rows' hashes; the purge removes exactly them, and what
    # remains verifies from the checkpoint.
    removed = purge_before(timezone.now() - timedelta(days=730))
    assert removed == 4
    checkpoint = ChainCheckpoint.objects.get()
    assert checkpoint.sequence == 4
    assert checkpoint.hash == events[3].hash
    assert set(Event.objects.values_list("pk", flat=True)) == {events[4].pk, events[5].pk}
    result = verify_chain()
    assert result.ok, result
    assert result.checked == 2
    # New events continue the chain after a purge.
    _events(1)
    assert verify_chain().ok


def test_a_forged_checkpoint_is_refused():
    events = _events(4)
    Event.objects.filter(pk__in=[e.pk for e in events[:2]]).delete()
    ChainCheckpoint.objects.create(
        created=timezone.now(), sequence=2, hash=events[1].hash, purged=2, mac="f" * 64
    )
    result = verify_chain()
    assert not result.ok
    assert "checkpoint" in result.problem


def test_purge_keeps_everything_newer_than_the_cutoff():
    _events(3)
    assert purge_before(timezone.now() - timedelta(days=1)) == 0
    assert Event.objects.count() == 3
    assert not ChainCheckpoint.objects.exists()


def test_deleting_a_user_or_project_leaves_their_events_and_the_chain_intact():
    from strongroom.packages.services import create_project

    user = UserFactory()
    project = create_project(Actor.of(user), "doomed")
    record_event(EventTag.ACCOUNT_LOGOUT, actor=user)
    user_id, project_id = user.pk, project.pk
    project.delete()
    user.delete()
    assert Event.objects.filter(user_id=user_id).count() == 2
    assert Event.objects.filter(project_id=project_id).count() == 1
    assert verify_chain().ok
    event = Event.objects.select_related("actor", "project").get(tag="project:create")
    assert event.actor is None and event.project is None
