"""Personas around one organisation: an Owner, a Manager, a Member, a team member (a
Member in a team holding Maintainer on the organisation's project) and an outsider."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from strongroom.accounts.actors import Actor
from strongroom.accounts.models import User
from strongroom.orgs.models import Organization, OrganizationRole, Team, TeamMember, TeamProjectRole
from strongroom.packages.models import Project
from tests.factories import UserFactory


@dataclass
class World:
    organization: Organization
    project: Project
    team: Team
    owner: User
    manager: User
    member: User
    team_member: User
    outsider: User

    def actor(self, persona: str) -> Actor:
        return Actor.of(getattr(self, persona))


PERSONAS = ["owner", "manager", "member", "team_member", "outsider"]


@pytest.fixture
def world(db) -> World:  # type: ignore[no-untyped-def]
    owner = UserFactory(username="oona")
    manager = UserFactory(username="manon")
    member = UserFactory(username="mira")
    team_member = UserFactory(username="teo")
    outsider = UserFactory(username="otto")
    spare = UserFactory(username="sam")  # a further Member, whom actions act on
    organization = Organization.objects.create(name="Acme", normalized_name="acme")
    for user, role in [
        (owner, "Owner"),
        (manager, "Manager"),
        (member, "Member"),
        (team_member, "Member"),
        (spare, "Member"),
    ]:
        OrganizationRole.objects.create(organization=organization, user=user, role_name=role)
    project = Project.objects.create(
        name="rocket", normalized_name="rocket", organization=organization
    )
    team = Team.objects.create(
        organization=organization, name="Builders", normalized_name="builders"
    )
    TeamMember.objects.create(team=team, user=team_member)
    TeamProjectRole.objects.create(team=team, project=project, role_name="Maintainer")
    return World(organization, project, team, owner, manager, member, team_member, outsider)
