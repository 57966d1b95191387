"""Issue 19, item 4: ``strongroom check`` warns, with the fix, about every unsafe setting.

The table runs the real command in a subprocess with each bad configuration (environment
variables, as an operator sets them) and checks the findings it prints and its exit status.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from strongroom import doctor
from tests.e2e.server import cli_env, run_cli

PUBLIC = ["--host", "0.0.0.0"]  # noqa: S104 - the bind address under test
SITE = {
    "STRONGROOM_BASE_URL": "https://pypi.example.com",
    "STRONGROOM_ALLOWED_HOSTS": "pypi.example.com",
    "STRONGROOM_BEHIND_PROXY": "true",
}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# (name, extra args, environment, expected "severity: [check]" prefixes, exit status)
TABLE = [
    ("embedded default", [], {}, [], 0),
    (
        "public, nothing set",
        PUBLIC,
        {},
        ["error: [base-url]", "error: [allowed-hosts]", "error: [plain-http]"],
        1,
    ),
    (
        "public, hosts set, plain HTTP",
        PUBLIC,
        {"STRONGROOM_BASE_URL": "http://pypi.lan", "STRONGROOM_ALLOWED_HOSTS": "pypi.lan"},
        ["error: [plain-http]"],
        1,
    ),
    (
        "public, https base URL, proxy not declared",
        PUBLIC,
        {k: v for k, v in SITE.items() if k != "STRONGROOM_BEHIND_PROXY"},
        ["warning: [behind-proxy]"],
        0,
    ),
    ("public, behind a TLS proxy, all set", PUBLIC, SITE, [], 0),
    (
        "SMTP without TLS",
        [],
        {"STRONGROOM_SMTP_HOST": "mail.example.com"},
        ["warning: [smtp-tls]"],
        0,
    ),
    (
        "SMTP without TLS, with a password",
        [],
        {"STRONGROOM_SMTP_HOST": "mail.example.com", "STRONGROOM_SMTP_USER": "index"},
        ["error: [smtp-tls]"],
        1,
    ),
    (
        "SMTP with STARTTLS",
        [],
        {"STRONGROOM_SMTP_HOST": "mail.example.com", "STRONGROOM_SMTP_STARTTLS": "true"},
        [],
        0,
    ),
    ("SMTP to a local relay", [], {"STRONGROOM_SMTP_HOST": "localhost"}, [], 0),
    (
        "several nodes, no Redis, outbox, generated key",
        [],
        {"STRONGROOM_NODES": "3"},
        ["error: [redis]", "warning: [secret-key]", "warning: [email-outbox]"],
        1,
    ),
    (
        "several nodes with Redis, SMTP and a shared key",
        [],
        {
            "STRONGROOM_NODES": "3",
            "STRONGROOM_REDIS_URL": "redis://127.0.0.1:6379/0",
            "STRONGROOM_SECRET_KEY": "k" * 50,
            "STRONGROOM_SMTP_HOST": "mail.example.com",
            "STRONGROOM_SMTP_SSL": "true",
        },
        [],
        0,
    ),
    ("a value settings.py refuses", [], {"STRONGROOM_LOG_FORMAT": "xml"}, ["error: [settings]"], 1),
    (
        "PostgreSQL without a secret key",
        [],
        {"STRONGROOM_DATABASE_URL": "postgresql://nobody@127.0.0.1:{closed}/none"},
        ["error: [settings]"],
        1,
    ),
    (
        "database that cannot be reached",
        [],
        {
            "STRONGROOM_DATABASE_URL": "postgresql://nobody@127.0.0.1:{closed}/none",
            "STRONGROOM_SECRET_KEY": "k" * 50,
        },
        ["error: [database]"],
        1,
    ),
    (
        "files dir that cannot be created",
        [],
        {"STRONGROOM_FILES_DIR": "{tmp}/a-file/files"},
        ["error: [storage]"],
        1,
    ),
    (
        "S3 bucket that cannot be reached",
        [],
        {
            "STRONGROOM_STORAGE_URL": "s3://strongroom-check/files",
            "STRONGROOM_S3_ENDPOINT_URL": "http://127.0.0.1:{closed}",
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "y",
        },
        ["error: [storage]"],
        1,
    ),
]


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "env", "expected", "status"), [t[1:] for t in TABLE], ids=[t[0] for t in TABLE]
)
def test_check_prints_each_expected_finding(
    tmp_path: Path, args: list[str], env: dict[str, str], expected: list[str], status: int
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    closed = str(_closed_port())
    env = {k: v.format(tmp=tmp_path, closed=closed) for k, v in env.items()}
    result = run_cli("check", *args, data_dir=tmp_path / "data", env=cli_env(**env))
    assert result.returncode == status, result.stdout + result.stderr
    found = [
        line.split("]", 1)[0] + "]"
        for line in result.stdout.splitlines()
        if "]" in line and line.startswith(("error: [", "warning: ["))
    ]
    assert sorted(found) == sorted(expected), result.stdout
    # Every finding names its fix on the next line.
    assert result.stdout.count("\n  fix: ") == len(expected)
    if not expected:
        assert "No problems found" in result.stdout
    # The probe file is gone: the check leaves nothing behind in the storage.
    files = tmp_path / "data" / "files" / "doctor"
    assert not files.exists() or not any(files.iterdir())


MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:40 / /srv/shared rw,relatime shared:9 - nfs4 filer:/export rw,vers=4.2
31 30 0:41 / /srv/shared/local\\040disk rw,relatime shared:10 - xfs /dev/sdb1 rw
"""


def test_the_file_system_holding_a_path_is_read_from_mountinfo(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(MOUNTINFO)
    assert doctor.filesystem_type(Path("/srv/shared/strongroom"), info) == "nfs4"
    assert doctor.filesystem_type(Path("/srv/shared"), info) == "nfs4"
    assert doctor.filesystem_type(Path("/srv/shared/local disk/x"), info) == "xfs"
    assert doctor.filesystem_type(Path("/srv/sharedx"), info) == "ext4"  # not a prefix match
    assert doctor.filesystem_type(Path("/x"), tmp_path / "missing") is None


def test_a_generated_key_on_a_network_volume_is_flagged(tmp_path: Path, settings) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(MOUNTINFO)
    settings.NODES = 1
    settings.SECRET_KEY_FILE = Path("/srv/shared/strongroom/secret_key")
    (finding,) = doctor.check_secret_key_location(doctor.Context(mountinfo=info))
    assert (finding.severity, finding.check) == (doctor.WARNING, "secret-key")
    assert "nfs4" in finding.message and "STRONGROOM_SECRET_KEY" in finding.fix
    settings.SECRET_KEY_FILE = Path("/srv/shared/local disk/secret_key")
    assert doctor.check_secret_key_location(doctor.Context(mountinfo=info)) == []
    settings.SECRET_KEY_FILE = None  # STRONGROOM_SECRET_KEY given: nothing on disk
    assert doctor.check_secret_key_location(doctor.Context(mountinfo=info)) == []


def test_an_unusable_purge_backend_is_an_error(settings) -> None:
    settings.PURGE_BACKEND = "http"
    settings.PURGE_URL = ""
    (finding,) = doctor.check_purge_backend(doctor.Context())
    assert finding.severity == doctor.ERROR and "STRONGROOM_PURGE_URL" in finding.fix
    settings.PURGE_URL = "http://varnish:6081/"
    assert doctor.check_purge_backend(doctor.Context()) == []
    settings.PURGE_BACKEND = "fastly"
    assert doctor.check_purge_backend(doctor.Context())[0].check == "purge-backend"
    settings.PURGE_BACKEND = "none"
    assert doctor.check_purge_backend(doctor.Context()) == []


def test_an_unloadable_sigstore_trusted_root_is_an_error(tmp_path: Path, settings) -> None:
    assert doctor.check_sigstore_trusted_root(doctor.Context()) == []
    broken = tmp_path / "trusted_root.json"
    broken.write_text("{}")
    settings.SIGSTORE_TRUSTED_ROOT = str(broken)
    (finding,) = doctor.check_sigstore_trusted_root(doctor.Context())
    assert finding.check == "sigstore-trusted-root" and str(broken) in finding.message
    assert finding.severity == doctor.ERROR
