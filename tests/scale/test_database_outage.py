"""The real server while PostgreSQL goes away: a plain 503 everywhere, no traceback.

The server reaches PostgreSQL through a small TCP relay; closing the relay is the outage.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlparse, urlunparse

import pytest
import requests

from tests.e2e.server import running_server, scale_out_configured, scale_out_services
from tests.support import require

pytestmark = [pytest.mark.scale, pytest.mark.e2e]


class Relay:
    """Forward 127.0.0.1:<port> to ``target`` until ``close`` cuts every connection."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.sockets: list[socket.socket] = []
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.open:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.open = False
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@pytest.fixture
def relayed_server(tmp_path) -> Iterator[tuple[object, Relay]]:  # type: ignore[no-untyped-def]
    require(scale_out_configured(), "needs STRONGROOM_DATABASE_URL (PostgreSQL) and the rest")
    with scale_out_services("outage") as env:
        url = urlparse(env["STRONGROOM_DATABASE_URL"])
        relay = Relay((url.hostname or "127.0.0.1", url.port or 5432))
        netloc = url.netloc.replace(f"{url.hostname}:{url.port}", f"127.0.0.1:{relay.port}")
        env = {**env, "STRONGROOM_DATABASE_URL": urlunparse(url._replace(netloc=netloc))}
        try:
            with running_server(tmp_path / "data", extra_env=env) as server:
                yield server, relay
        finally:
            relay.close()


def test_every_path_is_a_plain_503_while_postgresql_is_away(relayed_server):
    server, relay = relayed_server
    base = server.base_url  # type: ignore[attr-defined]
    assert requests.get(f"{base}/simple/", timeout=30).status_code == 200
    relay.close()
    for method, path in [
        ("GET", "/simple/"),
        ("GET", "/simple/anything/"),
        ("GET", "/pypi/anything/json"),
        ("POST", "/account/login/"),
        ("GET", "/manage/account/"),
    ]:
        response = requests.request(
            method, f"{base}{path}", cookies={"strongroom_session": "x" * 32}, timeout=30
        )
        assert response.status_code == 503, (path, response.text)
        assert response.text.startswith("Service unavailable: the database"), response.text
    upload = requests.post(f"{base}/legacy/", auth=("u", "p"), data={"a": "b"}, timeout=30)
    assert upload.status_code == 503
    assert upload.reason.startswith("Service unavailable: the database")
    log = server.log_text()  # type: ignore[attr-defined]
    assert "Traceback" not in log and " 500 " not in log, log[-3000:]
