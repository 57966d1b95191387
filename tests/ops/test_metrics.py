"""/_/metrics: who may read it, and that each thing is counted where it happens."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from io import BytesIO
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import pytest
from django.test import Client
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from strongroom.index.counting import DownloadCounter
from strongroom.mfa import secrets_box
from strongroom.mfa.models import TOTPDevice
from strongroom.ops import metrics
from tests.distributions import post_upload, upload_form
from tests.e2e.server import cli_env
from tests.factories import PASSWORD, UserFactory

TOKEN = "s3cret-metrics-token-0123456789"
DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def token(settings):  # type: ignore[no-untyped-def]
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client: Client, token: str = TOKEN):  # type: ignore[no-untyped-def]
    return client.get("/_/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")


# --- who may read them --------------------------------------------------------------------


def test_metrics_are_off_without_a_token(db, settings):
    settings.METRICS_TOKEN = ""
    for header in ("", "Bearer ", "Bearer anything"):
        response = Client().get("/_/metrics", HTTP_AUTHORIZATION=header)
        assert response.status_code == 404


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        f"Basic {TOKEN}",
        f"Bearer {TOKEN[:-1]}",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN.upper()}",
        "Bearer \u00e9\u00e9\u00e9",
    ],
)
def test_a_missing_or_wrong_token_is_refused(db, token, header):
    response = Client().get("/_/metrics", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"strongroom_" not in response.content


def test_the_token_reads_the_metrics_never_cached(db, token):
    response = scrape(Client())
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert response["Cache-Control"] == "no-store"
    names = {f.name for f in text_string_to_metric_families(response.content.decode())}
    assert {"strongroom_uploads", "strongroom_http_requests"} <= names


def test_metrics_stay_behind_the_host_check(db, token):
    response = Client(HTTP_HOST="10.0.0.7").get("/_/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 400


def test_metrics_refuse_writes(db, token):
    response = Client().post("/_/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 405


# --- what is counted ----------------------------------------------------------------------


def test_uploads_are_counted_accepted_and_refused_by_reason(client, user):
    accepted = value("strongroom_uploads_total", outcome="accepted", reason="ok")
    conflict = value("strongroom_uploads_total", outcome="refused", reason="invalid")
    forbidden = value("strongroom_uploads_total", outcome="refused", reason="forbidden")
    assert post_upload(client, upload_form(), user.username).status_code == 200
    # The same file again, then a password instead of a token.
    assert post_upload(client, upload_form(), user.username).status_code == 400
    response = client.post(
        "/legacy/", upload_form(version="2.0"), HTTP_AUTHORIZATION="Basic X19fOnh4eA=="
    )
    assert response.status_code == 403
    assert value("strongroom_uploads_total", outcome="accepted", reason="ok") == accepted + 1
    assert value("strongroom_uploads_total", outcome="refused", reason="invalid") == conflict + 1
    assert value("strongroom_uploads_total", outcome="refused", reason="forbidden") == forbidden + 1


def test_every_failed_sign_in_step_is_counted_once(client, user):
    before = value("strongroom_login_failures_total", step="password")
    client.post("/account/login/", {"login": user.username, "password": "wrong"})
    client.post("/account/login/", {"login": "nobody-here", "password": "wrong"})
    assert value("strongroom_login_failures_total", step="password") == before + 2

    totp_user = UserFactory()
    secret = secrets_box.seal("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    TOTPDevice.objects.create(user=totp_user, secret=secret, confirmed=True)
    second = value("strongroom_login_failures_total", step="second_factor")
    other = Client()
    other.post("/account/login/", {"login": totp_user.username, "password": PASSWORD})
    assert other.post("/account/two-factor/", {"code": "000000"}).status_code == 400
    assert value("strongroom_login_failures_total", step="second_factor") == second + 1


def test_every_refused_request_counts_as_a_limit_hit(client, user, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_IP_ACCOUNT = "2/5minutes"
    before = value("strongroom_rate_limit_hits_total", limit="login:ip-account")
    for _ in range(5):
        client.post("/account/login/", {"login": user.username, "password": "wrong"})
    # Attempts 3, 4 and 5 are refused; the audit log keeps one of them, the metric all.
    assert value("strongroom_rate_limit_hits_total", limit="login:ip-account") == before + 3


def test_token_verifications_are_counted_by_outcome(client, user):
    accepted = value("strongroom_token_verifications_total", outcome="accepted")
    refused = value("strongroom_token_verifications_total", outcome="refused")
    assert post_upload(client, upload_form(), user.username).status_code == 200
    forged = "pypi-AgEIcHlwaS5vcmcCJGZvcmdlZA"
    response = client.post(
        "/legacy/", upload_form(version="3.0"), HTTP_AUTHORIZATION=_basic("__token__", forged)
    )
    assert response.status_code == 403
    # A valid token for a project it does not cover: refused by verify_token itself.
    from strongroom.accounts.actors import Actor
    from strongroom.tokens.services import create_token

    _token, scoped = create_token(
        Actor.of(user), name="scoped", project_names=["sample"], expires_at=None
    )
    response = client.post(
        "/legacy/", upload_form(name="other"), HTTP_AUTHORIZATION=_basic("__token__", scoped)
    )
    assert response.status_code == 403, response.content
    assert value("strongroom_token_verifications_total", outcome="accepted") == accepted + 1
    assert value("strongroom_token_verifications_total", outcome="refused") == refused + 2


def _basic(username: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_download_counts_and_their_flush_lag(db, settings):
    settings.DOWNLOAD_FLUSH_EVERY = 10_000
    settings.DOWNLOAD_FLUSH_SECONDS = 10_000
    clock = FakeClock()
    counter = DownloadCounter(clock=clock)
    downloads = value("strongroom_downloads_total")
    assert counter.lag() == 0.0
    counter.count("a" * 64)
    clock.now += 7
    counter.count("b" * 64)  # a newer count does not make the oldest younger
    clock.now += 5
    assert counter.lag() == 12.0
    assert value("strongroom_downloads_total") == downloads + 2
    counter.flush()
    assert counter.lag() == 0.0
    assert value("strongroom_download_flush_lag_seconds") == 0.0


def test_a_failed_flush_keeps_the_lag_of_the_counts_it_kept(db, settings, monkeypatch):
    settings.DOWNLOAD_FLUSH_EVERY = 10_000
    settings.DOWNLOAD_FLUSH_SECONDS = 10_000
    clock = FakeClock()
    counter = DownloadCounter(clock=clock)
    counter.count("c" * 64)
    clock.now += 30

    def broken(counts: object) -> int:
        raise RuntimeError("database away")

    monkeypatch.setattr("strongroom.index.counting.write_counts", broken)
    assert counter.flush() == 0
    assert counter.lag() == 30.0
    assert value("strongroom_download_flush_lag_seconds") == 30.0


def _environ(path: str) -> dict:
    environ: dict = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "HTTP_HOST": "localhost"}
    setup_testing_defaults(environ)
    environ["wsgi.input"] = BytesIO()
    return environ


def test_requests_are_counted_by_family_and_status_the_fast_path_too(db):
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from strongroom.wsgi import application

    simple = value("strongroom_http_requests_total", family="simple", status="200")
    timed = value("strongroom_http_request_duration_seconds_count", family="simple")
    missing = value("strongroom_http_requests_total", family="download", status="404")
    statuses: list[str] = []
    # As Django's test client does: the request signals would close the test's connection
    # (it is inside the test's transaction), and the download's query would then fail.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        for path in ("/simple/", "/packages/00/00/" + "0" * 64 + "/x.whl"):
            body = application(_environ(path), lambda status, _h, *a: statuses.append(status))
            b"".join(body)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert [s[:3] for s in statuses] == ["200", "404"]
    assert value("strongroom_http_requests_total", family="simple", status="200") == simple + 1
    assert value("strongroom_http_request_duration_seconds_count", family="simple") == timed + 1
    assert value("strongroom_http_requests_total", family="download", status="404") == missing + 1


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("/simple/", "simple"),
        ("/simple/x/", "simple"),
        ("/legacy/", "upload"),
        ("/packages/ab/cd/x/y.whl", "download"),
        ("/account/login/", "login"),
        ("/account/two-factor/", "login"),
        ("/account/register/", "account"),
        ("/" + "z" * 5000, "web"),
        ("/\x00/%0a", "web"),
        ("", "web"),
        ("//simple/", "web"),
    ],
)
def test_route_family_is_a_closed_set_whatever_the_path(path, family):
    assert metrics.route_family(path) == family


def test_every_metric_the_grafana_dashboard_queries_exists():
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    assert len(queries) >= 8
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""]}
    known = {
        family.name + suffix
        for family in REGISTRY.collect()
        if family.name.startswith("strongroom_")
        for suffix in suffixes.get(family.type, [""])
    }
    for expr in queries:
        names = set(re.findall(r"\bstrongroom_[a-z0-9_]+", expr))
        assert names, expr
        unknown = names - known
        assert not unknown, f"{expr} queries {unknown}"


def _in_fresh_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in cli_env().items() if k != "PROMETHEUS_MULTIPROC_DIR"},
    )


def test_serve_empties_the_metrics_folder_of_an_earlier_run(tmp_path):
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_4242.db").write_bytes(b"stale samples")
    (folder / "README").write_text("kept")
    code = (
        "from pathlib import Path; import os\n"
        "from strongroom.ops.multiproc import prepare_multiprocess_dir\n"
        f"prepare_multiprocess_dir(Path({str(tmp_path)!r}))\n"
        "from prometheus_client import Counter\n"
        "Counter('probe', 'p').inc()\n"
        "print(os.environ['PROMETHEUS_MULTIPROC_DIR'])\n"
    )
    result = _in_fresh_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(folder)
    files = sorted(p.name for p in folder.iterdir())
    assert "counter_4242.db" not in files and "README" in files
    assert any(name.startswith("counter_") for name in files)  # the new process's samples


def test_a_multiprocess_folder_set_too_late_is_an_error_not_silent_loss(tmp_path):
    code = (
        "import prometheus_client\nfrom pathlib import Path\n"
        "from strongroom.ops.multiproc import prepare_multiprocess_dir\n"
        f"prepare_multiprocess_dir(Path({str(tmp_path)!r}))\n"
    )
    result = _in_fresh_python(code)
    assert result.returncode != 0
    assert "imported before" in result.stderr
