"""Reports of projects to staff: filed by signed-in users (rate limited), resolved by
staff with a note, or resolved by quarantining the project (packages.lifecycle)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from strongroom import ratelimit
from strongroom.accounts.actors import Actor, require_user
from strongroom.accounts.models import User
from strongroom.console.reauth import Proof, confirm_staff_action
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.notify.services import send_email
from strongroom.packages.models import Project, ProjectReport
from strongroom.packages.services import PackageError
from strongroom.web.http import absolute_url

REASON_MAX = 5000
NOTE_MAX = 2000


def report_limit() -> ratelimit.Limit:
    return ratelimit.Limit("report:account", settings.REPORT_LIMIT_PER_ACCOUNT)


def report_project(actor: Actor, project: Project, reason: str) -> ProjectReport:
    """A signed-in user reports ``project`` to staff; every staff member is emailed.

    Refused (PackageError) without a reason, or past the per-account limit
    (STRONGROOM_REPORT_LIMIT): nothing is stored then.
    """
    user = require_user(actor)
    reason = reason.strip()
    if not reason:
        raise PackageError(_("Say what is wrong with the project: the report needs a reason."))
    if len(reason) > REASON_MAX:
        raise PackageError(
            _("The reason is too long: at most %(max)d characters.") % {"max": REASON_MAX}
        )
    limit = report_limit()
    if not ratelimit.hit(limit, str(user.pk)):
        minutes = max(1, (ratelimit.retry_after(limit, str(user.pk)) + 59) // 60)
        raise PackageError(
            _(
                "You have sent too many reports for now: try again in %(minutes)d minutes, "
                "or write to the index's staff."
            )
            % {"minutes": minutes}
        )
    with transaction.atomic():
        report = ProjectReport.objects.create(project=project, reporter=user, reason=reason)
        event = record_event(
            EventTag.PROJECT_REPORT_ADD,
            actor=actor,
            project=project,
            extra={"project": project.name, "report": report.pk},
        )
        staff = User.objects.filter(is_staff=True, is_active=True).prefetch_related("emails")
        report_url = absolute_url(reverse("reports:detail", args=[report.pk]))
        for member in staff:
            if not member.email:
                continue
            send_email(
                [member.email],
                "project_reported",
                {
                    "user": member,
                    "project": project,
                    "report": report,
                    "reporter": user.username,
                    "report_url": report_url,
                },
                event=event,
                client_to=[],
            )
    return report


def resolve_report(
    actor: Actor, report: ProjectReport, note: str, *, proof: Proof | None = None
) -> ProjectReport:
    """Staff close an open report with a note (the project is left as it is), confirming
    it with their second factor (``proof``, checked in this transaction: console.reauth);
    the operator's CLI needs no proof."""
    with transaction.atomic():
        staff = confirm_staff_action(actor, proof)
        note = note.strip()
        if not note:
            raise PackageError(_("Write a note saying how the report was resolved."))
        report = (
            ProjectReport.objects.select_for_update().select_related("project").get(pk=report.pk)
        )
        if report.state != ProjectReport.State.OPEN:
            raise PackageError(_("This report is already resolved."))
        report.state = ProjectReport.State.RESOLVED
        report.resolved_by = staff
        report.resolved_at = timezone.now()
        report.resolution = note[:NOTE_MAX]
        report.save(update_fields=["state", "resolved_by", "resolved_at", "resolution"])
        record_event(
            EventTag.PROJECT_REPORT_RESOLVE,
            actor=actor,
            project=report.project,
            extra={"project": report.project.name, "report": report.pk, "note": report.resolution},
        )
    return report
