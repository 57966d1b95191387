"""Every change to a project goes through a function here, in one transaction,
with its audit event. Each takes the explicit ``Actor`` and checks its right itself
(``packages.permissions``), whoever calls: a page, the admin, the CLI."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from strongroom.accounts.actors import Actor, NotPermitted, require_staff
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.packages import search
from strongroom.packages.models import (
    ConfusableNameAllowance,
    File,
    IndexSerial,
    Project,
    Release,
    Role,
)
from strongroom.packages.names import confusable_skeleton
from strongroom.packages.permissions import OWNER, require_may_create, require_role
from strongroom.packages.signals import project_changed, project_removed
from strongroom.proxy.names import check_new_project
from strongroom.storage import get_storage

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime


class PackageError(Exception):
    """A refused change; ``str(exc)`` is the sentence to show."""


# PEP 508 names: what packaging.metadata accepts for an upload's Name.
_VALID_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


def _bump_index() -> int:
    IndexSerial.objects.get_or_create(pk=1)
    IndexSerial.objects.filter(pk=1).update(value=F("value") + 1, changed=timezone.now())
    return int(IndexSerial.objects.values_list("value", flat=True).get(pk=1))


def bump_serial(project: Project) -> None:
    """Mark ``project`` (and the index) as changed: new ETags on the very next request."""
    project.last_serial = _bump_index()
    # Writers take turns on the serial row: what the pages show of the project may have
    # been changed by another writer since this one loaded it (a status change).
    project.status, project.status_reason = (
        Project.objects.filter(pk=project.pk).values_list("status", "status_reason").get()
    )
    project.last_changed = timezone.now()
    project.save(update_fields=["last_serial", "last_changed"])
    # Search and browse read what is computed here, in the same transaction.
    search.refresh_project(project)
    # Pre-rendered read-path pages are rebuilt here, in the caller's transaction.
    project_changed.send(sender=Project, project=project)


def index_state() -> tuple[int, datetime | None]:
    """The index's serial and when it last changed (one small query)."""
    row = IndexSerial.objects.filter(pk=1).values_list("value", "changed").first()
    return (int(row[0]), row[1]) if row else (0, None)


def confusable_with(name: str) -> str | None:
    """The name of an existing project that ``name`` looks like, unless staff allowed it."""
    normalized = canonicalize_name(name)
    like = (
        Project.objects.filter(skeleton=confusable_skeleton(name))
        .exclude(normalized_name=normalized)
        .values_list("name", flat=True)
        .first()
    )
    if like is None or ConfusableNameAllowance.objects.filter(normalized_name=normalized).exists():
        return None
    return like


def create_project(actor: Actor, name: str) -> Project:
    """Create a project with the acting user as its Owner (caller holds the transaction).

    Refused (PackageError) when the name looks like an existing project's: same
    confusable skeleton (packages.names), unless staff allowed the name; refused
    (proxy.names.ReservedName) under another organisation's reserved prefix, or when the
    upstream index has the name and staff did not allow the shadow.
    """
    user = require_may_create(actor)
    check_new_project(user, name)
    # New projects take turns on the index's serial row (which the caller's bump_serial
    # locks anyway), so two look-alike names created at once cannot both pass the check.
    IndexSerial.objects.get_or_create(pk=1)
    IndexSerial.objects.select_for_update().filter(pk=1).values_list("pk", flat=True).first()
    like = confusable_with(name)
    if like is not None:
        raise PackageError(
            _(
                "The name '%(name)s' is too similar to the existing project '%(like)s'. "
                "Choose another name, or ask the index's staff to allow this one."
            )
            % {"name": name, "like": like}
        )
    project = Project.objects.create(
        name=name, normalized_name=canonicalize_name(name), skeleton=confusable_skeleton(name)
    )
    Role.objects.create(project=project, user=user, role_name=Role.Name.OWNER)
    record_event(
        EventTag.PROJECT_CREATE,
        actor=actor,
        project=project,
        extra={"project": project.name},
    )
    return project


def allow_confusable_name(actor: Actor, name: str) -> ConfusableNameAllowance:
    """Staff allow the project name ``name`` although it looks like an existing project's.

    Audited (``project:name:allow``). Only an active staff account may; a name that is
    not valid, already exists, or looks like no project is refused, so every allowance
    on record was needed.
    """
    try:
        staff = require_staff(actor)
    except NotPermitted:
        staff = None
    if staff is None:  # not staff, or the system without a staff member to answer for it
        raise PackageError(_("Only staff can allow a project name."))
    normalized = canonicalize_name(name)
    if not _VALID_NAME.match(name):
        raise PackageError(_("'%(name)s' is not a valid project name.") % {"name": name[:200]})
    with transaction.atomic():
        if Project.objects.filter(normalized_name=normalized).exists():
            raise PackageError(_("The project '%(name)s' already exists.") % {"name": name})
        skeleton = confusable_skeleton(name)
        like = sorted(Project.objects.filter(skeleton=skeleton).values_list("name", flat=True))
        if not like:
            raise PackageError(
                _("'%(name)s' looks like no existing project: it needs no allowance.")
                % {"name": name}
            )
        allowance, _created = ConfusableNameAllowance.objects.get_or_create(
            normalized_name=normalized, defaults={"allowed_by": staff}
        )
        record_event(
            EventTag.PROJECT_NAME_ALLOW,
            actor=actor,
            extra={"name": normalized, "skeleton": skeleton, "like": ", ".join(like)[:500]},
        )
    return allowance


def sort_releases(releases: Iterable[Release]) -> list[Release]:
    """Newest version first, by PEP 440 ordering."""

    def key(release: Release) -> Version:
        try:
            return Version(release.version)
        except InvalidVersion:
            return Version("0")

    return sorted(releases, key=key, reverse=True)


def _release_extra(release: Release, **more: str) -> dict[str, str]:
    return {"project": release.project.name, "version": release.version, **more}


def yank_release(actor: Actor, release: Release, reason: str) -> None:
    """PEP 592: installers skip a yanked release unless it is pinned exactly."""
    with transaction.atomic():
        require_role(actor, release.project, OWNER)
        if release.yanked:
            raise PackageError(_("This release is already yanked."))
        release.yanked = True
        release.yanked_reason = reason.strip()[:500]
        release.save(update_fields=["yanked", "yanked_reason"])
        bump_serial(release.project)
        record_event(
            EventTag.PROJECT_RELEASE_YANK,
            actor=actor,
            project=release.project,
            extra=_release_extra(release, reason=release.yanked_reason),
        )


def unyank_release(actor: Actor, release: Release) -> None:
    with transaction.atomic():
        require_role(actor, release.project, OWNER)
        if not release.yanked:
            raise PackageError(_("This release is not yanked."))
        release.yanked = False
        release.yanked_reason = ""
        release.save(update_fields=["yanked", "yanked_reason"])
        bump_serial(release.project)
        record_event(
            EventTag.PROJECT_RELEASE_UNYANK,
            actor=actor,
            project=release.project,
            extra=_release_extra(release),
        )


def _delete_stored(file: File) -> None:
    storage = get_storage()
    storage.delete(file.path)
    if file.metadata_sha256:
        storage.delete(file.metadata_path)


def remove_file(actor: Actor, file: File) -> None:
    """Delete one file; its filename stays used forever."""
    with transaction.atomic():
        project = file.project
        require_role(actor, project, OWNER)
        file.delete()
        _delete_stored(file)
        bump_serial(project)
        record_event(
            EventTag.FILE_REMOVE,
            actor=actor,
            project=project,
            extra={"project": project.name, "filename": file.filename},
        )


def remove_release(actor: Actor, release: Release) -> None:
    with transaction.atomic():
        project = release.project
        require_role(actor, project, OWNER)
        files = list(release.files.all())
        release.delete()
        for file in files:
            _delete_stored(file)
        bump_serial(project)
        record_event(
            EventTag.PROJECT_RELEASE_REMOVE,
            actor=actor,
            project=project,
            extra=_release_extra(release, files=", ".join(f.filename for f in files)),
        )


def remove_project(actor: Actor, project: Project) -> None:
    """Delete the project, its releases and files; its events keep the name in extra."""
    with transaction.atomic():
        require_role(actor, project, OWNER)
        files = list(File.objects.filter(project=project))
        record_event(
            EventTag.PROJECT_REMOVE,
            actor=actor,
            project=project,
            extra={"project": project.name, "files": len(files)},
        )
        delete_project(project, files)


def delete_project(project: Project, files: list[File] | None = None) -> None:
    """Delete the rows and stored files of ``project`` (its caller records the event)."""
    if files is None:
        files = list(File.objects.filter(project=project))
    normalized_name = project.normalized_name
    search.forget_project(project.pk)
    project.delete()
    for file in files:
        _delete_stored(file)
    _bump_index()
    project_removed.send(sender=Project, normalized_name=normalized_name)
