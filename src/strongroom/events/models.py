"""The audit log: one row per security-relevant action, written only by record_event().

Rows form a hash chain (see ``chain.py``): each carries a keyed hash of its own content and
of the previous row's hash, so an edited, removed or inserted row shows up in
``strongroom audit verify``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from strongroom.events.tags import EventTag


def _kept_reference(to: str, related_name: str) -> models.ForeignKey:
    # The audit log outlives what it talks about: deleting a user or project keeps the id
    # in the event (no SET_NULL, which would rewrite hashed rows), without a database
    # constraint. A dangling id reads as None through select_related.
    return models.ForeignKey(
        to,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name=related_name,
    )


class Event(models.Model):
    created = models.DateTimeField(db_index=True)
    # No ``choices``: the closed set is EventTag, enforced by record_event(); keeping it out
    # of the schema means a new tag needs no migration.
    tag = models.CharField(max_length=64, db_index=True)
    # Who did it (None: anonymous or the system) and whose record it belongs to.
    actor = _kept_reference(settings.AUTH_USER_MODEL, "+")
    user = _kept_reference(settings.AUTH_USER_MODEL, "events")
    project = _kept_reference("packages.Project", "events")
    ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    user_agent = models.CharField(max_length=512, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    # The chain: position, the previous event's hash, and this event's keyed hash.
    sequence = models.BigIntegerField(unique=True, null=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["user", "-created"]),
            models.Index(fields=["project", "-created"]),
            models.Index(fields=["actor", "-created"]),
            models.Index(fields=["tag", "-created"]),
        ]

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M:%S} {self.tag}"

    @property
    def description(self) -> str:
        return EventTag.label_for(self.tag)


class ChainHead(models.Model):
    """One row (pk=1): the last event's sequence and hash. Locking it serialises writers."""

    sequence = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"chain head #{self.sequence}"


class ChainCheckpoint(models.Model):
    """Left by a purge: where the remaining chain starts, so it still verifies."""

    created = models.DateTimeField()
    sequence = models.BigIntegerField(unique=True)
    hash = models.CharField(max_length=64)
    purged = models.BigIntegerField(default=0)
    mac = models.CharField(max_length=64)

    class Meta:
        ordering = ["-sequence"]

    def __str__(self) -> str:
        return f"checkpoint #{self.sequence} ({self.purged} purged)"
