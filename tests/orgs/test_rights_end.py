"""Rights from an organisation or a team end the moment the row behind them goes: on
removal from a team or the organisation, on deleting the team, on transferring the
project out; through the upload API with tokens minted while the right held, too."""

from __future__ import annotations

import pytest

from strongroom.accounts.actors import Actor, NotPermitted
from strongroom.events.models import Event
from strongroom.orgs import services, teams, transfer
from strongroom.orgs.models import Organization, OrganizationRole, TeamProjectRole
from strongroom.packages import permissions
from strongroom.packages.models import File, Project, Role
from strongroom.tokens import services as tokens
from strongroom.tokens.contexts import upload_context
from tests.distributions import basic_auth, make_wheel, upload_form
from tests.orgs.conftest import World


def upload(client, raw: str, name: str = "rocket", version: str = "1.0"):  # type: ignore[no-untyped-def]
    form = upload_form(make_wheel(name, version), name=name, version=version)
    return client.post("/legacy/", form, HTTP_AUTHORIZATION=basic_auth("__token__", raw))


def _token(world: World, persona: str, **scope: object) -> str:
    _row, raw = tokens.create_token(
        world.actor(persona),
        name=f"{persona}-ci",
        project_names=scope.get("projects"),  # type: ignore[arg-type]
        expires_at=None,
        organization_name=scope.get("org"),  # type: ignore[arg-type]
    )
    return raw


def test_team_role_gives_upload_and_ends_on_removal_from_the_team(client, world: World):
    raw = _token(world, "team_member")
    assert upload(client, raw, version="1.0").status_code == 200
    teams.remove_team_member(world.actor("owner"), world.team, "teo")
    refused = upload(client, raw, version="1.1")
    assert refused.status_code == 403
    assert "isn't allowed to upload to project 'rocket'" in refused.reason_phrase
    assert permissions.role_of(world.team_member, world.project) is None


def test_removal_from_the_organisation_ends_team_rights_and_org_tokens(client, world: World):
    account_wide = _token(world, "team_member")
    org_raw = tokens.create_token(
        world.actor("team_member"),
        name="org-ci",
        project_names=None,
        expires_at=None,
        organization_name="ACME",
    )[1]
    assert upload(client, org_raw, version="1.0").status_code == 200
    services.remove_member(world.actor("owner"), world.organization, "teo")
    assert not world.team.members.filter(user=world.team_member).exists()
    for raw in (account_wide, org_raw):
        assert upload(client, raw, version="1.1").status_code == 403
    with pytest.raises(tokens.TokenError, match="no longer a member"):
        tokens.verify_token(org_raw, upload_context(world.project, "rocket"))
    event = Event.objects.filter(tag="organization:member:remove").get()
    assert event.extra["teams"] == ["Builders"]


def test_an_organisation_owner_is_owner_of_its_projects_until_demoted(world: World):
    assert permissions.role_of(world.owner, world.project) == "Owner"
    OrganizationRole.objects.create(
        organization=world.organization, user=world.outsider, role_name="Owner"
    )
    services.change_member_role(world.actor("outsider"), world.organization, "oona", "Member")
    assert permissions.role_of(world.owner, world.project) is None
    with pytest.raises(NotPermitted):
        permissions.require_role(world.actor("owner"), world.project)


def test_deleting_the_team_ends_its_roles(world: World):
    teams.delete_team(world.actor("manager"), world.team)
    assert permissions.role_of(world.team_member, world.project) is None
    assert not TeamProjectRole.objects.exists()


def test_transfer_out_ends_team_rights_and_keeps_an_owner(client, world: World):
    raw = _token(world, "team_member", projects=["rocket"])
    assert upload(client, raw, version="1.0").status_code == 200
    transfer.transfer_project(world.actor("owner"), world.project, None)
    project = Project.objects.get(pk=world.project.pk)
    assert project.organization is None
    assert not TeamProjectRole.objects.filter(project=project).exists()
    # The organisation Owner who moved it out holds Owner on it directly now.
    assert Role.objects.filter(project=project, user=world.owner, role_name="Owner").exists()
    refused = upload(client, raw, version="1.1")
    assert refused.status_code == 403
    assert File.objects.filter(project=project).count() == 1
    assert Event.objects.filter(tag="organization:project:remove").get().extra["teams_removed"] == [
        "Builders"
    ]


def test_transfer_into_another_organisation_ends_the_old_teams_rights(world: World):
    other = services.create_organization(world.actor("owner"), "Other-Org")
    transfer.transfer_project(world.actor("owner"), world.project, other)
    assert Project.objects.get(pk=world.project.pk).organization_id == other.pk
    assert permissions.role_of(world.team_member, world.project) is None
    assert Event.objects.filter(tag="organization:project:add").exists()


def test_transfer_into_an_organisation_needs_owner_of_both(world: World):
    mine = Project.objects.create(name="solo", normalized_name="solo")
    Role.objects.create(project=mine, user=world.member, role_name="Owner")
    # A Member of the organisation, Owner of the project: not enough.
    with pytest.raises(NotPermitted, match="Only an Owner of Acme"):
        transfer.transfer_project(world.actor("member"), mine, world.organization)
    # An organisation Owner who is not an Owner of the project: not enough either.
    with pytest.raises(NotPermitted, match="Only an Owner of solo"):
        transfer.transfer_project(world.actor("owner"), mine, world.organization)
    Role.objects.create(project=mine, user=world.owner, role_name="Owner")
    transfer.transfer_project(world.actor("owner"), mine, world.organization)
    assert Project.objects.get(pk=mine.pk).organization == world.organization


def test_transfer_needs_a_recent_password_in_a_session(world: World):
    stale = Actor(user=world.owner, session=True, reauthenticated_at=None)
    with pytest.raises(NotPermitted, match="Confirm your password"):
        transfer.transfer_project(stale, world.project, None)
    assert Project.objects.get(pk=world.project.pk).organization_id == world.organization.pk


def test_org_scoped_token_is_valid_only_for_the_organisations_projects(client, world: World):
    raw = _token(world, "owner", org="acme")
    own = Project.objects.create(name="elsewhere", normalized_name="elsewhere")
    Role.objects.create(project=own, user=world.owner, role_name="Owner")
    refused = upload(client, raw, name="elsewhere")
    assert refused.status_code == 403
    assert "scoped to the organisation acme" in refused.reason_phrase
    assert upload(client, raw, name="brand-new").status_code == 403
    assert not Project.objects.filter(normalized_name="brand-new").exists()
    assert upload(client, raw).status_code == 200


def test_an_org_token_needs_membership_when_minted(world: World):
    Organization.objects.create(name="Stranger", normalized_name="stranger")
    for name in ("stranger", "no-such-org"):
        with pytest.raises(tokens.TokenError, match="organisation you are a member of"):
            _token(world, "owner", org=name)


def test_organisation_two_factor_requirement_blocks_members_without_it(world: World):
    from tests.governance.conftest import give_totp

    give_totp(world.owner)
    services.set_two_factor_required(world.actor("owner"), world.organization, True)
    with pytest.raises(NotPermitted, match="requires two-factor") as refused:
        permissions.require_role(
            world.actor("team_member"), world.project, permissions.COLLABORATOR
        )
    assert refused.value.two_factor
    with pytest.raises(NotPermitted, match="requires two-factor"):
        teams.create_team(world.actor("manager"), world.organization, "Later")
    give_totp(world.team_member)
    permissions.require_role(world.actor("team_member"), world.project, permissions.COLLABORATOR)
    from strongroom.mfa.policy import two_factor_required_for

    assert "Acme" in (two_factor_required_for(world.member) or "")
    services.set_two_factor_required(world.actor("owner"), world.organization, False)
    assert Event.objects.filter(tag="organization:two_factor_required:disable").exists()


def test_a_team_granted_owner_is_project_owner_and_may_revoke_its_tokens(world: World):
    raw_row, _raw = tokens.create_token(
        world.actor("owner"), name="rocket-ci", project_names=["rocket"], expires_at=None
    )
    with pytest.raises(tokens.TokenError):
        tokens.revoke_token(world.actor("team_member"), str(raw_row.pk))
    teams.grant_team_role(world.actor("manager"), world.team, "rocket", "Owner")
    assert permissions.role_of(world.team_member, world.project) == "Owner"
    tokens.revoke_token(world.actor("team_member"), str(raw_row.pk))
    assert not tokens.ApiToken.objects.filter(pk=raw_row.pk).exists()
