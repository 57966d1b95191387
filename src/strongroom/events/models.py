"""The audit log: one row per security-relevant action, written only by record_event()."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from strongroom.events.tags import EventTag


class Event(models.Model):
    created = models.DateTimeField(db_index=True)
    # No ``choices``: the closed set is EventTag, enforced by record_event(); keeping it out
    # of the schema means a new tag needs no migration.
    tag = models.CharField(max_length=64, db_index=True)
    # Who did it (None: anonymous or the system) and whose record it belongs to.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
    )
    project = models.ForeignKey(
        "packages.Project",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["user", "-created"]),
            models.Index(fields=["project", "-created"]),
        ]

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M:%S} {self.tag}"

    @property
    def description(self) -> str:
        return EventTag.label_for(self.tag)
