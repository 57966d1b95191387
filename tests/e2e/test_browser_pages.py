"""Issue 18, Proof: every page and state below, in Chromium at 1280 px and 390 px, has
0 axe-core violations and is no wider than the viewport; search, browse and the project
page's sidebar work from a real uploaded wheel; screenshots go to build/screenshots/."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.distributions import make_wheel
from tests.e2e.axe import (
    axe_violations,
    block_site_scripts,
    describe,
    page_width_overflow,
    screenshot,
    widest_elements,
)
from tests.e2e.clients import PASSWORD, isolated_env, run
from tests.e2e.server import LiveServer, running_server

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
WIDTHS = (1280, 390)

METADATA = """\
Metadata-Version: 2.4
Name: {name}
Version: {version}
Summary: {summary}
Author: Ada Lovelace
Maintainer: Grace Hopper
License-Expression: MIT OR Apache-2.0
Project-URL: Documentation, https://docs.example.org/{name}/
Project-URL: Source, https://code.example.org/{name}
Home-page: https://example.org/{name}
Keywords: telescope,astronomy
Classifier: Programming Language :: Python :: 3
Classifier: {topic}
Classifier: License :: OSI Approved :: MIT License
Requires-Python: >=3.9
Description-Content-Type: text/markdown

# {name}

Watch the sky with a very long line of text that has to wrap on a phone screen at 390 px.

```python
import stargazer  # highlighted by Pygments
print(stargazer.look("north"))
```
"""


def upload_wheel(
    server: LiveServer,
    tmp: Path,
    token: str,
    name: str,
    version: str,
    summary: str,
    topic: str = "Topic :: Scientific/Engineering :: Astronomy",
) -> None:
    module = name.replace("-", "_")
    path = tmp / f"{module}-{version}-py3-none-any.whl"
    text = METADATA.format(name=name, version=version, summary=summary, topic=topic)
    path.write_bytes(make_wheel(name, version, metadata=text))
    env = isolated_env(tmp / "home", TWINE_USERNAME="__token__", TWINE_PASSWORD=token)
    run([sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", f"{server.base_url}/legacy/", str(path)], env)  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("ui")
    with running_server(root / "data", extra_env={"STRONGROOM_SEARCH_PAGE_SIZE": "2"}) as server:
        server.create_user("stella", "stella@example.org", PASSWORD)
        server.create_user("newcomer", "newcomer@example.org", PASSWORD)
        token = server.create_token("stella", "ui")
        upload_wheel(server, root, token, "stargazer", "0.9", "Look at the sky")
        upload_wheel(server, root, token, "stargazer", "1.0", "Telescopes for the night sky")
        upload_wheel(server, root, token, "stargazer", "2.0b1", "Telescopes, beta")
        for name in ("comet-tail", "moon-phase"):  # not Astronomy: the filter leaves them out
            upload_wheel(
                server, root, token, name, "1.0", f"Sky tools: {name}",
                topic="Topic :: Scientific/Engineering",
            )  # fmt: skip
        server.django(
            f"""
            from strongroom.accounts.actors import Actor
            from strongroom.accounts.models import User
            from strongroom.mfa import secrets_box
            from strongroom.mfa.models import TOTPDevice
            from strongroom.packages import services
            from strongroom.packages.models import Release
            stella = User.objects.get(username="stella")
            old = Release.objects.get(project__normalized_name="stargazer", version="0.9")
            services.yank_release(Actor.of(stella), old, "Broken on Windows")
            TOTPDevice.objects.create(
                user=stella, secret=secrets_box.seal("{TOTP_SECRET}"), confirmed=True
            )
            """
        )
        yield server


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    block_site_scripts(ctx)
    try:
        yield ctx
    finally:
        ctx.close()


def check(page: Any, name: str, seen: list[str]) -> None:
    """axe and the page width at both sizes, a screenshot of each."""
    page.wait_for_load_state("load")  # after a click: the stylesheet too, not only the HTML
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page_width_overflow(page)
        assert overflow <= 0, (
            f"{name} at {width} px is {overflow} px wider than the viewport: "
            f"{widest_elements(page)}"
        )
        violations = axe_violations(page)
        assert not violations, f"{name} at {width} px ({page.url}):\n{describe(violations)}"
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})
    seen.append(name)


def visit(page: Any, server: LiveServer, path: str, name: str, seen: list[str]) -> None:
    response = page.goto(server.base_url + path)
    assert response is not None and response.status < 500, (path, response and response.status)
    check(page, name, seen)


def totp_code() -> str:
    from strongroom.mfa import totp

    return str(totp.code_at_step(TOTP_SECRET, totp.time_step(time.time())))


# Every page and state the test visits, in order: the test fails if one is missing.
EXPECTED = [
    "home", "login", "login-error", "register", "register-errors", "password-reset",
    "publish-help", "two-factor-help", "critical-help", "not-found",
    "search-results", "search-empty", "search-classifier", "browse-newest", "browse-page-2",
    "browse-name", "browse-updated", "project", "release-yanked-older", "release-pre",
    "user", "simple-index", "simple-project",
    "two-factor-step", "two-factor-error", "signed-in-message", "your-projects",
    "project-owner-view", "account", "security-history", "sessions", "tokens", "token-create",
    "token-created", "totp-provision", "security-key-provision", "recovery-codes",
    "collaborators", "project-settings", "project-history", "yank-confirm", "invitations",
    "your-projects-empty",
]  # fmt: skip


def test_every_page_is_accessible_and_fits_a_phone(site: LiveServer, context: Any) -> None:
    seen: list[str] = []
    page = context.new_page()
    go = lambda path, name: visit(page, site, path, name, seen)  # noqa: E731

    go("/", "home")
    go("/account/login/", "login")
    page.get_by_label("Username or email address").fill("stella")
    page.get_by_label("Password").fill("wrong-password-here")
    page.get_by_role("button", name="Log in").click()
    check(page, "login-error", seen)
    go("/account/register/", "register")
    page.get_by_role("button", name="Create account").click()
    check(page, "register-errors", seen)
    go("/account/reset-password/", "password-reset")
    go("/help/publishing/", "publish-help")
    go("/help/two-factor/", "two-factor-help")
    go("/help/critical-projects/", "critical-help")
    go("/no/such/page/", "not-found")

    # Search from the header box, by a word of the summary.
    go("/", "home")
    seen.pop()
    page.get_by_role("search").get_by_label("Search projects").fill("telescopes")
    page.get_by_role("search").get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="stargazer")).to_be_visible()
    check(page, "search-results", seen)
    go("/search/?q=nebula", "search-empty")
    expect(page.get_by_text("No project matches this search.")).to_be_visible()
    go("/search/?q=sky", "search-classifier")
    page.get_by_label(re.compile("Topic :: Scientific/Engineering :: Astronomy")).check()
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("link", name="stargazer")).to_be_visible()
    expect(page.get_by_role("link", name="moon-phase")).to_have_count(0)
    expect(page.get_by_role("link", name="comet-tail")).to_have_count(0)
    expect(page.get_by_role("heading", name="1 project")).to_be_visible()

    # Browse: three projects, two per page.
    go("/projects/", "browse-newest")
    expect(page.locator(".project-card")).to_have_count(2)
    page.get_by_role("link", name="Next page").click()
    expect(page.locator(".project-card")).to_have_count(1)
    check(page, "browse-page-2", seen)
    go("/projects/?sort=name", "browse-name")
    expect(page.locator(".project-card-title a").first).to_have_text("comet-tail")
    go("/projects/?sort=updated", "browse-updated")

    # The project page: its sidebar comes from the wheel's METADATA.
    go("/project/stargazer/", "project")
    sidebar = page.get_by_role("complementary", name="About the project")
    expect(sidebar.get_by_role("link", name="Documentation")).to_have_attribute(
        "href", "https://docs.example.org/stargazer/"
    )
    expect(sidebar.get_by_role("link", name="Source")).to_be_visible()
    expect(sidebar.get_by_role("link", name="Homepage")).to_be_visible()
    expect(sidebar.locator(".license")).to_have_text("MIT OR Apache-2.0")
    expect(sidebar.get_by_text("Ada Lovelace")).to_be_visible()
    expect(sidebar.get_by_text("Grace Hopper")).to_be_visible()
    expect(sidebar.get_by_role("link", name="stella")).to_have_attribute("href", "/user/stella/")
    expect(sidebar.get_by_text("Scientific/Engineering :: Astronomy")).to_be_visible()
    expect(sidebar.get_by_text(">=3.9")).to_be_visible()
    expect(page.locator("#install-command")).to_contain_text("stargazer==1.0")
    expect(page.locator(".description pre .kn").first).to_have_text("import")
    history = page.locator("#history")
    expect(history.get_by_text("pre-release")).to_be_visible()
    expect(history.get_by_text("yanked")).to_be_visible()
    go("/project/stargazer/0.9/", "release-yanked-older")
    expect(page.get_by_text("A newer version of this project exists: 1.0.")).to_be_visible()
    expect(page.get_by_text("Broken on Windows")).to_be_visible()
    go("/project/stargazer/2.0b1/", "release-pre")
    expect(page.get_by_text("This is a pre-release")).to_be_visible()
    page.get_by_role("link", name="stella").click()
    expect(page.get_by_role("heading", name="stella")).to_be_visible()
    check(page, "user", seen)
    go("/simple/", "simple-index")
    go("/simple/stargazer/", "simple-project")

    # Log in with the second factor; the code field has the focus.
    go("/account/login/", "login")
    seen.pop()
    page.get_by_label("Username or email address").fill("stella")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    code_field = page.get_by_label("Code from your authenticator app")
    expect(code_field).to_be_focused()
    check(page, "two-factor-step", seen)
    code_field.fill("000000" if totp_code() != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    check(page, "two-factor-error", seen)
    page.get_by_label("Code from your authenticator app").fill(totp_code())
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("Signed in as stella.")).to_be_visible()
    check(page, "signed-in-message", seen)
    go("/manage/projects/", "your-projects")
    go("/project/stargazer/", "project-owner-view")
    expect(page.get_by_role("heading", name="Manage")).to_be_visible()
    go("/manage/account/", "account")
    go("/manage/account/history/", "security-history")
    go("/manage/account/sessions/", "sessions")
    go("/manage/account/tokens/", "tokens")
    go("/manage/account/token/", "token-create")
    page.get_by_label("Token name").fill("laptop")
    page.get_by_role("group", name="Scope").get_by_label("Selected projects").check()
    page.get_by_role("group", name="Projects").get_by_label("stargazer").check()
    page.get_by_role("button", name=re.compile("Create")).click()
    expect(page.get_by_role("heading", name="Your new API token")).to_be_visible()
    check(page, "token-created", seen)
    go("/manage/account/totp-provision", "totp-provision")
    go("/manage/account/webauthn-provision", "security-key-provision")
    go("/manage/account/recovery-codes/", "recovery-codes")
    go("/manage/project/stargazer/collaborators/", "collaborators")
    go("/manage/project/stargazer/settings/", "project-settings")
    go("/project/stargazer/history/", "project-history")
    go("/manage/project/stargazer/release/1.0/yank/", "yank-confirm")
    go("/account/invitations/", "invitations")

    # Someone with no projects is pointed at the publishing guide.
    page.get_by_role("button", name="Log out").click()
    go("/account/login/", "login")
    seen.pop()
    page.get_by_label("Username or email address").fill("newcomer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    go("/manage/projects/", "your-projects-empty")
    page.get_by_role("main").get_by_role("link", name="Publish your first package").click()
    expect(page.get_by_role("heading", name="Publish your first package")).to_be_visible()

    assert seen == EXPECTED
    assert len(set(seen)) >= 30


def test_without_javascript_the_key_forms_are_hidden_and_say_why(
    site: LiveServer, page: Any
) -> None:
    """The ``page`` fixture has JavaScript off: what cannot work is hidden and explained."""
    page.goto(site.base_url + "/account/login/")
    expect(page.get_by_text("Passkeys need JavaScript.")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_hidden()
    page.get_by_label("Username or email address").fill("newcomer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(site.base_url + "/manage/account/webauthn-provision")
    expect(page.get_by_text("Registering a security key needs JavaScript.")).to_be_visible()
    expect(page.get_by_role("button", name="Register the key")).to_be_hidden()
    # The install command is plain text to select; the copy button needs JavaScript.
    page.goto(site.base_url + "/project/stargazer/")
    expect(page.locator("#install-command")).to_be_visible()
    expect(page.get_by_role("button", name="Copy")).to_be_hidden()
