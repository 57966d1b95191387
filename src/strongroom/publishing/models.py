"""Trusted publishing as the server keeps it: issuers, publishers, minted tokens, the
``jti`` replay lock and the record of each file a publisher uploaded."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Issuer(models.Model):
    """An OIDC issuer whose tokens may mint upload tokens; ``url`` is its ``iss`` exactly."""

    class Kind(models.TextChoices):
        GITHUB = "github", _("GitHub Actions (github.com or GitHub Enterprise Server)")
        GITLAB = "gitlab", _("GitLab CI/CD (gitlab.com or self-managed)")
        FORGEJO = "forgejo", _("Forgejo or Gitea Actions")
        GOOGLE = "google", _("Google service account")
        GENERIC = "generic", _("Any OIDC issuer (a claim policy)")

    url = models.CharField(_("issuer URL"), max_length=300, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # Empty: the site's audience (settings.OIDC_AUDIENCE).
    audience = models.CharField(_("audience"), max_length=200, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    jwks_uri = models.CharField(max_length=500, blank=True)
    jwks = models.JSONField(default=dict, blank=True)  # the cached key set
    jwks_fetched = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["url"]

    def __str__(self) -> str:
        return self.url

    @property
    def is_github_like(self) -> bool:
        return self.kind in {self.Kind.GITHUB, self.Kind.FORGEJO}


class Publisher(models.Model):
    """A CI identity allowed to publish one project, or, pending, to create it.

    github-like kinds match ``repository`` + ``workflow`` (a file name in that repository,
    or ``owner/repo/path@`` of a reusable workflow) + optional ``environment``;
    gitlab-like kinds ``repository`` (the project path) + ``workflow`` (the CI file) +
    optional ``environment``; google ``repository`` (the service account email);
    generic kinds exact values for the claims in ``claims`` (``sub`` at least).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="publishers")
    project = models.ForeignKey(
        "packages.Project",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="trusted_publishers",
    )
    # Pending: no project yet; the first trusted upload creates ``pending_name`` owned by
    # ``pending_owner`` (an organisation owner comes with the organisations app).
    pending_name = models.CharField(max_length=200, blank=True, db_index=True)
    pending_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="pending_publishers",
    )
    pending_expires = models.DateTimeField(null=True, blank=True)
    repository = models.CharField(max_length=300, blank=True)
    workflow = models.CharField(max_length=500, blank=True)
    environment = models.CharField(max_length=200, blank=True)
    claims = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created"]

    def __str__(self) -> str:
        return self.summary()

    @property
    def is_pending(self) -> bool:
        return self.project_id is None

    def identity(self) -> dict[str, Any]:
        """What the publisher is, in the shape files record (for attestation checks)."""
        return {
            "issuer": self.issuer.url,
            "kind": self.issuer.kind,
            "repository": self.repository,
            "workflow": self.workflow,
            "environment": self.environment,
            "claims": self.claims,
        }

    def summary(self) -> str:
        return describe_identity(self.identity())


def describe_identity(identity: dict[str, Any]) -> str:
    """One line naming a publisher identity, e.g. ``github.com: o/r, release.yml (pypi)``."""
    from urllib.parse import urlparse

    host = urlparse(identity.get("issuer", "")).netloc or identity.get("issuer", "")
    if identity.get("kind") == Issuer.Kind.GENERIC:
        pairs = ", ".join(f"{k}={v}" for k, v in sorted((identity.get("claims") or {}).items()))
        return f"{host}: {pairs}"
    text = f"{host}: {identity.get('repository', '')}"
    if identity.get("workflow"):
        text += f", {identity['workflow']}"
    if identity.get("environment"):
        text += f" ({identity['environment']})"
    return text


class MintedToken(models.Model):
    """An upload token minted for a publisher; its id is the macaroon's token id."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    publisher = models.ForeignKey(Publisher, on_delete=models.CASCADE, related_name="tokens")
    project_name = models.CharField(max_length=200)
    expires = models.DateTimeField()
    single_use = models.BooleanField(default=False)
    used_at = models.DateTimeField(null=True, blank=True)  # its first upload
    # The claims that matter (repository, workflow, ref, sha, run id, environment...).
    claims = models.JSONField(default=dict)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"token {self.pk} for {self.project_name}"


class UsedJti(models.Model):
    """The replay lock: one row per OIDC token accepted, shared by every worker and node
    through the database's unique constraint; kept past the token's expiry + leeway."""

    issuer = models.CharField(max_length=300)
    jti = models.CharField(max_length=200)
    keep_until = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "jti"], name="unique_jti")]

    def __str__(self) -> str:
        return f"{self.issuer} {self.jti}"


class PublishedFile(models.Model):
    """A file uploaded through trusted publishing: the publisher and the token's claims."""

    file = models.OneToOneField(
        "packages.File", on_delete=models.CASCADE, related_name="trusted_publication"
    )
    publisher = models.ForeignKey(Publisher, null=True, on_delete=models.SET_NULL)
    issuer = models.CharField(max_length=300)
    kind = models.CharField(max_length=20)
    repository = models.CharField(max_length=300, blank=True)
    workflow = models.CharField(max_length=500, blank=True)
    environment = models.CharField(max_length=200, blank=True)
    ref = models.CharField(max_length=300, blank=True)
    sha = models.CharField(max_length=100, blank=True)
    run_id = models.CharField(max_length=100, blank=True)
    summary = models.CharField(max_length=800)
    claims = models.JSONField(default=dict)

    def __str__(self) -> str:
        return self.summary

    def identity(self) -> dict[str, Any]:
        """The publisher identity this file was uploaded under (for attestation checks)."""
        return {
            "issuer": self.issuer,
            "kind": self.kind,
            "repository": self.repository,
            "workflow": self.workflow,
            "environment": self.environment,
        }


class PublishingPolicy(models.Model):
    """A project's publishing rules: requiring trusted publishing refuses tokens and passwords."""

    project = models.OneToOneField(
        "packages.Project", on_delete=models.CASCADE, related_name="publishing_policy"
    )
    require_trusted_publishing = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"policy of {self.project_id}"


class FileProvenance(models.Model):
    """A file's verified PEP 740 provenance (the JSON the Integrity API serves, also kept
    beside the file in storage as ``<path>.provenance``) and what the release page shows."""

    file = models.OneToOneField(
        "packages.File", on_delete=models.CASCADE, related_name="provenance"
    )
    provenance = models.JSONField()
    # From the signing certificate: the source repository URL, the workflow path, the commit.
    repository = models.CharField(max_length=500)
    workflow = models.CharField(max_length=500, blank=True)
    commit = models.CharField(max_length=100, blank=True)
    predicate_types = models.JSONField(default=list)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"provenance of {self.file_id}"

    @property
    def repository_name(self) -> str:
        """The repository as people write it: ``github.com/owner/name``."""
        return self.repository.removeprefix("https://").removeprefix("http://")

    @property
    def source_url(self) -> str:
        """The source tree the file was built from (the signed commit)."""
        if self.commit:
            return f"{self.repository}/tree/{self.commit}"
        return self.repository


class AttestationPolicy(models.Model):
    """A project's attestation rules: required or not, and the signing repository an owner
    confirmed (empty: whichever signed its first attested release)."""

    project = models.OneToOneField(
        "packages.Project", on_delete=models.CASCADE, related_name="attestation_policy"
    )
    require_attestations = models.BooleanField(default=False)
    confirmed_repository = models.CharField(max_length=500, blank=True)
    # A repository whose upload was held back, waiting for an owner to confirm it.
    held_repository = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"attestation policy of {self.project_id}"
