"""Issue 2, item 10: a person's first visit, in Chromium, with JavaScript off."""

from __future__ import annotations

import email
import email.policy
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.server import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PASSWORD = "a-long-unusual-pass-97"
NEW_PASSWORD = "another-long-unusual-pass-31"


def latest_link(server: LiveServer, pattern: str) -> str:
    """The first link matching ``pattern`` in the newest email of the outbox."""
    for path in reversed(server.outbox()):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        match = re.search(pattern, body)
        if match:
            return match.group(0)
    raise AssertionError(f"no email with {pattern!r} in {server.outbox()}")


def test_register_verify_log_in_change_password_and_see_the_history(
    strongroom_server: LiveServer, page: Any
) -> None:
    server = strongroom_server
    page.goto(server.base_url + "/")
    page.get_by_role("link", name="Register").click()
    page.get_by_label("Username").fill("Carol")
    page.get_by_label("Email address").fill("carol@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    link = latest_link(server, r"https?://\S+/account/verify-email/\?token=\S+")
    assert "verify-email" in server.log_text()  # the link is in the log too
    page.goto(link)
    page.get_by_role("button", name="Verify this address").click()
    expect(page.get_by_text("carol@example.org is verified.")).to_be_visible()

    # Log in with the email address, in another case.
    page.get_by_label("Username or email address").fill("CAROL@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Signed in as Carol.")).to_be_visible()

    page.get_by_role("link", name="Change your password").click()
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password was changed.")).to_be_visible()
    notice = latest_link(server, r"https?://\S+/manage/account/history/")
    assert notice.endswith("/manage/account/history/")

    page.get_by_role("navigation").get_by_role("link", name="Security history").click()
    tags = [row.get_attribute("data-tag") for row in page.locator("tr.event").all()]
    for tag in [
        "account:create",
        "account:email:verified",
        "account:login:success",
        "account:password:change",
    ]:
        assert tag in tags
    expect(page.get_by_text("Password changed").first).to_be_visible()

    # The new password works; the old one does not.
    page.get_by_role("button", name="Log out").click()
    page.goto(server.base_url + "/account/login/")
    page.get_by_label("Username or email address").fill("carol")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("The username or password is not correct.")).to_be_visible()
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Signed in as Carol.")).to_be_visible()
