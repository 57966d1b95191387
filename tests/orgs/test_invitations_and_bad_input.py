"""Invitations (signed, expiring, to accounts and to addresses without one yet) and bad
input: each a clear sentence, nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import RequestFactory
from django.utils import timezone

from strongroom.accounts import services as accounts
from strongroom.accounts.actors import Actor
from strongroom.accounts.models import Email
from strongroom.events.models import Event
from strongroom.orgs import invitations, services, teams
from strongroom.orgs.models import Organization, OrganizationInvitation, OrganizationRole, Team
from tests.factories import UserFactory
from tests.orgs.conftest import World


def _link_token(body: str) -> str:
    marker = "/organizations/invitations/"
    start = body.index(marker) + len(marker)
    return body[start:].split("/", 1)[0]


def test_invite_an_account_by_username_who_accepts(
    world: World, django_capture_on_commit_callbacks
):
    newcomer = UserFactory(username="nia")
    with django_capture_on_commit_callbacks(execute=True):
        invitations.invite_member(world.actor("owner"), world.organization, "NIA", "Manager")
    invite_mail = next(m for m in mail.outbox if m.to == ["nia@example.org"])
    token = _link_token(invite_mail.body)
    assert [i.organization for i in invitations.pending_invitations(newcomer)] == [
        world.organization
    ]
    invitations.accept_invitation(Actor.of(newcomer), token)
    assert services.role_in(newcomer, world.organization) == "Manager"
    assert not OrganizationInvitation.objects.exists()
    with pytest.raises(services.OrgError, match="already been accepted"):
        invitations.accept_invitation(Actor.of(newcomer), token)


def test_an_invitation_to_an_address_without_an_account_waits_for_its_registration(
    world: World, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitations.invite_member(
            world.actor("owner"), world.organization, "Fresh@Example.org", "Member"
        )
    body = next(m for m in mail.outbox if m.to == ["fresh@example.org"]).body
    assert "Register with this address" in body
    token = _link_token(body)
    request = RequestFactory().post("/account/register/")
    request.session = {}  # type: ignore[attr-defined]
    user = accounts.register(
        request, username="fresh", email="fresh@example.org", password="a-long-unusual-pass-97"
    )
    # Not verified yet: the invitation is not theirs to accept.
    with pytest.raises(services.OrgError, match=r"for fresh@example\.org"):
        invitations.accept_invitation(Actor.of(user), token)
    assert invitations.pending_invitations(user) == []
    Email.objects.filter(user=user).update(verified=True, verified_at=timezone.now())
    assert len(invitations.pending_invitations(user)) == 1
    invitations.accept_invitation(Actor.of(user), token)
    assert services.role_in(user, world.organization) == "Member"


def test_an_invitation_is_for_its_address_only_and_expires(world: World, settings):
    invitation = invitations.invite_member(
        world.actor("owner"), world.organization, "x@example.org", "Member"
    )
    token = invitations.invitation_token(invitation)
    with pytest.raises(services.OrgError, match=r"This invitation is for x@example\.org"):
        invitations.accept_invitation(world.actor("outsider"), token)
    with pytest.raises(services.OrgError, match="not valid"):
        invitations.accept_invitation(world.actor("outsider"), token[:-3] + "abc")
    holder = UserFactory(username="xavier", email="x@example.org")
    OrganizationInvitation.objects.filter(pk=invitation.pk).update(
        created=timezone.now() - timedelta(seconds=settings.INVITATION_MAX_AGE + 5)
    )
    with pytest.raises(services.OrgError, match="expired"):
        invitations.accept_invitation(Actor.of(holder), token)
    assert services.role_in(holder, world.organization) is None


def test_decline_and_revoke(world: World):
    holder = UserFactory(username="dora")
    first = invitations.invite_member(world.actor("owner"), world.organization, "dora", "Member")
    invitations.decline_invitation(Actor.of(holder), invitations.invitation_token(first))
    second = invitations.invite_member(world.actor("owner"), world.organization, "dora", "Member")
    invitations.revoke_invitation(world.actor("owner"), world.organization, second.pk)
    with pytest.raises(services.OrgError, match="already been accepted, declined or revoked"):
        invitations.accept_invitation(Actor.of(holder), invitations.invitation_token(second))
    tags = set(Event.objects.values_list("tag", flat=True))
    assert {"organization:member:decline", "organization:member:revoke_invite"} <= tags


@pytest.mark.parametrize(
    ("identifier", "message"),
    [
        ("mira", "mira is already a member of Acme."),
        ("MIRA@example.org", "mira is already a member of Acme."),
        ("nobody-here", "No account has the username “nobody-here”"),
        ("not-an@address", "is not an email address"),
        ("", "No account has the username"),
    ],
)
def test_bad_invitations_are_refused_with_a_sentence(world: World, identifier: str, message: str):
    before = Event.objects.count()
    with pytest.raises(services.OrgError, match=message):
        invitations.invite_member(world.actor("owner"), world.organization, identifier, "Member")
    assert not OrganizationInvitation.objects.exists()
    assert Event.objects.count() == before


def test_a_second_invitation_to_the_same_address_and_an_unknown_role(world: World):
    invitations.invite_member(
        world.actor("owner"), world.organization, "twice@example.org", "Member"
    )
    with pytest.raises(services.OrgError, match="already has a pending invitation"):
        invitations.invite_member(
            world.actor("owner"), world.organization, "TWICE@example.org", "Owner"
        )
    with pytest.raises(services.OrgError, match="Choose Owner, Manager or Member"):
        invitations.invite_member(
            world.actor("owner"), world.organization, "y@example.org", "Admin"
        )
    assert OrganizationInvitation.objects.count() == 1


@pytest.mark.parametrize("name", ["acme", "ACME", "Acme"])
def test_organisation_names_colliding_after_normalisation_are_refused(world: World, name: str):
    with pytest.raises(services.OrgError, match="already exists"):
        services.create_organization(world.actor("outsider"), name)
    assert Organization.objects.count() == 1


def test_separator_runs_fold_to_one_name(world: World):
    services.create_organization(world.actor("outsider"), "Big_Corp")
    for clash in ("big-corp", "BIG.CORP", "big--corp"):
        with pytest.raises(services.OrgError, match="already exists"):
            services.create_organization(world.actor("member"), clash)
    for bad in ("", "-lead", "trail_", "sp ace", "ü", "x" * 51):
        with pytest.raises(services.OrgError, match="letters, digits"):
            services.create_organization(world.actor("member"), bad)
    assert Organization.objects.count() == 2


def test_team_names_colliding_after_normalisation_are_refused(world: World):
    with pytest.raises(services.OrgError, match="already has a team named BUILDERS"):
        teams.create_team(world.actor("owner"), world.organization, "BUILDERS")
    other = teams.create_team(world.actor("owner"), world.organization, "Testers")
    with pytest.raises(services.OrgError, match="already has a team named builders"):
        teams.rename_team(world.actor("owner"), other, "builders")
    assert Team.objects.get(pk=other.pk).name == "Testers"
    teams.rename_team(world.actor("owner"), other, "TESTERS")  # its own name, recased
    assert Team.objects.get(pk=other.pk).name == "TESTERS"


def test_the_last_owner_is_never_removed_or_demoted(world: World):
    for action in (
        lambda: services.remove_member(world.actor("owner"), world.organization, "oona"),
        lambda: services.change_member_role(
            world.actor("owner"), world.organization, "oona", "Member"
        ),
    ):
        with pytest.raises(services.OrgError, match="last Owner of Acme"):
            action()
    assert services.role_in(world.owner, world.organization) == "Owner"
    services.change_member_role(world.actor("owner"), world.organization, "manon", "Owner")
    services.remove_member(world.actor("owner"), world.organization, "oona")
    assert OrganizationRole.objects.filter(role_name="Owner").count() == 1


def test_team_bad_input(world: World):
    with pytest.raises(services.OrgError, match="otto is not a member of Acme"):
        teams.add_team_member(world.actor("owner"), world.team, "otto")
    with pytest.raises(services.OrgError, match="teo is already in the team"):
        teams.add_team_member(world.actor("owner"), world.team, "teo")
    with pytest.raises(services.OrgError, match="mira is not in the team"):
        teams.remove_team_member(world.actor("owner"), world.team, "mira")
    with pytest.raises(services.OrgError, match="Choose Owner or Maintainer"):
        teams.grant_team_role(world.actor("owner"), world.team, "rocket", "Manager")
    with pytest.raises(services.OrgError, match="Acme has no project named nothing"):
        teams.grant_team_role(world.actor("owner"), world.team, "nothing", "Owner")
    with pytest.raises(services.OrgError, match="unknown-member is not a member"):
        services.change_member_role(
            world.actor("owner"), world.organization, "unknown-member", "Owner"
        )
