"""The audit log's hash chain: append, verify, purge.

Each event's ``hash`` is an HMAC-SHA256, keyed with the audit key (``strongroom.keys``), over
a canonical JSON of its content and the previous event's hash. After a key rotation, events
written under an old key verify under it while it stays in ``SECRET_KEY_FALLBACKS`` (or
under the derivation used before per-purpose keys); without it, they are reported as
broken: verification fails closed. ``rekey_chain`` re-hashes a chain that verifies under
the current key alone, so the old key can then be retired. Someone who can write to the
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

from django.db import transaction
from django.utils import timezone

from strongroom import keys
from strongroom.events.models import ChainCheckpoint, ChainHead, Event

VERSION = 1
_HEAD = 1


def _key() -> bytes:
    return keys.current(keys.Purpose.AUDIT).key


def _accepted_keys() -> list[bytes]:
    """The current audit key first, then each fallback, then the pre-upgrade derivations."""
    accepted = keys.candidates(keys.Purpose.AUDIT) + keys.legacy_candidates(keys.Purpose.AUDIT)
    return [k.key for k in accepted]


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
    key: bytes | None = None,
) -> str:
    """The keyed hash of one event's content and its predecessor's hash (current key
    unless ``key`` is given)."""
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
    return hmac.new(key or _key(), canonical.encode(), hashlib.sha256).hexdigest()


def _event_hash(event: Event, key: bytes | None = None) -> str:
    return content_hash(
        key=key,
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


def checkpoint_mac(sequence: int, hash_: str, key: bytes | None = None) -> str:
    message = json.dumps(["checkpoint", VERSION, sequence, hash_]).encode()
    return hmac.new(key or _key(), message, hashlib.sha256).hexdigest()


def _matching_key(stored: str, compute: Any, accepted: list[bytes]) -> bytes | None:
    """The first accepted key under which ``compute(key)`` gives ``stored``."""
    for key in accepted:
        if hmac.compare_digest(stored, compute(key)):
            return key
    return None


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
    accepted = _accepted_keys()
    checkpoint = ChainCheckpoint.objects.order_by("-sequence").first()
    expected_seq, expected_prev = 1, ""
    if checkpoint is not None:
        cp = checkpoint
        if (
            _matching_key(cp.mac, lambda k: checkpoint_mac(cp.sequence, cp.hash, k), accepted)
            is None
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
    # Events come in runs written under one key: try the last one that matched first.
    last_key = accepted[0]
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
        if hmac.compare_digest(event.hash, _event_hash(event, last_key)):
            matched: bytes | None = last_key
        else:
            matched = _matching_key(event.hash, lambda k, e=event: _event_hash(e, k), accepted)
        if matched is None:
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
        last_key = matched
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


# --- key rotation -----------------------------------------------------------------------------


def rekey_chain() -> Verification:
    """Re-hash the whole chain (and its checkpoint) under the current audit key.

    Only a chain that verifies under the accepted keys is re-hashed, in one transaction
    holding the chain head; afterwards it verifies under the current key alone, so old
    keys can leave ``SECRET_KEY_FALLBACKS``. Returns the verification it started from
    (nothing is written when that failed).
    """
    with transaction.atomic():
        head = _locked_head()
        before = verify_chain()
        if not before.ok:
            return before
        checkpoint = ChainCheckpoint.objects.order_by("-sequence").first()
        prev = ""
        if checkpoint is not None:
            checkpoint.mac = checkpoint_mac(checkpoint.sequence, checkpoint.hash)
            checkpoint.save(update_fields=["mac"])
            prev = checkpoint.hash
        batch: list[Event] = []
        for event in _rows(checkpoint.sequence if checkpoint is not None else 0):
            event.prev_hash = prev
            event.hash = _event_hash(event)
            prev = event.hash
            batch.append(event)
            if len(batch) >= 1000:
                Event.objects.bulk_update(batch, ["prev_hash", "hash"])
                batch = []
        Event.objects.bulk_update(batch, ["prev_hash", "hash"])
        if before.checked:
            head.hash = prev
            head.save(update_fields=["hash"])
    return before
