"""Changing a project's visibility: the one write behind the settings page and the CLI."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from strongroom.accounts.actors import Actor, require_recent_authentication
from strongroom.accounts.models import User
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.notify.services import send_email
from strongroom.packages.models import Project
from strongroom.packages.permissions import OWNER, require_role
from strongroom.packages.services import PackageError, bump_serial
from strongroom.web.http import absolute_url


def parse_visibility(value: object) -> str:
    """``value`` as a visibility ("public" or "private"); PackageError for anything else."""
    if isinstance(value, str) and value.strip().lower() in Project.Visibility.values:
        return value.strip().lower()
    raise PackageError(
        _("Unknown visibility %(value)s: choose public or private.") % {"value": repr(value)[:40]}
    )


def set_visibility(actor: Actor, project: Project, visibility: str) -> bool:
    """Make ``project`` public or private; True when it changed.

    Owners only (or the operator, through the CLI), re-authenticated in a browser
    session. The project's serial is bumped in the same transaction, so every stored
    page, ETag, memo and cache entry made while it had the other visibility stops being
    current at once. The other Owners are emailed.
    """
    visibility = parse_visibility(visibility)
    require_recent_authentication(
        actor, _("Confirm your password before changing the project's visibility.")
    )
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        if not actor.system:  # the operator's CLI acts for the server's owner
            require_role(actor, project, OWNER)
        previous = project.visibility
        if previous == visibility:
            return False
        project.visibility = visibility
        project.save(update_fields=["visibility"])
        bump_serial(project)
        record_event(
            EventTag.PROJECT_VISIBILITY_CHANGE,
            actor=actor,
            user=actor.user,
            project=project,
            extra={"project": project.name, "from": previous, "to": visibility},
        )
        label = str(Project.Visibility(visibility).label).lower()
        summary = _("%(actor)s made %(project)s %(visibility)s.") % {
            "actor": actor.username or _("The operator"),
            "project": project.name,
            "visibility": label,
        }
        others = User.objects.filter(
            project_roles__project=project, project_roles__role_name="Owner"
        )
        if actor.user is not None:
            others = others.exclude(pk=actor.user.pk)
        send_email(
            [u.email for u in others if u.email],
            "project_visibility_changed",
            {
                "project": project,
                "visibility": label,
                "summary": summary,
                "settings_url": absolute_url(
                    reverse("packages:settings", args=[project.normalized_name])
                ),
            },
            actor=actor,
        )
    return True
