"""Issue 5 with the real clients: twine and scoped tokens; a token made in Chromium."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.clients import PASSWORD, build, isolated_env, write_flit_project
from tests.e2e.server import LiveServer

pytestmark = pytest.mark.e2e


def twine(server: LiveServer, files: list[Path], env: dict[str, str], token: str):
    return subprocess.run(
        [sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", f"{server.base_url}/legacy/", *map(str, files)],
        env=dict(env, TWINE_USERNAME="__token__", TWINE_PASSWORD=token),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def owner(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An account owning sr-tok-a and sr-tok-b (created with an account-wide token)."""
    server.create_user("tokenowner", "tokenowner@example.org", PASSWORD)
    root = tmp_path_factory.mktemp("tok")
    env = isolated_env(root / "home")
    wide = server.create_token("tokenowner", "bootstrap")
    for name in ("sr-tok-a", "sr-tok-b"):
        files = build(write_flit_project(root, name, "1.0"), env)
        assert twine(server, files, env, wide).returncode == 0
    return {"root": root, "env": env}


def test_twine_with_a_project_scoped_token(server: LiveServer, owner: dict[str, Any]) -> None:
    root, env = owner["root"], owner["env"]
    scoped = server.create_token("tokenowner", "only-a", "sr-tok-a")
    ok = twine(server, build(write_flit_project(root, "sr-tok-a", "1.1"), env), env, scoped)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    refused = twine(server, build(write_flit_project(root, "sr-tok-b", "1.1"), env), env, scoped)
    assert refused.returncode != 0
    assert "scoped to sr-tok-a and is not valid for sr-tok-b" in refused.stdout + refused.stderr


@pytest.mark.browser
def test_token_created_in_the_browser_uploads_with_twine(
    server: LiveServer, owner: dict[str, Any], page: Any
) -> None:
    page.goto(server.base_url + "/account/login/")
    page.get_by_label("Username or email address").fill("tokenowner")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="API tokens").click()
    page.get_by_role("link", name="Create an API token").click()
    page.get_by_label("Token name").fill("from-the-browser")
    # The narrow scope is preselected; choose project b only.
    page.get_by_label("sr-tok-b").check()
    page.get_by_label("sr-tok-a").uncheck()
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("Token “from-the-browser”").input_value()
    assert token.startswith("strongroom-")
    root, env = owner["root"], owner["env"]
    result = twine(server, build(write_flit_project(root, "sr-tok-b", "2.0"), env), env, token)
    assert result.returncode == 0, result.stdout + result.stderr
