"""accept_upload(): run the checks in order, then store the file in one transaction."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from packaging.metadata import Metadata
from packaging.utils import canonicalize_name

from strongroom.accounts.actors import NotPermitted
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.packages import lifecycle, permissions
from strongroom.packages import services as packages
from strongroom.packages.models import File, Project, Release, UsedFilename
from strongroom.packages.rendering import render_description
from strongroom.proxy.names import ReservedName
from strongroom.publishing import provenance
from strongroom.publishing.attestations import Verified
from strongroom.publishing.minting import (
    PublisherTokenError,
    create_pending_project,
    record_trusted_upload,
)
from strongroom.storage import get_storage
from strongroom.storage.base import StorageFull, StorageUnavailable
from strongroom.upload import archives, attest, checks
from strongroom.upload.auth import Uploader, check_token_scope
from strongroom.upload.errors import PublishPending, UploadError, forbidden
from strongroom.upload.quota import check_project_size
from strongroom.web.http import absolute_url

if TYPE_CHECKING:
    from strongroom.upload.handlers import HashedUpload


def largest_upload_limit() -> int:
    """The most any upload may stream before its project is known."""
    raised = Project.objects.aggregate(top=Max("upload_limit"))["top"] or 0
    return max(settings.UPLOAD_MAX_SIZE, int(raised))


def storage_path(sha256: str, filename: str) -> str:
    """Content-addressed: packages/ab/cd/<sha256>/<filename>."""
    return f"packages/{sha256[:2]}/{sha256[2:4]}/{sha256}/{filename}"


def _already_used(dist: checks.Distribution) -> UploadError | None:
    """Why ``dist`` cannot be accepted again, if a file of that distribution was ever
    accepted (under this filename or another spelling of it); None if never."""
    used = (
        UsedFilename.objects.filter(key=dist.key).values_list("filename", flat=True).first()
        or UsedFilename.objects.filter(filename=dist.filename)
        .values_list("filename", flat=True)
        .first()
    )
    if used is None:
        return None
    if File.objects.filter(filename=used).exists():
        if used == dist.filename:
            message = _("File already exists ('%(filename)s'). Use a different version.")
        elif dist.packagetype == checks.SDIST:
            message = _(
                "File already exists: this release already has a source distribution "
                "('%(used)s'), and a release has only one. Use a different version."
            )
        else:
            message = _(
                "File already exists: '%(used)s' is the same file as '%(filename)s' "
                "(names and versions compare normalised). Use a different version."
            )
    else:
        message = _(
            "The filename %(filename)s has already been used (by a deleted file, "
            "'%(used)s'). Use a different version."
        )
    return UploadError(message % {"filename": dist.filename, "used": used})


def check_permission(uploader: Uploader, project: Project | None, name: str) -> None:
    """May this uploader add files to ``project`` (None: a new project named ``name``)?

    The decision is the one guard's (packages.permissions); the wording is twine's."""
    check_token_scope(uploader, project, name)
    if uploader.publisher is not None:
        return  # a publisher's right is its binding to the project, checked just above
    try:
        if project is None:
            permissions.require_may_create(uploader.actor)
        else:
            permissions.require_role(uploader.actor, project, permissions.COLLABORATOR)
    except NotPermitted as exc:
        if not exc.two_factor:
            reason = _("The user '%(user)s' isn't allowed to upload to project '%(project)s'.") % {
                "user": uploader.user.username,
                "project": project.name if project else name,
            }
            raise forbidden(reason) from None
        refusal = str(exc)
        raise forbidden(
            _(
                "%(reason)s User %(user)s has no second factor: set one up at %(url)s "
                "(an authenticator app or a security key both work). API token uploads "
                "keep working once it is on."
            )
            % {
                "reason": refusal,
                "user": uploader.user.username,
                "url": absolute_url(reverse("mfa:help")),
            }
        ) from None


def check_open(project: Project | None, canonical_version: str | None = None) -> None:
    """Refuse an upload to a project whose status takes none (PEP 792: archived,
    quarantined), or to a release older than STRONGROOM_RELEASE_CLOSE_DAYS."""
    if project is None:
        return
    refusal = lifecycle.upload_refusal(project)
    if refusal is not None:
        raise UploadError(refusal)
    if not settings.RELEASE_CLOSE_DAYS or canonical_version is None:
        return
    release = (
        Release.objects.filter(project=project, canonical_version=canonical_version)
        .values_list("version", "created")
        .first()
    )
    if release is not None and release[1] < timezone.now() - timedelta(
        days=settings.RELEASE_CLOSE_DAYS
    ):
        raise UploadError(
            _(
                "Release %(version)s of %(project)s is closed: a release takes no new files "
                "%(days)d days after it was created. Upload a new version instead."
            )
            % {
                "version": release[0],
                "project": project.name,
                "days": settings.RELEASE_CLOSE_DAYS,
            }
        )


def validate_form(form: QueryDict) -> tuple[str, Metadata]:
    """The request's own fields: action, text, file type and core metadata."""
    checks.check_action(form)
    checks.check_text_fields(form)
    filetype = checks.check_filetype(form)
    return filetype, checks.form_metadata(form)


def validate_file(
    form: QueryDict, upload: HashedUpload, filetype: str, metadata: Metadata
) -> tuple[checks.Distribution, bytes | None]:
    """The file: its name, digests and archive; returns a wheel's METADATA bytes."""
    dist = checks.parse_filename(upload.name or "", filetype)
    checks.check_consistent(dist, metadata, _("the form"))
    digests = {"sha256": upload.sha256, "blake2_256": upload.blake2_256, "md5": upload.md5}
    checks.check_digests(form, digests)
    limits = archives.Limits.from_settings()
    if filetype != checks.WHEEL:
        archives.inspect_sdist(upload.path, dist.filename, limits)
        return dist, None
    dist_info, core = archives.wheel_metadata(upload.path, limits)
    checks.check_dist_info(dist, dist_info)
    checks.check_consistent(dist, checks.core_metadata(core), "METADATA")
    return dist, core


def _release_fields(metadata: Metadata) -> dict[str, object]:
    text = metadata.description or ""
    content_type = metadata.description_content_type or ""
    return {
        "metadata_version": metadata.metadata_version,
        "summary": (metadata.summary or "")[:512],
        "description": text,
        "description_content_type": content_type[:200],
        "description_html": render_description(text, content_type),
        "author": (metadata.author or "")[:500],
        "author_email": (metadata.author_email or "")[:500],
        "maintainer": (metadata.maintainer or "")[:500],
        "maintainer_email": (metadata.maintainer_email or "")[:500],
        "license": metadata.license or "",
        "license_expression": str(metadata.license_expression or "")[:500],
        "home_page": (metadata.home_page or "")[:500],
        "download_url": (metadata.download_url or "")[:500],
        "keywords": list(metadata.keywords or []),
        "classifiers": list(metadata.classifiers or []),
        "platforms": list(metadata.platforms or []),
        "project_urls": dict(metadata.project_urls or {}),
        "requires_dist": [str(r) for r in metadata.requires_dist or []],
        "provides_extra": [str(e) for e in metadata.provides_extra or []],
        "requires_python": str(metadata.requires_python or "")[:200],
    }


def _create_project(uploader: Uploader, name: str) -> Project:
    """A new project: owned by the uploading account, or by whoever registered the pending
    trusted publisher that uploads."""
    if uploader.publisher is None:
        return packages.create_project(uploader.actor, name)
    try:
        return create_pending_project(uploader.publisher, name, uploader.actor)
    except (PublisherTokenError, NotPermitted) as exc:
        raise forbidden(str(exc)) from None


def _store(
    uploader: Uploader,
    dist: checks.Distribution,
    metadata: Metadata,
    core: bytes | None,
    upload: HashedUpload,
    verified: Verified | None = None,
) -> File:
    """Record the file in one transaction; what ``accept_upload`` staged is published
    when it commits."""
    user = uploader.actor.user
    version, canonical = checks.normalized_version(dist.version)
    with transaction.atomic():
        project = Project.objects.filter(normalized_name=canonicalize_name(metadata.name)).first()
        if project is None:
            try:
                project = _create_project(uploader, metadata.name)
            except packages.PackageError as exc:
                raise UploadError(str(exc)) from None
            except ReservedName as exc:
                raise UploadError(str(exc), 409) from None
        else:
            check_permission(uploader, project, project.normalized_name)
            check_open(project, canonical)
        refusal = _already_used(dist)
        if refusal is not None:
            raise refusal
        UsedFilename.objects.create(filename=dist.filename, key=dist.key)
        release = Release.objects.filter(project=project, canonical_version=canonical).first()
        if release is None:
            release = Release.objects.create(
                project=project,
                version=version,
                canonical_version=canonical,
                **_release_fields(metadata),
            )
            record_event(
                EventTag.PROJECT_RELEASE_ADD,
                actor=uploader.actor,
                project=project,
                extra={"project": project.name, "version": version, **uploader.describe()},
            )
        file = File.objects.create(
            release=release,
            project=project,
            filename=dist.filename,
            packagetype=dist.packagetype,
            python_version=dist.python_version,
            requires_python=release.requires_python,
            size=upload.size or 0,
            path=storage_path(upload.sha256, dist.filename),
            sha256_digest=upload.sha256,
            blake2_256_digest=upload.blake2_256,
            md5_digest=upload.md5,
            uploader=user,
            metadata_sha256=hashlib.sha256(core).hexdigest() if core is not None else "",
        )
        if uploader.publisher is not None:
            try:
                record_trusted_upload(uploader.publisher, file)
            except PublisherTokenError as exc:
                raise forbidden(str(exc)) from None
        if verified is not None:
            provenance.record_provenance(uploader.actor, file, verified)
        get_storage().publish_on_commit()
        packages.bump_serial(project)
        # bump_serial re-read the status under the serial row's lock, which every status
        # change takes too: an archive or quarantine that committed meanwhile is seen here.
        refusal_now = lifecycle.upload_refusal(project)
        if refusal_now is not None:
            raise UploadError(refusal_now)
        # Under the same lock: a file another upload committed meanwhile is counted.
        check_project_size(project, file.size, besides=file)
        record_event(
            EventTag.FILE_ADD,
            actor=uploader.actor,
            project=project,
            extra={
                "project": project.name,
                "version": version,
                "filename": dist.filename,
                "sha256": upload.sha256,
                **uploader.describe(),  # which API token (id and name), or the password
            },
        )
    return file


def accept_upload(uploader: Uploader, form: QueryDict, upload: HashedUpload) -> File:
    """Validate and store one uploaded file, or raise UploadError leaving nothing behind."""
    filetype, metadata = validate_form(form)
    name = canonicalize_name(metadata.name)
    project = Project.objects.filter(normalized_name=name).first()
    check_permission(uploader, project, name)
    version = checks.normalized_version(metadata.version)[1] if metadata.version else None
    check_open(project, version)
    limit = (project.upload_limit if project else None) or settings.UPLOAD_MAX_SIZE
    checks.check_size(upload.size or 0, limit)
    check_project_size(project, upload.size or 0)  # before the archive is read or copied
    dist, core = validate_file(form, upload, filetype, metadata)
    refusal = _already_used(dist)
    if refusal is not None:
        raise refusal
    verified = attest.check_attestations(uploader, project, form, dist.filename, upload.sha256)
    storage = get_storage()
    path = storage_path(upload.sha256, dist.filename)
    try:
        # The slow part (a copy, an S3 upload) before the transaction: no lock is held
        # while the bytes travel, neither the database's nor the audit chain's.
        storage.stage(path, upload.path)
        if core is not None:
            storage.stage(f"{path}.metadata", core)
        if verified is not None:  # PEP 740 provenance, beside the file like its metadata
            storage.stage(f"{path}.provenance", json.dumps(verified.provenance).encode())
        file = _store(uploader, dist, metadata, core, upload, verified)
    except IntegrityError:
        # Lost a race: the same filename (or a new project's name) was committed meanwhile.
        storage.discard_staged()
        refusal = _already_used(dist)
        if refusal is not None:
            raise refusal from None
        raise UploadError(
            _("Another upload changed this project at the same time; try again.")
        ) from None
    except StorageFull:
        storage.discard_staged()
        raise UploadError(
            _(
                "The server has no room left to store the file, so it was not stored; "
                "try again later."
            ),
            507,
        ) from None
    except StorageUnavailable:
        storage.discard_staged()
        raise UploadError(
            _("The file storage is unavailable, so the file was not stored; try again later."),
            503,
        ) from None
    except BaseException:
        storage.discard_staged()
        raise
    # Committed: from here on nothing is deleted. A publication that failed keeps its
    # staged copy, which ``strongroom repair`` (and every start) publishes.
    if storage.take_unpublished():
        raise PublishPending(
            _(
                "The file %(filename)s was recorded, but the file storage failed while "
                "publishing it. It is kept and will be published when the storage recovers "
                "(strongroom repair); do not upload it again."
            )
            % {"filename": dist.filename}
        )
    return file
