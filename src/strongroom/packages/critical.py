"""Critical projects: marked by staff, or in the top share of projects by downloads.

A critical project requires two-factor authentication from every collaborator (mfa.policy).
Once critical, a project stays critical when its downloads fall: requirements that come and
go with traffic would confuse its maintainers more than they protect anyone. Staff can
remove their own mark; they cannot un-make a popular project.
"""

from __future__ import annotations

import math
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from strongroom.accounts.actors import Actor, require_staff
from strongroom.accounts.models import User
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.mfa.policy import two_factor_refusal
from strongroom.notify.services import send_email
from strongroom.packages.models import Project
from strongroom.web.http import absolute_url


def _became_critical(
    actor: Actor,
    project: Project,
    reason: str,
    tag: EventTag = EventTag.PROJECT_CRITICAL_MARKED,
    **extra: object,
) -> None:
    """Record the event and, the first time, tell every collaborator what it means."""
    first_time = project.critical_since is None
    if first_time:
        project.critical_since = timezone.now()
        project.save(update_fields=["critical_since"])
    record_event(
        tag,
        actor=actor,
        project=project,
        extra={"project": project.name, "reason": reason, **extra},
    )
    if not first_time:
        return
    for user in User.objects.filter(project_roles__project=project).prefetch_related("emails"):
        if not user.email:
            continue
        send_email(
            [user.email],
            "project_critical",
            {
                "user": user,
                "project": project,
                "reason": reason,
                "share_percent": _percent(settings.CRITICAL_SHARE),
                "window_days": settings.CRITICAL_WINDOW_DAYS,
                "needs_two_factor": two_factor_refusal(user, project) is not None,
                "since": project.critical_since,
                "project_url": absolute_url(
                    reverse("packages:project", args=[project.normalized_name])
                ),
                "critical_help_url": absolute_url(reverse("packages:critical_help")),
                "two_factor_help_url": absolute_url(reverse("mfa:help")),
                "tokens_help_url": absolute_url(reverse("tokens:create")),
                "projects_url": absolute_url(reverse("packages:your_projects")),
            },
            actor=actor,
        )


def _percent(share: float) -> str:
    return f"{share * 100:g}"


def mark_critical(
    actor: Actor, project: Project, *, tag: EventTag = EventTag.PROJECT_CRITICAL_MARKED
) -> None:
    """Staff mark ``project`` critical (from the admin, the CLI, or the staff console,
    which records its own ``admin:project:critical`` as ``tag``)."""
    with transaction.atomic():
        require_staff(actor)
        project = Project.objects.select_for_update().get(pk=project.pk)
        if project.marked_critical:
            return
        project.marked_critical = True
        project.save(update_fields=["marked_critical"])
        _became_critical(actor, project, "staff", tag)


def unmark_critical(
    actor: Actor, project: Project, *, tag: EventTag = EventTag.PROJECT_CRITICAL_UNMARKED
) -> None:
    """Remove the staff mark (the CLI, or the staff console with its own ``tag``); a
    popular project stays critical."""
    with transaction.atomic():
        require_staff(actor)
        project = Project.objects.select_for_update().get(pk=project.pk)
        if not project.marked_critical:
            return
        project.marked_critical = False
        if not project.popular:
            project.critical_since = None
        project.save(update_fields=["marked_critical", "critical_since"])
        record_event(
            tag,
            actor=actor,
            project=project,
            extra={"project": project.name, "still_critical": project.popular},
        )


def downloads_by_project(days: int | None = None) -> dict[int, int]:
    """Downloads per project id over the last ``days`` days (CRITICAL_WINDOW_DAYS)."""
    from strongroom.index.models import DownloadCount

    since = timezone.now().date() - timedelta(days=days or settings.CRITICAL_WINDOW_DAYS)
    rows = (
        DownloadCount.objects.filter(day__gt=since)
        .values("project")
        .annotate(total=Sum("count"))
        .values_list("project", "total")
    )
    return {int(project): int(total or 0) for project, total in rows}


def update_critical_projects() -> list[Project]:
    """Mark the top CRITICAL_SHARE of projects by downloads critical; return the new ones.

    The top share is of all projects (at least one project when any has downloads), ranked
    by downloads over the last CRITICAL_WINDOW_DAYS days. Run daily from cron:
    ``strongroom critical update``.
    """
    totals = downloads_by_project()
    total_projects = Project.objects.count()
    if not totals or total_projects == 0 or settings.CRITICAL_SHARE <= 0:
        return []
    top_n = max(1, math.ceil(total_projects * settings.CRITICAL_SHARE))
    ranked = sorted((t for t in totals.items() if t[1] > 0), key=lambda t: (-t[1], t[0]))
    newly: list[Project] = []
    for project_id, downloads in ranked[:top_n]:
        with transaction.atomic():
            project = Project.objects.select_for_update().filter(pk=project_id).first()
            if project is None or project.popular:
                continue
            project.popular = True
            project.save(update_fields=["popular"])
            _became_critical(
                Actor.operator(),
                project,
                "downloads",
                downloads=downloads,
                window_days=settings.CRITICAL_WINDOW_DAYS,
            )
            newly.append(project)
    return newly
