"""Teams inside an organisation: create, rename, delete, their members, and the role each
holds on the organisation's projects. Owners and Managers of the organisation may do all
of it; each function is one transaction with its audit event and emails."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from packaging.utils import canonicalize_name

from strongroom.accounts.actors import Actor
from strongroom.accounts.models import User
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.orgs.models import Organization, OrganizationRole, Team, TeamMember, TeamProjectRole
from strongroom.orgs.services import (
    MANAGERS,
    OrgError,
    clean_name,
    event,
    lock,
    normalize_name,
    notify,
    require_org_role,
)
from strongroom.packages.models import Project, Role


def _taken(name: str, organization: Organization) -> OrgError:
    return OrgError(
        _("%(organization)s already has a team named %(name)s.")
        % {"organization": organization.name, "name": name}
    )


def find_team(organization: Organization, name: str) -> Team | None:
    return Team.objects.filter(
        organization=organization, normalized_name=normalize_name(name or "")
    ).first()


def _fresh(team: Team) -> tuple[Organization, Team]:
    """Lock the team's organisation and read the team again: it may be gone."""
    organization = lock(team.organization)
    current = Team.objects.filter(pk=team.pk, organization=organization).first()
    if current is None:
        raise OrgError(_("That team no longer exists."))
    return organization, current


def create_team(actor: Actor, organization: Organization, name: str) -> Team:
    name, normalized = clean_name(name, _("team"))
    try:
        with transaction.atomic():
            organization = lock(organization)
            require_org_role(actor, organization, MANAGERS)
            if Team.objects.filter(organization=organization, normalized_name=normalized).exists():
                raise _taken(name, organization)
            team = Team.objects.create(
                organization=organization, name=name, normalized_name=normalized
            )
            event(EventTag.TEAM_CREATE, actor, organization, team=name)
            notify(
                actor,
                organization,
                _("%(actor)s created the team %(team)s in %(organization)s.")
                % {"actor": actor.username, "team": name, "organization": organization.name},
            )
    except IntegrityError:
        raise _taken(name, organization) from None
    return team


def rename_team(actor: Actor, team: Team, name: str) -> Team:
    name, normalized = clean_name(name, _("team"))
    try:
        with transaction.atomic():
            organization, team = _fresh(team)
            require_org_role(actor, organization, MANAGERS)
            old = team.name
            clash = Team.objects.filter(organization=organization, normalized_name=normalized)
            if clash.exclude(pk=team.pk).exists():
                raise _taken(name, organization)
            team.name, team.normalized_name = name, normalized
            team.save(update_fields=["name", "normalized_name"])
            event(EventTag.TEAM_RENAME, actor, organization, team=name, old_name=old)
            notify(
                actor,
                organization,
                _("%(actor)s renamed the team %(old)s to %(team)s in %(organization)s.")
                % {
                    "actor": actor.username,
                    "old": old,
                    "team": name,
                    "organization": organization.name,
                },
            )
    except IntegrityError:
        raise _taken(name, team.organization) from None
    return team


def delete_team(actor: Actor, team: Team) -> None:
    """Delete a team: its members lose the roles it held on projects at once."""
    with transaction.atomic():
        organization, team = _fresh(team)
        require_org_role(actor, organization, MANAGERS)
        members = sorted(team.members.values_list("user__username", flat=True))
        projects = sorted(team.project_roles.values_list("project__normalized_name", flat=True))
        team.delete()
        event(
            EventTag.TEAM_DELETE,
            actor,
            organization,
            team=team.name,
            members=members,
            projects=projects,
        )
        notify(
            actor,
            organization,
            _("%(actor)s deleted the team %(team)s of %(organization)s.")
            % {"actor": actor.username, "team": team.name, "organization": organization.name},
        )


def _org_member(organization: Organization, username: str) -> User:
    role = (
        OrganizationRole.objects.select_related("user")
        .filter(organization=organization, user__username__iexact=(username or "").strip())
        .first()
    )
    if role is None:
        raise OrgError(
            _("%(username)s is not a member of %(organization)s: invite them to it first.")
            % {"username": (username or "").strip(), "organization": organization.name}
        )
    return role.user


def add_team_member(actor: Actor, team: Team, username: str) -> TeamMember:
    with transaction.atomic():
        organization, team = _fresh(team)
        require_org_role(actor, organization, MANAGERS)
        user = _org_member(organization, username)
        if TeamMember.objects.filter(team=team, user=user).exists():
            raise OrgError(
                _("%(username)s is already in the team %(team)s.")
                % {"username": user.username, "team": team.name}
            )
        member = TeamMember.objects.create(team=team, user=user)
        event(
            EventTag.TEAM_MEMBER_ADD,
            actor,
            organization,
            user,
            team=team.name,
            username=user.username,
        )
        notify(
            actor,
            organization,
            _("%(actor)s added %(username)s to the team %(team)s of %(organization)s.")
            % {
                "actor": actor.username,
                "username": user.username,
                "team": team.name,
                "organization": organization.name,
            },
            user,
        )
    return member


def remove_team_member(actor: Actor, team: Team, username: str) -> User:
    """Take someone out of a team: the roles the team holds stop being theirs at once."""
    with transaction.atomic():
        organization, team = _fresh(team)
        require_org_role(actor, organization, MANAGERS)
        member = (
            TeamMember.objects.select_related("user")
            .filter(team=team, user__username__iexact=(username or "").strip())
            .first()
        )
        if member is None:
            raise OrgError(
                _("%(username)s is not in the team %(team)s.")
                % {"username": (username or "").strip(), "team": team.name}
            )
        member.delete()
        user = member.user
        event(
            EventTag.TEAM_MEMBER_REMOVE,
            actor,
            organization,
            user,
            team=team.name,
            username=user.username,
        )
        notify(
            actor,
            organization,
            _("%(actor)s removed %(username)s from the team %(team)s of %(organization)s.")
            % {
                "actor": actor.username,
                "username": user.username,
                "team": team.name,
                "organization": organization.name,
            },
            user,
        )
    return user


def _org_project(organization: Organization, name: str) -> Project:
    project = Project.objects.filter(
        organization=organization, normalized_name=canonicalize_name(name or "")
    ).first()
    if project is None:
        raise OrgError(
            _("%(organization)s has no project named %(project)s.")
            % {"organization": organization.name, "project": (name or "").strip()}
        )
    return project


def grant_team_role(actor: Actor, team: Team, project_name: str, role_name: str) -> TeamProjectRole:
    """Give a team Owner or Maintainer on one of the organisation's projects (or change it)."""
    if role_name not in Role.Name.values:
        raise OrgError(_("Choose Owner or Maintainer."))
    with transaction.atomic():
        organization, team = _fresh(team)
        require_org_role(actor, organization, MANAGERS)
        project = _org_project(organization, project_name)
        grant, created = TeamProjectRole.objects.update_or_create(
            team=team, project=project, defaults={"role_name": role_name}
        )
        record = {"team": team.name, "project": project.normalized_name, "role": role_name}
        record_event(
            EventTag.TEAM_ROLE_GRANT,
            actor=actor,
            project=project,
            extra={"organization": organization.normalized_name, **record, "changed": not created},
        )
        notify(
            actor,
            organization,
            _("%(actor)s gave the team %(team)s the %(role)s role on %(project)s.")
            % {
                "actor": actor.username,
                "team": team.name,
                "role": str(Role.Name(role_name).label),
                "project": project.name,
            },
            *team_users(team),
        )
    return grant


def revoke_team_role(actor: Actor, team: Team, project_name: str) -> None:
    with transaction.atomic():
        organization, team = _fresh(team)
        require_org_role(actor, organization, MANAGERS)
        project = _org_project(organization, project_name)
        grant = TeamProjectRole.objects.filter(team=team, project=project).first()
        if grant is None:
            raise OrgError(
                _("The team %(team)s has no role on %(project)s.")
                % {"team": team.name, "project": project.name}
            )
        grant.delete()
        record_event(
            EventTag.TEAM_ROLE_REVOKE,
            actor=actor,
            project=project,
            extra={
                "organization": organization.normalized_name,
                "team": team.name,
                "project": project.normalized_name,
                "role": grant.role_name,
            },
        )
        notify(
            actor,
            organization,
            _("%(actor)s removed the role of the team %(team)s on %(project)s.")
            % {"actor": actor.username, "team": team.name, "project": project.name},
            *team_users(team),
        )


def team_users(team: Team) -> list[User]:
    return list(User.objects.filter(team_memberships__team=team).order_by("username"))
