"""Forwarding to a SIEM: a real UDP syslog listener and a real HTTP server, never blocking."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

from strongroom.events import forwarding
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag

pytestmark = pytest.mark.django_db(transaction=True)


def _record() -> None:
    with transaction.atomic():
        record_event(EventTag.ACCOUNT_LOGIN_FAILURE, ip="192.0.2.5", extra={"reason": "x"})


def test_events_are_sent_to_a_syslog_listener_after_commit(settings):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(5)
        settings.AUDIT_FORWARD = f"syslog://127.0.0.1:{listener.getsockname()[1]}"
        _record()
        data, _addr = listener.recvfrom(65536)
    message = data.decode()
    assert message.startswith("<86>1 ")
    assert " strongroom - account:login:failure - " in message
    record = json.loads(message.split(" - account:login:failure - ", 1)[1])
    assert record["tag"] == "account:login:failure" and record["ip"] == "192.0.2.5"
    assert len(record["hash"]) == 64


def test_nothing_is_sent_when_the_transaction_rolls_back(settings):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(0.5)
        settings.AUDIT_FORWARD = f"syslog://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(RuntimeError), transaction.atomic():
            record_event(EventTag.ACCOUNT_LOGOUT)
            raise RuntimeError
        with pytest.raises(TimeoutError):
            listener.recvfrom(65536)


class _Collector(BaseHTTPRequestHandler):
    received: list[bytes] = []
    delay = 0.0

    def do_POST(self) -> None:
        time.sleep(self.delay)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(body)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_collector():
    handler = type("Collector", (_Collector,), {"received": [], "delay": 0.0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, handler
    server.shutdown()
    server.server_close()


def test_events_are_posted_to_an_http_endpoint(settings, http_collector):
    server, handler = http_collector
    settings.AUDIT_FORWARD = f"http://127.0.0.1:{server.server_address[1]}/ingest"
    _record()
    sender = forwarding.forwarder()
    assert sender is not None and sender.wait(5)
    (body,) = handler.received
    assert json.loads(body)["tag"] == "account:login:failure"


def test_a_slow_collector_does_not_slow_the_action(settings, http_collector):
    server, handler = http_collector
    handler.delay = 1.5
    settings.AUDIT_FORWARD = f"http://127.0.0.1:{server.server_address[1]}/ingest"
    started = time.monotonic()
    _record()
    assert time.monotonic() - started < 0.5
    sender = forwarding.forwarder()
    assert sender is not None and sender.wait(5)
    assert len(handler.received) == 1


def test_an_unreachable_collector_is_logged_and_the_action_succeeds(settings, caplog):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    settings.AUDIT_FORWARD = f"http://127.0.0.1:{port}/ingest"
    settings.AUDIT_FORWARD_TIMEOUT = 0.5
    _record()
    sender = forwarding.forwarder()
    assert sender is not None and sender.wait(5)
    assert "could not forward audit event account:login:failure" in caplog.text


def test_a_malformed_target_is_refused():
    with pytest.raises(ValueError, match="syslog://host:port"):
        forwarding.parse_target("ftp://example.org")
