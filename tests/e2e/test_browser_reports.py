"""In Chromium: a user reports a project from its page, a staff member (who enrols a
second factor first) quarantines it straight from the report, confirming with a fresh code
from the app (the code used at enrolment is refused); the project page then says why; the
staff member releases it from its status page. axe-core finds no violation on any page of
the way; exactly one audit event each."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
import requests

from tests.distributions import upload_form
from tests.e2e.browser import CHROMIUM_ARGS  # noqa: F401  (the shared browser fixture's)
from tests.e2e.clients import PASSWORD
from tests.e2e.listing import index_when, names
from tests.e2e.server import LiveServer, run_cli

pytestmark = pytest.mark.e2e
JSON = "application/vnd.pypi.simple.v1+json"


def assert_accessible(page: Any) -> None:
    """axe-core (axe-playwright-python) on the current page: no violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh context per person. JavaScript stays on only so axe-core can run: the pages
    themselves use none (the forms are plain posts)."""
    opened: list[Any] = []

    def new() -> Any:
        ctx = browser.new_context()
        ctx.set_default_timeout(20_000)
        opened.append(ctx)
        return ctx.new_page()

    yield new
    for ctx in opened:
        ctx.close()


def _publish(server: LiveServer, token: str, name: str) -> int:
    # A plain-text description: the Markdown renderer's empty heading anchors are the
    # design system's to fix (axe: link-name), not this test's subject.
    form = upload_form(name=name, description="A package.", description_content_type="text/plain")
    content = form.pop("content")
    fields = [(k, i) for k, v in form.items() for i in (v if isinstance(v, list) else [v])]
    response = requests.post(
        server.base_url + "/legacy/",
        data=fields,
        files={"content": (content.name, content.read(), "application/octet-stream")},
        auth=("__token__", token),
        timeout=60,
    )
    return response.status_code


def _log_in(page: Any, server: LiveServer, username: str) -> None:
    page.goto(server.base_url + "/account/login/")
    page.get_by_label("Username or email address").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_load_state()


def _tags(server: LiveServer) -> list[str]:
    rows = server.execute_sql(
        "SELECT tag FROM events_event WHERE tag LIKE 'project:report:%' "
        "OR tag LIKE 'project:status:%' ORDER BY id"
    )
    return [row[0] for row in rows]


def test_staff_quarantine_a_project_from_a_report(
    strongroom_server: LiveServer, context: Any
) -> None:
    server = strongroom_server
    for name in ("olive", "rita", "sam"):
        server.create_user(name, f"{name}@example.org", PASSWORD)
    server.django(
        "from strongroom.accounts.models import User\n"
        "User.objects.filter(username='sam').update(is_staff=True)\n"
    )
    assert _publish(server, server.create_token("olive", "up"), "evil-pkg") == 200

    # Rita reports the project from its page.
    rita = context()
    _log_in(rita, server, "rita")
    rita.goto(server.base_url + "/project/evil-pkg/")
    assert_accessible(rita)
    rita.get_by_label("What is wrong with this project?").fill("It sends ~/.pypirc to a server.")
    rita.get_by_role("button", name="Report this project").click()
    rita.wait_for_url(re.compile(r"/project/evil-pkg/$"))
    assert "the report was sent" in rita.content()
    assert _tags(server) == ["project:report:add"]
    staff_mail = [p.read_text() for p in server.outbox() if "sam@example.org" in p.read_text()]
    assert any("New report about evil-pkg" in text for text in staff_mail)

    # Sam is staff without a second factor: the queue says to enrol one.
    sam = context()
    _log_in(sam, server, "sam")
    response = sam.goto(server.base_url + "/admin/reports/")
    assert response.status == 403
    assert "Staff pages need a second factor" in sam.content()
    sam.goto(server.base_url + "/manage/account/totp-provision")
    secret = sam.locator("#totp-secret").get_attribute("data-secret")
    enrolment_code = pyotp.TOTP(secret).now()
    sam.get_by_label("Code from your authenticator app").fill(enrolment_code)
    sam.get_by_role("button", name="Verify and turn on").click()
    sam.wait_for_url(re.compile(r"/manage/account/recovery-codes/$"))

    sam.goto(server.base_url + "/admin/reports/")
    assert_accessible(sam)
    sam.get_by_role("link", name="evil-pkg").click()
    sam.wait_for_url(re.compile(r"/admin/reports/\d+/$"))
    assert "It sends ~/.pypirc to a server." in sam.content()
    assert_accessible(sam)
    sam.get_by_label("Reason for the quarantine (shown on the project page)").fill(
        "Credential stealer"
    )
    # The action asks for the second factor again: the code just used to enrol is spent.
    sam.locator("#id_quarantine-code").fill(enrolment_code)
    sam.get_by_role("button", name="Quarantine the project").click()
    assert "already used" in sam.locator(".errors").inner_text()
    assert _tags(server) == ["project:report:add"]
    assert_accessible(sam)
    # The next code from the app (its next time step) confirms it.
    time.sleep(30 - time.time() % 30 + 0.5)
    sam.get_by_label("Reason for the quarantine (shown on the project page)").fill(
        "Credential stealer"
    )
    sam.locator("#id_quarantine-code").fill(pyotp.TOTP(secret).now())
    sam.get_by_role("button", name="Quarantine the project").click()
    sam.wait_for_url(re.compile(r"/admin/reports/\d+/$"))
    assert "evil-pkg is quarantined and the report resolved." in sam.content()
    assert sam.locator(".report-state").inner_text() == "resolved"
    assert_accessible(sam)
    assert _tags(server) == ["project:report:add", "project:status:quarantine"]

    # The project page says why; the index no longer offers it.
    rita.goto(server.base_url + "/project/evil-pkg/")
    text = rita.locator(".project-status").inner_text()
    assert "quarantined" in text and "Credential stealer" in text
    assert_accessible(rita)
    index_when(server.base_url, lambda index: "evil-pkg" not in names(index))
    page = requests.get(
        server.base_url + "/simple/evil-pkg/", headers={"Accept": JSON}, timeout=30
    ).json()
    assert page["files"] == [] and page["project-status"]["status"] == "quarantined"
    owner_mail = [p.read_text() for p in server.outbox() if "olive@example.org" in p.read_text()]
    assert any("evil-pkg is now quarantined" in text for text in owner_mail)
    # Released from its staff status page, with another fresh code (rather than wait for
    # the app's next time step, forget the one spent: tests/e2e/test_console_browser).
    sam.goto(server.base_url + "/admin/project-status/evil-pkg/")
    assert_accessible(sam)
    sam.locator("#id_release-reason").fill("Cleared after review")
    server.execute_sql("UPDATE mfa_totpdevice SET last_used_step = NULL")
    sam.locator("#id_release-code").fill(pyotp.TOTP(secret).now())
    sam.get_by_role("button", name="Release from quarantine").click()
    sam.wait_for_url(re.compile(r"/admin/project-status/evil-pkg/$"))
    assert "evil-pkg is now active." in sam.content()
    assert _tags(server) == [
        "project:report:add",
        "project:status:quarantine",
        "project:status:release",
    ]
    audit = run_cli("audit", "verify", data_dir=server.data_dir, env=server.env)
    assert audit.returncode == 0, audit.stdout + audit.stderr
