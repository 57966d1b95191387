"""Upstream files on first download: verified, kept, served from the storage after;
tampered or broken-off files refused with nothing kept; one fetch for concurrent
first downloads; the size cap and purge."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import threading

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from strongroom.events.models import Event
from strongroom.proxy import services
from strongroom.proxy.models import CachedFile
from strongroom.storage import get_storage
from tests.proxy.upstream_server import Upstream, UpstreamFile, UpstreamServer

pytestmark = pytest.mark.django_db(transaction=True)
JSON = "application/vnd.pypi.simple.v1+json"


def url_of(client: Client, name: str) -> str:
    page = client.get(f"/simple/{name}/", HTTP_ACCEPT=JSON).json()
    return str(page["files"][0]["url"])


def body(response) -> bytes:  # type: ignore[no-untyped-def]
    if response.streaming:
        return b"".join(response.streaming_content)
    return bytes(response.content)


def upstream_gets(upstream: Upstream, wheel: UpstreamFile) -> int:
    return sum(1 for path, _etag in upstream.requests if path == f"/files/{wheel.filename}")


def kept_paths() -> list[str]:
    return [path for path, _size in get_storage().list_paths() if path.startswith("upstream/")]


def test_first_download_is_fetched_verified_kept_and_then_served_from_storage(
    client: Client, upstream: Upstream, upstream_server
) -> None:  # type: ignore[no-untyped-def]
    wheel = upstream.add_wheel("fetched", "1.0")
    url = url_of(client, "fetched")
    assert body(client.get(url)) == wheel.data
    assert kept_paths() == [f"upstream/{wheel.sha256[:2]}/{wheel.sha256[2:4]}/{wheel.sha256}/"
                            f"{wheel.filename}"]  # fmt: skip
    assert CachedFile.objects.get(sha256=wheel.sha256, is_metadata=False).stored
    upstream_server.stop()
    again = client.get(url)
    assert again.status_code == 200 and body(again) == wheel.data
    assert upstream_gets(upstream, wheel) == 1


def test_metadata_is_fetched_verified_and_kept(client: Client, upstream: Upstream) -> None:
    wheel = upstream.add_wheel("with-meta", "1.0")
    url = url_of(client, "with-meta")
    response = client.get(url + ".metadata")
    assert response.status_code == 200 and body(response) == wheel.metadata
    assert CachedFile.objects.get(sha256=wheel.sha256, is_metadata=True).stored


def test_tampered_file_is_refused_audited_and_nothing_kept(
    client: Client, upstream: Upstream
) -> None:
    wheel = upstream.add_wheel("tampered", "1.0")
    wheel.listed_sha256 = hashlib.sha256(b"the real bytes").hexdigest()
    url = url_of(client, "tampered")
    response = client.get(url)
    assert response.status_code == 200  # streamed; the stream is cut before its end
    with pytest.raises(Exception, match="sha256"):
        body(response)
    assert kept_paths() == []
    assert not CachedFile.objects.filter(stored=True).exists()
    event = Event.objects.get(tag="proxy:file:refused")
    assert event.extra["expected"] == wheel.listed_sha256
    assert event.extra["actual"] == hashlib.sha256(wheel.data).hexdigest()
    # Asked again, it is refused again: a refusal is never cached as a success.
    with pytest.raises(Exception, match="sha256"):
        body(client.get(url))
    assert kept_paths() == []


def test_tampered_metadata_is_a_503_and_nothing_kept(client: Client, upstream: Upstream) -> None:
    wheel = upstream.add_wheel("meta-tampered", "1.0")
    url = url_of(client, "meta-tampered")
    wheel.metadata = b"Metadata-Version: 2.1\nName: evil\n"
    response = client.get(url + ".metadata")
    assert response.status_code == 503
    assert kept_paths() == []
    assert Event.objects.filter(tag="proxy:file:refused").count() == 1


def test_file_broken_off_mid_way_keeps_nothing(client: Client, upstream: Upstream) -> None:
    wheel = upstream.add_wheel("cut-off", "1.0")
    url = url_of(client, "cut-off")
    upstream.fault = "cut"
    response = client.get(url)
    # Broken off within the first chunk: nothing was sent yet, so a clean 503.
    assert response.status_code == 503
    assert kept_paths() == []
    upstream.fault = ""
    assert body(client.get(url)) == wheel.data  # the next download fetches it whole


def test_large_file_broken_off_after_the_first_chunk_cuts_the_stream_and_keeps_nothing(
    client: Client, upstream: Upstream
) -> None:
    wheel = upstream.add_wheel("big-cut", "1.0", members={"big.bin": os.urandom(2**20)})
    url = url_of(client, "big-cut")
    upstream.fault = "cut"
    response = client.get(url)
    assert response.status_code == 200  # the first bytes were already on their way
    with pytest.raises(Exception, match=r"broke off|fewer"):
        body(response)
    assert kept_paths() == []
    assert not CachedFile.objects.filter(stored=True).exists()
    assert wheel.data


@pytest.mark.parametrize("fault", ["timeout", "500"])
def test_file_download_with_upstream_failing_is_a_503(
    client: Client, upstream: Upstream, fault: str
) -> None:
    upstream.add_wheel("flaky", "1.0")
    url = url_of(client, "flaky")
    upstream.fault = fault
    response = client.get(url)
    assert response.status_code == 503
    assert f"127.0.0.1:{upstream.port}" in response.content.decode()
    assert kept_paths() == []


def test_unlisted_file_is_404(client: Client, upstream: Upstream) -> None:
    upstream.add_wheel("listed", "1.0")
    url_of(client, "listed")
    assert client.get(f"/upstream/files/{'0' * 64}/listed-1.0-py3-none-any.whl").status_code == 404


def test_concurrent_first_downloads_fetch_once(client: Client, upstream: Upstream) -> None:
    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite" and ("mode=memory" in name or ":memory:" in name):
        # Shared-cache in-memory SQLite locks whole tables between threads; the file
        # database `serve` uses (WAL) and PostgreSQL do not (run with
        # STRONGROOM_DATABASE_URL to take this test there).
        pytest.skip("threads need a file or PostgreSQL database, not in-memory SQLite")
    wheel = upstream.add_wheel("popular", "1.0")
    url = url_of(client, "popular")
    upstream.delay = 0.5
    results: list[bytes] = []

    def download() -> None:
        try:
            results.append(body(Client().get(url)))
        finally:
            connection.close()

    threads = [threading.Thread(target=download) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [wheel.data] * 4
    assert upstream_gets(upstream, wheel) == 1


def test_size_cap_evicts_least_recently_used(client: Client, upstream: Upstream, settings) -> None:  # type: ignore[no-untyped-def]
    wheels = [upstream.add_wheel(f"capped{i}", "1.0") for i in range(3)]
    largest = max(len(w.data) for w in wheels)
    settings.UPSTREAM = dataclasses.replace(settings.UPSTREAM, cache_bytes=2 * largest + 10)
    urls = [url_of(client, f"capped{i}") for i in range(3)]
    for url in urls[:2]:
        body(client.get(url))
    body(client.get(urls[0]))  # capped0 is now more recent than capped1
    body(client.get(urls[2]))
    stored = set(CachedFile.objects.filter(stored=True, is_metadata=False)
                 .values_list("normalized_name", flat=True))  # fmt: skip
    assert stored == {"capped0", "capped2"}
    assert len(kept_paths()) == 2


def test_purge_drops_pages_and_files(client: Client, upstream: Upstream) -> None:
    upstream.add_wheel("purged", "1.0")
    body(client.get(url_of(client, "purged")))
    assert kept_paths()
    pages, files = services.purge()
    assert (pages, files) == (1, 1)
    assert kept_paths() == []
    assert settings.UPSTREAM.enabled


def test_upstream_credentials_go_to_the_index_only_never_to_the_hosts_its_pages_name(
    client: Client, upstream: Upstream, settings
) -> None:  # type: ignore[no-untyped-def]
    # PyPI's pages name files on another host; a page may name any host at all. The
    # upstream's credentials are for the index: a file host never sees them.
    elsewhere = UpstreamServer()
    try:
        settings.UPSTREAM = dataclasses.replace(
            settings.UPSTREAM, username="mirror", password="s3cret"
        )
        wheel = upstream.add_wheel("elsewhere", "1.0")
        elsewhere.state.projects["elsewhere"] = upstream.projects["elsewhere"]
        upstream.file_base = f"http://localhost:{elsewhere.state.port}/files/"
        assert body(client.get(url_of(client, "elsewhere"))) == wheel.data
        expected = "Basic " + base64.b64encode(b"mirror:s3cret").decode()
        assert ("/simple/elsewhere/", expected) in upstream.authorizations
        assert [path for path, _ in elsewhere.state.authorizations] == [f"/files/{wheel.filename}"]
        assert all(header == "" for _, header in elsewhere.state.authorizations)
    finally:
        elsewhere.stop()
