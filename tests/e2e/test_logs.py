"""Issue 19, items 3 and 4 through a real ``strongroom serve``: JSON log lines carrying the
request id that the response names, and the config doctor's findings logged at start."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.server import running_server

pytestmark = pytest.mark.e2e


def _get(url: str, request_id: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if request_id is not None:
        request.add_header("X-Request-ID", request_id)
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
        return response.status, response.headers.get_all("X-Request-ID") or []


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("app_server", ["gunicorn", "granian"])
def test_json_logs_carry_the_request_id_and_the_start_findings(
    tmp_path: Path, app_server: str
) -> None:
    env = {"STRONGROOM_LOG_FORMAT": "json", "STRONGROOM_SMTP_HOST": "mail.example.com"}
    with running_server(tmp_path / "data", extra_env=env, app_server=app_server) as server:
        sent = {"/simple/": "e2e-fast-1", "/account/login/": "e2e-django-2"}
        for path, request_id in sent.items():
            assert _get(server.base_url + path, request_id) == (200, [request_id])
        status, (fresh,) = _get(server.base_url + "/simple/", "not a valid id")
        assert status == 200 and re.fullmatch(r"[0-9a-f]{32}", fresh)
        deadline = time.monotonic() + 10
        while True:
            entries = _json_lines(server.log_text())
            access = [e for e in entries if e.get("log") == "access"]
            ids = {(e["path"], e["request_id"]) for e in access}
            if {*sent.items(), ("/simple/", fresh)} <= ids or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert {*sent.items(), ("/simple/", fresh)} <= ids
        assert all(e["status"] == 200 and isinstance(e["pid"], int) for e in access)
        doctor = [e for e in entries if e.get("logger") == "strongroom.doctor"]
        assert any(
            e["level"] == "WARNING" and "SMTP without TLS" in str(e["message"]) for e in doctor
        ), server.log_text()
        # No access line in the text format slipped through.
        assert "rid=<" not in server.log_text()
