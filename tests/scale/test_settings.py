"""Scale-out settings read from the environment, checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.server import cli_env


def _settings(*names: str, **env: str) -> subprocess.CompletedProcess[str]:
    code = f"import strongroom.settings as s; print(*[getattr(s, n) for n in {names!r}], sep='|')"
    return subprocess.run(
        [sys.executable, "-c", code],
        env=cli_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_smtp_is_chosen_when_an_smtp_host_is_set(tmp_path):
    result = _settings(
        "EMAIL_BACKEND", STRONGROOM_DATA_DIR=str(tmp_path), STRONGROOM_SMTP_HOST="mail.example"
    )
    assert result.stdout.strip() == "django.core.mail.backends.smtp.EmailBackend", result.stderr
    result = _settings("EMAIL_BACKEND", STRONGROOM_DATA_DIR=str(tmp_path))
    assert result.stdout.strip() == "strongroom.notify.backends.OutboxEmailBackend"
    result = _settings(
        "EMAIL_BACKEND", STRONGROOM_DATA_DIR=str(tmp_path), STRONGROOM_EMAIL_BACKEND="smtp"
    )
    assert result.stdout.strip() == "django.core.mail.backends.smtp.EmailBackend"


def test_a_postgresql_index_needs_a_shared_secret_key(tmp_path):
    url = "postgresql://u@127.0.0.1:1/db"
    refused = _settings(
        "SECRET_KEY", STRONGROOM_DATA_DIR=str(tmp_path), STRONGROOM_DATABASE_URL=url
    )
    assert refused.returncode != 0
    assert "STRONGROOM_SECRET_KEY must be set" in refused.stderr
    assert not (tmp_path / "secret_key").exists()
    shared = _settings(
        "SECRET_KEY",
        STRONGROOM_DATA_DIR=str(tmp_path),
        STRONGROOM_DATABASE_URL=url,
        STRONGROOM_SECRET_KEY="k" * 50,
    )
    assert shared.stdout.strip() == "k" * 50, shared.stderr


def test_an_s3_storage_url_selects_the_s3_storage(tmp_path):
    result = _settings(
        "FILE_STORAGE_BACKEND",
        "S3_BUCKET",
        "S3_PREFIX",
        "S3_ACCESS_KEY_ID",
        STRONGROOM_DATA_DIR=str(tmp_path),
        STRONGROOM_STORAGE_URL="s3://files/prod/index",
        AWS_ACCESS_KEY_ID="AKIA-TEST",
    )
    assert result.stdout.strip() == "strongroom.storage.s3.S3Storage|files|prod/index|AKIA-TEST"
    bad = _settings("S3_BUCKET", STRONGROOM_DATA_DIR=str(tmp_path), STRONGROOM_STORAGE_URL="s3:/")
    assert bad.returncode != 0 and "s3://bucket/prefix" in bad.stderr
