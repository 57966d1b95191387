"""Every change to a project purges its surrogate keys, after the commit, retried, never
holding the write (index.purge). The purge endpoints are real local HTTP servers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

from strongroom.accounts.actors import Actor
from strongroom.index import purge, root
from strongroom.packages import services
from strongroom.packages.models import File, Project, Release
from tests.distributions import post_upload, upload_form

pytestmark = pytest.mark.django_db(transaction=True)


class PurgeEndpoint(ThreadingHTTPServer):
    """Records every request; answers ``failures`` 503s first, or never (``hang``)."""

    def __init__(self, failures: int = 0, hang: bool = False):
        self.seen: list[dict[str, object]] = []
        self.failures = failures
        self.hang = hang
        self.release = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


class _Handler(BaseHTTPRequestHandler):
    server: PurgeEndpoint

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        if self.server.hang:
            self.server.release.wait(10)
        status = 503 if self.server.failures > 0 else 200
        self.server.failures -= 1
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PURGE = do_BAN = do_POST = _any

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint_factory(settings) -> Iterator:
    servers: list[PurgeEndpoint] = []

    def start(backend: str = "http", **kwargs: object) -> PurgeEndpoint:
        server = PurgeEndpoint(**kwargs)  # type: ignore[arg-type]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        settings.PURGE_BACKEND = backend
        settings.PURGE_URL = server.url
        settings.PURGE_METHOD = "PURGE"
        settings.FASTLY_API_URL = server.url
        settings.FASTLY_SERVICE_ID = "SU1Z0isxPaozGVKXdv0eY"
        settings.FASTLY_API_TOKEN = "fastly-test-token"
        purge.get_backend.cache_clear()
        return server

    yield start
    for server in servers:
        server.release.set()
    purge.wait_for_purges()
    for server in servers:
        server.shutdown()
        server.server_close()
    purge.get_backend.cache_clear()


def _keys(server: PurgeEndpoint) -> list[str]:
    return [str(seen["headers"]["Surrogate-Key"]) for seen in server.seen]  # type: ignore[index]


def _settle() -> None:
    """Wait for the root's render (index.root), then for every purge (its own last)."""
    assert root.wait_for_render()
    assert purge.wait_for_purges()


def test_a_new_project_purges_itself_then_the_index_once_that_is_rendered(
    client, user, endpoint_factory
):
    endpoint = endpoint_factory()
    assert post_upload(client, upload_form(name="purged-pkg", version="1.0")).status_code == 200
    _settle()
    assert endpoint.seen[-1]["method"] == "PURGE"
    assert sorted(_keys(endpoint)) == ["project-purged-pkg", "simple-index"]


def test_an_upload_to_a_listed_project_does_not_purge_the_index(client, user, endpoint_factory):
    assert post_upload(client, upload_form(name="purged-pkg", version="1.0")).status_code == 200
    _settle()
    endpoint = endpoint_factory()
    assert post_upload(client, upload_form(name="purged-pkg", version="1.1")).status_code == 200
    _settle()
    assert _keys(endpoint) == ["project-purged-pkg"]


def test_yank_file_and_project_removal_each_purge(client, user, endpoint_factory):
    assert post_upload(client, upload_form(name="purged-pkg", version="1.0")).status_code == 200
    _settle()  # the new project's render and purges (in the background on PostgreSQL)
    endpoint = endpoint_factory()
    owner = Actor.of(user)
    services.yank_release(owner, Release.objects.get(version="1.0"), "broken")
    services.remove_file(owner, File.objects.first())
    services.remove_project(owner, Project.objects.get(normalized_name="purged-pkg"))
    _settle()
    # Only the removal changes what /simple/ lists.
    assert sorted(_keys(endpoint)) == ["project-purged-pkg"] * 3 + ["simple-index"]


def test_a_rolled_back_change_purges_nothing(client, user, endpoint_factory):
    assert post_upload(client, upload_form(name="purged-pkg", version="1.0")).status_code == 200
    _settle()
    endpoint = endpoint_factory()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.yank_release(Actor.of(user), Release.objects.get(version="1.0"), "broken")
        raise RuntimeError("the change fails after the yank")
    time.sleep(0.2)
    assert purge.wait_for_purges()
    assert endpoint.seen == []


def test_a_failing_purge_is_retried_until_it_succeeds(client, user, endpoint_factory):
    endpoint = endpoint_factory(failures=2)
    assert post_upload(client, upload_form(name="purged-pkg", version="1.0")).status_code == 200
    _settle()
    keys = _keys(endpoint)  # the first purge sent is tried three times, the other once
    assert keys[:3] == [keys[0]] * 3
    assert sorted(set(keys)) == ["project-purged-pkg", "simple-index"] and len(keys) == 4


def test_a_hanging_cdn_never_holds_the_write(client, user, endpoint_factory, settings):
    settings.PURGE_WAIT_MS = 200
    endpoint = endpoint_factory(hang=True)
    started = time.monotonic()
    assert post_upload(client, upload_form(name="purged-pkg", version="1.0")).status_code == 200
    assert time.monotonic() - started < 5
    assert Project.objects.filter(normalized_name="purged-pkg").exists()
    endpoint.release.set()


def test_an_unreachable_cdn_is_given_up_without_failing_the_write(client, user, settings):
    settings.PURGE_BACKEND = "http"
    settings.PURGE_URL = "http://127.0.0.1:9/"  # discard port: connection refused
    settings.PURGE_ATTEMPTS = 2
    purge.get_backend.cache_clear()
    try:
        assert post_upload(client, upload_form(name="purged-pkg", version="1.0")).status_code == 200
        assert purge.wait_for_purges()
    finally:
        purge.get_backend.cache_clear()


def test_ban_method_is_configurable(client, user, endpoint_factory, settings):
    endpoint = endpoint_factory()
    settings.PURGE_METHOD = "BAN"
    purge.get_backend.cache_clear()
    purge.purge_project("some-pkg")
    assert purge.wait_for_purges()
    assert endpoint.seen[0]["method"] == "BAN"


def test_fastly_backend_purges_the_keys_through_the_api(client, user, endpoint_factory):
    endpoint = endpoint_factory("fastly")
    assert post_upload(client, upload_form(name="purged-pkg", version="1.0")).status_code == 200
    _settle()
    seen = next(s for s in endpoint.seen if b"project-" in s["body"])  # type: ignore[operator]
    headers = seen["headers"]
    assert seen["method"] == "POST"
    assert seen["path"] == "/service/SU1Z0isxPaozGVKXdv0eY/purge"
    assert headers["Fastly-Key"] == "fastly-test-token"  # type: ignore[index]
    assert json.loads(seen["body"]) == {  # type: ignore[arg-type]
        "surrogate_keys": ["project-purged-pkg"]
    }
    bodies = [json.loads(s["body"]) for s in endpoint.seen]  # type: ignore[arg-type]
    assert {"surrogate_keys": ["simple-index"]} in bodies


def test_a_backend_by_dotted_path(settings):
    settings.PURGE_BACKEND = "strongroom.index.purge.NoPurge"
    purge.get_backend.cache_clear()
    try:
        assert isinstance(purge.get_backend(), purge.NoPurge)
        assert purge.purge_keys(["project-x"]) is None
    finally:
        purge.get_backend.cache_clear()


def test_a_misconfigured_backend_never_fails_the_write(client, user, settings, caplog):
    settings.PURGE_BACKEND = "http"
    settings.PURGE_URL = ""  # http needs a URL
    purge.get_backend.cache_clear()
    try:
        assert post_upload(client, upload_form(name="purged-pkg", version="1.0")).status_code == 200
    finally:
        purge.get_backend.cache_clear()
    assert "purge backend unusable" in caplog.text
