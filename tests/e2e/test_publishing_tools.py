"""flit publish, uv publish and poetry publish each upload to /legacy/; twine, flit, hatch,
pdm, uv and poetry each show the sentence of a refused upload, on the default server."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.clients import PASSWORD, build, isolated_env, run, write_flit_project
from tests.e2e.server import LiveServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def account(server: LiveServer) -> LiveServer:
    server.create_user("tools", "tools@example.org", PASSWORD)
    return server


@pytest.fixture(scope="module")
def token(account: LiveServer) -> str:
    """Every tool uploads the way the index requires by default: with an API token."""
    return account.create_token("tools", "publishing-tools")


def release_files(server: LiveServer, name: str, version: str) -> list[str]:
    with urllib.request.urlopen(f"{server.base_url}/pypi/{name}/{version}/json") as response:
        return sorted(f["filename"] for f in json.load(response)["urls"])


def test_flit_publish(account, token, tmp_path):
    project = write_flit_project(tmp_path, "sr-flit", "0.1")
    env = isolated_env(
        tmp_path / "h",
        FLIT_INDEX_URL=f"{account.base_url}/legacy/",
        FLIT_USERNAME="__token__",
        FLIT_PASSWORD=token,
    )
    run([shutil.which("flit") or "flit", "publish"], env, project)
    assert release_files(account, "sr-flit", "0.1") == [
        "sr_flit-0.1-py3-none-any.whl",
        "sr_flit-0.1.tar.gz",
    ]


def test_uv_publish(account, token, tmp_path):
    env = isolated_env(tmp_path / "h")
    files = build(write_flit_project(tmp_path, "sr-uv", "0.2"), env)
    run(
        [shutil.which("uv") or "uv", "publish", "--publish-url", f"{account.base_url}/legacy/",
         "--username", "__token__", "--password", token, *map(str, files)],
        env,
    )  # fmt: skip
    assert release_files(account, "sr-uv", "0.2") == [
        "sr_uv-0.2-py3-none-any.whl",
        "sr_uv-0.2.tar.gz",
    ]


def test_poetry_publish(account, token, tmp_path: Path):
    project = tmp_path / "sr-poetry"
    (project / "sr_poetry").mkdir(parents=True)
    (project / "sr_poetry" / "__init__.py").write_text('__version__ = "0.3"\n')
    (project / "README.md").write_text("# sr-poetry\n")
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "sr-poetry"
            version = "0.3"
            description = "Published with poetry"
            readme = "README.md"
            requires-python = ">=3.9"

            [tool.poetry]
            packages = [{ include = "sr_poetry" }]

            [build-system]
            requires = ["poetry-core>=2.0"]
            build-backend = "poetry.core.masonry.api"
            """
        )
    )
    env = isolated_env(
        tmp_path / "h",
        POETRY_REPOSITORIES_STRONGROOM_URL=f"{account.base_url}/legacy/",
        POETRY_HTTP_BASIC_STRONGROOM_USERNAME="__token__",
        POETRY_HTTP_BASIC_STRONGROOM_PASSWORD=token,
    )
    poetry = shutil.which("poetry") or "poetry"
    run(
        [poetry, "publish", "--build", "--repository", "strongroom", "--no-interaction"],
        env,
        project,
    )
    assert release_files(account, "sr-poetry", "0.3") == [
        "sr_poetry-0.3-py3-none-any.whl",
        "sr_poetry-0.3.tar.gz",
    ]


# Refused uploads: each tool shows why (issue 20, item 3). The server is the default one
# (the module's `server` fixture runs `strongroom serve` without --server). twine, flit,
# hatch and pdm print only the status line's reason phrase; uv prints the body; poetry
# prints both.
REFUSAL = "Uploading with a password is not allowed"


@pytest.fixture(scope="module")
def refused_dist(account: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built project (wheel and sdist in dist/) that every tool tries to upload."""
    root = tmp_path_factory.mktemp("refused")
    project = write_flit_project(root, "sr-refused", "1.0")
    build(project, isolated_env(root / "h"))
    return project


def _refused_command(
    tool: str, url: str, project: Path, home: Path
) -> tuple[list[str], dict[str, str], Path]:
    files = [str(f) for f in sorted((project / "dist").iterdir())]
    env = isolated_env(home)
    if tool == "twine":
        env.update(TWINE_USERNAME="tools", TWINE_PASSWORD=PASSWORD)
        command = [sys.executable, "-m", "twine", "upload", "--non-interactive",
                   "--disable-progress-bar", "--repository-url", url, *files]  # fmt: skip
    elif tool == "flit":
        env.update(FLIT_INDEX_URL=url, FLIT_USERNAME="tools", FLIT_PASSWORD=PASSWORD)
        command = [shutil.which("flit") or "flit", "publish"]
    elif tool == "hatch":
        command = [shutil.which("hatch") or "hatch", "publish", "--repo", url, "--user",
                   "tools", "--auth", PASSWORD, "--no-prompt", *files]  # fmt: skip
    elif tool == "pdm":
        env.update(PDM_CHECK_UPDATE="false", PDM_IGNORE_SAVED_PYTHON="1", PDM_USE_VENV="false")
        command = [shutil.which("pdm") or "pdm", "publish", "--no-build", "--repository", url,
                   "--username", "tools", "--password", PASSWORD]  # fmt: skip
    elif tool == "uv":
        command = [shutil.which("uv") or "uv", "publish", "--publish-url", url,
                   "--username", "tools", "--password", PASSWORD, *files]  # fmt: skip
    else:
        raise ValueError(tool)
    return command, env, project


@pytest.mark.parametrize("tool", ["twine", "flit", "hatch", "pdm", "uv"])
def test_refused_upload_shows_the_sentence(
    account: LiveServer, refused_dist: Path, tool: str, tmp_path: Path
) -> None:
    command, env, cwd = _refused_command(
        tool, f"{account.base_url}/legacy/", refused_dist, tmp_path / "h"
    )
    result = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert REFUSAL in " ".join(output.split()), output
    assert release_files_or_none(account, "sr-refused") is None


def test_refused_poetry_upload_shows_the_sentence(account: LiveServer, tmp_path: Path) -> None:
    project = tmp_path / "sr-poetry-refused"
    (project / "sr_poetry_refused").mkdir(parents=True)
    (project / "sr_poetry_refused" / "__init__.py").write_text('__version__ = "1.0"\n')
    (project / "README.md").write_text("# sr-poetry-refused\n")
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "sr-poetry-refused"
            version = "1.0"
            description = "Refused with poetry"
            readme = "README.md"
            requires-python = ">=3.9"

            [tool.poetry]
            packages = [{ include = "sr_poetry_refused" }]

            [build-system]
            requires = ["poetry-core>=2.0"]
            build-backend = "poetry.core.masonry.api"
            """
        )
    )
    env = isolated_env(
        tmp_path / "h",
        POETRY_REPOSITORIES_STRONGROOM_URL=f"{account.base_url}/legacy/",
        POETRY_HTTP_BASIC_STRONGROOM_USERNAME="tools",
        POETRY_HTTP_BASIC_STRONGROOM_PASSWORD=PASSWORD,
    )
    result = subprocess.run(
        [shutil.which("poetry") or "poetry", "publish", "--build", "--repository",
         "strongroom", "--no-interaction"],
        env=env, cwd=project, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert REFUSAL in " ".join(output.split()), output
    assert release_files_or_none(account, "sr-poetry-refused") is None


def release_files_or_none(server: LiveServer, name: str) -> list[str] | None:
    try:
        with urllib.request.urlopen(f"{server.base_url}/pypi/{name}/json") as response:
            return sorted(f["filename"] for f in json.load(response)["urls"])
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise
