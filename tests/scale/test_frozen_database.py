"""A frozen PostgreSQL (it accepts TCP connections but never replies) must not hold
requests for the whole freeze: connecting gives up after the connect timeout, a query on
an open connection after the reply deadline, and both are the outage's 503.

The freeze is a local TCP proxy in front of the real PostgreSQL that stops relaying bytes
on demand (what a stopped server or a hung host looks like to the client); the connect
case needs no PostgreSQL at all (a listener that never answers).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse, urlunparse

from django.db import OperationalError
from django.db.utils import load_backend

from strongroom.db.config import postgresql_database as _database_from_url
from strongroom.web.outage import outage_message, outage_status
from tests.support import require

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def _wrapper(url: str, **overrides: Any) -> Any:
    settings_dict = {**_database_from_url(url), **overrides}
    settings_dict.setdefault("TIME_ZONE", None)
    settings_dict.setdefault("AUTOCOMMIT", True)
    settings_dict.setdefault("ATOMIC_REQUESTS", False)
    settings_dict.setdefault("TEST", {})
    settings_dict.setdefault("OPTIONS", {})
    settings_dict.setdefault("CONN_MAX_AGE", 0)
    settings_dict.setdefault("CONN_HEALTH_CHECKS", False)
    backend = load_backend(str(settings_dict["ENGINE"]))
    return backend.DatabaseWrapper(settings_dict, alias="frozen")


def _in_thread(work: Any, within: float) -> BaseException | None:
    """Run ``work``; the exception it raised. Fails when it is still waiting after
    ``within`` seconds (a generous bound: the point is "not for the whole freeze")."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(within)
    assert outcome, f"still waiting for the frozen database after {within} s"
    return outcome[0]


@contextlib.contextmanager
def _silent_listener() -> Iterator[int]:
    """Accepts connections (the kernel does) and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


class FreezingProxy:
    """A TCP relay to ``upstream``; after ``freeze()`` it relays nothing more."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.frozen = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = int(self.listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self.frozen.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                data = source.recv(65536)
                if not data:
                    return
                while self.frozen.is_set():
                    time.sleep(0.05)  # bytes stay in the kernel's buffers: no reply
                target.sendall(data)

    def close(self) -> None:
        self.listener.close()


def test_connecting_to_a_frozen_database_gives_up_after_the_connect_timeout(
    django_db_blocker: Any,
) -> None:
    with _silent_listener() as port, django_db_blocker.unblock():
        wrapper = _wrapper(f"postgresql://strongroom@127.0.0.1:{port}/strongroom")
        error = _in_thread(wrapper.ensure_connection, within=30)
    assert isinstance(error, OperationalError), error
    assert outage_status(error) == 503
    assert "database cannot be reached" in (outage_message(error) or "")


def _postgres_url() -> str:
    url = os.environ.get("STRONGROOM_DATABASE_URL") or LOCAL_POSTGRES
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5432), 1).close()
    except OSError:
        require(False, f"PostgreSQL is not reachable at {parsed.hostname}:{parsed.port}")
    return url


def test_a_query_on_a_connection_to_a_frozen_database_is_an_outage_not_a_hang(
    django_db_blocker: Any, monkeypatch: Any
) -> None:
    # A browser test earlier in the same worker leaves Playwright's event loop registered
    # in this thread; Django's async-safety guard would then refuse this plain sync cursor.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    url = urlparse(_postgres_url())._replace(path="/postgres")  # exists on every server
    proxy = FreezingProxy((url.hostname or "127.0.0.1", url.port or 5432))
    through_proxy = urlunparse(url._replace(netloc=f"{url.username or ''}@127.0.0.1:{proxy.port}"))
    if url.password:
        through_proxy = urlunparse(
            url._replace(netloc=f"{url.username}:{url.password}@127.0.0.1:{proxy.port}")
        )
    wrapper = _wrapper(through_proxy, REPLY_TIMEOUT=2)
    wrapper.inc_thread_sharing()  # the frozen query runs in a watched thread
    try:
        django_db_blocker.unblock()
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
        proxy.freeze()

        def query() -> None:
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT 2")

        error = _in_thread(query, within=30)
        assert isinstance(error, OperationalError), error
        assert "did not reply within 2 seconds" in str(error)
        assert "database cannot be reached" in (outage_message(error) or "")
        assert not wrapper.is_usable(), "the connection is dropped, never reused"
    finally:
        proxy.close()
        with contextlib.suppress(Exception):
            wrapper.close()
        django_db_blocker.restore()


def test_postgresql_settings_carry_the_timeouts() -> None:
    database = _database_from_url("postgresql://u@db.example/strongroom")
    assert database["ENGINE"] == "strongroom.db.postgresql"
    options: dict[str, Any] = database["OPTIONS"]  # type: ignore[assignment]
    assert options["connect_timeout"] == 3
    assert options["options"] == "-c statement_timeout=10000"
    assert database["REPLY_TIMEOUT"] == 15
