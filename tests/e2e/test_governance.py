"""Issue 7 with the real server and clients: a Maintainer without 2FA on a critical project
is refused a twine upload and succeeds once 2FA is on; download counts survive a graceful
stop and make a project critical; "Your projects" sorted and filtered in Chromium."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.clients import PASSWORD, build, isolated_env, write_flit_project
from tests.e2e.server import LiveServer, run_cli
from tests.e2e.test_token_uploads import twine

pytestmark = pytest.mark.e2e


def test_maintainer_without_2fa_on_critical_project_is_refused_then_uploads(
    server: LiveServer, tmp_path: Any
) -> None:
    server.create_user("critowner", "critowner@example.org", PASSWORD)
    server.create_user("critmaint", "critmaint@example.org", PASSWORD)
    admin = run_cli(
        "createadmin", "--username", "critstaff", "--email", "critstaff@example.org",
        "--password-stdin", data_dir=server.data_dir, stdin=PASSWORD + "\n", env=server.env,
    )  # fmt: skip
    assert admin.returncode == 0, admin.stderr
    env = isolated_env(tmp_path / "home")
    owner_token = server.create_token("critowner", "bootstrap")
    first = twine(
        server, build(write_flit_project(tmp_path, "sr-crit", "1.0"), env), env, owner_token
    )
    assert first.returncode == 0, first.stdout + first.stderr
    # The Owner invites the Maintainer, who accepts (the services the web pages call).
    server.django(
        """
        from strongroom.accounts.actors import Actor
        from strongroom.accounts.models import User
        from strongroom.packages import governance
        from strongroom.packages.models import Project
        project = Project.objects.get(normalized_name="sr-crit")
        owner = User.objects.get(username="critowner")
        maint = User.objects.get(username="critmaint")
        invitation = governance.invite(Actor.of(owner), project, "critmaint", "Maintainer")
        governance.accept_invitation(Actor.of(maint), governance.invitation_token(invitation))
        """,
    )
    marked = run_cli(
        "critical", "mark", "--project", "sr-crit", "--by", "critstaff",
        data_dir=server.data_dir, env=server.env,
    )  # fmt: skip
    assert marked.returncode == 0, marked.stdout + marked.stderr
    token = server.create_token("critmaint", "maint-ci", "sr-crit")
    files = build(write_flit_project(tmp_path, "sr-crit", "1.1"), env)
    refused = twine(server, files, env, token)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert "sr-crit is a critical project" in output
    assert "/help/two-factor/" in output
    # The critical-project email reached the Maintainer.
    mails = [p.read_text(errors="replace") for p in server.outbox()]
    assert any("critmaint@example.org" in m and "critical project" in m for m in mails)
    # The Maintainer turns on an authenticator app (written to the server's database).
    server.django(
        """
        import pyotp
        from strongroom.accounts.models import User
        from strongroom.mfa import secrets_box
        from strongroom.mfa.models import TOTPDevice
        user = User.objects.get(username="critmaint")
        TOTPDevice.objects.create(
            user=user, secret=secrets_box.seal(pyotp.random_base32()), confirmed=True
        )
        """,
    )
    accepted = twine(server, files, env, token)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


def test_download_counts_are_flushed_on_graceful_stop_and_rank_critical_projects(
    each_server: LiveServer, tmp_path: Any
) -> None:
    server = each_server
    server.create_user("popular", "popular@example.org", PASSWORD)
    env = isolated_env(tmp_path / "home")
    token = server.create_token("popular", "ci")
    done = twine(server, build(write_flit_project(tmp_path, "sr-pop", "1.0"), env), env, token)
    assert done.returncode == 0, done.stdout + done.stderr
    with urllib.request.urlopen(f"{server.base_url}/pypi/sr-pop/json", timeout=10) as response:
        url = json.load(response)["urls"][0]["url"]
    for _ in range(4):
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()
    assert server.stop() == 0
    assert "Traceback" not in server.log_text()  # the flush on Ctrl-C is clean
    counted = server.django(
        """
        from django.db.models import Sum
        from strongroom.index.models import DownloadCount
        print(DownloadCount.objects.aggregate(n=Sum("count"))["n"])
        """,
    )
    assert counted.strip() == "4", server.log_text()[-4000:]
    update = run_cli("critical", "update", data_dir=server.data_dir, env=server.env)
    assert "sr-pop is now critical" in update.stdout, update.stdout + update.stderr


@pytest.mark.browser
def test_projects_page_sorted_and_filtered_in_chromium(server: LiveServer, page: Any) -> None:
    server.create_user("manyprojects", "manyprojects@example.org", PASSWORD)
    server.django(
        """
        from strongroom.accounts.models import User
        from strongroom.packages.models import Project, Role
        user = User.objects.get(username="manyprojects")
        for i in range(12):
            project = Project.objects.create(
                name=f"gov-{i:02d}", normalized_name=f"gov-{i:02d}", marked_critical=(i % 4 == 0)
            )
            Role.objects.create(project=project, user=user, role_name="Owner")
        """,
    )
    page.goto(server.base_url + "/account/login/")
    page.get_by_label("Username or email address").fill("manyprojects")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Your projects").click()
    names = page.locator("tr.project-row td:first-child a")
    # Each click loads a new page: wait for it (its URL, then its rows) before reading the
    # rows, which all_inner_texts does not wait for.
    expect(names.nth(1)).to_have_text("gov-01")
    assert names.all_inner_texts()[:2] == ["gov-00", "gov-01"]
    page.get_by_role("link", name="Project", exact=True).click()  # sorted: now descending
    page.wait_for_url(re.compile(r"[?&]sort=-name(&|$)"))
    expect(names.first).to_have_text("gov-11")
    page.get_by_role("link", name="Critical", exact=True).click()
    page.wait_for_url(re.compile(r"[?&]sort=critical(&|$)"))
    page.get_by_role("link", name="Critical", exact=True).click()  # critical ones first
    page.wait_for_url(re.compile(r"[?&]sort=-critical(&|$)"))
    expect(names.nth(2)).to_have_text("gov-08")
    assert names.all_inner_texts()[:3] == ["gov-00", "gov-04", "gov-08"]
    page.get_by_label("Critical").select_option("yes")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"[?&]critical=yes(&|$)"))
    expect(names).to_have_text(["gov-00", "gov-04", "gov-08"])
    assert "critical=yes" in page.url
