"""Issue 17: a staff member whose only second factor is a security key confirms console
actions with it, in Chromium with CDP's virtual authenticator against a real server, and
the staff actions outside the console too (a project's status page); the key's answer is
single use, and ``strongroom audit verify`` passes afterwards."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.server import LiveServer, run_cli, running_server
from tests.mfa.test_browser import PASSWORD, Session

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running_server(tmp_path_factory.mktemp("console-key") / "data") as live:
        yield live


@pytest.fixture
def session(browser, server):
    opened = Session(browser, server)
    yield opened
    opened.close()


def test_key_only_staff_confirm_console_actions_with_their_key(
    browser, session: Session, server: LiveServer
) -> None:
    made = run_cli(
        "createadmin", "--username", "kim", "--email", "kim@example.org", "--password-stdin",
        data_dir=server.data_dir, stdin=PASSWORD + "\n", env=server.env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    server.create_user("tara", "tara@example.org", PASSWORD)
    session.password_login("kim")
    session.add_key("Staff key")  # the account's only second factor
    page = session.page

    session.go("/admin/users/tara/")
    expect(page.locator("#confirm-with-key")).to_be_visible()
    expect(page.get_by_label("Code from your authenticator app")).to_have_count(0)
    # With JavaScript the forms are shown and the "needs JavaScript" notes are not.
    expect(page.get_by_text("which needs JavaScript").first).to_be_hidden()
    page.get_by_label("Reason (the user is told)").fill("Spam uploads")
    page.get_by_role("button", name="Suspend").click()
    page.wait_for_url(re.compile(r"/admin/users/tara/$"))
    expect(page.get_by_text("The account is suspended and its sessions ended.")).to_be_visible()
    expect(page.locator("#account-state")).to_contain_text("Suspended: Spam uploads")
    rows = server.execute_sql(
        "SELECT a.username FROM events_event e JOIN accounts_user a ON a.id = e.actor_id "
        "WHERE e.tag = 'admin:user:suspend'"
    )
    assert rows == [("kim",)]
    (count,) = server.execute_sql("SELECT sign_count FROM mfa_securitykey")[0]
    assert count >= 2  # the key signed at registration's use and for this action

    # A second action needs a second touch of the key: reactivate.
    page.get_by_role("button", name="Reactivate").click()
    page.wait_for_url(re.compile(r"/admin/users/tara/$"))
    expect(page.locator("#account-state")).to_contain_text("Active")

    # A project's status page (outside the console) is confirmed with the key as well.
    server.django(
        "from strongroom.packages.models import Project\n"
        "Project.objects.create(name='keyed', normalized_name='keyed')\n"
    )
    session.go("/admin/project-status/keyed/")
    expect(page.get_by_label("Code from your authenticator app")).to_have_count(0)
    page.locator("#id_quarantine-reason").fill("Malware")
    page.get_by_role("button", name="Quarantine").click()
    page.wait_for_url(re.compile(r"/admin/project-status/keyed/$"))
    expect(page.get_by_text("keyed is now quarantined.")).to_be_visible()
    rows = server.execute_sql(
        "SELECT a.username FROM events_event e JOIN accounts_user a ON a.id = e.actor_id "
        "WHERE e.tag = 'project:status:quarantine'"
    )
    assert rows == [("kim",)]
    session.go("/admin/users/tara/")

    # A key the server does not know (another authenticator) is refused, nothing changes.
    session.cdp.send("WebAuthn.clearCredentials", {"authenticatorId": session.authenticator})
    page.get_by_label("Reason (the user is told)").fill("Again")
    page.get_by_role("button", name="Suspend").click()
    expect(page.locator("[data-webauthn-error]:visible").first).not_to_be_empty()
    expect(page.locator("#account-state")).to_contain_text("Active")

    # The same staff session without JavaScript: the page says the key needs it, and the
    # forms that cannot work stay hidden.
    plain = browser.new_context(
        java_script_enabled=False, storage_state=session.context.storage_state()
    )
    try:
        nojs = plain.new_page()
        nojs.goto(server.base_url + "/admin/users/tara/")
        expect(nojs.get_by_text("which needs JavaScript").first).to_be_visible()
        expect(nojs.get_by_role("button", name="Suspend")).to_be_hidden()
    finally:
        plain.close()

    audited = run_cli("audit", "verify", data_dir=server.data_dir, env=server.env)
    assert audited.returncode == 0 and "audit log intact" in audited.stdout
