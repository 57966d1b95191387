"""A real hatchling sdist (Metadata-Version 2.1 carrying License-File) uploads with twine
and uv, as it does to PyPI; its name/version checks still hold."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.clients import PASSWORD, isolated_env
from tests.e2e.server import LiveServer

pytestmark = pytest.mark.e2e

ASSET = Path(__file__).parents[1] / "publishing" / "assets" / "pypi_attestations-0.0.19.tar.gz"


def _upload(tool: str, server: LiveServer, path: Path, token: str, home: Path):
    env = isolated_env(home)
    url = f"{server.base_url}/legacy/"
    if tool == "twine":
        args = [
            sys.executable,
            "-m",
            "twine",
            "upload",
            "--non-interactive",
            "--disable-progress-bar",
            "--repository-url",
            url,
            str(path),
        ]
        env.update(TWINE_USERNAME="__token__", TWINE_PASSWORD=token)
    else:
        uv = shutil.which("uv")
        if uv is None:
            pytest.skip("uv is not installed")
        args = [
            uv,
            "publish",
            "--publish-url",
            url,
            "--username",
            "__token__",
            "--password",
            token,
            str(path),
        ]
    return subprocess.run(
        args, env=env, capture_output=True, text=True, timeout=300, check=False
    )  # fmt: skip


@pytest.mark.parametrize("tool", ["twine", "uv"])
def test_hatchling_sdist_with_license_file_uploads(
    strongroom_server: LiveServer, tool: str, tmp_path: Path
) -> None:
    """The real asset, unchanged, on a fresh server per client."""
    server = strongroom_server
    server.create_user("licowner", "licowner@example.org", PASSWORD)
    token = server.create_token("licowner", "lic")
    result = _upload(tool, server, ASSET, token, tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    page = subprocess.run(
        [sys.executable, "-c", "import sys,urllib.request;"
         f"print(urllib.request.urlopen('{server.base_url}/simple/pypi-attestations/').read().decode())"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "pypi_attestations-0.0.19.tar.gz" in page
