"""/simple/<name>/ through the proxy: rewritten links, the page cache and its
revalidation, stale-if-error, 503s naming the upstream, PEP 503 HTML upstreams."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from strongroom.proxy.models import UpstreamPage
from tests.proxy.upstream_server import Upstream

pytestmark = pytest.mark.django_db
JSON = "application/vnd.pypi.simple.v1+json"


def simple(client: Client, name: str, accept: str = JSON):  # type: ignore[no-untyped-def]
    return client.get(f"/simple/{name}/", HTTP_ACCEPT=accept)


def test_proxy_is_off_by_default(client: Client) -> None:
    assert not settings.UPSTREAM.enabled
    assert simple(client, "anything").status_code == 404


def test_unknown_name_is_answered_from_upstream_with_links_through_strongroom(
    client: Client, upstream: Upstream
) -> None:
    wheel = upstream.add_wheel("requests-lite", "2.0")
    response = simple(client, "requests-lite")
    assert response.status_code == 200
    assert response["Content-Type"] == JSON
    document = json.loads(response.content)
    [entry] = document["files"]
    assert entry["url"] == f"/upstream/files/{wheel.sha256}/{wheel.filename}"
    assert entry["hashes"] == {"sha256": wheel.sha256}
    assert "core-metadata" in entry
    html = simple(client, "requests-lite", "text/html")
    assert f'href="/upstream/files/{wheel.sha256}/{wheel.filename}#sha256={wheel.sha256}"' in (
        html.content.decode()
    )


def test_project_list_stays_local_only(client: Client, upstream: Upstream) -> None:
    upstream.add_wheel("only-upstream", "1.0")
    assert simple(client, "only-upstream").status_code == 200
    listing = client.get("/simple/", HTTP_ACCEPT=JSON)
    assert "only-upstream" not in listing.content.decode()


def test_unknown_upstream_name_is_404(client: Client, upstream: Upstream) -> None:
    assert simple(client, "nowhere").status_code == 404


def test_page_is_cached_then_revalidated_with_its_etag(client: Client, upstream: Upstream) -> None:
    upstream.add_wheel("cached", "1.0")
    assert simple(client, "cached").status_code == 200
    assert simple(client, "cached").status_code == 200
    page_requests = [r for r in upstream.requests if r[0].startswith("/simple/")]
    assert len(page_requests) == 1  # the second answer came from the cache
    UpstreamPage.objects.update(fetched_at=timezone.now() - timedelta(seconds=601))
    assert simple(client, "cached").status_code == 200
    page_requests = [r for r in upstream.requests if r[0].startswith("/simple/")]
    assert len(page_requests) == 2 and page_requests[1][1]  # sent If-None-Match
    assert UpstreamPage.objects.get().fetched_at > timezone.now() - timedelta(seconds=5)


@pytest.mark.parametrize("fault", ["timeout", "500", "garbage"])
def test_failing_upstream_serves_the_cached_page(
    client: Client, upstream: Upstream, fault: str
) -> None:
    upstream.add_wheel("steady", "1.0")
    first = simple(client, "steady")
    UpstreamPage.objects.update(fetched_at=timezone.now() - timedelta(days=1))
    upstream.fault = fault
    again = simple(client, "steady")
    assert again.status_code == 200
    assert json.loads(again.content)["files"] == json.loads(first.content)["files"]


@pytest.mark.parametrize("fault", ["timeout", "500", "garbage"])
def test_failing_upstream_with_nothing_cached_is_a_503_naming_it(
    client: Client, upstream: Upstream, fault: str
) -> None:
    upstream.add_wheel("never-seen", "1.0")
    upstream.fault = fault
    response = simple(client, "never-seen")
    assert response.status_code == 503
    assert f"127.0.0.1:{upstream.port}" in response.content.decode()
    assert not UpstreamPage.objects.exists()


def test_unreachable_upstream_is_a_503(client: Client, upstream: Upstream, settings) -> None:  # type: ignore[no-untyped-def]
    settings.UPSTREAM = dataclasses.replace(settings.UPSTREAM, url="http://127.0.0.1:9/simple/")
    response = simple(client, "anything")
    assert response.status_code == 503
    assert "127.0.0.1:9" in response.content.decode()


def test_html_only_upstream_is_accepted(client: Client, upstream: Upstream) -> None:
    upstream.html = True
    wheel = upstream.add_wheel("html-only", "1.0")
    document = json.loads(simple(client, "html-only").content)
    assert [f["hashes"]["sha256"] for f in document["files"]] == [wheel.sha256]


def test_upstream_yanks_and_status_pass_through(client: Client, upstream: Upstream) -> None:
    upstream.add_wheel("old-thing", "1.0", yanked="broken")
    upstream.status["old-thing"] = "archived"
    document = json.loads(simple(client, "old-thing").content)
    assert document["files"][0]["yanked"] == "broken"
    assert document["project-status"] == {"status": "archived"}
    assert 'data-yanked="broken"' in simple(client, "old-thing", "text/html").content.decode()


def test_quarantined_upstream_project_offers_no_files(client: Client, upstream: Upstream) -> None:
    upstream.add_wheel("bad-thing", "1.0")
    upstream.status["bad-thing"] = "quarantined"
    document = json.loads(simple(client, "bad-thing").content)
    assert document["files"] == []
    assert document["project-status"]["status"] == "quarantined"


def test_json_api_and_web_page_for_a_proxied_project(client: Client, upstream: Upstream) -> None:
    wheel = upstream.add_wheel("jsonish", "1.0")
    upstream.add_wheel("jsonish", "1.1")
    document = client.get("/pypi/jsonish/json").json()
    assert document["info"]["version"] == "1.1"
    assert set(document["releases"]) == {"1.0", "1.1"}
    one = client.get("/pypi/jsonish/1.0/json").json()
    assert one["urls"][0]["digests"]["sha256"] == wheel.sha256
    assert client.get("/pypi/jsonish/3.0/json").status_code == 404
    page = client.get("/project/jsonish/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "From upstream" in text and f"127.0.0.1:{upstream.port}" in text


def test_proxied_page_has_short_public_caching_and_answers_304(
    client: Client, upstream: Upstream
) -> None:
    upstream.add_wheel("conditional", "1.0")
    first = simple(client, "conditional")
    assert first["Surrogate-Key"] == "project-conditional"
    assert first["Cache-Control"].startswith("public, max-age=")
    assert int(first["Cache-Control"].rsplit("=", 1)[1]) <= 60
    again = client.get("/simple/conditional/", HTTP_ACCEPT=JSON, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
