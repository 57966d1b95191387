"""PEP 792 end to end: twine, pip and uv against a real server while a project is
archived (installable, uploads refused with the reason twine prints) and quarantined (not
installable, not listed, files kept), with the status fields of the JSON and HTML pages
checked against the specification."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.clients import (
    PASSWORD,
    build,
    installed_version,
    isolated_env,
    write_flit_project,
)
from tests.e2e.listing import index_when, names
from tests.e2e.server import LiveServer, run_cli
from tests.e2e.test_publish_and_install import pip_install, uv_install

pytestmark = pytest.mark.e2e
NAME = "sr-status"
MODULE = "sr_status"
JSON = "application/vnd.pypi.simple.v1+json"
STATUSES = {"active", "archived", "quarantined", "deprecated"}


def validate_pep_792_json(page: dict[str, Any]) -> dict[str, str]:
    """The project page's status as PEP 792 (and the simple API spec) define it: an
    api-version of at least 1.4 and, when present, a ``project-status`` object with a
    known ``status`` string and an optional ``reason`` string, and nothing else."""
    major, minor = (int(part) for part in page["meta"]["api-version"].split("."))
    assert (major, minor) >= (1, 4), page["meta"]
    status = page.get("project-status", {"status": "active"})
    assert isinstance(status, dict) and set(status) <= {"status", "reason"}, status
    assert status["status"] in STATUSES, status
    assert isinstance(status.get("reason", ""), str)
    return status


def _set_status(server: LiveServer, call: str) -> None:
    server.django(
        f"""
        from strongroom.accounts.actors import Actor
        from strongroom.accounts.models import User
        from strongroom.packages import lifecycle
        from strongroom.packages.models import Project
        project = Project.objects.get(normalized_name="{NAME}")
        owner = Actor.of(User.objects.get(username="archivist"))
        staff = Actor.operator()
        lifecycle.{call}
        """
    )


def _twine(server: LiveServer, token: str, files: list[Path], env: dict[str, str]) -> Any:
    twine_env = dict(env, TWINE_USERNAME="__token__", TWINE_PASSWORD=token)
    return subprocess.run(
        [sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", f"{server.base_url}/legacy/", *map(str, files)],
        env=twine_env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _json_page(server: LiveServer) -> dict[str, Any]:
    response = requests.get(
        f"{server.base_url}/simple/{NAME}/", headers={"Accept": JSON}, timeout=30
    )
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_archived_installs_and_refuses_uploads_quarantined_does_not_install(
    server: LiveServer, tmp_path: Path
) -> None:
    server.create_user("archivist", "archivist@example.org", PASSWORD)
    token = server.create_token("archivist", "status")
    env = isolated_env(tmp_path / "home")
    first = build(write_flit_project(tmp_path, NAME, "1.0"), env)
    second = build(write_flit_project(tmp_path, NAME, "1.1"), env)
    assert _twine(server, token, first, env).returncode == 0
    assert validate_pep_792_json(_json_page(server)) == {"status": "active"}

    # Archived: installable by pip and uv, uploads refused with a sentence twine prints.
    _set_status(server, 'archive_project(owner, project, "Superseded by sr-status2")')
    page = _json_page(server)
    assert validate_pep_792_json(page) == {
        "status": "archived",
        "reason": "Superseded by sr-status2",
    }
    assert len(page["files"]) == 2
    html = requests.get(f"{server.base_url}/simple/{NAME}/", timeout=30).text
    assert '<meta name="pypi:project-status" content="archived">' in html
    assert '<meta name="pypi:project-status-reason" content="Superseded by sr-status2">' in html
    pip_install(server, tmp_path / "pip-archived", NAME, tmp_path / "h")
    assert installed_version(tmp_path / "pip-archived", MODULE) == "1.0"
    uv_install(server, tmp_path / "uv-archived", NAME, tmp_path / "h")
    assert installed_version(tmp_path / "uv-archived", MODULE) == "1.0"
    refused = _twine(server, token, second, env)
    assert refused.returncode != 0
    printed = refused.stdout + refused.stderr
    assert "400" in printed and "is archived: it takes no new uploads" in printed, printed
    assert len(_json_page(server)["files"]) == 2

    # Quarantined: not listed, no file offered, pip and uv cannot install it; files kept.
    _set_status(server, "unarchive_project(owner, project)")
    _set_status(server, 'quarantine_project(staff, project, "Malware: steals tokens")')
    page = _json_page(server)
    assert validate_pep_792_json(page) == {
        "status": "quarantined",
        "reason": "Malware: steals tokens",
    }
    assert page["files"] == []
    index_when(server.base_url, lambda index: NAME not in names(index))
    for install in (pip_install, uv_install):
        with pytest.raises(AssertionError) as failed:
            install(server, tmp_path / f"{install.__name__}-q", NAME, tmp_path / "h")
        assert not (tmp_path / f"{install.__name__}-q" / MODULE).exists()
        assert NAME in str(failed.value) or MODULE in str(failed.value)
    stored = [p for p in server.stored_files() if p.endswith((".whl", ".tar.gz"))]
    assert len(stored) == 2
    file_url = "/" + next(p for p in stored if p.endswith(".whl"))
    assert requests.get(server.base_url + file_url, timeout=30).status_code == 404
    refused = _twine(server, token, second, env)
    assert "is quarantined" in refused.stdout + refused.stderr

    # Released: everything is back.
    _set_status(server, "release_project(staff, project)")
    assert validate_pep_792_json(_json_page(server)) == {"status": "active"}
    pip_install(server, tmp_path / "pip-released", NAME, tmp_path / "h")
    assert installed_version(tmp_path / "pip-released", MODULE) == "1.0"
    assert requests.get(server.base_url + file_url, timeout=30).status_code == 200

    # Each change was one audit event, and the chain verifies.
    tags = [
        row[0]
        for row in server.execute_sql(
            "SELECT tag FROM events_event WHERE tag LIKE 'project:status:%' ORDER BY sequence"
        )
    ]
    assert tags == [
        "project:status:archive",
        "project:status:unarchive",
        "project:status:quarantine",
        "project:status:release",
    ]
    audit = run_cli("audit", "verify", data_dir=server.data_dir, env=server.env)
    assert audit.returncode == 0, audit.stdout + audit.stderr
