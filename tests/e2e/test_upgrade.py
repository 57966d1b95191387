"""An upgrade never strands data (issue 19, item 8).

tests/fixtures/previous-release/ is a data directory written by the previous release's code
(tests/fixtures/make_previous_release.py). The current code migrates a copy of it and serves
it: pip installs what was uploaded, the old API token still uploads, the account signs in
with its password and the authenticator it set up, and the audit chain still verifies.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
import requests

from tests.e2e.clients import build, installed_version, isolated_env, run, write_flit_project
from tests.e2e.server import LiveServer, run_cli, start_server

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "previous-release"
FACTS = json.loads((FIXTURE / "fixture.json").read_text())


def applied_migrations(data_dir: Path) -> set[tuple[str, str]]:
    db = sqlite3.connect(data_dir / "strongroom.sqlite3")
    try:
        return set(db.execute("SELECT app, name FROM django_migrations").fetchall())
    finally:
        db.close()


def current_migrations() -> set[tuple[str, str]]:
    root = Path(__file__).resolve().parents[2] / "src" / "strongroom"
    return {(path.parent.parent.name, path.stem) for path in root.glob("*/migrations/0*.py")}


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A copy of the previous release's data, migrated by this code and served (SQLite)."""
    data_dir = tmp_path_factory.mktemp("upgrade") / "data"
    shutil.copytree(FIXTURE, data_dir, ignore=shutil.ignore_patterns("fixture.json"))
    missing = current_migrations() - applied_migrations(data_dir)
    assert missing, "the fixture already has every migration: it no longer tests an upgrade"
    result = run_cli("migrate", data_dir=data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert current_migrations() <= applied_migrations(data_dir)
    server = start_server(data_dir, workers=2, embedded=True)
    try:
        yield server
    finally:
        server.close()


def test_audit_chain_of_the_previous_release_verifies_after_migrating(
    upgraded: LiveServer,
) -> None:
    result = run_cli("audit", "verify", data_dir=upgraded.data_dir)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_stored_file_is_served_with_its_recorded_hash(upgraded: LiveServer) -> None:
    rows = upgraded.execute_sql("SELECT filename, sha256_digest FROM packages_file")
    assert len(rows) == 2 * len(FACTS["versions"])
    page = requests.get(
        f"{upgraded.base_url}/simple/{FACTS['project']}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=30,
    ).json()
    links = {item["filename"]: item for item in page["files"]}
    assert set(links) == {filename for filename, _digest in rows}
    for filename, digest in rows:
        assert links[filename]["hashes"]["sha256"] == digest
        body = requests.get(
            requests.compat.urljoin(upgraded.base_url + "/", links[filename]["url"]), timeout=30
        ).content
        assert hashlib.sha256(body).hexdigest() == digest


def test_pip_installs_what_the_previous_release_stored(
    upgraded: LiveServer, tmp_path: Path
) -> None:
    module = FACTS["project"].replace("-", "_")
    for requirement, expected in ((FACTS["project"], "1.1"), (f"{FACTS['project']}==1.0", "1.0")):
        target = tmp_path / expected
        run(
            [sys.executable, "-m", "pip", "install", "--no-cache-dir", "--target", str(target),
             "--index-url", f"{upgraded.base_url}/simple/", requirement],
            isolated_env(tmp_path / "home"),
        )  # fmt: skip
        assert installed_version(target, module) == expected


def test_an_api_token_minted_by_the_previous_release_still_uploads(
    upgraded: LiveServer, tmp_path: Path
) -> None:
    env = isolated_env(tmp_path / "home")
    files = build(write_flit_project(tmp_path, FACTS["project"], "1.2"), env)
    run(
        [sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", f"{upgraded.base_url}/legacy/", *map(str, files)],
        dict(env, TWINE_USERNAME="__token__", TWINE_PASSWORD=FACTS["upload_token"]),
    )  # fmt: skip
    versions = upgraded.execute_sql(
        "SELECT r.version FROM packages_release r JOIN packages_project p ON r.project_id = p.id"
    )
    assert ("1.2",) in versions
    # A forged token (the old one with its signature altered) is refused.
    token = FACTS["upload_token"]
    forged = token[:-4] + ("BBBB" if token.endswith("AAAA") else "AAAA")
    refused = requests.post(
        f"{upgraded.base_url}/legacy/",
        data={":action": "file_upload", "name": FACTS["project"], "version": "1.3"},
        auth=("__token__", forged),
        timeout=30,
    )
    assert refused.status_code == 403


def _csrf(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def _sign_in(server: LiveServer, code: str) -> requests.Response:
    """Password, then an authenticator code, as a browser would post them."""
    session = requests.Session()
    login_url = f"{server.base_url}/account/login/"
    form = session.get(login_url, timeout=30)
    step = session.post(
        login_url,
        data={"login": "publisher", "password": FACTS["password"],
              "csrfmiddlewaretoken": _csrf(form.text)},
        headers={"Referer": login_url},
        timeout=30,
    )  # fmt: skip
    assert step.url.endswith("/account/two-factor/"), (step.status_code, step.url)
    return session.post(
        step.url,
        data={"code": code, "csrfmiddlewaretoken": _csrf(step.text)},
        headers={"Referer": step.url},
        timeout=30,
    )


def test_the_account_signs_in_with_the_authenticator_it_set_up_before(
    upgraded: LiveServer,
) -> None:
    wrong = _sign_in(upgraded, pyotp.TOTP(pyotp.random_base32()).now())
    assert wrong.status_code == 400
    assert not wrong.url.endswith("/manage/account/")
    signed_in = _sign_in(upgraded, pyotp.TOTP(FACTS["totp_secret"]).now())
    assert signed_in.status_code == 200, signed_in.text[:500]
    assert signed_in.url.endswith("/manage/account/")
    assert "publisher" in signed_in.text
    # The events written by this code extend the previous release's chain.
    result = run_cli("audit", "verify", data_dir=upgraded.data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
