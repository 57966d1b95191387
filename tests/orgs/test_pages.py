"""The organisation pages with a signed-in browser session (no JavaScript): each form
posts to a service, members see the pages, everyone else gets the unknown-page 404."""

from __future__ import annotations

import pytest

from strongroom.orgs import invitations
from strongroom.orgs.models import Organization, OrganizationInvitation, Team, TeamProjectRole
from strongroom.packages.models import Project, Role
from tests.governance.conftest import client_for
from tests.orgs.conftest import World

PAGES = [
    "/organizations/acme/",
    "/organizations/acme/members/",
    "/organizations/acme/teams/",
    "/organizations/acme/teams/builders/",
]


@pytest.mark.parametrize("persona", ["owner", "manager", "member", "team_member"])
def test_members_see_every_page(world: World, persona: str):
    client = client_for(getattr(world, persona))
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"Acme" in response.content


def test_outsiders_and_unknown_organisations_get_the_same_404(world: World):
    client = client_for(world.outsider)
    for url in PAGES:
        assert client.get(url).status_code == 404
        unknown = client.get(url.replace("acme", "no-such-org"))
        assert unknown.status_code == 404
    anonymous = client.__class__().get(PAGES[0])
    assert anonymous.status_code == 302 and "/account/login/" in anonymous["Location"]


def test_the_forms_only_show_to_who_may_use_them(world: World):
    member_page = client_for(world.member).get("/organizations/acme/members/").content
    assert b"Send invitation" not in member_page and b"Leave the organisation" in member_page
    owner_page = client_for(world.owner).get("/organizations/acme/members/").content
    assert b"Send invitation" in owner_page and b'<label for="id_identifier">' in owner_page
    team_page = client_for(world.team_member).get("/organizations/acme/teams/builders/").content
    assert b"Add to the team" not in team_page


def test_create_invite_team_grant_and_transfer_through_the_pages(world: World):
    owner = client_for(world.owner)
    created = owner.post("/organizations/", {"name": "Zeta_Labs"})
    assert created.status_code == 302 and created["Location"] == "/organizations/zeta-labs/"
    clash = owner.post("/organizations/", {"name": "zeta.labs"})
    assert clash.status_code == 400 and "already exists" in clash.content.decode()

    response = owner.post(
        "/organizations/zeta-labs/members/invite/", {"identifier": "mira", "role": "Member"}
    )
    assert response.status_code == 302
    again = owner.post(
        "/organizations/zeta-labs/members/invite/", {"identifier": "mira", "role": "Member"}
    )
    assert again.status_code == 400 and "already has a pending invitation" in again.content.decode()
    invitation = OrganizationInvitation.objects.get(organization__normalized_name="zeta-labs")
    token = invitations.invitation_token(invitation)
    member = client_for(world.member)
    assert member.get("/organizations/invitations/").status_code == 200
    assert b"Zeta_Labs" in member.get(f"/organizations/invitations/{token}/").content
    joined = member.post(f"/organizations/invitations/{token}/", {"action": "accept"})
    assert joined["Location"] == "/organizations/zeta-labs/"

    owner.post("/organizations/zeta-labs/teams/", {"name": "Core"})
    team = Team.objects.get(organization__normalized_name="zeta-labs")
    owner.post("/organizations/zeta-labs/teams/core/add/", {"username": "mira"})
    assert team.members.filter(user=world.member).exists()

    mine = Project.objects.create(name="zeta-tool", normalized_name="zeta-tool")
    Role.objects.create(project=mine, user=world.owner, role_name="Owner")
    settings_page = owner.get("/manage/project/zeta-tool/settings/").content.decode()
    assert 'for="transfer-organization"' in settings_page
    moved = owner.post("/manage/project/zeta-tool/transfer/", {"organization": "zeta-labs"})
    assert moved.status_code == 302
    assert Project.objects.get(pk=mine.pk).organization == Organization.objects.get(
        normalized_name="zeta-labs"
    )
    owner.post(
        "/organizations/zeta-labs/teams/core/grant/", {"project": "zeta-tool", "role": "Maintainer"}
    )
    assert TeamProjectRole.objects.filter(team=team, project=mine).exists()
    # A Member cannot grant: the service refuses, the page says so, nothing changes.
    refused = member.post(
        "/organizations/zeta-labs/teams/core/grant/", {"project": "zeta-tool", "role": "Owner"},
        follow=True,
    )  # fmt: skip
    assert "Only an Owner or a Manager of Zeta_Labs may do that." in refused.content.decode()
    assert TeamProjectRole.objects.get(team=team, project=mine).role_name == "Maintainer"
    out = owner.post("/manage/project/zeta-tool/transfer/", {"organization": ""})
    assert out.status_code == 302 and Project.objects.get(pk=mine.pk).organization is None
    assert not TeamProjectRole.objects.filter(project=mine).exists()


def test_last_owner_and_bad_role_on_the_pages_are_clear_errors(world: World):
    owner = client_for(world.owner)
    page = owner.post("/organizations/acme/members/remove/", {"username": "oona"}, follow=True)
    assert "oona is the last Owner of Acme" in page.content.decode()
    page = owner.post(
        "/organizations/acme/members/role/", {"username": "mira", "role": "Boss"}, follow=True
    )
    assert "Choose Owner, Manager or Member." in page.content.decode()
    assert (
        owner.post("/organizations/acme/invitations/revoke/", {"invitation_id": "x"}).status_code
        == 404
    )


def test_a_token_scoped_to_an_organisation_from_the_tokens_page(world: World):
    from strongroom.tokens.models import ApiToken

    client = client_for(world.team_member)
    form = client.get("/manage/account/token/").content.decode()
    assert '<label for="id_organization">' in form
    response = client.post(
        "/manage/account/token/",
        {"name": "acme-ci", "scope": "account", "organization": "acme", "expiry": "30"},
    )
    assert response.status_code == 200, response.content
    token = ApiToken.objects.get(user=world.team_member, name="acme-ci")
    assert token.organization_scope == "acme" and not token.is_account_wide
    listing = client.get("/manage/account/tokens/").content.decode()
    assert "projects of the organisation acme" in listing
    # An organisation the user is not in is no valid choice.
    refused = client.post(
        "/manage/account/token/",
        {"name": "other", "scope": "account", "organization": "elsewhere", "expiry": "30"},
    )
    assert refused.status_code == 400
    assert not ApiToken.objects.filter(name="other").exists()
