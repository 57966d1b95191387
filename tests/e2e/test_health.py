"""A real server's readiness follows its database: 503 naming it while PostgreSQL cannot
be reached (a TCP relay in front of the machine's PostgreSQL is cut), 200 once it can."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
import requests

from tests.e2e.server import running_server
from tests.support import require

pytestmark = pytest.mark.e2e

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


class CuttableRelay:
    """A TCP relay to ``upstream``; ``cut()`` drops every connection and refuses new ones
    (as a dead database host's network would), ``restore()`` relays again."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.open = threading.Event()
        self.open.set()
        self.lock = threading.Lock()
        self.sockets: list[socket.socket] = []
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = int(self.listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        self.open.clear()
        with self.lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self.sockets.clear()

    def restore(self) -> None:
        self.open.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            if not self.open.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self.lock:
                self.sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.cut()
        self.listener.close()


@contextlib.contextmanager
def _database_behind_relay() -> Iterator[tuple[str, CuttableRelay]]:
    psycopg = pytest.importorskip("psycopg")
    url = urlparse(os.environ.get("STRONGROOM_DATABASE_URL") or LOCAL_POSTGRES)
    host, port = url.hostname or "127.0.0.1", url.port or 5432
    try:
        socket.create_connection((host, port), 1).close()
    except OSError:
        require(False, f"PostgreSQL is not reachable at {host}:{port}")
    name = f"strongroom_health_{secrets.token_hex(4)}"
    admin = urlunparse(url._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    relay = CuttableRelay((host, port))
    netloc = f"{url.username or 'postgres'}@127.0.0.1:{relay.port}"
    try:
        yield urlunparse(url._replace(netloc=netloc, path=f"/{name}")), relay
    finally:
        relay.close()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _ready(base_url: str, host: str = "10.1.2.3") -> tuple[int, dict]:
    # A load balancer probes with its own Host header: the node's address.
    response = requests.get(f"{base_url}/_/health/ready", headers={"Host": host}, timeout=30)
    assert response.headers["Cache-Control"] == "no-store"
    return response.status_code, response.json()


def _until(base_url: str, status: int, attempts: int = 40) -> dict:
    """Probe (as a load balancer does, about once a second) until ``status``; every
    worker may hold a connection, so a few probes can land on ones not yet changed."""
    for _ in range(attempts):
        code, body = _ready(base_url)
        if code == status:
            return body
        time.sleep(0.25)
    raise AssertionError(f"readiness never became {status}: last {code} {body}")


def test_readiness_names_the_database_while_postgresql_is_cut_off_and_recovers(
    tmp_path: Path,
) -> None:
    with _database_behind_relay() as (database_url, relay):
        env = {
            "STRONGROOM_DATABASE_URL": database_url,
            "STRONGROOM_SECRET_KEY": secrets.token_urlsafe(50),
            "STRONGROOM_DATABASE_CONNECT_TIMEOUT": "2",
        }
        with running_server(tmp_path / "data", extra_env=env) as server:
            code, body = _ready(server.base_url)
            assert code == 200, body
            assert body["failed"] == []
            live = requests.get(f"{server.base_url}/_/health/live", timeout=10)
            assert live.status_code == 200

            relay.cut()
            body = _until(server.base_url, 503)
            assert body["failed"] == ["database", "migrations"]
            assert body["checks"]["database"] == "fail"
            assert body["checks"]["storage"] == "ok"
            # Every probe while it is away says so (none reuses a dead connection).
            for _ in range(6):
                code, body = _ready(server.base_url)
                assert code == 503 and "database" in body["failed"]
            assert requests.get(f"{server.base_url}/_/health/live", timeout=10).status_code == 200

            relay.restore()
            body = _until(server.base_url, 200)
            assert body["failed"] == []
            for _ in range(6):
                assert _ready(server.base_url)[0] == 200
