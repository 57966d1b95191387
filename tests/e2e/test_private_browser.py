"""Issue 13 in Chromium: an Owner makes a project private on its settings page, creates a
read token, and installs with it; axe-core finds no violation on the pages involved."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.e2e.clients import PASSWORD, build, isolated_env, run, write_flit_project
from tests.e2e.server import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _no_violations(page: Any) -> None:
    """axe-core on the page ``page`` shows, in a JavaScript-enabled context with the same
    cookies (the test's own context runs without JavaScript: pages must work without it,
    and axe-core cannot run there)."""
    context = page.context.browser.new_context(storage_state=page.context.storage_state())
    context.set_default_timeout(15_000)
    try:
        checker = context.new_page()
        checker.goto(page.url)
        results = Axe().run(checker)
    finally:
        context.close()
    assert results.violations_count == 0, results.generate_report()


def test_make_a_project_private_and_install_it_with_a_read_token(
    server: LiveServer, page: Any, tmp_path: Path
) -> None:
    server.create_user("browserowner", "browserowner@example.org", PASSWORD)
    env = isolated_env(tmp_path / "publisher")
    upload = server.create_token("browserowner", "publish")
    files = build(write_flit_project(tmp_path, "sr-browser-priv", "1.0"), env)
    run([sys.executable, "-m", "twine", "upload", "--non-interactive",
         "--repository-url", f"{server.base_url}/legacy/", *map(str, files)],
        dict(env, TWINE_USERNAME="__token__", TWINE_PASSWORD=upload))  # fmt: skip

    page.goto(server.base_url + "/account/login/")
    page.get_by_label("Username or email address").fill("browserowner")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(server.base_url + "/manage/project/sr-browser-priv/settings/")
    _no_violations(page)
    page.get_by_label("Private: collaborators and read tokens only").check()
    page.get_by_role("button", name="Change visibility").click()
    assert "is now private" in page.content()
    _no_violations(page)

    page.goto(server.base_url + "/manage/account/token/")
    page.get_by_label("Token name").fill("installs")
    page.get_by_label("Read (pip, uv, poetry: install private projects; never uploads)").check()
    page.get_by_label("Entire account").check()
    _no_violations(page)
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("Token “installs”").input_value()
    assert token.startswith("strongroom-")
    _no_violations(page)
    page.goto(server.base_url + "/manage/account/tokens/")
    assert "Read" in page.get_by_role("row", name="installs").inner_text()

    netloc = urlparse(server.base_url).netloc
    run([sys.executable, "-m", "pip", "install", "--no-cache-dir", "--no-input",
         "--target", str(tmp_path / "t"), "--index-url",
         f"http://__token__:{token}@{netloc}/simple/", "sr-browser-priv"],
        isolated_env(tmp_path / "installer"))  # fmt: skip
    assert (tmp_path / "t" / "sr_browser_priv" / "__init__.py").exists()
