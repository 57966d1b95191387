"""Issue 13 with the real installers: private projects installed with a read token through
pip (URL and ~/.netrc), ``uv pip install``, ``uv lock`` (UV_INDEX_<NAME>_USERNAME/PASSWORD)
and ``poetry install`` (http-basic); without a credential the 401 path; a scoped token
cannot install another project; revoked and expired tokens are refused."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from base64 import b64encode
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.e2e.clients import PASSWORD, build, isolated_env, run, write_flit_project
from tests.e2e.server import LiveServer, run_cli, running_server

pytestmark = pytest.mark.e2e

UV = shutil.which("uv") or "uv"
POETRY = shutil.which("poetry") or "poetry"


def _twine(server: LiveServer, files: list[Path], env: dict[str, str], token: str) -> None:
    run(
        [sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", f"{server.base_url}/legacy/", *map(str, files)],
        dict(env, TWINE_USERNAME="__token__", TWINE_PASSWORD=token),
    )  # fmt: skip


def _cli(server: LiveServer, *args: str) -> str:
    result = run_cli(*args, data_dir=server.data_dir, env=server.env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _read_token(server: LiveServer, name: str, *projects: str) -> str:
    args = ["token", "create", "--user", "privowner", "--name", name, "--read"]
    for project in projects:
        args += ["--project", project]
    return _cli(server, *args).strip().splitlines()[-1]


def _publish_private(server: LiveServer, root: Path) -> dict[str, Any]:
    server.create_user("privowner", "privowner@example.org", PASSWORD)
    env = isolated_env(root / "publisher")
    upload = server.create_token("privowner", "publish")
    for name in ("sr-priv-a", "sr-priv-b"):
        _twine(server, build(write_flit_project(root, name, "1.0"), env), env, upload)
        assert "is now private" in _cli(
            server, "project", "visibility", "--project", name, "private"
        )
    return {"root": root, "read": _read_token(server, "installs")}


@pytest.fixture(scope="module")
def private(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _publish_private(server, tmp_path_factory.mktemp("private"))


def _with_credentials(server: LiveServer, token: str) -> str:
    url = urlparse(server.base_url)
    return f"{url.scheme}://__token__:{token}@{url.netloc}/simple/"


def _pip(
    index_url: str, target: Path, home: Path, requirement: str, *extra: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-cache-dir", "--no-input", *extra,
         "--target", str(target), "--index-url", index_url, requirement],
        env=isolated_env(home), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _uv_pip(index_url: str, target: Path, home: Path, requirement: str, **env: str):
    return subprocess.run(
        [UV, "pip", "install", "--no-cache", "--python", sys.executable, "--target", str(target),
         "--index-url", index_url, requirement],
        env=isolated_env(home, **env), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_pip_installs_a_private_project_with_a_read_token_in_the_url(server, private, tmp_path):
    result = _pip(_with_credentials(server, private["read"]), tmp_path / "t", tmp_path, "sr-priv-a")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "t" / "sr_priv_a" / "__init__.py").exists()


def test_pip_installs_with_the_token_in_netrc(server, private, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    host = urlparse(server.base_url).hostname
    (home / ".netrc").write_text(f"machine {host}\nlogin __token__\npassword {private['read']}\n")
    (home / ".netrc").chmod(0o600)
    result = _pip(f"{server.base_url}/simple/", tmp_path / "t", home, "sr-priv-b")
    assert result.returncode == 0, result.stdout + result.stderr


def test_uv_pip_install_with_a_read_token(server, private, tmp_path):
    result = _uv_pip(
        _with_credentials(server, private["read"]), tmp_path / "t", tmp_path, "sr-priv-a"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "t" / "sr_priv_a" / "__init__.py").exists()


def _consumer(root: Path, index_url: str, poetry: bool = False) -> Path:
    project = root / "consumer"
    project.mkdir()
    if poetry:
        body = f"""\
            [project]
            name = "consumer"
            version = "0.1"
            requires-python = ">=3.9"
            dependencies = ["sr-priv-a"]

            [tool.poetry]
            package-mode = false

            [[tool.poetry.source]]
            name = "strongroom"
            url = "{index_url}"
            priority = "primary"

            [tool.poetry.dependencies]
            sr-priv-a = {{ version = "*", source = "strongroom" }}
            """
    else:
        body = f"""\
            [project]
            name = "consumer"
            version = "0.1"
            requires-python = ">=3.9"
            dependencies = ["sr-priv-a"]

            [[tool.uv.index]]
            name = "strongroom"
            url = "{index_url}"
            default = true
            # Send the credentials on the first request: a public site answers a private
            # project's URL with 404 to anonymous clients, never a challenge.
            authenticate = "always"
            """
    (project / "pyproject.toml").write_text(textwrap.dedent(body))
    return project


def test_uv_lock_with_credentials_from_the_environment(server, private, tmp_path):
    project = _consumer(tmp_path, f"{server.base_url}/simple/")
    env = isolated_env(
        tmp_path / "home",
        UV_INDEX_STRONGROOM_USERNAME="__token__",
        UV_INDEX_STRONGROOM_PASSWORD=private["read"],
    )
    # UV_NO_CONFIG would also ignore the project's own [tool.uv] (its only index, which
    # replaces PyPI); HOME and XDG_CONFIG_HOME are private, so no user config is found.
    del env["UV_NO_CONFIG"]
    run([UV, "lock", "--no-cache", "--python", sys.executable], env, project)
    lock = (project / "uv.lock").read_text()
    assert 'name = "sr-priv-a"' in lock and private["read"] not in lock


def test_poetry_install_with_http_basic(server, private, tmp_path):
    project = _consumer(tmp_path, f"{server.base_url}/simple/", poetry=True)
    env = isolated_env(tmp_path / "home", POETRY_VIRTUALENVS_IN_PROJECT="true")
    run([POETRY, "config", "http-basic.strongroom", "__token__", private["read"]], env, project)
    run([POETRY, "install", "--no-interaction", "--no-root"], env, project)
    installed = list((project / ".venv").glob("lib/python*/site-packages/sr_priv_a/__init__.py"))
    assert installed, "poetry did not install sr-priv-a"


def test_a_token_scoped_to_one_project_cannot_install_another(server, private, tmp_path):
    only_a = _read_token(server, "only-a", "sr-priv-a")
    url = _with_credentials(server, only_a)
    assert _pip(url, tmp_path / "a", tmp_path, "sr-priv-a").returncode == 0
    refused = _pip(url, tmp_path / "b", tmp_path, "sr-priv-b")
    assert refused.returncode != 0
    assert "No matching distribution found for sr-priv-b" in refused.stdout + refused.stderr


def test_revoked_and_expired_tokens_are_refused_with_401(server, private, tmp_path):
    revoked = _read_token(server, "to-revoke")
    expired = _read_token(server, "to-expire")
    server.django(
        """
        import time
        from strongroom.accounts.actors import Actor
        from strongroom.tokens.models import ApiToken
        from strongroom.tokens.services import revoke_token

        gone = ApiToken.objects.get(name="to-revoke")
        revoke_token(Actor.of(gone.user), str(gone.pk))
        stale = ApiToken.objects.get(name="to-expire")
        stale.caveats = [
            {**c, "exp": int(time.time()) - 1} if c["t"] == "expiry" else c for c in stale.caveats
        ]
        stale.save()
        """
    )
    for token in (revoked, expired):
        result = _pip(_with_credentials(server, token), tmp_path / "t", tmp_path, "sr-priv-a")
        assert result.returncode != 0
        assert "No matching distribution found for sr-priv-a" in result.stderr
        # What pip saw (it logs the reason at debug level only): the challenge.
        request = urllib.request.Request(
            f"{server.base_url}/simple/sr-priv-a/",
            headers={"Authorization": "Basic " + b64encode(f"__token__:{token}".encode()).decode()},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 401
        assert refused.value.headers["WWW-Authenticate"] == 'Basic realm="Strongroom"'
        assert b"revoked" in refused.value.read() or token == expired


def test_without_a_credential_installers_get_the_401_challenge(tmp_path):
    """On an authenticated site, pip and uv are challenged (401 + WWW-Authenticate: Basic),
    which is what makes them ask keyring or prompt; with the token they install."""
    with running_server(
        tmp_path / "data", extra_env={"STRONGROOM_READ_ACCESS": "authenticated"}
    ) as closed:
        published = _publish_private(closed, tmp_path / "p")
        # pip logs why a page could not be fetched at debug level (-vv).
        pip = _pip(
            f"{closed.base_url}/simple/", tmp_path / "t1", tmp_path / "h1", "sr-priv-a", "-vv"
        )
        assert pip.returncode != 0
        assert "401 Client Error: Unauthorized" in pip.stdout + pip.stderr, pip.stdout[-3000:]
        uv = _uv_pip(f"{closed.base_url}/simple/", tmp_path / "t2", tmp_path / "h2", "sr-priv-a")
        assert uv.returncode != 0
        assert "401 Unauthorized" in uv.stdout + uv.stderr, uv.stdout + uv.stderr
        url = _with_credentials(closed, published["read"])
        ok = _pip(url, tmp_path / "t3", tmp_path / "h3", "sr-priv-a")
        assert ok.returncode == 0, ok.stdout + ok.stderr
