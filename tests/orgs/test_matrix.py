"""Every organisation and team action against each role: who may, and that a refusal
changes nothing (no row, no event)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from strongroom.accounts.actors import NotPermitted
from strongroom.events.models import Event
from strongroom.orgs import invitations, services, teams, transfer
from strongroom.orgs.models import OrganizationInvitation, TeamProjectRole
from strongroom.packages import permissions
from tests.factories import UserFactory
from tests.orgs.conftest import PERSONAS, World

OWNER = {"owner"}
MANAGERS = {"owner", "manager"}


def _invite(w: World, a: Any) -> None:
    invitations.invite_member(a, w.organization, "newcomer@example.org", "Member")


def _revoke_invite(w: World, a: Any) -> None:
    pending = OrganizationInvitation.objects.create(
        organization=w.organization, email="late@example.org", role_name="Member", nonce="n"
    )
    invitations.revoke_invitation(a, w.organization, pending.pk)


def _transfer_out(w: World, a: Any) -> None:
    transfer.transfer_project(a, w.project, None)


def _upload_right(w: World, a: Any) -> None:
    permissions.require_role(a, w.project, permissions.COLLABORATOR)


def _owner_right(w: World, a: Any) -> None:
    permissions.require_role(a, w.project, permissions.OWNER)


ACTIONS: dict[str, tuple[Callable[[World, Any], Any], set[str]]] = {
    "invite a member": (_invite, OWNER),
    "revoke an invitation": (_revoke_invite, OWNER),
    "change a member's role": (
        lambda w, a: services.change_member_role(a, w.organization, "sam", "Manager"),
        OWNER,
    ),
    "remove a member": (lambda w, a: services.remove_member(a, w.organization, "sam"), OWNER),
    "require two-factor": (
        lambda w, a: services.set_two_factor_required(a, w.organization, True),
        OWNER,
    ),
    "create a team": (lambda w, a: teams.create_team(a, w.organization, "Testers"), MANAGERS),
    "rename a team": (lambda w, a: teams.rename_team(a, w.team, "Makers"), MANAGERS),
    "delete a team": (lambda w, a: teams.delete_team(a, w.team), MANAGERS),
    "add a team member": (lambda w, a: teams.add_team_member(a, w.team, "sam"), MANAGERS),
    "remove a team member": (lambda w, a: teams.remove_team_member(a, w.team, "teo"), MANAGERS),
    "grant a team role": (
        lambda w, a: teams.grant_team_role(a, w.team, "rocket", "Owner"),
        MANAGERS,
    ),
    "revoke a team role": (lambda w, a: teams.revoke_team_role(a, w.team, "rocket"), MANAGERS),
    "transfer a project out": (_transfer_out, OWNER),
    "upload to an org project": (_upload_right, {"owner", "team_member"}),
    "act as project Owner": (_owner_right, OWNER),
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_each_action_is_allowed_exactly_to_its_roles(world: World, action: str, persona: str):
    run, allowed = ACTIONS[action]
    events_before = Event.objects.count()
    if persona in allowed:
        run(world, world.actor(persona))
        return
    with pytest.raises(NotPermitted):
        run(world, world.actor(persona))
    assert Event.objects.count() == events_before


def test_the_matrix_covers_every_public_service():
    """A new service in orgs/ must be added to the matrix."""
    import inspect

    covered = {
        "invite_member", "revoke_invitation", "change_member_role", "remove_member",
        "set_two_factor_required", "create_team", "rename_team", "delete_team",
        "add_team_member", "remove_team_member", "grant_team_role", "revoke_team_role",
        "transfer_project",
    }  # fmt: skip
    # Services anyone signed in may call, tested in their own files.
    own_right = {"create_organization", "accept_invitation", "decline_invitation"}
    helpers = {"require_org_role", "require_fresh", "notify"}
    found = set()
    for module in (services, invitations, teams, transfer):
        for name, value in vars(module).items():
            if inspect.isfunction(value) and value.__module__ == module.__name__:
                params = list(inspect.signature(value).parameters)
                if params[:1] == ["actor"]:
                    found.add(name)
    assert found - helpers == covered | own_right


def test_a_member_may_leave_but_not_remove_others(world: World):
    services.remove_member(world.actor("member"), world.organization, "mira")
    assert services.role_in(world.member, world.organization) is None
    with pytest.raises(NotPermitted):
        services.remove_member(world.actor("team_member"), world.organization, "manon")


def test_an_outsider_gets_no_right_from_a_team_of_another_organisation(world: World):
    other = services.create_organization(world.actor("outsider"), "Other")
    team = teams.create_team(world.actor("outsider"), other, "Crew")
    UserFactory(username="late", email="late@example.org")
    assert TeamProjectRole.objects.filter(team=team).count() == 0
    with pytest.raises(services.OrgError, match="Other has no project named rocket"):
        teams.grant_team_role(world.actor("outsider"), team, "rocket", "Owner")
    assert permissions.role_of(world.outsider, world.project) is None
    assert timezone.now()
