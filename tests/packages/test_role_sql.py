"""``permissions.has_role_sql`` (the private read fast path's one-query role check) says
what ``permissions.role_of`` says, for every way of holding a role or losing it."""

from __future__ import annotations

import pytest
from django.db import connection

from strongroom.accounts.models import User
from strongroom.orgs.models import Organization, OrganizationRole, Team, TeamMember, TeamProjectRole
from strongroom.packages.models import Project, Role
from strongroom.packages.permissions import has_role_sql, role_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _sql_says(user: User, project: Project) -> bool:
    # Outer aliases a caller might use (t, r, o, g, m): the fragment must not shadow them.
    condition = has_role_sql(project="r.id", user="t.id", organization="r.organization_id")
    sql = (
        f"SELECT CASE WHEN {condition} THEN 1 ELSE 0 END"  # noqa: S608
        f" FROM {Project._meta.db_table} r, {User._meta.db_table} t WHERE r.id = %s AND t.id = %s"
    )
    native = connection.features.has_native_uuid_field
    with connection.cursor() as cursor:
        cursor.execute(sql, [project.pk, user.pk if native else user.pk.hex])
        return bool(cursor.fetchone()[0])


def _agree(user: User, project: Project) -> bool:
    expected = role_of(user, project) is not None
    assert _sql_says(user, project) == expected, (user.username, project.name)
    return expected


def test_the_sql_role_check_agrees_with_role_of_on_every_kind_of_role():
    people = {n: UserFactory(username=n) for n in ["own", "mem", "team", "out", "other", "cl"]}
    acme = Organization.objects.create(name="Acme", normalized_name="acme")
    beta = Organization.objects.create(name="Beta", normalized_name="beta")
    rocket = Project.objects.create(name="rocket", normalized_name="rocket", organization=acme)
    solo = Project.objects.create(name="solo", normalized_name="solo")
    Role.objects.create(project=solo, user=people["cl"], role_name="Maintainer")
    Role.objects.create(project=rocket, user=people["cl"], role_name="Owner")
    OrganizationRole.objects.create(organization=acme, user=people["own"], role_name="Owner")
    OrganizationRole.objects.create(organization=acme, user=people["mem"], role_name="Member")
    OrganizationRole.objects.create(organization=acme, user=people["team"], role_name="Member")
    OrganizationRole.objects.create(organization=beta, user=people["other"], role_name="Owner")
    builders = Team.objects.create(organization=acme, name="B", normalized_name="b")
    TeamMember.objects.create(team=builders, user=people["team"])
    TeamMember.objects.create(team=builders, user=people["out"])  # not an org member
    TeamProjectRole.objects.create(team=builders, project=rocket, role_name="Maintainer")
    # A Beta team with a grant on Acme's project counts for nothing.
    strays = Team.objects.create(organization=beta, name="S", normalized_name="s")
    TeamMember.objects.create(team=strays, user=people["other"])
    TeamProjectRole.objects.create(team=strays, project=rocket, role_name="Owner")

    held = {(u, p.name) for u in people for p in (rocket, solo) if _agree(people[u], p)}
    assert held == {("own", "rocket"), ("team", "rocket"), ("cl", "rocket"), ("cl", "solo")}

    # Project moved out of the organisation: only own roles remain.
    Project.objects.filter(pk=rocket.pk).update(organization=None)
    rocket.refresh_from_db()
    held = {u for u in people if _agree(people[u], rocket)}
    assert held == {"cl"}
