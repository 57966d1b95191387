"""Slow clients: connections that send a request one byte a second, and a probe that
measures how other clients' requests are answered meanwhile.

Used by the e2e test of slow-client resistance and by bench/slowclients.py.
"""

from __future__ import annotations

import base64
import http.client
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# What each kind of slow client sends at once; the rest follows a byte a second.
# "headers": a GET whose header block never ends. "upload": a legacy upload whose headers
# are complete (Basic auth, a multipart type, a large Content-Length) and whose body
# trickles. "login": the login form, its urlencoded body trickling.
KINDS = ("headers", "upload", "login")


def _opening(kind: str, host: str) -> tuple[bytes, bytes]:
    """(sent at once, repeated a byte at a time)."""
    if kind == "headers":
        head = f"GET /simple/ HTTP/1.1\r\nHost: {host}\r\nX-Slow: "
        return head.encode(), b"a"
    if kind == "upload":
        auth = base64.b64encode(b"__token__:pypi-slow").decode()
        head = (
            f"POST /legacy/ HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {auth}\r\n"
            "Content-Type: multipart/form-data; boundary=slowslowslow\r\n"
            "Content-Length: 10000000\r\n\r\n--slowslowslow\r\n"
        )
        return head.encode(), b"x"
    if kind == "login":
        head = (
            f"POST /account/login/ HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: 100000\r\n\r\nusername="
        )
        return head.encode(), b"a"
    raise ValueError(kind)


@contextmanager
def trickling(host: str, port: int, kind: str, connections: int) -> Iterator[list[int]]:
    """Hold ``connections`` slow clients open for the duration of the block; yields a
    one-item list with how many of them the server has closed so far."""
    closed = [0]
    stop = threading.Event()
    socks: list[socket.socket] = []
    first, byte = _opening(kind, f"{host}:{port}")
    for _ in range(connections):
        sock = socket.create_connection((host, port), timeout=5)
        sock.sendall(first)
        socks.append(sock)

    def drip() -> None:
        while not stop.wait(1.0):
            for sock in list(socks):
                try:
                    sock.send(byte)
                except OSError:
                    socks.remove(sock)
                    closed[0] += 1

    thread = threading.Thread(target=drip, name=f"trickle-{kind}", daemon=True)
    thread.start()
    try:
        yield closed
    finally:
        stop.set()
        thread.join(timeout=5)
        for sock in socks:
            sock.close()


@dataclass
class Probe:
    requests: int
    failures: int
    p50_ms: float
    p99_ms: float
    max_ms: float


def probe(
    host: str, port: int, path: str, seconds: float, timeout: float = 5.0, clients: int = 2
) -> Probe:
    """Other clients: ``clients`` threads each sending GET ``path`` on a new connection,
    one after another, for ``seconds``. A request that fails or times out counts as
    taking ``timeout``."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < deadline:
            started = time.monotonic()
            ok = False
            try:
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
                conn.close()
            except OSError:
                ok = False
            elapsed = time.monotonic() - started if ok else max(timeout, time.monotonic() - started)
            with lock:
                latencies.append(elapsed * 1000)
                if not ok:
                    failures[0] += 1
            time.sleep(0.01)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("inf")
    return Probe(
        requests=len(ordered),
        failures=failures[0],
        p50_ms=statistics.median(ordered) if ordered else float("inf"),
        p99_ms=p99,
        max_ms=ordered[-1] if ordered else float("inf"),
    )
