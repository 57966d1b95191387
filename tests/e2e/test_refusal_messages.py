"""A refused upload shows its sentence in every client, on the default server: twine reads
the reason phrase, uv the body, maturin the ``<title>`` of PyPI's error-page shape (it
printed only "Username and/or password are wrong" for every 403 before)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.clients import PASSWORD, build, isolated_env, run, write_flit_project
from tests.e2e.server import LiveServer

pytestmark = pytest.mark.e2e
SENTENCE = "scoped to sr-ref-a and is not valid for sr-ref-b"


@pytest.fixture(scope="module")
def refused(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A token scoped to sr-ref-a, and sr-ref-b's files (which it may not upload)."""
    server.create_user("refused", "refused@example.org", PASSWORD)
    root = tmp_path_factory.mktemp("refusal")
    env = isolated_env(root / "home")
    wide = server.create_token("refused", "bootstrap")
    first = build(write_flit_project(root, "sr-ref-a", "1.0"), env)
    twine = [sys.executable, "-m", "twine", "upload", "--non-interactive"]
    run([*twine, "--repository-url", f"{server.base_url}/legacy/", *map(str, first)],
        dict(env, TWINE_USERNAME="__token__", TWINE_PASSWORD=wide))  # fmt: skip
    files = build(write_flit_project(root, "sr-ref-b", "1.0"), env)
    return {"env": env, "files": files, "token": server.create_token("refused", "a", "sr-ref-a")}


def _run(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode != 0, result.stdout + result.stderr
    # uv wraps long lines to the terminal width: compare words, not line breaks.
    return " ".join((result.stdout + result.stderr).split())


def test_maturin_shows_the_refusal_sentence(server: LiveServer, refused: dict[str, Any]) -> None:
    maturin = shutil.which("maturin") or str(Path(sys.executable).parent / "maturin")
    wheel = [f for f in refused["files"] if f.name.endswith(".whl")]
    output = _run(
        [maturin, "upload", "--non-interactive", "--repository-url",
         f"{server.base_url}/legacy/", "--username", "__token__",
         "--password", refused["token"], *map(str, wheel)],
        refused["env"],
    )  # fmt: skip
    assert f"403 This API token is {SENTENCE}." in output, output
    assert "Username and/or password are wrong" not in output


def test_twine_shows_the_refusal_sentence(server: LiveServer, refused: dict[str, Any]) -> None:
    output = _run(
        [sys.executable, "-m", "twine", "upload", "--non-interactive",
         "--disable-progress-bar", "--repository-url", f"{server.base_url}/legacy/",
         *map(str, refused["files"])],
        dict(refused["env"], TWINE_USERNAME="__token__", TWINE_PASSWORD=refused["token"]),
    )  # fmt: skip
    assert SENTENCE in output, output


def test_uv_shows_the_refusal_sentence_first(server: LiveServer, refused: dict[str, Any]) -> None:
    uv = shutil.which("uv") or "uv"
    output = _run(
        [uv, "publish", "--publish-url", f"{server.base_url}/legacy/",
         "--username", "__token__", "--password", refused["token"],
         *map(str, refused["files"])],
        refused["env"],
    )  # fmt: skip
    assert f"Server says: This API token is {SENTENCE}." in output, output
