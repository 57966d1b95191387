"""Who may change a project: the one guard every project service calls.

``require_role`` is the only owner (or collaborator) check: the services call it before
they change anything, and the project pages call it to decide between the page, a 404
and the page explaining the required second factor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Case, Exists, OuterRef, Q, Value, When
from django.utils.translation import gettext as _

from strongroom.accounts.actors import Actor, NotPermitted, require_user
from strongroom.mfa.policy import two_factor_refusal
from strongroom.orgs.models import OrganizationRole, Team, TeamMember, TeamProjectRole
from strongroom.packages.models import Project, Role

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from strongroom.accounts.models import User

OWNER = frozenset({Role.Name.OWNER.value})
COLLABORATOR = frozenset(Role.Name.values)


def role_of(user: User | None, project: Project) -> str | None:
    """``user``'s role on ``project``, or None: the strongest of their own role, Owner
    when they own the project's organisation, and the role of each of its teams they are in.

    Always read from the current rows, never remembered: a member removed from the
    organisation or a team, or a project moved out of it, loses the right on the next
    call, whether they act in a session or through a token minted earlier.
    """
    if user is None or not user.is_authenticated:
        return None
    roles = set(Role.objects.filter(project=project, user=user).values_list("role_name", flat=True))
    if project.organization_id is not None and Role.Name.OWNER.value not in roles:
        roles.update(organization_roles_of(user, project))
    if Role.Name.OWNER.value in roles:
        return Role.Name.OWNER.value
    return Role.Name.MAINTAINER.value if roles else None


def organization_roles_of(user: User, project: Project) -> set[str]:
    """The project roles ``user`` holds through ``project``'s organisation: Owner for an
    organisation Owner, and each role granted to a team of that organisation they are in."""
    organization_id = project.organization_id
    if organization_id is None:
        return set()
    if OrganizationRole.objects.filter(
        organization_id=organization_id,
        user=user,
        role_name=OrganizationRole.Name.OWNER,
    ).exists():
        return {Role.Name.OWNER.value}
    # A team's grant counts only while the team belongs to the project's organisation and
    # the user is still a member of that organisation (removal deletes both rows anyway).
    return set(
        TeamProjectRole.objects.filter(
            project=project,
            team__organization_id=organization_id,
            team__members__user=user,
            team__organization__roles__user=user,
        ).values_list("role_name", flat=True)
    )


def has_role_sql(*, project: str, user: str, organization: str) -> str:
    """:func:`role_of` ``is not None`` as one SQL condition, for callers that decide in a
    single query (the private read fast path, ``tokens.read_grant``). ``project``,
    ``user`` and ``organization`` are column expressions of the enclosing query (the
    project's id, the user's id and the project's current organisation id). The same rule
    as role_of, from the same current rows: change both together
    (``tests/packages/test_role_sql.py`` checks they agree on every kind of role)."""
    role = Role._meta.db_table
    org_role = OrganizationRole._meta.db_table
    grant = TeamProjectRole._meta.db_table
    team = Team._meta.db_table
    member = TeamMember._meta.db_table
    owner = OrganizationRole.Name.OWNER.value
    # Table names from the models, column expressions from the caller's code; the
    # aliases (hr_*) are the fragment's own, so the caller's cannot be shadowed.
    return (
        f"(EXISTS (SELECT 1 FROM {role} hr_r"  # noqa: S608
        f" WHERE hr_r.project_id = {project} AND hr_r.user_id = {user})"
        f" OR ({organization} IS NOT NULL AND ("
        f"EXISTS (SELECT 1 FROM {org_role} hr_o WHERE hr_o.organization_id = {organization}"
        f" AND hr_o.user_id = {user} AND hr_o.role_name = '{owner}')"
        f" OR EXISTS (SELECT 1 FROM {grant} hr_g JOIN {team} hr_t ON hr_t.id = hr_g.team_id"
        f" JOIN {member} hr_m ON hr_m.team_id = hr_t.id"
        f" JOIN {org_role} hr_mo ON hr_mo.organization_id = hr_t.organization_id"
        f" WHERE hr_g.project_id = {project} AND hr_t.organization_id = {organization}"
        f" AND hr_m.user_id = {user} AND hr_mo.user_id = {user}))))"
    )


def holds_role(user: User, roles: frozenset[str] = COLLABORATOR) -> Q:
    """Projects (as a filter on Project) on which ``user`` holds one of ``roles``: directly,
    as an Owner of the project's organisation (Owner), or through a team of that organisation
    they are in while still a member of it (the same rows ``role_of`` reads)."""
    direct = Role.objects.filter(project=OuterRef("pk"), user=user, role_name__in=roles)
    teams = TeamProjectRole.objects.filter(
        project=OuterRef("pk"),
        role_name__in=roles,
        team__organization_id=OuterRef("organization_id"),
        team__members__user=user,
        team__organization__roles__user=user,
    )
    held = Q(Exists(direct)) | Q(Exists(teams))
    if Role.Name.OWNER.value in roles:
        owners = OrganizationRole.objects.filter(
            organization_id=OuterRef("organization_id"),
            user=user,
            role_name=OrganizationRole.Name.OWNER,
        )
        held |= Q(Exists(owners))
    return held


def projects_with_role(user: User | None) -> QuerySet[Project, int]:
    """The ids of every project ``user`` holds a role on, as a subquery: their own roles,
    the projects of the organisations they own and the grants of their teams (the role
    lookup that read access and listings use; ``role_of`` answers for one project)."""
    if user is None or not user.is_authenticated:
        return Project.objects.none().values_list("pk", flat=True)
    return Project.objects.filter(holds_role(user)).values_list("pk", flat=True)


def strongest_role(user: User) -> Case:
    """An expression on Project: ``user``'s role on it, as ``role_of`` computes it (Owner
    from any source wins over Maintainer); for rows already filtered by ``holds_role``."""
    return Case(
        When(holds_role(user, OWNER), then=Value(Role.Name.OWNER.value)),
        default=Value(Role.Name.MAINTAINER.value),
    )


def require_may_create(actor: Actor) -> User:
    """The acting user, who may create a project: signed in, with the second factor the
    site requires of everyone who publishes."""
    user = require_user(actor)
    refusal = two_factor_refusal(user, None)
    if refusal is not None:
        raise NotPermitted(refusal, two_factor=True)
    return user


def require_role(actor: Actor, project: Project, roles: frozenset[str] = OWNER) -> str:
    """The actor's role on ``project``, which must be one of ``roles`` and met with the
    second factor the project or site requires; otherwise NotPermitted.

    Call it inside the service's transaction, after locking what it changes, so a role
    removed meanwhile is seen.
    """
    user = require_user(actor)
    role = role_of(user, project)
    if role not in roles:
        if roles == OWNER:
            raise NotPermitted(
                _("Only an Owner of %(project)s may do that.") % {"project": project.name}
            )
        raise NotPermitted(
            _("Only a collaborator of %(project)s may do that.") % {"project": project.name}
        )
    refusal = two_factor_refusal(user, project)
    if refusal is not None:
        raise NotPermitted(refusal, two_factor=True)
    return role
