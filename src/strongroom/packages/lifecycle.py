"""PEP 792 project status: Owners archive and unarchive; staff quarantine, release and
deprecate. One function per change, in one transaction, with its audit event and an email
to the project's Owners.

Owners confirm with their password (``require_recent_authentication``); staff confirm each
change with their second factor, passed as ``proof`` (``console.reauth.Proof``: a fresh
code from their authenticator app or their security key's answer) and checked in the
change's transaction, as the console's own actions are. The operator's CLI needs none.

Every change bumps the project's serial (``services.bump_serial``), which rebuilds the
pre-rendered simple pages in the same transaction and gives every cached answer a new
ETag, so no reader sees the old status once the change commits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from strongroom.accounts.actors import Actor, require_recent_authentication
from strongroom.accounts.models import User
from strongroom.console.reauth import Proof, confirm_staff_action
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.notify.services import send_email
from strongroom.packages.models import IndexSerial, Project, ProjectReport, Role
from strongroom.packages.permissions import OWNER, require_role
from strongroom.packages.services import PackageError, bump_serial
from strongroom.web.http import absolute_url

if TYPE_CHECKING:
    from collections.abc import Iterable

Status = Project.Status
REASON_MAX = 500


def upload_refusal(project: Project) -> str | None:
    """Why ``project`` takes no new files because of its status, or None when it does."""
    if project.status == Status.ARCHIVED:
        return _(
            "The project %(project)s is archived: it takes no new uploads. An Owner can "
            "unarchive it on the project's settings page."
        ) % {"project": project.name}
    if project.status == Status.QUARANTINED:
        return _(
            "The project %(project)s is quarantined by the index's staff: it takes no new uploads."
        ) % {"project": project.name}
    return None


def _owners(project: Project) -> Iterable[User]:
    return User.objects.filter(
        project_roles__project=project, project_roles__role_name=Role.Name.OWNER
    )


def _change(
    actor: Actor,
    project: Project,
    *,
    expected: Iterable[str],
    new: str,
    reason: str,
    tag: EventTag,
    refusal: str,
    **extra: object,
) -> Project:
    """Lock the project, check its current status, change it, audit it, tell the Owners.

    The caller holds the transaction and has checked the actor's right."""
    # The serial row first, then the project: the order every other writer (uploads,
    # yanks: bump_serial) takes them in, so two writers never wait on each other.
    IndexSerial.objects.get_or_create(pk=1)
    IndexSerial.objects.select_for_update().filter(pk=1).values_list("pk", flat=True).first()
    locked = Project.objects.select_for_update().get(pk=project.pk)
    if locked.status not in set(expected):
        raise PackageError(refusal % {"project": locked.name, "status": locked.status})
    old = locked.status
    locked.status = new
    locked.status_reason = " ".join(reason.split())[:REASON_MAX]
    locked.status_changed = timezone.now()
    locked.save(update_fields=["status", "status_reason", "status_changed"])
    bump_serial(locked)
    event = record_event(
        tag,
        actor=actor,
        project=locked,
        extra={"project": locked.name, "old_status": old, "reason": locked.status_reason, **extra},
    )
    project_url = absolute_url(reverse("packages:project", args=[locked.normalized_name]))
    for owner in _owners(locked):
        if owner.email:
            send_email(
                [owner.email],
                "project_status_changed",
                {
                    "user": owner,
                    "project": locked,
                    "old_status": old,
                    "changed_by_staff": tag
                    not in (EventTag.PROJECT_STATUS_ARCHIVE, EventTag.PROJECT_STATUS_UNARCHIVE),
                    "project_url": project_url,
                },
                actor=actor,
                event=event,
            )
    project.status, project.status_reason = locked.status, locked.status_reason
    project.status_changed, project.last_serial = locked.status_changed, locked.last_serial
    return locked


def _require_owner(actor: Actor, project: Project) -> None:
    require_role(actor, project, OWNER)
    require_recent_authentication(
        actor, _("Confirm your password again to change the project's status.")
    )


def _confirmed_staff(actor: Actor, proof: Proof | None) -> User | None:
    """Staff who confirm this change with their second factor now, or the operator's CLI
    (None); everyone else is refused. Inside the change's transaction: a failed change
    leaves the code unspent, and two changes cannot share one code."""
    return confirm_staff_action(actor, proof)


def archive_project(actor: Actor, project: Project, reason: str = "") -> Project:
    """An Owner archives ``project``: no new uploads; installs keep working (PEP 792)."""
    with transaction.atomic():
        _require_owner(actor, project)
        return _change(
            actor,
            project,
            expected=[Status.ACTIVE, Status.DEPRECATED],
            new=Status.ARCHIVED,
            reason=reason,
            tag=EventTag.PROJECT_STATUS_ARCHIVE,
            refusal=_("The project %(project)s is %(status)s: it cannot be archived."),
        )


def unarchive_project(actor: Actor, project: Project) -> Project:
    """An Owner makes an archived project active again."""
    with transaction.atomic():
        _require_owner(actor, project)
        return _change(
            actor,
            project,
            expected=[Status.ARCHIVED],
            new=Status.ACTIVE,
            reason="",
            tag=EventTag.PROJECT_STATUS_UNARCHIVE,
            refusal=_("The project %(project)s is %(status)s, not archived."),
        )


def _reason_required(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise PackageError(_("Give a reason: it is shown on the project page and to installers."))
    return reason


def quarantine_project(
    actor: Actor,
    project: Project,
    reason: str,
    report: ProjectReport | None = None,
    *,
    proof: Proof | None = None,
) -> Project:
    """Staff quarantine ``project``: it leaves /simple/, offers no file and takes no upload;
    its files are kept, so releasing it restores everything.

    From a report (``report``), the report is resolved by the same action and event.
    """
    with transaction.atomic():
        staff = _confirmed_staff(actor, proof)
        reason = _reason_required(reason)
        extra: dict[str, object] = {}
        if report is not None:
            report = ProjectReport.objects.select_for_update().get(pk=report.pk)
            if report.project_id != project.pk:
                raise PackageError(_("That report is about another project."))
            extra["report"] = report.pk
        locked = _change(
            actor,
            project,
            expected=[Status.ACTIVE, Status.ARCHIVED, Status.DEPRECATED],
            new=Status.QUARANTINED,
            reason=reason,
            tag=EventTag.PROJECT_STATUS_QUARANTINE,
            refusal=_("The project %(project)s is already quarantined."),
            **extra,
        )
        if report is not None and report.state == ProjectReport.State.OPEN:
            report.state = ProjectReport.State.RESOLVED
            report.resolved_by = staff
            report.resolved_at = timezone.now()
            report.resolution = _("Quarantined: %(reason)s") % {"reason": locked.status_reason}
            report.save(update_fields=["state", "resolved_by", "resolved_at", "resolution"])
        return locked


def release_project(
    actor: Actor, project: Project, reason: str = "", *, proof: Proof | None = None
) -> Project:
    """Staff release a quarantined project: it is active again, with all its files."""
    with transaction.atomic():
        _confirmed_staff(actor, proof)
        return _change(
            actor,
            project,
            expected=[Status.QUARANTINED],
            new=Status.ACTIVE,
            reason=reason,
            tag=EventTag.PROJECT_STATUS_RELEASE,
            refusal=_("The project %(project)s is %(status)s, not quarantined."),
        )


def deprecate_project(
    actor: Actor, project: Project, reason: str, *, proof: Proof | None = None
) -> Project:
    """Staff mark ``project`` deprecated: PEP 792 gives it the index semantics of active
    (uploads and installs work); installers may warn, and the reason says what to use."""
    with transaction.atomic():
        _confirmed_staff(actor, proof)
        return _change(
            actor,
            project,
            expected=[Status.ACTIVE],
            new=Status.DEPRECATED,
            reason=_reason_required(reason),
            tag=EventTag.PROJECT_STATUS_DEPRECATE,
            refusal=_(
                "The project %(project)s is %(status)s: only an active project can be deprecated."
            ),
        )


def undeprecate_project(actor: Actor, project: Project, *, proof: Proof | None = None) -> Project:
    with transaction.atomic():
        _confirmed_staff(actor, proof)
        return _change(
            actor,
            project,
            expected=[Status.DEPRECATED],
            new=Status.ACTIVE,
            reason="",
            tag=EventTag.PROJECT_STATUS_UNDEPRECATE,
            refusal=_("The project %(project)s is %(status)s, not deprecated."),
        )
