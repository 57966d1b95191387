"""Run the real ``strongroom serve`` (gunicorn, several workers) for end-to-end tests."""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

REPO = Path(__file__).resolve().parents[2]

# The scale-out services of this test run, passed on to subprocess servers explicitly.
SCALE_OUT_VARIABLES = (
    "STRONGROOM_DATABASE_URL",
    "STRONGROOM_REDIS_URL",
    "STRONGROOM_STORAGE_URL",
    "STRONGROOM_S3_ENDPOINT_URL",
)


def scale_out_configured() -> bool:
    """True when this test run points at PostgreSQL, Redis and S3 (the second CI pass)."""
    return all(os.environ.get(name) for name in SCALE_OUT_VARIABLES)


def _admin_connection() -> Any:
    import psycopg

    url = urlparse(os.environ["STRONGROOM_DATABASE_URL"])
    return psycopg.connect(urlunparse(url._replace(path="/postgres")), autocommit=True)


# Databases with every migration applied, made once per test process (by this checkout's
# `strongroom migrate`) and copied for each new index: a server's first migration is
# about 1.3 s of CPU, and the e2e tests start a couple of hundred servers per run. Their
# `strongroom serve` still runs migrate, and finds nothing to apply. The migrations read
# no setting but the user model, so one copy fits every server of the run. Tests of the
# first migration itself ask for a fresh index (start_server's ``fresh``,
# scale_out_services' ``migrated``).
@functools.cache
def _template_sqlite() -> Path:
    data_dir = Path(tempfile.mkdtemp(prefix="strongroom-migrated-")) / "data"
    done = run_cli("migrate", data_dir=data_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    return data_dir / "strongroom.sqlite3"


def _copy_migrated_sqlite(target: Path) -> None:
    """A copy of the migrated database at ``target``, by SQLite's backup (one consistent
    file, whatever its write-ahead log holds)."""
    with (
        contextlib.closing(sqlite3.connect(_template_sqlite())) as source,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy)


@functools.cache
def _template_postgresql() -> str:
    name = f"strongroom_migrated_{secrets.token_hex(4)}"
    with _admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    atexit.register(_drop_database, name)
    url = urlparse(os.environ["STRONGROOM_DATABASE_URL"])
    env = cli_env(
        STRONGROOM_DATABASE_URL=urlunparse(url._replace(path=f"/{name}")),
        STRONGROOM_SECRET_KEY=secrets.token_urlsafe(50),
    )
    work = Path(tempfile.mkdtemp(prefix="strongroom-migrated-"))
    done = run_cli("migrate", data_dir=work, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return name


def _drop_database(name: str) -> None:
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def scale_out_services(name: str = "e2e", migrated: bool = True) -> Iterator[dict[str, str]]:
    """The environment for servers sharing a fresh index on this run's services.

    A new PostgreSQL database (dropped afterwards; a copy of the migrated one unless
    ``migrated`` is False), its own Redis key prefix and S3 prefix, and one secret key:
    every server started with it joins the same index.
    """
    suffix = secrets.token_hex(4)
    database = f"strongroom_{name}_{suffix}"
    template = f' TEMPLATE "{_template_postgresql()}"' if migrated else ""
    with _admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{database}"{template}')
    url = urlparse(os.environ["STRONGROOM_DATABASE_URL"])
    storage = os.environ["STRONGROOM_STORAGE_URL"].rstrip("/")
    env = {
        "STRONGROOM_DATABASE_URL": urlunparse(url._replace(path=f"/{database}")),
        "STRONGROOM_REDIS_URL": os.environ["STRONGROOM_REDIS_URL"],
        "STRONGROOM_REDIS_PREFIX": f"{name}-{suffix}",
        "STRONGROOM_STORAGE_URL": f"{storage}/{name}-{suffix}",
        "STRONGROOM_S3_ENDPOINT_URL": os.environ["STRONGROOM_S3_ENDPOINT_URL"],
        "STRONGROOM_SECRET_KEY": secrets.token_urlsafe(50),
    }
    try:
        yield env
    finally:
        _drop_database(database)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a ``strongroom`` subprocess running this checkout's code.

    The test run's own Django settings and STRONGROOM_* variables are dropped, so the
    subprocess sees what a real installation sees.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("STRONGROOM_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env["PYTHONPATH"] = str(REPO / "src")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_cli(
    *args: str, data_dir: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``strongroom ARGS --data-dir DATA_DIR`` and return its result (never raises)."""
    return subprocess.run(
        [sys.executable, "-m", "strongroom.cli", *args, "--data-dir", str(data_dir)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env or cli_env(),
        timeout=120,
        check=False,
    )


@dataclass
class LiveServer:
    """A running ``strongroom serve``: its URL, data dir and combined output."""

    base_url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=cli_env)
    cleanup: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def access_log(self) -> list[str]:
        """gunicorn's access-log lines, one per request, oldest first."""
        methods = ('"GET ', '"POST ', '"HEAD ')
        return [line for line in self.log_text().splitlines() if any(m in line for m in methods)]

    def create_user(self, username: str, email: str, password: str, verified: bool = True) -> None:
        args = ["user", "create", "--username", username, "--email", email, "--password-stdin"]
        if verified:
            args.append("--verified")
        result = run_cli(*args, data_dir=self.data_dir, stdin=password + "\n", env=self.env)
        assert result.returncode == 0, result.stdout + result.stderr

    def create_token(self, username: str, name: str, *projects: str) -> str:
        """An API token made with ``strongroom token create`` (account-wide without projects)."""
        args = ["token", "create", "--user", username, "--name", name]
        for project in projects:
            args += ["--project", project]
        result = run_cli(*args, data_dir=self.data_dir, env=self.env)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout.strip().splitlines()[-1]

    def execute_sql(self, statement: str) -> list[tuple[Any, ...]]:
        """Run one SQL statement on the server's database; return the rows."""
        url = self.env.get("STRONGROOM_DATABASE_URL")
        if url:
            import psycopg

            with psycopg.connect(url, autocommit=True) as conn:
                cursor = conn.execute(statement)  # type: ignore[call-overload]
                return list(cursor.fetchall()) if cursor.description else []
        db = sqlite3.connect(self.data_dir / "strongroom.sqlite3")
        try:
            with db:
                return list(db.execute(statement).fetchall())
        finally:
            db.close()

    def stored_files(self) -> list[str]:
        """Every object in the server's file storage (staged ones too), relative paths."""
        storage_url = self.env.get("STRONGROOM_STORAGE_URL")
        if not storage_url:
            root = self.data_dir / "files"
            return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        import boto3

        parsed = urlparse(storage_url)
        prefix = parsed.path.strip("/") + "/"
        client = boto3.client("s3", endpoint_url=self.env["STRONGROOM_S3_ENDPOINT_URL"])
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=parsed.netloc, Prefix=prefix
        )
        return sorted(
            item["Key"].removeprefix(prefix) for page in pages for item in page.get("Contents", [])
        )

    def django(self, code: str) -> str:
        """Run ``code`` with Django set up on the server's own database; return its stdout."""
        env = dict(self.env, STRONGROOM_DATA_DIR=str(self.data_dir))
        env["DJANGO_SETTINGS_MODULE"] = "strongroom.settings"
        prelude = "import django\ndjango.setup()\n"
        result = subprocess.run(
            [sys.executable, "-c", prelude + textwrap.dedent(code)],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def outbox(self) -> list[Path]:
        """The emails sent so far, oldest first."""
        return sorted((self.data_dir / "outbox").glob("*.eml"))

    def stop(self, timeout: float = 30) -> int:
        """Ctrl-C: SIGINT to the server's process group; return its exit code.

        Its database and storage stay, so a test can still run commands on them after
        the stop; :meth:`close` releases them.
        """
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
                raise
        return int(self.process.returncode)

    def close(self) -> None:
        """Stop the server and drop the database and prefixes made for it."""
        try:
            self.stop()
        finally:
            self.cleanup.close()


def start_server(
    data_dir: Path,
    *,
    workers: int = 2,
    extra_env: dict[str, str] | None = None,
    embedded: bool = False,
    app_server: str | None = None,
    fresh: bool = False,
) -> LiveServer:
    """Start ``strongroom serve`` on a free port and wait until it answers.

    ``app_server`` is passed as ``--server``; None runs the default server. A new index
    starts as a copy of the migrated database (see ``_template_sqlite``) unless ``fresh`` asks
    for serve's own first migration, or the server runs other code (a ``PYTHONPATH``).

    When the test run is configured for scale-out (and ``embedded`` is False), the
    server gets its own database, Redis prefix and S3 prefix on the same services,
    unless ``extra_env`` already names them (several servers joining one index).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cleanup = contextlib.ExitStack()
    extra = dict(extra_env or {})
    this_code = "PYTHONPATH" not in extra
    if scale_out_configured() and not embedded and "STRONGROOM_DATABASE_URL" not in extra:
        services = scale_out_services(migrated=this_code and not fresh)
        extra = {**cleanup.enter_context(services), **extra}
    env = cli_env(**extra)
    database = data_dir / "strongroom.sqlite3"
    if this_code and not fresh and "STRONGROOM_DATABASE_URL" not in env and not database.exists():
        _copy_migrated_sqlite(database)
    log_path = data_dir.parent / f"{data_dir.name}-server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "strongroom.cli",
                "serve",
                "--data-dir",
                str(data_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                *(["--server", app_server] if app_server else []),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group, like a terminal's Ctrl-C
        )
    server = LiveServer(f"http://localhost:{port}", data_dir, process, log_path, env, cleanup)
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            server.cleanup.close()
            raise RuntimeError(f"strongroom serve exited early:\n{server.log_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/account/login/", timeout=5):
                break
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            if time.monotonic() > deadline:
                server.close()
                raise RuntimeError(
                    f"strongroom serve did not answer:\n{server.log_text()}"
                ) from exc
            time.sleep(0.2)
    return server


@contextlib.contextmanager
def running_server(data_dir: Path, **kwargs: object) -> Iterator[LiveServer]:
    server = start_server(data_dir, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.close()
