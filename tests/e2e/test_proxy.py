"""One index URL through the proxy, with real pip, uv and twine against a real
``strongroom serve`` whose upstream is a second local index (tests/proxy/upstream_server):
dependencies only upstream resolve, files land in the cache and install again with the
upstream stopped; dependency confusion, reserved prefixes and the cooldown hold."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
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
from tests.e2e.server import LiveServer, run_cli, running_server
from tests.proxy.upstream_server import UpstreamFile, UpstreamServer

pytestmark = pytest.mark.e2e
YOUNG = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _wheel_entry(wheel: Path, upload_time: str) -> UpstreamFile:
    with zipfile.ZipFile(wheel) as archive:
        [member] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = archive.read(member)
    return UpstreamFile(wheel.name, wheel.read_bytes(), upload_time=upload_time,
                        metadata=metadata)  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real flit wheels for the upstream (and a local acme-utils 1.0 to upload)."""
    root = tmp_path_factory.mktemp("proxy-projects")
    env = isolated_env(root / "home")
    wanted = [
        ("up-lib", "1.0", ()),
        ("up-extra", "1.0", ("up-lib>=1",)),
        ("up-app", "1.0", ("up-lib>=1", "up-extra")),
        ("acme-utils", "99.0", ()),
        ("acme-utils", "1.0", ()),
        ("acme-newthing", "1.0", ()),
        ("up-fresh", "1.0", ()),
        ("up-fresh", "2.0", ()),
        ("up-solo", "1.0", ()),
    ]
    found: dict[str, Path] = {}
    for name, version, deps in wanted:
        for path in build(write_flit_project(root, name, version, deps), env):
            if path.suffix == ".whl":
                found[f"{name}=={version}"] = path
    return found


@pytest.fixture(scope="module")
def upstream(built: dict[str, Path]) -> Iterator[UpstreamServer]:
    server = UpstreamServer()
    for key, wheel in built.items():
        if key == "acme-utils==1.0":
            continue  # the local one
        name = key.split("==")[0]
        young = key == "up-fresh==2.0"
        entry = _wheel_entry(wheel, YOUNG if young else "2020-01-01T00:00:00Z")
        server.state.projects.setdefault(name, []).append(entry)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxy(
    upstream: UpstreamServer, built: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    env = {
        "STRONGROOM_UPSTREAM_URL": upstream.state.url,
        "STRONGROOM_UPSTREAM_MAX_AGE": "0",  # revalidate every time: proves stale-if-error
        "STRONGROOM_UPSTREAM_COOLDOWN": "3d",
        "STRONGROOM_UPSTREAM_TIMEOUT": "3",
    }
    data = tmp_path_factory.mktemp("proxy-e2e") / "data"
    with running_server(data, extra_env=env) as server:
        server.create_user("publisher", "publisher@example.org", PASSWORD)
        token = server.create_token("publisher", "e2e")
        home = data.parent / "home"
        twine_env = isolated_env(home, TWINE_USERNAME="__token__", TWINE_PASSWORD=token)
        run([sys.executable, "-m", "twine", "upload", "--non-interactive",
             "--disable-progress-bar", "--repository-url", f"{server.base_url}/legacy/",
             str(built["acme-utils==1.0"])], twine_env)  # fmt: skip
        yield server


def pip_install(server: LiveServer, target: Path, requirement: str, home: Path) -> str:
    return run(
        [sys.executable, "-m", "pip", "install", "--no-cache-dir", "--target", str(target),
         "--index-url", f"{server.base_url}/simple/", requirement],
        isolated_env(home),
    )  # fmt: skip


def uv_install(server: LiveServer, target: Path, requirement: str, home: Path) -> str:
    uv = shutil.which("uv") or "uv"
    return run(
        [uv, "pip", "install", "--no-cache", "--python", sys.executable, "--target", str(target),
         "--index-url", f"{server.base_url}/simple/", requirement],
        isolated_env(home),
    )  # fmt: skip


def cached(server: LiveServer) -> list[str]:
    return [p for p in server.stored_files() if p.startswith("upstream/")]


def test_pip_and_uv_resolve_dependencies_that_exist_only_upstream(proxy, tmp_path):  # type: ignore[no-untyped-def]
    pip_install(proxy, tmp_path / "pip", "up-app", tmp_path / "h")
    for module in ("up_app", "up_lib", "up_extra"):
        assert installed_version(tmp_path / "pip", module) == "1.0"
    uv_install(proxy, tmp_path / "uv", "up-app", tmp_path / "h")
    for module in ("up_app", "up_lib", "up_extra"):
        assert installed_version(tmp_path / "uv", module) == "1.0"
    names = {path.rsplit("/", 1)[-1] for path in cached(proxy)}
    assert {"up_app-1.0-py3-none-any.whl", "up_lib-1.0-py3-none-any.whl",
            "up_extra-1.0-py3-none-any.whl"} <= names  # fmt: skip


def test_dependency_confusion_local_name_wins(proxy, tmp_path):  # type: ignore[no-untyped-def]
    pip_install(proxy, tmp_path / "pip", "acme-utils", tmp_path / "h")
    assert installed_version(tmp_path / "pip", "acme_utils") == "1.0"
    uv_install(proxy, tmp_path / "uv", "acme-utils", tmp_path / "h")
    assert installed_version(tmp_path / "uv", "acme_utils") == "1.0"
    page = requests.get(f"{proxy.base_url}/simple/acme-utils/", timeout=10).text
    assert "99.0" not in page


def test_reserved_prefix_is_not_proxied_and_refuses_a_non_holder(proxy, built, tmp_path):  # type: ignore[no-untyped-def]
    proxy.django(
        """
        from strongroom.orgs.models import Organization
        Organization.objects.create(name="Acme", normalized_name="acme")
        """
    )
    result = run_cli("namespace", "reserve", "--prefix", "acme-", "--owner", "Acme",
                     data_dir=proxy.data_dir, env=proxy.env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert requests.get(f"{proxy.base_url}/simple/acme-newthing/", timeout=10).status_code == 404
    token = proxy.create_token("publisher", "e2e-reserved")
    env = isolated_env(tmp_path / "h", TWINE_USERNAME="__token__", TWINE_PASSWORD=token)
    upload = subprocess.run(
        [sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", f"{proxy.base_url}/legacy/", str(built["acme-newthing==1.0"])],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert upload.returncode != 0
    output = upload.stdout + upload.stderr
    assert "409" in output and "reserved" in output


def test_cooldown_holds_a_young_release_until_allowed(proxy, tmp_path):  # type: ignore[no-untyped-def]
    pip_install(proxy, tmp_path / "pip1", "up-fresh", tmp_path / "h")
    assert installed_version(tmp_path / "pip1", "up_fresh") == "1.0"
    result = run_cli("proxy", "allow", "--project", "up-fresh", "--version", "2.0",
                     data_dir=proxy.data_dir, env=proxy.env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    pip_install(proxy, tmp_path / "pip2", "up-fresh", tmp_path / "h")
    assert installed_version(tmp_path / "pip2", "up_fresh") == "2.0"
    uv_install(proxy, tmp_path / "uv", "up-fresh", tmp_path / "h")
    assert installed_version(tmp_path / "uv", "up_fresh") == "2.0"


def test_allow_shadow_lets_a_fork_take_an_upstream_name(proxy, built, tmp_path):  # type: ignore[no-untyped-def]
    result = run_cli("proxy", "allow-shadow", "--project", "up-lib",
                     data_dir=proxy.data_dir, env=proxy.env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    tags = proxy.django(
        "from strongroom.events.models import Event\n"
        "print(Event.objects.filter(tag='proxy:shadow:allow').count())"
    )
    assert tags.strip() == "1"


def test_concurrent_first_downloads_across_workers_fetch_once(proxy, upstream):  # type: ignore[no-untyped-def]
    """Two worker processes, eight clients at once, one file never fetched: one GET
    upstream, every client gets the whole verified file."""
    accept = {"Accept": "application/vnd.pypi.simple.v1+json"}
    page = requests.get(f"{proxy.base_url}/simple/up-solo/", headers=accept, timeout=30)
    [entry] = page.json()["files"]
    upstream.state.delay = 1.0
    try:
        with ThreadPoolExecutor(8) as pool:
            bodies = list(pool.map(
                lambda _: requests.get(proxy.base_url + entry["url"], timeout=60).content,
                range(8),
            ))  # fmt: skip
    finally:
        upstream.state.delay = 0.0
    assert {hashlib.sha256(b).hexdigest() for b in bodies} == {entry["hashes"]["sha256"]}
    gets = [p for p, _ in upstream.state.requests if p == f"/files/{entry['filename']}"]
    assert len(gets) == 1


def test_zz_second_install_succeeds_with_the_upstream_stopped(proxy, upstream, tmp_path):  # type: ignore[no-untyped-def]
    """Last in the module: it stops the upstream."""
    pip_install(proxy, tmp_path / "warm", "up-app", tmp_path / "h")
    upstream.stop()
    pip_install(proxy, tmp_path / "pip", "up-app", tmp_path / "h")
    assert installed_version(tmp_path / "pip", "up_app") == "1.0"
    uv_install(proxy, tmp_path / "uv", "up-app", tmp_path / "h")
    assert installed_version(tmp_path / "uv", "up_extra") == "1.0"
    never_seen = requests.get(f"{proxy.base_url}/simple/never-seen/", timeout=30)
    assert never_seen.status_code == 503
    assert f"127.0.0.1:{upstream.state.port}" in never_seen.text
    assert "Traceback" not in proxy.log_text()
    purged = run_cli("proxy", "purge", data_dir=proxy.data_dir, env=proxy.env)
    assert purged.returncode == 0 and "purged" in purged.stdout, purged.stderr
    assert cached(proxy) == []
    gone = requests.get(f"{proxy.base_url}/simple/up-app/", timeout=30)
    assert gone.status_code == 503  # nothing cached any more, the upstream still down
