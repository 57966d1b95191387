""" "Your projects" lists the projects held through an organisation or a team, with the role
the one lookup (packages.permissions) gives, and nothing a user does not hold."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from strongroom.orgs.models import OrganizationRole, TeamMember, TeamProjectRole
from strongroom.packages import listing, permissions
from strongroom.packages.models import Project, Role
from tests.factories import UserFactory
from tests.orgs.conftest import World

pytestmark = pytest.mark.django_db


def _rows(client: Client, user, query: str = "") -> dict[str, str]:  # type: ignore[no-untyped-def]
    client.force_login(user)
    page = client.get("/manage/projects/" + query)
    assert page.status_code == 200
    html = page.content.decode()
    found = re.findall(
        r'<tr class="project-row">\s*<td><a href="[^"]+">([^<]+)</a></td>\s*<td>([^<]*)</td>', html
    )
    return dict(found)


def test_organisation_owner_sees_the_organisation_project_as_owner(
    world: World, client: Client
) -> None:
    assert _rows(client, world.owner) == {"rocket": "Owner"}


def test_team_member_sees_the_team_project_with_the_team_role(world: World, client: Client) -> None:
    assert _rows(client, world.team_member) == {"rocket": "Maintainer"}
    assert _rows(client, world.team_member, "?role=Maintainer") == {"rocket": "Maintainer"}
    assert _rows(client, world.team_member, "?role=Owner") == {}


def test_members_without_a_grant_and_outsiders_see_nothing(world: World, client: Client) -> None:
    assert _rows(client, world.member) == {}
    assert _rows(client, world.outsider) == {}


def test_strongest_role_wins_and_direct_roles_still_count(world: World, client: Client) -> None:
    Role.objects.create(project=world.project, user=world.team_member, role_name="Maintainer")
    TeamProjectRole.objects.filter(team=world.team).update(role_name="Owner")
    mine = Project.objects.create(name="own-thing", normalized_name="own-thing")
    Role.objects.create(project=mine, user=world.team_member, role_name="Owner")
    rows = listing.projects_of(world.team_member, listing.Filters())
    assert [(p.name, p.role_name) for p in rows] == [("own-thing", "Owner"), ("rocket", "Owner")]
    # The list and the per-project answer agree.
    for project in rows:
        assert permissions.role_of(world.team_member, project) == project.role_name


def test_leaving_the_organisation_drops_the_team_project(world: World, client: Client) -> None:
    OrganizationRole.objects.filter(user=world.team_member).delete()
    assert _rows(client, world.team_member) == {}
    assert not permissions.projects_with_role(world.team_member).exists()


def test_a_team_of_another_organisation_grants_nothing(world: World, client: Client) -> None:
    stranger = UserFactory(username="stray")
    TeamMember.objects.create(team=world.team, user=stranger)  # not an organisation member
    assert _rows(client, stranger) == {}
    assert set(permissions.projects_with_role(world.owner)) == {world.project.pk}
