"""The audit log's hash chain: append, verify, purge.

Each event's ``hash`` is an HMAC-SHA256, keyed with a secret derived from SECRET_KEY, over a
canonical JSON of its content and the previous event's hash. Someone who can write to the
database but does not hold the key cannot edit, remove or insert an event without
``verify_chain`` naming the first place the chain breaks.

Writers take the chain head (one row) with ``select_for_update`` inside the caller's
transaction: on PostgreSQL that row lock orders concurrent writers; on SQLite every write
transaction is already exclusive (BEGIN IMMEDIATE). The lock lasts until the caller
commits, which is short because the event is usually the transaction's last write.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from strongroom.events.models import ChainCheckpoint, ChainHead, Event

VERSION = 1
_HEAD = 1


def _key() -> bytes:
    return hmac.new(
        settings.SECRET_KEY.encode(), b"strongroom audit chain v1", hashlib.sha256
    ).digest()


def normalize_extra(extra: dict[str, Any] | None) -> dict[str, Any]:
    """What the JSON column will give back: plain JSON types only."""
    return json.loads(json.dumps(extra or {}, default=str))


def _ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(str(value).split("/")[0]))
    except ValueError:
        return str(value)


def _when(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def content_hash(
    *,
    sequence: int,
    created: datetime,
    tag: str,
    actor_id: object,
    user_id: object,
    project_id: object,
    ip: str | None,
    user_agent: str,
    extra: dict[str, Any],
    prev_hash: str,
) -> str:
    """The keyed hash of one event's content and its predecessor's hash."""
    canonical = json.dumps(
        [
            VERSION,
            sequence,
            _when(created),
            tag,
            _str_or_none(actor_id),
            _str_or_none(user_id),
            _str_or_none(project_id),
            _ip(ip),
            user_agent or "",
            extra,
            prev_hash,
        ],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hmac.new(_key(), canonical.encode(), hashlib.sha256).hexdigest()


def _event_hash(event: Event) -> str:
    return content_hash(
        sequence=event.sequence or 0,
        created=event.created,
        tag=event.tag,
        actor_id=event.actor_id,
        user_id=event.user_id,
        project_id=event.project_id,
        ip=event.ip,
        user_agent=event.user_agent,
        extra=event.extra,
        prev_hash=event.prev_hash,
    )


def checkpoint_mac(sequence: int, hash_: str) -> str:
    message = json.dumps(["checkpoint", VERSION, sequence, hash_]).encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def _locked_head() -> ChainHead:
    head = ChainHead.objects.select_for_update().filter(pk=_HEAD).first()
    if head is None:
        ChainHead.objects.get_or_create(pk=_HEAD)
        head = ChainHead.objects.select_for_update().get(pk=_HEAD)
    return head


def append(event: Event) -> Event:
    """Give ``event`` (unsaved) its place in the chain and save it, in one transaction."""
    with transaction.atomic():
        head = _locked_head()
        event.sequence = head.sequence + 1
        event.prev_hash = head.hash
        event.hash = _event_hash(event)
        event.save(force_insert=True)
        head.sequence = event.sequence
        head.hash = event.hash
        head.save(update_fields=["sequence", "hash"])
    return event


# --- verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    problem: str = ""
    event_id: int | None = None
    sequence: int | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"audit log intact: {self.checked} events verified"
        return f"audit log broken: {self.problem}"


def _rows(after: int) -> Iterator[Event]:
    return (
        Event.objects.filter(sequence__gt=after)
        .order_by("sequence")
        .only(
            "id",
            "sequence",
            "created",
            "tag",
            "actor_id",
            "user_id",
            "project_id",
            "ip",
            "user_agent",
            "extra",
            "prev_hash",
            "hash",
        )
        .iterator(chunk_size=2000)
    )


def verify_chain() -> Verification:
    """Recompute the chain from the last checkpoint; name the first event that breaks it."""
    checkpoint = ChainCheckpoint.objects.order_by("-sequence").first()
    expected_seq, expected_prev = 1, ""
    if checkpoint is not None:
        if not hmac.compare_digest(
            checkpoint.mac, checkpoint_mac(checkpoint.sequence, checkpoint.hash)
        ):
            return Verification(
                False, 0, f"the purge checkpoint at #{checkpoint.sequence} was altered"
            )
        expected_seq, expected_prev = checkpoint.sequence + 1, checkpoint.hash
    outside = Event.objects.filter(sequence__isnull=True).order_by("id").first()
    if outside is not None:
        return Verification(
            False,
            0,
            f"event {outside.pk} ({outside.tag}) was inserted outside the chain",
            outside.pk,
        )
    checked = 0
    for event in _rows(expected_seq - 1):
        seq = event.sequence or 0
        if seq != expected_seq:
            missing = seq - expected_seq
            return Verification(
                False,
                checked,
                f"{missing} event(s) #{expected_seq}..#{seq - 1} were removed "
                f"before event {event.pk} (#{seq})",
                event.pk,
                seq,
            )
        if not hmac.compare_digest(event.hash, _event_hash(event)):
            return Verification(
                False,
                checked,
                f"event {event.pk} (#{seq}, {event.tag}) was altered or inserted: "
                "its content does not match its hash",
                event.pk,
                seq,
            )
        if event.prev_hash != expected_prev:
            return Verification(
                False,
                checked,
                f"event {event.pk} (#{seq}) does not follow #{seq - 1}: "
                "an event before it was replaced",
                event.pk,
                seq,
            )
        checked += 1
        expected_seq, expected_prev = seq + 1, event.hash
    head = ChainHead.objects.filter(pk=_HEAD).first()
    if head is not None and head.sequence >= expected_seq:
        return Verification(
            False,
            checked,
            f"the last {head.sequence - expected_seq + 1} event(s) "
            f"#{expected_seq}..#{head.sequence} were removed",
            None,
            expected_seq,
        )
    if head is not None and head.sequence == expected_seq - 1 and head.hash != expected_prev:
        return Verification(
            False, checked, f"the chain head does not match event #{head.sequence}", None
        )
    return Verification(True, checked)


# --- retention ------------------------------------------------------------------------------


def purge_before(cutoff: datetime) -> int:
    """Delete the oldest events up to the first one at or after ``cutoff``; leave a checkpoint.

    Only a prefix of the chain is removed, so what remains still verifies from the
    checkpoint.
    """
    with transaction.atomic():
        _locked_head()
        first_kept = (
            Event.objects.filter(created__gte=cutoff, sequence__isnull=False)
            .order_by("sequence")
            .values_list("sequence", flat=True)
            .first()
        )
        doomed = Event.objects.filter(sequence__isnull=False)
        if first_kept is not None:
            doomed = doomed.filter(sequence__lt=first_kept)
        last = doomed.order_by("-sequence").values_list("sequence", "hash").first()
        if last is None:
            return 0
        sequence, hash_ = int(last[0] or 0), last[1]
        count, _rows_by_model = doomed.delete()
        ChainCheckpoint.objects.create(
            created=timezone.now(),
            sequence=sequence,
            hash=hash_,
            purged=count,
            mac=checkpoint_mac(sequence, hash_),
        )
    return count
