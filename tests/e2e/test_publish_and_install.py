"""twine uploads; pip and uv install back; yanked versions are skipped unless pinned."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.e2e.clients import (
    PASSWORD,
    build,
    installed_version,
    isolated_env,
    run,
    write_flit_project,
)
from tests.e2e.server import LiveServer

pytestmark = pytest.mark.e2e
NAME = "sr-sample"
MODULE = "sr_sample"


@pytest.fixture(scope="module")
def upload_token(server: LiveServer) -> str:
    """An account-wide API token of the publishing account (projects do not exist yet)."""
    server.create_user("publisher", "publisher@example.org", PASSWORD)
    return server.create_token("publisher", "e2e-upload")


@pytest.fixture(scope="module")
def published(
    server: LiveServer, upload_token: str, tmp_path_factory: pytest.TempPathFactory
) -> LiveServer:
    """Three versions built with python -m build and uploaded with twine."""
    root = tmp_path_factory.mktemp("projects")
    env = isolated_env(root / "home")
    files: list[Path] = []
    for version in ("1.0", "1.1", "2.0"):
        files += build(write_flit_project(root, NAME, version), env)
    assert {f.suffix for f in files} == {".whl", ".gz"}
    twine_env = dict(env, TWINE_USERNAME="__token__", TWINE_PASSWORD=upload_token)
    output = run(
        [sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", f"{server.base_url}/legacy/", *map(str, files)],
        twine_env,
    )  # fmt: skip
    assert "View at" in output or "Uploading" in output
    return server


def pip_install(server: LiveServer, target: Path, requirement: str, home: Path) -> str:
    env = isolated_env(home)
    return run(
        [sys.executable, "-m", "pip", "install", "--no-cache-dir", "--target", str(target),
         "--index-url", f"{server.base_url}/simple/", requirement],
        env,
    )  # fmt: skip


def uv_install(server: LiveServer, target: Path, requirement: str, home: Path) -> str:
    env = isolated_env(home)
    uv = shutil.which("uv") or "uv"
    return run(
        [uv, "pip", "install", "--no-cache", "--python", sys.executable, "--target", str(target),
         "--index-url", f"{server.base_url}/simple/", requirement],
        env,
    )  # fmt: skip


def yank(server: LiveServer, version: str, reason: str) -> None:
    """Yank through the service layer in the server's own database."""
    server.django(
        f"""
        from strongroom.accounts.actors import Actor
        from strongroom.packages.models import Release
        from strongroom.packages.services import yank_release
        release = Release.objects.get(project__normalized_name="{NAME}", version="{version}")
        owner = release.project.roles.get().user
        yank_release(Actor.of(owner), release, "{reason}")
        """
    )


def test_pip_and_uv_install_the_newest_then_skip_a_yanked_release(published, tmp_path):
    pip_install(published, tmp_path / "pip1", NAME, tmp_path / "h")
    assert installed_version(tmp_path / "pip1", MODULE) == "2.0"
    uv_install(published, tmp_path / "uv1", NAME, tmp_path / "h")
    assert installed_version(tmp_path / "uv1", MODULE) == "2.0"

    yank(published, "2.0", "broken build")

    pip_install(published, tmp_path / "pip2", NAME, tmp_path / "h")
    assert installed_version(tmp_path / "pip2", MODULE) == "1.1"
    uv_install(published, tmp_path / "uv2", NAME, tmp_path / "h")
    assert installed_version(tmp_path / "uv2", MODULE) == "1.1"
    # Pinned exactly, a yanked release is still installable (PEP 592).
    pip_install(published, tmp_path / "pip3", f"{NAME}==2.0", tmp_path / "h")
    assert installed_version(tmp_path / "pip3", MODULE) == "2.0"
    uv_install(published, tmp_path / "uv3", f"{NAME}==2.0", tmp_path / "h")
    assert installed_version(tmp_path / "uv3", MODULE) == "2.0"


def test_pip_resolves_from_the_metadata_file_without_fetching_the_wheel(
    published, upload_token, tmp_path
):
    """sr-meta 2.0 needs a package nobody has: pip learns that from 2.0's .metadata file
    alone, backtracks to 1.0, and never downloads the 2.0 wheel."""
    env = isolated_env(tmp_path / "h", TWINE_USERNAME="__token__", TWINE_PASSWORD=upload_token)
    files = build(write_flit_project(tmp_path, "sr-meta", "1.0"), env)
    files += build(write_flit_project(tmp_path, "sr-meta", "2.0", ("sr-absent>=1",)), env)
    run(
        [sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", f"{published.base_url}/legacy/", *map(str, files)],
        env,
    )  # fmt: skip
    before = len(published.access_log())
    pip_install(published, tmp_path / "target", "sr-meta", tmp_path / "h")
    assert installed_version(tmp_path / "target", "sr_meta") == "1.0"
    requests = published.access_log()[before:]
    assert any("sr_meta-2.0-py3-none-any.whl.metadata " in line for line in requests), requests
    assert not any("sr_meta-2.0-py3-none-any.whl " in line for line in requests), requests
    assert not any("sr_meta-2.0.tar.gz " in line for line in requests), requests
    assert any("sr_meta-1.0-py3-none-any.whl " in line for line in requests), requests


def test_twine_refuses_a_second_upload_with_a_clear_message(published, upload_token, tmp_path):
    stored = next(k for k in published.stored_files() if k.endswith(".whl"))
    dist = tmp_path / stored.rsplit("/", 1)[1]
    dist.write_bytes(requests.get(f"{published.base_url}/{stored}", timeout=30).content)
    env = isolated_env(tmp_path / "h", TWINE_USERNAME="__token__", TWINE_PASSWORD=upload_token)
    result = subprocess.run(
        [sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", f"{published.base_url}/legacy/", str(dist)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "File already exists" in result.stdout + result.stderr
