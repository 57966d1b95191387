"""Ctrl-C on ``strongroom serve`` (gunicorn, the default server) stops every worker the
graceful way, whatever the worker is doing when the signal lands.

gunicorn's own handler of SIGINT and SIGQUIT shuts the worker's thread pool down inside
the signal handler; a signal landing while the main thread hands a connection to that
pool deadlocks the worker until the main process kills it, and its download counts are
lost (strongroom.server._post_worker_init).
"""

from __future__ import annotations

import http.client
import os
import signal
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.server import start_server

pytestmark = pytest.mark.e2e

# What is tested is gunicorn's signal handling: the same on every database (embedded).


def test_a_request_on_a_kept_alive_connection_after_ctrl_c_is_answered(tmp_path: Path) -> None:
    # One worker, so the kept-alive connection is on the worker that gets the signal.
    server = start_server(tmp_path / "data", workers=1, embedded=True)
    try:
        host, port = server.base_url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", "/simple/")
        first = connection.getresponse()
        first.read()
        assert first.status == 200
        assert first.getheader("Connection", "").lower() != "close"
        os.killpg(server.process.pid, signal.SIGINT)  # Ctrl-C in the server's terminal
        time.sleep(0.3)
        # The stopping worker still reads what arrives on its open connections for a
        # moment, and answers it with "Connection: close" rather than dropping it.
        connection.request("GET", "/simple/")
        second = connection.getresponse()
        second.read()
        assert second.status == 200
        assert second.getheader("Connection", "").lower() == "close"
        connection.close()
        assert server.process.wait(timeout=30) == 0
        assert "SIGKILL" not in server.log_text()
    finally:
        server.close()


def _new_connections(url: str, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                response.read()
        except OSError:
            pass  # refused once the server has stopped listening


def test_ctrl_c_under_a_stream_of_new_connections_never_needs_the_kill(tmp_path: Path) -> None:
    # Each stop lands at a random moment of the main thread's work, while the workers are
    # still making threads for the new connections; before the fix, 6 stops in 10 of this
    # kind left a worker deadlocked until the main process killed it.
    for attempt in range(5):
        server = start_server(tmp_path / f"data-{attempt}", embedded=True)
        stop = threading.Event()
        clients = [
            threading.Thread(target=_new_connections, args=(server.base_url + "/simple/", stop))
            for _ in range(64)
        ]
        try:
            for client in clients:
                client.start()
            time.sleep(0.2 + 0.05 * attempt)
            assert server.stop() == 0
            log = server.log_text()
            assert "SIGKILL" not in log, f"stop {attempt}:\n{log[-3000:]}"
        finally:
            stop.set()
            for client in clients:
                client.join()
            server.close()
