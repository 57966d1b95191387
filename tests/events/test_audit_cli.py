"""`strongroom audit verify|purge|export` against a real data dir, and concurrent writers."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.e2e.server import cli_env, run_cli

pytestmark = pytest.mark.e2e

PASSWORD = "correct-horse-battery-staple-42"


def _user(data_dir: Path, name: str) -> None:
    result = run_cli(
        "user",
        "create",
        "--username",
        name,
        "--email",
        f"{name}@example.org",
        "--verified",
        "--password-stdin",
        data_dir=data_dir,
        stdin=PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr


def test_verify_names_the_row_edited_in_the_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _user(data, "carol")
    _user(data, "dave")
    ok = run_cli("audit", "verify", data_dir=data)
    assert ok.returncode == 0, ok.stderr
    assert "2 events verified" in ok.stdout

    with sqlite3.connect(data / "strongroom.sqlite3") as db:
        (target,) = db.execute("SELECT id FROM events_event ORDER BY sequence DESC").fetchone()
        db.execute("UPDATE events_event SET extra = ? WHERE id = ?", ['{"staff": true}', target])
    broken = run_cli("audit", "verify", data_dir=data)
    assert broken.returncode == 1
    assert f"event {target} (#2, account:create) was altered" in broken.stderr


def test_export_prints_json_lines_oldest_first_and_since_filters(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _user(data, "erin")
    _user(data, "frank")
    result = run_cli("audit", "export", data_dir=data)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["tag"] for r in records] == ["account:create", "account:create"]
    assert [r["user"]["username"] for r in records] == ["erin", "frank"]
    assert records[1]["prev_hash"] == records[0]["hash"]
    later = run_cli("audit", "export", "--since", "2999-01-01", data_dir=data)
    assert later.returncode == 0 and later.stdout == ""
    bad = run_cli("audit", "export", "--since", "yesterday", data_dir=data)
    assert bad.returncode == 2 and "not a date" in bad.stderr


def test_purge_uses_the_retention_setting_and_the_chain_still_verifies(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _user(data, "gina")
    _user(data, "hank")
    with sqlite3.connect(data / "strongroom.sqlite3") as db:
        db.execute("UPDATE events_event SET created = '2001-01-01 00:00:00' WHERE sequence = 1")
    kept = run_cli(
        "audit", "purge", data_dir=data, env=cli_env(STRONGROOM_AUDIT_RETENTION_DAYS="99999")
    )
    assert "Removed 0" in kept.stdout
    purged = run_cli("audit", "purge", data_dir=data)
    assert purged.returncode == 0 and "Removed 1 audit events older than 730 days" in purged.stdout
    verified = run_cli("audit", "verify", data_dir=data)
    assert verified.returncode == 0, verified.stderr
    assert "1 events verified" in verified.stdout


WRITER = textwrap.dedent(
    """
    import os, sys
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "strongroom.settings")
    import django
    django.setup()
    from django.db import transaction
    from strongroom.events.services import record_event
    from strongroom.events.tags import EventTag
    for i in range(int(sys.argv[1])):
        with transaction.atomic():
            record_event(EventTag.ACCOUNT_LOGIN_FAILURE, ip="192.0.2.1",
                         extra={"writer": sys.argv[2], "n": i})
    """
)


def test_concurrent_writer_processes_keep_one_unbroken_chain_on_sqlite(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_cli("migrate", data_dir=data).returncode == 0
    env = cli_env(STRONGROOM_DATA_DIR=str(data))
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, "40", str(n)], env=env) for n in range(4)
    ]
    assert all(w.wait(timeout=120) == 0 for w in writers)
    result = run_cli("audit", "verify", data_dir=data)
    assert result.returncode == 0, result.stderr
    assert "160 events verified" in result.stdout


def test_rotating_the_secret_key_keeps_the_chain_verifiable_and_rekey_retires_the_old(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    old, new = "old-cli-secret-" * 4, "new-cli-secret-" * 4
    before = cli_env(STRONGROOM_SECRET_KEY=old)
    rotated = cli_env(STRONGROOM_SECRET_KEY=new, STRONGROOM_SECRET_KEY_FALLBACKS=old)
    alone = cli_env(STRONGROOM_SECRET_KEY=new)
    _user(data, "erin")  # written under the generated key: not ours to verify later
    (data / "secret_key").unlink()
    with sqlite3.connect(data / "strongroom.sqlite3") as db:
        db.execute("DELETE FROM events_event")
        db.execute("DELETE FROM events_chainhead")
    stdin = PASSWORD + "\n"
    for name, env in (("frank", before), ("grace", rotated)):
        made = run_cli(
            "user", "create", "--username", name, "--email", f"{name}@example.org",
            "--verified", "--password-stdin", data_dir=data, stdin=stdin, env=env,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
    assert run_cli("audit", "verify", data_dir=data, env=rotated).returncode == 0
    refused = run_cli("audit", "verify", data_dir=data, env=alone)
    assert refused.returncode == 1 and "#1, account:create) was altered" in refused.stderr
    rekeyed = run_cli("audit", "rekey", data_dir=data, env=rotated)
    assert rekeyed.returncode == 0 and "2 events" in rekeyed.stdout, rekeyed.stderr
    ok = run_cli("audit", "verify", data_dir=data, env=alone)
    assert ok.returncode == 0 and "2 events verified" in ok.stdout, ok.stderr
