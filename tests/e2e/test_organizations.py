"""Issue 13 item 3 with the real server and clients: organisations from the CLI, twine
uploads with a token scoped to an organisation that stop when the member is removed or
the project leaves the organisation; and in Chromium (no JavaScript) an Owner creates an
organisation and a team and invites a member who accepts, with axe-core finding no
violation on the new pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.clients import PASSWORD, build, isolated_env, write_flit_project
from tests.e2e.server import LiveServer, run_cli
from tests.e2e.test_browser_account import latest_link
from tests.e2e.test_token_uploads import twine
from tests.support import require

pytestmark = pytest.mark.e2e


def cli(server: LiveServer, *args: str) -> str:
    result = run_cli(*args, data_dir=server.data_dir, env=server.env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_org_scoped_token_uploads_until_membership_or_ownership_ends(
    server: LiveServer, tmp_path: Path
) -> None:
    server.create_user("orgboss", "orgboss@example.org", PASSWORD)
    server.create_user("orgdev", "orgdev@example.org", PASSWORD)
    env = isolated_env(tmp_path / "home")
    first = twine(
        server,
        build(write_flit_project(tmp_path, "sr-org-app", "1.0"), env),
        env,
        server.create_token("orgboss", "bootstrap"),
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Created the organisation Acme-E2E" in cli(
        server, "org", "create", "--name", "Acme-E2E", "--by", "orgboss"
    )
    refused = run_cli(
        "org", "create", "--name", "acme.e2e", "--by", "orgdev",
        data_dir=server.data_dir, env=server.env,
    )  # fmt: skip
    assert refused.returncode == 1 and "already exists" in refused.stderr
    cli(
        server, "org", "transfer", "--project", "sr-org-app", "--by", "orgboss", "--org", "acme-e2e"
    )
    cli(server, "org", "invite", "--org", "acme-e2e", "--by", "orgboss", "orgdev")
    cli(server, "org", "team-create", "--org", "acme-e2e", "--by", "orgboss", "--name", "Release")
    server.django(
        """
        from strongroom.accounts.actors import Actor
        from strongroom.accounts.models import User
        from strongroom.orgs import invitations, teams
        from strongroom.orgs.models import OrganizationInvitation, Team
        dev = User.objects.get(username="orgdev")
        boss = User.objects.get(username="orgboss")
        pending = OrganizationInvitation.objects.get(email="orgdev@example.org")
        invitations.accept_invitation(Actor.of(dev), invitations.invitation_token(pending))
        team = Team.objects.get(normalized_name="release")
        teams.add_team_member(Actor.of(boss), team, "orgdev")
        teams.grant_team_role(Actor.of(boss), team, "sr-org-app", "Maintainer")
        """
    )
    made = run_cli(
        "token", "create", "--user", "orgdev", "--name", "org-ci", "--org", "Acme-E2E",
        data_dir=server.data_dir, env=server.env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "projects of the organisation Acme-E2E" in made.stdout
    token = made.stdout.strip().splitlines()[-1]
    ok = twine(server, build(write_flit_project(tmp_path, "sr-org-app", "1.1"), env), env, token)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # Another project of the same person, outside the organisation: the scope refuses it.
    outside = twine(
        server, build(write_flit_project(tmp_path, "sr-org-other", "1.0"), env), env, token
    )
    assert outside.returncode != 0
    assert "scoped to the organisation acme-e2e" in outside.stdout + outside.stderr
    # The member is removed: the token minted while they were one stops at once.
    server.django(
        """
        from strongroom.accounts.actors import Actor
        from strongroom.accounts.models import User
        from strongroom.orgs import services
        from strongroom.orgs.models import Organization
        boss = User.objects.get(username="orgboss")
        services.remove_member(Actor.of(boss), Organization.objects.get(), "orgdev")
        """
    )
    gone = twine(server, build(write_flit_project(tmp_path, "sr-org-app", "1.2"), env), env, token)
    assert gone.returncode != 0
    assert "no longer a member" in gone.stdout + gone.stderr


def _axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core (from axe-playwright-python) on the current page: the violations."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        require(False, "axe-playwright-python is not installed (pip install strongroom[test])")
        raise
    results = Axe().run(page)
    return [
        {"rule": v["id"], "nodes": [n["html"] for n in v["nodes"]]}
        for v in results.response["violations"]
    ]


@pytest.mark.browser
def test_create_an_organisation_a_team_and_invite_a_member_in_chromium(
    strongroom_server: LiveServer,
    browser: Any,
) -> None:
    server = strongroom_server
    server.create_user("carla", "carla@example.org", PASSWORD)
    server.create_user("dmitri", "dmitri@example.org", PASSWORD)
    # axe-core is a script: these contexts have JavaScript on for it only; every form
    # below is submitted as a plain HTML form (nothing on these pages uses scripts).
    owner = browser.new_context().new_page()
    owner.set_default_timeout(15_000)
    log_in(owner, server, "carla")
    owner.get_by_role("link", name="Organisations").click()
    assert _axe_violations(owner) == []
    owner.get_by_label("Name").fill("Nimbus_Works")
    owner.get_by_role("button", name="Create organisation").click()
    expect(owner.get_by_role("heading", name="Nimbus_Works")).to_be_visible()
    assert _axe_violations(owner) == []

    owner.get_by_role("navigation", name="Organisation").get_by_role("link", name="Teams").click()
    owner.get_by_label("Name").fill("Platform")
    owner.get_by_role("button", name="Create team").click()
    expect(owner.get_by_role("heading", name="Team Platform of Nimbus_Works")).to_be_visible()
    assert _axe_violations(owner) == []

    owner.get_by_role("navigation", name="Organisation").get_by_role("link", name="Members").click()
    owner.get_by_label("Username or email address").fill("dmitri@example.org")
    owner.get_by_label("Role", exact=True).select_option("Member")
    owner.get_by_role("button", name="Send invitation").click()
    expect(owner.get_by_text("An invitation was sent to dmitri@example.org.")).to_be_visible()
    assert _axe_violations(owner) == []

    link = latest_link(server, r"https?://\S+/organizations/invitations/\S+/")
    member = browser.new_context().new_page()
    member.set_default_timeout(15_000)
    log_in(member, server, "dmitri")
    member.goto(link)
    expect(member.get_by_role("heading", name="Invitation to Nimbus_Works")).to_be_visible()
    assert _axe_violations(member) == []
    member.get_by_role("button", name="Accept").click()
    expect(member.get_by_text("You joined Nimbus_Works.")).to_be_visible()

    owner.goto(server.base_url + "/organizations/nimbus-works/teams/platform/")
    owner.get_by_label("Username").fill("dmitri")
    owner.get_by_role("button", name="Add to the team").click()
    expect(owner.get_by_text("The member was added to the team.")).to_be_visible()
    expect(owner.get_by_role("listitem").filter(has_text="dmitri")).to_be_visible()
    assert _axe_violations(owner) == []
    member.goto(server.base_url + "/organizations/nimbus-works/members/")
    expect(member.get_by_role("cell", name="dmitri")).to_be_visible()
    assert _axe_violations(member) == []


def log_in(page: Any, server: LiveServer, username: str) -> None:
    page.goto(server.base_url + "/account/login/")
    page.get_by_label("Username or email address").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text(f"Signed in as {username}.")).to_be_visible()
