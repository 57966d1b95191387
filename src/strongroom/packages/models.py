"""Projects, releases, files and roles: what the index holds and who may change it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class IndexSerial(models.Model):
    """One row: a counter bumped by every change to the index, like PyPI's journal serial.

    Each project keeps the value of its last change, so ETags on the read path cost
    nothing more than the row the view already loads.
    """

    value = models.BigIntegerField(default=0)
    changed = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return str(self.value)


class SearchVectorColumn(models.TextField):
    """A ``tsvector`` column on PostgreSQL, plain (unused) text elsewhere.

    Not django.contrib.postgres's field: that module needs psycopg, which the embedded
    mode does not install."""

    def db_type(self, connection: Any) -> str:
        return "tsvector" if connection.vendor == "postgresql" else "text"


class Project(models.Model):
    class Status(models.TextChoices):
        """PEP 792 project status markers."""

        ACTIVE = "active", _("active")
        ARCHIVED = "archived", _("archived")
        QUARANTINED = "quarantined", _("quarantined")
        DEPRECATED = "deprecated", _("deprecated")

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public")
        PRIVATE = "private", _("Private")

    name = models.CharField(_("name"), max_length=200)
    normalized_name = models.CharField(max_length=200, unique=True)
    # packages.names.confusable_skeleton(name): a new name may not share it (indexed: every
    # new project looks it up), unless staff allowed that name (ConfusableNameAllowance).
    skeleton = models.CharField(max_length=200, db_index=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    last_changed = models.DateTimeField(auto_now_add=True)
    last_serial = models.BigIntegerField(default=0)
    # Set by an administrator to allow larger files than STRONGROOM_UPLOAD_MAX_SIZE.
    # Indexed (Meta): every upload reads the largest one before the body
    # (upload.services), and MAX() over an index is one lookup, not a scan of every project.
    upload_limit = models.BigIntegerField(
        _("upload limit in bytes"), null=True, blank=True, help_text=_("Empty: the site default.")
    )
    # Set by staff (console.services.set_total_size_limit) above STRONGROOM_PROJECT_SIZE_LIMIT:
    # the most the project's files may add up to. Checked at upload against one SUM over
    # the project's files (upload.services.check_project_size).
    total_size_limit = models.BigIntegerField(
        _("total size limit in bytes"),
        null=True,
        blank=True,
        help_text=_("Empty: the site default."),
    )
    # Switched on by the project's Owners (packages.governance.set_two_factor_required).
    two_factor_required = models.BooleanField(
        _("two-factor authentication required"), default=False
    )
    # Critical projects require two-factor authentication from every collaborator. A project
    # becomes critical when staff mark it, or when `strongroom critical update` finds it in
    # the top share by downloads; it then stays critical (see packages.critical).
    marked_critical = models.BooleanField(_("marked critical by staff"), default=False)
    popular = models.BooleanField(_("critical by downloads"), default=False)
    critical_since = models.DateTimeField(_("critical since"), null=True, blank=True)
    # The organisation that owns the project, if any (orgs.transfer moves it in and out);
    # its Owners and the teams it grants roles hold rights on it (packages.permissions).
    organization = models.ForeignKey(
        "orgs.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="projects",
        verbose_name=_("organisation"),
    )
    # PEP 792: changed only through packages.lifecycle (owners archive, staff quarantine and
    # deprecate). Archived and quarantined projects take no uploads; quarantined ones are
    # left out of /simple/ and offer no file.
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    status_reason = models.CharField(_("status reason"), max_length=500, blank=True)
    status_changed = models.DateTimeField(_("status changed"), null=True, blank=True)
    # Private: readable only by those packages.visibility.can_read lets in; changed by its
    # Owners through packages.visibility_services.set_visibility (never written elsewhere).
    visibility = models.CharField(
        _("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    # What search and browse show, copied from the newest release at write time
    # (packages.search.refresh_project), so listing pages never read releases.
    latest_version = models.CharField(max_length=100, blank=True)
    summary = models.CharField(max_length=512, blank=True)
    keywords = models.TextField(blank=True)
    # PostgreSQL only: the weighted tsvector (name, summary, keywords) behind a GIN index.
    # SQLite keeps its FTS5 table instead (packages_project_fts) and leaves this empty.
    search_vector = SearchVectorColumn(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["normalized_name"]
        indexes = [
            models.Index(fields=["upload_limit"], name="project_upload_limit_idx"),
            models.Index(fields=["-created"], name="project_created_idx"),
            models.Index(fields=["-last_changed"], name="project_last_changed_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_private(self) -> bool:
        return self.visibility == Project.Visibility.PRIVATE

    @property
    def is_critical(self) -> bool:
        return self.marked_critical or self.popular

    @property
    def is_quarantined(self) -> bool:
        return self.status == self.Status.QUARANTINED


class Release(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="releases")
    version = models.CharField(max_length=100)
    canonical_version = models.CharField(max_length=100)
    created = models.DateTimeField(auto_now_add=True)
    # Core metadata, as uploaded with the release's first file.
    metadata_version = models.CharField(max_length=10)
    summary = models.CharField(max_length=512, blank=True)
    description = models.TextField(blank=True)
    description_content_type = models.CharField(max_length=200, blank=True)
    description_html = models.TextField(blank=True)
    author = models.CharField(max_length=500, blank=True)
    author_email = models.CharField(max_length=500, blank=True)
    maintainer = models.CharField(max_length=500, blank=True)
    maintainer_email = models.CharField(max_length=500, blank=True)
    license = models.TextField(blank=True)
    license_expression = models.CharField(max_length=500, blank=True)
    home_page = models.CharField(max_length=500, blank=True)
    download_url = models.CharField(max_length=500, blank=True)
    keywords = models.JSONField(default=list, blank=True)
    classifiers = models.JSONField(default=list, blank=True)
    platforms = models.JSONField(default=list, blank=True)
    project_urls = models.JSONField(default=dict, blank=True)
    requires_dist = models.JSONField(default=list, blank=True)
    provides_extra = models.JSONField(default=list, blank=True)
    requires_python = models.CharField(max_length=200, blank=True)
    yanked = models.BooleanField(default=False)
    yanked_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "canonical_version"], name="unique_release_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.project.name} {self.version}"


class File(models.Model):
    class PackageType(models.TextChoices):
        WHEEL = "bdist_wheel", _("Wheel")
        SDIST = "sdist", _("Source distribution")

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="files")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="files")
    filename = models.CharField(max_length=255, unique=True)
    packagetype = models.CharField(max_length=20, choices=PackageType.choices)
    python_version = models.CharField(max_length=50)
    requires_python = models.CharField(max_length=200, blank=True)
    size = models.BigIntegerField()
    path = models.CharField(max_length=512, unique=True)
    sha256_digest = models.CharField(max_length=64, unique=True)
    blake2_256_digest = models.CharField(max_length=64)
    md5_digest = models.CharField(max_length=32)
    upload_time = models.DateTimeField(auto_now_add=True)
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # PEP 658: a wheel's METADATA, stored beside it as "<path>.metadata".
    metadata_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["filename"]

    def __str__(self) -> str:
        return self.filename

    @property
    def metadata_path(self) -> str:
        return f"{self.path}.metadata"


class UsedFilename(models.Model):
    """Every filename ever accepted: a filename is never accepted twice, even after deletion.

    ``key`` is the distribution the filename names (packages.filenames.filename_key): a
    case variant or another spelling of the version is the same file, and a release's
    sdist is one whatever its extension. Unique, so a race between spellings has one winner.
    """

    filename = models.CharField(max_length=255, unique=True)
    key = models.CharField(max_length=255, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.filename


class ConfusableNameAllowance(models.Model):
    """Staff allowed a project name that looks like an existing project's (audited)."""

    normalized_name = models.CharField(max_length=200, unique=True)
    allowed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.normalized_name


class Role(models.Model):
    class Name(models.TextChoices):
        OWNER = "Owner", _("Owner")
        MAINTAINER = "Maintainer", _("Maintainer")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="roles")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_roles"
    )
    role_name = models.CharField(max_length=20, choices=Name.choices)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="unique_project_role")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role_name} of {self.project}"


class RoleInvitation(models.Model):
    """A pending invitation; accepting, declining or revoking deletes it (events keep it)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_invitations"
    )
    inviter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    role_name = models.CharField(max_length=20, choices=Role.Name.choices)
    created = models.DateTimeField(auto_now_add=True)
    # Part of the signed link: the link works only while this row exists with this nonce.
    nonce = models.CharField(max_length=64)

    class Meta:
        ordering = ["created"]
        constraints = [
            models.UniqueConstraint(fields=["project", "invitee"], name="unique_project_invitation")
        ]

    def __str__(self) -> str:
        return f"{self.invitee} invited as {self.role_name} of {self.project}"

    @property
    def expires(self) -> datetime:
        return self.created + timedelta(seconds=settings.INVITATION_MAX_AGE)


class ProjectReport(models.Model):
    """A signed-in user's report that a project is malicious or abusive, for staff."""

    class State(models.TextChoices):
        OPEN = "open", _("open")
        RESOLVED = "resolved", _("resolved")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(_("reason"))
    created = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(_("resolution note"), blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["state", "created"], name="report_state_created_idx")]

    def __str__(self) -> str:
        return f"report {self.pk} on {self.project}"


class ProjectClassifier(models.Model):
    """One Trove classifier of a project's newest release: what search filters on.

    Rows are rewritten at write time with the project's search fields."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="classifier_rows")
    classifier = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "classifier"], name="unique_project_classifier"
            )
        ]
        indexes = [models.Index(fields=["classifier", "project"], name="classifier_project_idx")]

    def __str__(self) -> str:
        return self.classifier
