"""Issue 2, item 2: the ``strongroom`` command, run as a real subprocess."""

from __future__ import annotations

import sqlite3
import stat
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.server import run_cli, running_server, start_server

pytestmark = pytest.mark.e2e

PASSWORD = "a-long-unusual-pass-97"


@pytest.mark.parametrize("app_server", ["gunicorn", "granian"])
def test_serve_sets_up_the_data_dir_and_stops_cleanly_on_ctrl_c(
    tmp_path: Path, app_server: str
) -> None:
    data = tmp_path / "data"
    # This test is about the data dir: embedded whatever the run's configuration.
    # Fresh: serve itself applies the first migration.
    server = start_server(data, embedded=True, app_server=app_server, fresh=True)
    try:
        log = server.log_text()
        port = server.base_url.rsplit(":", 1)[1]
        # localhost, not 127.0.0.1: browsers refuse security keys on an IP address.
        assert f"Strongroom is running at http://localhost:{port}/" in log
        assert f"links in emails use http://localhost:{port}/" in log
        key = data / "secret_key"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        first_key = key.read_text()
        db = data / "strongroom.sqlite3"
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            applied = {
                (app, name) for app, name in conn.execute("SELECT app, name FROM django_migrations")
            }
        assert ("accounts", "0001_initial") in applied  # migrations ran on start
        # /simple/ rendered before the workers started, not by a first reader's request.
        assert "Rendered /simple/ (all projects) in " in log
        assert conn.execute("SELECT count(*) FROM index_simpleindex").fetchone()[0] == 1
        assert ("events", "0001_initial") in applied
        with urllib.request.urlopen(server.base_url + "/static/strongroom/site.css") as response:
            assert response.status == 200  # WhiteNoise serves static files
            assert "text/css" in response.headers["Content-Type"]
    finally:
        code = server.stop()
    assert code == 0, server.log_text()
    assert "Traceback" not in server.log_text()

    # A restart keeps the same key: sessions and signed links survive restarts.
    with running_server(data, embedded=True) as again:
        assert "Rendered /simple/" not in again.log_text()  # the stored root is current
    assert (data / "secret_key").read_text() == first_key
    assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600


def test_user_create_makes_an_account_that_can_log_in(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = run_cli(
        "user",
        "create",
        "--username",
        "carol",
        "--email",
        "carol@example.org",
        "--verified",
        "--password-stdin",
        data_dir=data,
        stdin=PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert "Created user carol (carol@example.org)." in result.stdout
    with sqlite3.connect(data / "strongroom.sqlite3") as conn:
        username, password_hash, staff = conn.execute(
            "SELECT username, password, is_staff FROM accounts_user"
        ).fetchone()
        verified = conn.execute("SELECT verified FROM accounts_email").fetchone()[0]
    assert username == "carol" and not staff and verified
    assert password_hash.startswith("argon2$argon2id$")


def test_user_create_without_verified_mails_a_link(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = run_cli(
        "user", "create", "--username", "dan", "--email", "dan@example.org",
        "--password-stdin", data_dir=data, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "not verified" in result.stdout
    (eml,) = (data / "outbox").glob("*.eml")
    assert "verify-email/?token=" in eml.read_text()


def test_createadmin_makes_a_staff_account(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = run_cli(
        "createadmin", "--username", "root1", "--email", "root@example.org",
        "--password-stdin", data_dir=data, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Created administrator root1" in result.stdout
    with sqlite3.connect(data / "strongroom.sqlite3") as conn:
        assert conn.execute("SELECT is_staff, is_superuser FROM accounts_user").fetchone() == (
            1,
            1,
        )


@pytest.fixture(scope="module")
def carol_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("carol") / "data"
    first = run_cli(
        "user", "create", "--username", "carol", "--email", "carol@example.org",
        "--verified", "--password-stdin", data_dir=data, stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    return data


@pytest.mark.parametrize(
    ("username", "email", "password", "message"),
    [
        ("CAROL", "other@example.org", PASSWORD, "already taken"),
        ("someone", "Carol@Example.org", PASSWORD, "already in use"),
        ("c\u200barol", "x@example.org", PASSWORD, "invisible characters"),
        ("\u0441arol", "x@example.org", PASSWORD, "may use only the letters"),
        ("someone", "x@example.org", "short", "too short"),
        ("someone", "x@example.org", "password123", "too common"),
        ("someone", "someone.else@example.org", "someone.else@example.org", "too similar"),
        ("someone", "not-an-email", PASSWORD, "valid email"),
    ],
)
def test_user_create_refuses_bad_input_with_a_message(
    carol_data_dir: Path, username: str, email: str, password: str, message: str
) -> None:
    data = carol_data_dir
    result = run_cli(
        "user", "create", "--username", username, "--email", email,
        "--password-stdin", data_dir=data, stdin=password + "\n",
    )  # fmt: skip
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("piped", ["", "a-long-unusual-pass-97\n"])
def test_createadmin_without_a_terminal_or_password_stdin_says_how(
    tmp_path: Path, piped: str
) -> None:
    """Issue 21, item 17: no traceback, a sentence naming --password-stdin, exit 2; and a
    password piped in without the flag is not read behind the user's back."""
    data = tmp_path / "data"
    result = run_cli(
        "createadmin", "--username", "root2", "--email", "root2@example.org",
        data_dir=data, stdin=piped,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "--password-stdin" in result.stderr and "no terminal" in result.stderr
    with sqlite3.connect(data / "strongroom.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM accounts_user").fetchone()[0] == 0
