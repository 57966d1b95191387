"""flit publish, uv publish and poetry publish each upload to /legacy/."""

from __future__ import annotations

import json
import shutil
import textwrap
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
