"""Events as JSON Lines: for downloads, ``strongroom audit export`` and forwarding."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
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


def event_record(event: Event, *, with_client: bool = True) -> dict[str, Any]:
    """One event as a plain dict (the JSON Lines schema, documented in docs/audit-events.md).

    ``with_client=False`` leaves out the IP address and user agent (null), for a download
    by someone they do not belong to (events.display.sees_client).
    """
    record = {
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
    if not with_client:
        record.update({"ip": None, "user_agent": None, "client": None})
    return record


def to_json_line(event: Event, *, with_client: bool = True) -> str:
    record = event_record(event, with_client=with_client)
    return json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"


def with_subjects(events: QuerySet[Event]) -> QuerySet[Event]:
    return events.select_related("actor", "user", "project")


def json_lines(
    events: Iterable[Event], shows_client: Callable[[Event], bool] | None = None
) -> Iterator[str]:
    """Oldest first is the caller's choice; this only serialises, a line at a time.

    ``shows_client`` says per event whether its IP address and user agent are included.
    """
    for event in events:
        yield to_json_line(event, with_client=shows_client is None or shows_client(event))


def stream(
    events: QuerySet[Event], shows_client: Callable[[Event], bool] | None = None
) -> Iterator[str]:
    ordered = with_subjects(events).order_by("sequence", "id").iterator(chunk_size=2000)
    return json_lines(ordered, shows_client)
