"""Events as JSON Lines: for downloads, ``strongroom audit export`` and forwarding."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC
from typing import Any

from django.db.models import QuerySet

from strongroom.events.models import Event
from strongroom.events.tags import EventTag
from strongroom.web.useragents import describe_user_agent


def _related(event: Event, field: str, label: str) -> dict[str, Any] | None:
    key = getattr(event, f"{field}_id")
    if key is None:
        return None
    # select_related gives None for a deleted user or project; keep its id.
    obj = getattr(event, field, None) if Event._meta.get_field(field).is_cached(event) else None  # type: ignore[union-attr]
    return {"id": str(key), label: getattr(obj, label, None) if obj is not None else None}


def event_record(event: Event) -> dict[str, Any]:
    """One event as a plain dict (the JSON Lines schema, documented in docs/audit-events.md)."""
    return {
        "id": event.pk,
        "sequence": event.sequence,
        "created": event.created.astimezone(UTC).isoformat(),
        "tag": event.tag,
        "description": str(EventTag.label_for(event.tag)),
        "actor": _related(event, "actor", "username"),
        "user": _related(event, "user", "username"),
        "project": _related(event, "project", "name"),
        "ip": event.ip,
        "user_agent": event.user_agent,
        "client": describe_user_agent(event.user_agent) if event.user_agent else None,
        "extra": event.extra,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def to_json_line(event: Event) -> str:
    return json.dumps(event_record(event), sort_keys=True, ensure_ascii=False) + "\n"


def with_subjects(events: QuerySet[Event]) -> QuerySet[Event]:
    return events.select_related("actor", "user", "project")


def json_lines(events: Iterable[Event]) -> Iterator[str]:
    """Oldest first is the caller's choice; this only serialises, a line at a time."""
    for event in events:
        yield to_json_line(event)


def stream(events: QuerySet[Event]) -> Iterator[str]:
    return json_lines(with_subjects(events).order_by("sequence", "id").iterator(chunk_size=2000))
