"""Moving a project into or out of an organisation: an Owner action that needs a recent
password. Team rights on the project end with the move."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from strongroom.accounts.actors import Actor, require_recent_authentication
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.orgs.models import Organization, TeamProjectRole
from strongroom.orgs.services import OWNER, OrgError, lock, notify, require_org_role
from strongroom.packages.models import Project, Role
from strongroom.packages.permissions import OWNER as PROJECT_OWNER
from strongroom.packages.permissions import require_role


def transfer_project(actor: Actor, project: Project, organization: Organization | None) -> Project:
    """Move ``project`` into ``organization`` (None: out of its organisation).

    Into an organisation: the actor is an Owner of the project and of the organisation.
    Out of one: an Owner of the project (an organisation Owner is one); when no one holds
    Owner on the project directly, the actor becomes its Owner so it is never orphaned.
    Every team role on the project is deleted: the old organisation's teams lose it now.
    """
    require_recent_authentication(actor, _("Confirm your password before transferring a project."))
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        user_role = require_role(actor, project, PROJECT_OWNER)
        assert user_role and actor.user is not None
        old = project.organization
        if organization is not None:
            organization = lock(organization)
            require_org_role(actor, organization, OWNER)
            if old is not None and old.pk == organization.pk:
                raise OrgError(
                    _("%(project)s already belongs to %(organization)s.")
                    % {"project": project.name, "organization": organization.name}
                )
        elif old is None:
            raise OrgError(
                _("%(project)s does not belong to an organisation.") % {"project": project.name}
            )
        teams = sorted(
            TeamProjectRole.objects.filter(project=project).values_list("team__name", flat=True)
        )
        TeamProjectRole.objects.filter(project=project).delete()
        if (
            organization is None
            and not Role.objects.filter(project=project, role_name=Role.Name.OWNER).exists()
        ):
            Role.objects.update_or_create(
                project=project, user=actor.user, defaults={"role_name": Role.Name.OWNER}
            )
        project.organization = organization
        project.save(update_fields=["organization"])
        extra = {"project": project.normalized_name, "teams_removed": teams}
        if old is not None:
            record_event(
                EventTag.ORGANIZATION_PROJECT_REMOVE,
                actor=actor,
                project=project,
                extra={**extra, "organization": old.normalized_name},
            )
            notify(
                actor,
                old,
                _("%(actor)s transferred %(project)s out of %(organization)s.")
                % {"actor": actor.username, "project": project.name, "organization": old.name},
            )
        if organization is not None:
            record_event(
                EventTag.ORGANIZATION_PROJECT_ADD,
                actor=actor,
                project=project,
                extra={**extra, "organization": organization.normalized_name},
            )
            notify(
                actor,
                organization,
                _("%(actor)s transferred %(project)s into %(organization)s.")
                % {
                    "actor": actor.username,
                    "project": project.name,
                    "organization": organization.name,
                },
            )
    return project
