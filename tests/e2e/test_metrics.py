"""Metrics scraped from a real two-worker server after a scripted session: the upload, the
refused upload, the failed sign-in and the install are there, summed across the workers."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.clients import isolated_env, run
from tests.e2e.server import running_server
from tests.e2e.test_read_path import _pages, _upload
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e

TOKEN = "metrics-e2e-token-" + "x" * 20


def _samples(base_url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = requests.get(
        f"{base_url}/_/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    )
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _failed_sign_in(base_url: str) -> None:
    session = requests.Session()
    form = session.get(f"{base_url}/account/login/", timeout=30).text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert csrf is not None
    response = session.post(
        f"{base_url}/account/login/",
        data={"login": "alice", "password": "not-" + PASSWORD, "csrfmiddlewaretoken": csrf[1]},
        headers={"Referer": f"{base_url}/account/login/"},
        timeout=30,
    )
    assert response.status_code == 400, response.status_code


@pytest.mark.parametrize("app_server", ["gunicorn", "granian"])
def test_a_scripted_session_shows_in_the_metrics_summed_across_two_workers(
    tmp_path: Path, app_server: str
) -> None:
    with running_server(
        tmp_path / "data",
        workers=2,
        app_server=app_server,
        extra_env={"STRONGROOM_METRICS_TOKEN": TOKEN},
    ) as server:
        assert requests.get(f"{server.base_url}/_/metrics", timeout=30).status_code == 401
        server.create_user("alice", "alice@example.org", PASSWORD)
        token = server.create_token("alice", "ci")
        _upload(server, token, "metered", "1.0")
        refused = requests.post(
            f"{server.base_url}/legacy/",
            data={":action": "file_upload", "name": "metered", "version": "2.0"},
            files={"content": ("metered-2.0-py3-none-any.whl", b"x", "application/zip")},
            auth=("__token__", token[:-4] + "AAAA"),
            timeout=30,
        )
        assert refused.status_code == 403
        _failed_sign_in(server.base_url)
        # What pip fetches to install it (the test wheel is not installable: no RECORD).
        run(
            [sys.executable, "-m", "pip", "download", "--no-cache-dir", "--no-deps",
             "-d", str(tmp_path / "dl"), "--index-url", f"{server.base_url}/simple/",
             "metered"],
            isolated_env(tmp_path / "home"),
        )  # fmt: skip
        assert (tmp_path / "dl" / "metered-1.0-py3-none-any.whl").exists()
        # Fresh connections, several at once: both workers answer some of these.
        _pages(server, "/simple/metered/", 24)

        answered = server.access_log()
        pids = {line.rsplit("pid=<", 1)[1].rstrip(">") for line in answered}
        assert len(pids) == 2, pids
        samples = _samples(server.base_url)
        assert _value(samples, "strongroom_uploads_total", outcome="accepted", reason="ok") == 1
        assert (
            _value(samples, "strongroom_uploads_total", outcome="refused", reason="forbidden") == 1
        )
        assert _value(samples, "strongroom_login_failures_total", step="password") == 1
        assert _value(samples, "strongroom_token_verifications_total", outcome="accepted") == 1
        assert _value(samples, "strongroom_token_verifications_total", outcome="refused") == 1
        assert _value(samples, "strongroom_downloads_total") >= 1
        # Every request either worker answered before the scrape, counted once.
        counted = sum(
            value
            for (name, _labels), value in samples.items()
            if name == "strongroom_http_requests_total"
        )
        assert counted == len(answered)
        simple = sum(1 for line in answered if '"GET /simple/metered/ ' in line)
        assert simple >= 24
        assert (
            _value(samples, "strongroom_http_request_duration_seconds_count", family="simple")
            == simple
        )
        per_worker = list((server.data_dir / "metrics").glob("counter_*.db"))
        assert len(per_worker) >= 2, per_worker
