"""accept_upload(): run the checks in order, then store the file in one transaction."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _
from packaging.metadata import Metadata
from packaging.utils import canonicalize_name

from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.mfa.policy import two_factor_refusal
from strongroom.packages import services as packages
from strongroom.packages.models import File, Project, Release, UsedFilename
from strongroom.packages.rendering import render_description
from strongroom.storage import get_storage
from strongroom.storage.base import StorageUnavailable
from strongroom.upload import archives, checks
from strongroom.upload.auth import Uploader, check_token_scope
from strongroom.upload.errors import UploadError, forbidden
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


def _already_used(filename: str) -> UploadError:
    if File.objects.filter(filename=filename).exists():
        return UploadError(
            _("File already exists ('%(filename)s'). Use a different version.")
            % {"filename": filename}
        )
    return UploadError(
        _(
            "The filename %(filename)s has already been used (by a deleted file). "
            "Use a different version."
        )
        % {"filename": filename}
    )


def check_permission(
    request: HttpRequest, uploader: Uploader, project: Project | None, name: str
) -> None:
    """May this uploader add files to ``project`` (None: a new project named ``name``)?"""
    check_token_scope(request, uploader, project, name)
    if project is not None and packages.role_of(uploader.user, project) is None:
        reason = _("The user '%(user)s' isn't allowed to upload to project '%(project)s'.") % {
            "user": uploader.user.username,
            "project": project.name,
        }
        raise forbidden(reason)
    refusal = two_factor_refusal(uploader.user, project)
    if refusal is not None:
        raise forbidden(
            _(
                "%(reason)s User %(user)s has no second factor: set one up at %(url)s "
                "(an authenticator app or a security key both work). API token uploads "
                "keep working once it is on."
            )
            % {
                "reason": refusal,
                "user": uploader.user.username,
                "url": absolute_url(request, reverse("mfa:help")),
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
    core = archives.wheel_metadata(upload.path, limits)
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


def _store(
    request: HttpRequest,
    uploader: Uploader,
    dist: checks.Distribution,
    metadata: Metadata,
    core: bytes | None,
    upload: HashedUpload,
) -> File:
    storage = get_storage()
    user = uploader.user
    version, canonical = checks.normalized_version(dist.version)
    with transaction.atomic():
        project = Project.objects.filter(normalized_name=canonicalize_name(metadata.name)).first()
        if project is None:
            project = packages.create_project(request, user, metadata.name)
        else:
            check_permission(request, uploader, project, project.normalized_name)
        if UsedFilename.objects.filter(filename=dist.filename).exists():
            raise _already_used(dist.filename)
        UsedFilename.objects.create(filename=dist.filename)
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
                request=request,
                actor=user,
                project=project,
                extra={"project": project.name, "version": version, **uploader.describe()},
            )
        path = storage_path(upload.sha256, dist.filename)
        file = File.objects.create(
            release=release,
            project=project,
            filename=dist.filename,
            packagetype=dist.packagetype,
            python_version=dist.python_version,
            requires_python=release.requires_python,
            size=upload.size or 0,
            path=path,
            sha256_digest=upload.sha256,
            blake2_256_digest=upload.blake2_256,
            md5_digest=upload.md5,
            uploader=user,
            metadata_sha256=hashlib.sha256(core).hexdigest() if core is not None else "",
        )
        storage.save(path, upload.path)
        if core is not None:
            storage.save(file.metadata_path, core)
        packages.bump_serial(project)
        record_event(
            EventTag.FILE_ADD,
            request=request,
            actor=user,
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


def accept_upload(
    request: HttpRequest, uploader: Uploader, form: QueryDict, upload: HashedUpload
) -> File:
    """Validate and store one uploaded file, or raise UploadError leaving nothing behind."""
    filetype, metadata = validate_form(form)
    name = canonicalize_name(metadata.name)
    project = Project.objects.filter(normalized_name=name).first()
    check_permission(request, uploader, project, name)
    limit = (project.upload_limit if project else None) or settings.UPLOAD_MAX_SIZE
    checks.check_size(upload.size or 0, limit)
    dist, core = validate_file(form, upload, filetype, metadata)
    if UsedFilename.objects.filter(filename=dist.filename).exists():
        raise _already_used(dist.filename)
    storage = get_storage()
    try:
        return _store(request, uploader, dist, metadata, core, upload)
    except IntegrityError:
        # Lost a race: the same filename (or a new project's name) was committed meanwhile.
        storage.discard_staged()
        if UsedFilename.objects.filter(filename=dist.filename).exists():
            raise _already_used(dist.filename) from None
        raise UploadError(
            _("Another upload changed this project at the same time; try again.")
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
