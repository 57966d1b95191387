"""Forward each committed event to a collector (a SIEM): syslog over UDP or HTTPS POST.

``STRONGROOM_AUDIT_FORWARD`` is ``syslog://host:port`` or ``http(s)://...``. Events are
serialised in the request thread once the transaction commits, then handed to a background
thread with a bounded queue: a slow or absent collector never blocks or fails the action.
What cannot be sent is dropped with a log line; the database remains the record.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from django.conf import settings

if TYPE_CHECKING:
    from strongroom.events.models import Event

log = logging.getLogger("strongroom.events.forwarding")

_QUEUE_SIZE = 10_000


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    url: str


def parse_target(value: str) -> Target | None:
    value = (value or "").strip()
    if not value:
        return None
    parsed = urlparse(value)
    if parsed.scheme == "syslog" and parsed.hostname:
        return Target("syslog", parsed.hostname, parsed.port or 514, value)
    if parsed.scheme in {"http", "https"} and parsed.hostname:
        return Target(parsed.scheme, parsed.hostname, parsed.port or 0, value)
    raise ValueError("STRONGROOM_AUDIT_FORWARD must be syslog://host:port or an http(s):// URL")


def enabled() -> bool:
    return bool(settings.AUDIT_FORWARD)


def _syslog_message(line: str, tag: str) -> bytes:
    # RFC 5424: <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG; facility authpriv(10), info(6).
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    host = socket.gethostname() or "-"
    return f"<86>1 {now} {host} strongroom - {tag} - {line}".encode()


class Forwarder:
    """One background thread per process, started on first use."""

    def __init__(self, target: Target):
        self.target = target
        self.queue: queue.Queue[tuple[str, str]] = queue.Queue(maxsize=_QUEUE_SIZE)
        self.thread = threading.Thread(target=self._run, name="audit-forward", daemon=True)
        self.thread.start()

    def put(self, line: str, tag: str) -> None:
        try:
            self.queue.put_nowait((line, tag))
        except queue.Full:
            log.warning("audit forwarding queue full; dropped %s", tag)

    def _run(self) -> None:
        while True:
            line, tag = self.queue.get()
            try:
                self._send(line, tag)
            except Exception as exc:  # the collector is down: drop, never raise
                log.warning("could not forward audit event %s to %s: %s", tag, self.target.url, exc)
            finally:
                self.queue.task_done()

    def _send(self, line: str, tag: str) -> None:
        timeout = settings.AUDIT_FORWARD_TIMEOUT
        if self.target.scheme == "syslog":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(timeout)
                sock.sendto(_syslog_message(line, tag), (self.target.host, self.target.port))
            return
        request = urllib.request.Request(  # noqa: S310 (scheme checked in parse_target)
            self.target.url,
            data=line.encode(),
            headers={"Content-Type": "application/json", "User-Agent": "strongroom-audit"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read()

    def wait(self, timeout: float = 5.0) -> bool:
        """Block until everything queued was sent or dropped (for tests and shutdown)."""
        done = threading.Event()

        def join() -> None:
            self.queue.join()
            done.set()

        threading.Thread(target=join, daemon=True).start()
        return done.wait(timeout)


_lock = threading.Lock()
_forwarder: Forwarder | None = None


def forwarder() -> Forwarder | None:
    global _forwarder
    target = parse_target(settings.AUDIT_FORWARD)
    if target is None:
        return None
    with _lock:
        if _forwarder is None or _forwarder.target != target:
            _forwarder = Forwarder(target)
        return _forwarder


def submit(event: Event) -> None:
    """Serialise ``event`` now and queue it; errors are logged, never raised."""
    try:
        from strongroom.events.export import to_json_line

        sender = forwarder()
        if sender is not None:
            sender.put(to_json_line(event).rstrip("\n"), event.tag)
    except Exception:
        log.exception("could not queue audit event %s for forwarding", event.tag)
