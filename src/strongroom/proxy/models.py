"""Cached upstream pages and files, reserved name prefixes and the proxy's allow-lists.

Upstream data never mixes with local projects: pages and files live in their own tables
and under ``upstream/`` in the storage, and a name with a local Project row is never
looked up upstream (``proxy.names``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UpstreamPage(models.Model):
    """The last good answer of the upstream for one project: its files as parsed, its
    ETag for revalidation, and when it was fetched (older than UPSTREAM_MAX_AGE: ask again
    with If-None-Match; unreachable upstream: served as it is, stale-if-error)."""

    normalized_name = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=200)
    etag = models.CharField(max_length=300, blank=True)
    fetched_at = models.DateTimeField()
    # PEP 792 status the upstream reported ("" = active), and its reason.
    status = models.CharField(max_length=20, blank=True)
    status_reason = models.CharField(max_length=500, blank=True)
    # The parsed files, as a JSON list (proxy.upstream.UpstreamFileInfo fields).
    files = models.JSONField(default=list)
    last_used = models.DateTimeField()

    def __str__(self) -> str:
        return self.normalized_name


class CachedFile(models.Model):
    """An upstream file (or its PEP 658 metadata) known from a page, keyed by the sha256 the
    upstream listed; ``stored`` once its verified bytes are in the storage."""

    sha256 = models.CharField(max_length=64)
    is_metadata = models.BooleanField(default=False)
    normalized_name = models.CharField(max_length=200, db_index=True)
    filename = models.CharField(max_length=255)
    url = models.URLField(max_length=2000)
    # The sha256 the bytes must have: ``sha256`` for a file, the page's core-metadata
    # digest for its ``.metadata``.
    expected = models.CharField(max_length=64)
    size = models.BigIntegerField(default=0)
    stored = models.BooleanField(default=False)
    # A fetch lease: the worker whose UPDATE moved it forward fetches; others wait.
    fetching_until = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True, db_index=True)
    # PEP 740, for a file (not its metadata) whose upstream page names a provenance URL:
    # fetched and verified once the file is kept (proxy.provenance); only a VERIFIED one
    # is advertised and served, as the verified ``provenance`` object.
    provenance_url = models.URLField(max_length=2000, blank=True)
    provenance_state = models.CharField(max_length=10, blank=True)
    provenance = models.JSONField(null=True, blank=True)
    # Why verification failed (or why the fetch is to be tried again), for staff.
    provenance_error = models.CharField(max_length=500, blank=True)
    provenance_checked = models.DateTimeField(null=True, blank=True)

    class ProvenanceState:
        """The values of ``provenance_state``."""

        NONE = ""  # the upstream names no provenance
        PENDING = "pending"  # named, not checked yet (or its fetch failed for now)
        VERIFIED = "verified"
        FAILED = "failed"  # checked and refused: never advertised, never served

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sha256", "is_metadata"], name="unique_cached_file")
        ]

    def __str__(self) -> str:
        return self.filename + (".metadata" if self.is_metadata else "")

    @property
    def storage_path(self) -> str:
        digest = self.sha256
        suffix = ".metadata" if self.is_metadata else ""
        return f"upstream/{digest[:2]}/{digest[2:4]}/{digest}/{self.filename}{suffix}"


class NameReservation(models.Model):
    """A prefix (PEP 752 spirit) only the organisation's members may create projects under;
    never served from upstream."""

    prefix = models.CharField(_("prefix"), max_length=100, unique=True)
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="name_reservations"
    )
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.prefix


class ShadowAllowance(models.Model):
    """Staff allowed a new local project to take a name the upstream also has (a fork)."""

    normalized_name = models.CharField(max_length=200, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return self.normalized_name


class CooldownExemption(models.Model):
    """Upstream files of this project (one version, or all when ``version`` is empty) are
    offered at once, whatever UPSTREAM_COOLDOWN says."""

    normalized_name = models.CharField(max_length=200)
    version = models.CharField(max_length=100, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["normalized_name", "version"], name="unique_cooldown_exemption"
            )
        ]

    def __str__(self) -> str:
        return f"{self.normalized_name} {self.version or '*'}"
