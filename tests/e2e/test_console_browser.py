"""Issue 17, items 1 and 2, in Chromium (JavaScript off) against a real server: a staff
account from ``strongroom createadmin`` is sent to enrol a second factor; suspending a user
refuses their twine upload with a valid token and ends their session; a full account
recovery with its cancel link and waiting period; axe-core finds nothing on the pages; and
``strongroom audit verify`` passes after every console action."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from strongroom.mfa import totp
from tests.e2e.clients import build, isolated_env, write_flit_project
from tests.e2e.server import LiveServer, run_cli
from tests.e2e.test_browser_account import latest_link
from tests.e2e.test_token_uploads import twine

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PASSWORD = "a-long-unusual-pass-97"


def fresh_code(server: LiveServer, secret: str) -> str:
    """The code the app shows now. Every console action spends a time step; rather than
    wait 30 seconds between actions, forget the steps used so far."""
    server.execute_sql("UPDATE mfa_totpdevice SET last_used_step = NULL")
    return totp.code_at_step(secret, totp.time_step(time.time()))


def log_in(page: Any, server: LiveServer, username: str, password: str = PASSWORD) -> None:
    page.goto(server.base_url + "/account/login/")
    page.get_by_label("Username or email address").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def enrol_totp(page: Any, server: LiveServer) -> str:
    """On the authenticator set-up page: read the secret, type its code; the secret."""
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    assert secret
    page.get_by_label("Code from your authenticator app").fill(
        totp.code_at_step(secret, totp.time_step(time.time()))
    )
    page.get_by_role("button", name=re.compile("Verify|Set up|Enable|Add", re.I)).first.click()
    return secret


def make_staff(server: LiveServer, page: Any) -> str:
    """``strongroom createadmin``, signed in, sent to enrol, enrolled: the TOTP secret."""
    made = run_cli(
        "createadmin", "--username", "root", "--email", "root@example.org", "--password-stdin",
        data_dir=server.data_dir, stdin=PASSWORD + "\n", env=server.env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    log_in(page, server, "root")
    page.goto(server.base_url + "/admin/")
    assert page.url.endswith("/manage/account/totp-provision")
    expect(page.get_by_text("the staff console needs a second factor")).to_be_visible()
    secret = enrol_totp(page, server)
    page.goto(server.base_url + "/admin/")
    expect(page.get_by_role("heading", name="Staff console")).to_be_visible()
    return secret


def axe_violations(browser: Any, page: Any, url: str) -> list[str]:
    """axe-core on ``url`` as ``page``'s user (axe needs JavaScript: a second context with
    the same cookies runs it)."""
    from axe_playwright_python.sync_playwright import Axe

    context = browser.new_context(storage_state=page.context.storage_state())
    try:
        checked = context.new_page()
        checked.goto(url)
        results = Axe().run(checked)
        return [] if results.violations_count == 0 else [url, results.generate_report()]
    finally:
        context.close()


def audit_verifies(server: LiveServer) -> None:
    result = run_cli("audit", "verify", data_dir=server.data_dir, env=server.env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "audit log intact" in result.stdout


def test_staff_without_a_second_factor_are_sent_to_enrol_and_axe_finds_nothing(
    strongroom_server: LiveServer, page: Any
) -> None:
    browser = page.context.browser
    server = strongroom_server
    make_staff(server, page)
    server.create_user("vera", "vera@example.org", PASSWORD)
    base = server.base_url
    pages = [
        "/admin/",
        "/admin/users/?q=vera",
        "/admin/users/vera/",
        "/admin/users/root/",
        "/admin/projects/",
        "/admin/recovery/",
    ]
    problems = [v for path in pages for v in axe_violations(browser, page, base + path)]
    assert not problems, "\n".join(problems)


def test_suspended_user_loses_uploads_and_session(
    strongroom_server: LiveServer, page: Any, tmp_path: Path
) -> None:
    browser = page.context.browser
    server = strongroom_server
    secret = make_staff(server, page)
    server.create_user("uma", "uma@example.org", PASSWORD)
    token = server.create_token("uma", "ci")
    env = isolated_env(tmp_path / "home")
    first = twine(server, build(write_flit_project(tmp_path, "uma-pkg", "1.0"), env), env, token)
    assert first.returncode == 0, first.stdout + first.stderr

    uma_context = browser.new_context(java_script_enabled=False)
    uma = uma_context.new_page()
    log_in(uma, server, "uma")
    uma.goto(server.base_url + "/manage/account/")
    assert uma.url.endswith("/manage/account/")

    page.goto(server.base_url + "/admin/users/")
    page.get_by_role("main").get_by_label("Search", exact=True).fill("uma")
    page.get_by_role("main").get_by_role("button", name="Search").click()
    page.get_by_role("link", name="uma", exact=True).click()
    page.get_by_label("Reason (the user is told)").fill("Uploading malware")
    page.locator("#id_suspend-code").fill(fresh_code(server, secret))
    page.get_by_role("button", name="Suspend").click()
    expect(page.get_by_text("The account is suspended and its sessions ended.")).to_be_visible()
    expect(page.locator("#account-state")).to_contain_text("Suspended: Uploading malware")

    refused = twine(server, build(write_flit_project(tmp_path, "uma-pkg", "1.1"), env), env, token)
    assert refused.returncode != 0
    assert "403" in refused.stdout + refused.stderr
    uma.goto(server.base_url + "/manage/account/")
    assert "/account/login/" in uma.url  # the session is gone
    log_in(uma, server, "uma")
    expect(uma.get_by_text("The username or password is not correct.")).to_be_visible()
    uma_context.close()
    email = latest_link(server, r"you cannot log in, and your API tokens do not work")
    assert email

    # The other user actions, each confirmed with a fresh code, then the chain verifies.
    page.locator("#id_reactivate-code").fill(fresh_code(server, secret))
    page.get_by_role("button", name="Reactivate").click()
    expect(page.get_by_text("The account is active again.")).to_be_visible()
    again = browser.new_context(java_script_enabled=False)
    log_in(again.new_page(), server, "uma")
    server.django(
        """
        from strongroom.accounts.models import Email, User
        Email.objects.create(user=User.objects.get(username="uma"), email="uma@work.example")
        """
    )
    page.reload()
    page.locator("#id_sessions-code").fill(fresh_code(server, secret))
    page.get_by_role("button", name="End every session").click()
    expect(page.get_by_text("Every session of the account ended.")).to_be_visible()
    page.locator("[id^=id_token_][id$=-code]").fill(fresh_code(server, secret))
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("The API token is revoked.")).to_be_visible()
    page.locator("[id^=id_email_][id$=-code]").fill(fresh_code(server, secret))
    page.get_by_role("button", name="Mark verified").click()
    expect(page.get_by_text("The email address is verified.")).to_be_visible()
    again.close()
    page.goto(server.base_url + "/admin/projects/uma-pkg/")
    page.locator("#id_limits-limit_mib").fill("200")
    page.locator("#id_limits-code").fill(fresh_code(server, secret))
    page.get_by_role("button", name="Set the upload limit").click()
    expect(page.locator("#upload-limit")).to_contain_text("200.0")
    page.locator("#id_critical-code").fill(fresh_code(server, secret))
    page.get_by_role("button", name="Mark critical").click()
    expect(page.locator("#critical")).to_contain_text("marked by staff")
    assert not axe_violations(browser, page, page.url)
    page.get_by_label("Type the project's name to confirm").fill("uma-pkg")
    page.locator("#id_remove-code").fill(fresh_code(server, secret))
    page.get_by_role("button", name="Remove the project").click()
    expect(page.get_by_text("The project is removed.")).to_be_visible()
    tags = server.execute_sql("SELECT tag FROM events_event WHERE tag LIKE 'admin:%' ORDER BY id")
    assert [t for (t,) in tags] == [
        "admin:user:suspend",
        "admin:user:reactivate",
        "admin:user:sessions_end",
        "admin:user:token_revoke",
        "admin:user:email_verify",
        "admin:project:limits",
        "admin:project:critical",
        "admin:project:remove",
    ]
    audit_verifies(server)


def _ask_for_recovery(browser: Any, server: LiveServer) -> Any:
    context = browser.new_context(java_script_enabled=False)
    rita = context.new_page()
    log_in(rita, server, "rita")
    rita.get_by_role("link", name="Lost your second factor? Ask for account recovery").click()
    assert not axe_violations(browser, rita, rita.url)
    rita.get_by_role("button", name="Ask for account recovery").click()
    expect(rita.get_by_role("heading", name="Check your email")).to_be_visible()
    rita.goto(latest_link(server, r"https?://\S+/account/recovery/confirm/\S+/"))
    rita.get_by_role("button", name="Confirm the request").click()
    expect(rita.locator("#recovery-done")).to_contain_text("The request is confirmed")
    return context


def test_full_account_recovery_with_cancel_link_and_waiting_period(
    strongroom_server: LiveServer, page: Any
) -> None:
    browser = page.context.browser
    server = strongroom_server
    secret = make_staff(server, page)
    server.create_user("rita", "rita@example.org", PASSWORD)
    enrolling = browser.new_context(java_script_enabled=False)
    rita = enrolling.new_page()
    log_in(rita, server, "rita")
    rita.goto(server.base_url + "/manage/account/totp-provision")
    enrol_totp(rita, server)
    enrolling.close()

    # A first request, cancelled from the email every verified address gets.
    _ask_for_recovery(browser, server).close()
    cancel = latest_link(server, r"https?://\S+/account/recovery/cancel/\S+/")
    page.goto(cancel)
    page.get_by_role("button", name="Cancel the recovery").click()
    expect(page.locator("#recovery-done")).to_contain_text("is cancelled")

    # A second one; staff must wait, then approve.
    _ask_for_recovery(browser, server).close()
    page.goto(server.base_url + "/admin/recovery/")
    page.locator("section, main").get_by_role("link", name="rita").first.click()
    expect(page.locator("#recovery-state")).to_contain_text("Confirmed, waiting for staff")
    review = page.url
    expect(page.get_by_text("Account recovery confirmed").first).to_be_visible()  # history
    page.locator("#id_approve-code").fill(fresh_code(server, secret))
    page.get_by_role("button", name="Approve the recovery").click()
    expect(page.get_by_text("The waiting period ends at")).to_be_visible()
    server.django(
        """
        from datetime import timedelta
        from django.utils import timezone
        from strongroom.console.models import RecoveryRequest
        RecoveryRequest.objects.filter(status="confirmed").update(
            confirmed_at=timezone.now() - timedelta(hours=25))
        """
    )  # the waiting period passes
    page.goto(review)
    page.locator("#id_approve-code").fill(fresh_code(server, secret))
    page.get_by_role("button", name="Approve the recovery").click()
    expect(page.get_by_text("The recovery is approved")).to_be_visible()
    assert not axe_violations(browser, page, review)
    assert server.execute_sql("SELECT COUNT(*) FROM mfa_totpdevice") == [(1,)]  # staff's only

    # Rita logs in with her password and must set up a new factor first.
    context = browser.new_context(java_script_enabled=False)
    back = context.new_page()
    log_in(back, server, "rita")
    back.goto(server.base_url + "/manage/account/")
    assert back.url.endswith("/manage/account/totp-provision")
    enrol_totp(back, server)
    back.goto(server.base_url + "/manage/account/")
    assert back.url.endswith("/manage/account/")
    context.close()
    tags = server.execute_sql(
        "SELECT tag FROM events_event WHERE tag LIKE '%recovery:%' ORDER BY id"
    )
    assert [t for (t,) in tags] == [
        "account:recovery:request",
        "account:recovery:confirm",
        "account:recovery:cancel",
        "account:recovery:request",
        "account:recovery:confirm",
        "admin:recovery:approve",
    ]
    audit_verifies(server)
