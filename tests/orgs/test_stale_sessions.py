"""Every organisation service refuses a stale browser session itself (not only the web
pages' decorator), while the CLI (no session) and a fresh session go through."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from strongroom.accounts.actors import Actor, NotPermitted
from strongroom.events.models import Event
from strongroom.orgs import invitations, services, teams, transfer
from strongroom.orgs.models import (
    Organization,
    OrganizationInvitation,
    OrganizationRole,
    Team,
    TeamMember,
    TeamProjectRole,
)
from strongroom.packages.models import Project, Role
from tests.conftest import make_auth_stale
from tests.orgs.conftest import World

pytestmark = pytest.mark.django_db


def _pending(w: World) -> int:
    invited = invitations.invite_member(
        Actor.of(w.owner), w.organization, "new@example.org", "Member"
    )
    return invited.pk


def _solo(w: World) -> Project:
    project = Project.objects.create(name="solo", normalized_name="solo")
    Role.objects.create(project=project, user=w.owner, role_name="Owner")
    return project


# kind of action -> (prepare with the CLI actor, returning an argument; the action)
ACTIONS: dict[str, tuple[Callable[[World], Any], Callable[[Actor, World, Any], Any]]] = {
    "change a member's role": (
        lambda w: None,
        lambda a, w, _: services.change_member_role(a, w.organization, "mira", "Manager"),
    ),
    "remove a member": (
        lambda w: None,
        lambda a, w, _: services.remove_member(a, w.organization, "mira"),
    ),
    "require two-factor": (
        lambda w: None,
        lambda a, w, _: services.set_two_factor_required(a, w.organization, True),
    ),
    "invite": (
        lambda w: None,
        lambda a, w, _: invitations.invite_member(a, w.organization, "x@example.org", "Member"),
    ),
    "revoke an invitation": (
        _pending,
        lambda a, w, pk: invitations.revoke_invitation(a, w.organization, pk),
    ),
    "create a team": (lambda w: None, lambda a, w, _: teams.create_team(a, w.organization, "Ops")),
    "rename a team": (lambda w: None, lambda a, w, _: teams.rename_team(a, w.team, "Makers")),
    "delete a team": (lambda w: None, lambda a, w, _: teams.delete_team(a, w.team)),
    "add a team member": (
        lambda w: None,
        lambda a, w, _: teams.add_team_member(a, w.team, "mira"),
    ),
    "remove a team member": (
        lambda w: None,
        lambda a, w, _: teams.remove_team_member(a, w.team, "teo"),
    ),
    "grant a team role": (
        lambda w: None,
        lambda a, w, _: teams.grant_team_role(a, w.team, "rocket", "Owner"),
    ),
    "revoke a team role": (
        lambda w: None,
        lambda a, w, _: teams.revoke_team_role(a, w.team, "rocket"),
    ),
    "transfer a project": (
        _solo,
        lambda a, w, project: transfer.transfer_project(a, project, w.organization),
    ),
}


def _state() -> tuple[object, ...]:
    return (
        Event.objects.count(),
        sorted(OrganizationRole.objects.values_list("user__username", "role_name")),
        sorted(OrganizationInvitation.objects.values_list("email", flat=True)),
        sorted(Team.objects.values_list("name", flat=True)),
        sorted(TeamMember.objects.values_list("team__name", "user__username")),
        sorted(TeamProjectRole.objects.values_list("team__name", "project__name", "role_name")),
        sorted(Project.objects.values_list("name", "organization_id")),
        list(Organization.objects.values_list("two_factor_required", flat=True)),
    )


@pytest.mark.parametrize("kind", list(ACTIONS))
def test_stale_browser_session_is_refused_by_the_service(world: World, kind: str) -> None:
    prepare, act = ACTIONS[kind]
    argument = prepare(world)
    before = _state()
    for stale in (
        Actor(user=world.owner, session=True, reauthenticated_at=time.time() - 3600),
        Actor(user=world.owner, session=True, reauthenticated_at=None),
    ):
        with pytest.raises(NotPermitted, match="Confirm your password"):
            act(stale, world, argument)
        assert _state() == before, "a refused action changed something"
    fresh = Actor(user=world.owner, session=True, reauthenticated_at=time.time())
    act(fresh, world, argument)
    assert _state() != before


@pytest.mark.parametrize("kind", ["change a member's role", "create a team", "transfer a project"])
def test_the_cli_actor_needs_no_session(world: World, kind: str) -> None:
    prepare, act = ACTIONS[kind]
    argument = prepare(world)
    before = _state()
    act(Actor.of(world.owner, user_agent="strongroom-cli"), world, argument)
    assert _state() != before


def test_leaving_an_organisation_in_a_stale_session_is_refused(world: World) -> None:
    stale = Actor(user=world.member, session=True, reauthenticated_at=time.time() - 3600)
    with pytest.raises(NotPermitted, match="Confirm your password"):
        services.remove_member(stale, world.organization, "mira")
    assert OrganizationRole.objects.filter(user=world.member).exists()
    fresh = Actor(user=world.member, session=True, reauthenticated_at=time.time())
    services.remove_member(fresh, world.organization, "mira")
    assert not OrganizationRole.objects.filter(user=world.member).exists()


def test_creating_a_team_on_the_page_asks_for_the_password(world: World, client: Client) -> None:
    client.force_login(world.owner)
    make_auth_stale(client)
    answer = client.post("/organizations/acme/teams/", {"name": "Ops"})
    assert answer.status_code == 302
    assert answer["Location"].startswith("/account/reauthenticate/")
    assert not Team.objects.filter(name="Ops").exists()
    assert client.get("/organizations/acme/teams/").status_code == 200
