"""Issue 21, item 1: absolute links come from the base URL only; unknown hosts get 400."""

from __future__ import annotations

import re
from io import BytesIO
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client

from strongroom.events.models import Event
from strongroom.index.fastwsgi import SimpleFastPath
from strongroom.web.hosts import (
    HostCheck,
    derive_allowed_hosts,
    derive_base_url,
    serve_environment,
)
from tests.distributions import post_upload, upload_form

pytestmark = pytest.mark.django_db(transaction=True)

EVIL = "evil.example"
RESET = "/account/reset-password/"

# Every way a client can name a host: Host, X-Forwarded-Host (whether or not a proxy is
# trusted), an absolute request line (gunicorn's RAW_URI, uWSGI's REQUEST_URI), a port.
FORGED = [
    {"HTTP_HOST": EVIL},
    {"HTTP_HOST": f"{EVIL}:8000"},
    {"HTTP_HOST": f"localhost@{EVIL}"},
    {"HTTP_HOST": "localhost", "HTTP_X_FORWARDED_HOST": EVIL},
    {"HTTP_HOST": "localhost", "HTTP_X_FORWARDED_HOST": f"localhost, {EVIL}"},
    {"HTTP_HOST": "localhost", "RAW_URI": f"http://{EVIL}{RESET}"},
    {"HTTP_HOST": "localhost", "REQUEST_URI": f"https://user@{EVIL}:443{RESET}"},
    {"HTTP_HOST": "localhost.evil.example"},
    {"HTTP_HOST": "127.0.0.1.evil.example"},
    {"HTTP_HOST": ""},
]


def _reset_links(mailoutbox) -> list[str]:
    return [link for m in mailoutbox for link in re.findall(r"https?://\S+", m.body)]


@pytest.mark.parametrize("forged", FORGED)
@pytest.mark.parametrize("behind_proxy", [False, True])
def test_reset_requested_for_a_forged_host_is_refused_and_mails_nothing(
    settings, user, mailoutbox, forged, behind_proxy
):
    settings.USE_X_FORWARDED_HOST = behind_proxy
    client = Client(enforce_csrf_checks=False)
    response = client.post(RESET, {"login": user.email}, **forged)
    assert response.status_code == 400
    assert "does not answer for that host name" in response.content.decode()
    assert mailoutbox == []
    assert not Event.objects.filter(user=user).exclude(tag__startswith="account:create").exists()


@pytest.mark.parametrize(
    "path", ["/", "/simple/", "/simple/sample/", "/static/strongroom/site.css"]
)
def test_every_path_refuses_a_forged_host_before_any_view(client, path):
    # Pages, the read path's fast path and static files (WhiteNoise) alike.
    assert client.get(path, HTTP_HOST=EVIL).status_code == 400
    assert client.get(path, HTTP_HOST="localhost").status_code != 400


def test_reset_link_is_on_the_base_url_whatever_host_was_used(settings, user, mailoutbox):
    settings.BASE_URL = "https://index.example.org"
    settings.ALLOWED_HOSTS = ["localhost", "index.example.org", "127.0.0.1"]
    for host in ("localhost:8000", "127.0.0.1", "index.example.org"):
        assert Client().post(RESET, {"login": user.email}, HTTP_HOST=host).status_code == 200
    links = _reset_links(mailoutbox)
    assert len(links) == 3
    assert all(
        link.startswith("https://index.example.org/account/reset-password/") for link in links
    )


def test_every_email_link_comes_from_the_base_url(settings, signed_in, user, mailoutbox):
    """Verification, security notices and token emails: none take the request's host."""
    settings.BASE_URL = "https://index.example.org"
    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1"]
    signed_in.post("/manage/account/emails/", {"action": "add", "email": "alice2@example.org"})
    signed_in.post(
        "/manage/account/token/",
        {"name": "ci", "scope": "account", "expiry": "90"},
        HTTP_HOST="127.0.0.1",
    )
    links = _reset_links(mailoutbox)
    assert links, [m.subject for m in mailoutbox]
    assert all(link.startswith("https://index.example.org/") for link in links), links


def test_json_api_links_use_the_base_url(settings, client, user):
    assert post_upload(client, upload_form(name="sample", version="1.0")).status_code == 200
    settings.BASE_URL = "https://index.example.org"
    data = client.get("/pypi/sample/json", HTTP_HOST="127.0.0.1").json()
    assert data["urls"][0]["url"].startswith("https://index.example.org/")


def _environ(path: str, **extra: str) -> dict:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": ""}
    environ.update(extra)
    environ["wsgi.input"] = BytesIO()
    setup_testing_defaults(environ)
    return environ


class NotDjango(Exception):
    pass


def _refuse(environ, start_response):
    raise NotDjango(environ.get("HTTP_HOST"))


@pytest.mark.parametrize("forged", FORGED)
def test_bare_wsgi_fast_path_leaves_a_forged_host_to_django_which_refuses_it(client, user, forged):
    assert post_upload(client, upload_form(name="sample", version="1.0")).status_code == 200
    bare = SimpleFastPath(_refuse)
    with pytest.raises(NotDjango):
        bare(_environ("/simple/sample/", **forged), lambda *a: None)
    seen = {}
    body = SimpleFastPath(WSGIHandler())(
        _environ("/simple/sample/", **forged), lambda status, h, e=None: seen.update(s=status)
    )
    assert seen["s"].startswith("400")
    assert b"sample-1.0" not in b"".join(body)
    # The right host is still answered by the fast path itself.
    good: dict = {}
    bare(_environ("/simple/sample/", HTTP_HOST="localhost"), lambda s, h: good.update(s=s))
    assert good["s"] == "200 OK"


def test_hostile_host_values_do_not_grow_the_verdict_cache():
    check = HostCheck(["localhost"], remember=8)
    for n in range(1000):
        assert not check.allows({"HTTP_HOST": f"h{n}.evil.example"})
    assert len(check._verdicts) <= 8
    assert check.allows({"HTTP_HOST": "localhost:8000"})


@pytest.mark.parametrize(
    ("host", "port", "base_url", "allowed"),
    [
        ("127.0.0.1", 8000, "http://localhost:8000", ["localhost", "127.0.0.1", "[::1]"]),
        ("::1", 8000, "http://localhost:8000", ["localhost", "127.0.0.1", "[::1]"]),
        ("localhost", 80, "http://localhost", ["localhost", "127.0.0.1", "[::1]"]),
        ("0.0.0.0", 8080, "http://localhost:8080", ["localhost", "127.0.0.1", "[::1]", "box"]),  # noqa: S104
        ("::", 8080, "http://localhost:8080", ["localhost", "127.0.0.1", "[::1]", "box"]),
        ("192.0.2.7", 8000, "http://192.0.2.7:8000", ["localhost", "192.0.2.7"]),
        ("2001:db8::7", 8000, "http://[2001:db8::7]:8000", ["localhost", "[2001:db8::7]"]),
        ("Index.Example", 80, "http://Index.Example", ["localhost", "index.example"]),
    ],
)
def test_serve_derives_base_url_and_hosts_from_where_it_listens(host, port, base_url, allowed):
    assert derive_base_url(host, port) == base_url
    assert derive_allowed_hosts(host, base_url, hostname=lambda: "box") == allowed
    assert "*" not in allowed


def test_configured_base_url_and_hosts_win_and_the_base_host_is_allowed():
    env = serve_environment({"STRONGROOM_BASE_URL": "https://pkgs.example/"}, "0.0.0.0", 8000)  # noqa: S104
    assert env["STRONGROOM_BASE_URL"] == "https://pkgs.example"
    assert "pkgs.example" in env["STRONGROOM_ALLOWED_HOSTS"].split(",")
    both = serve_environment(
        {"STRONGROOM_BASE_URL": "https://a.example", "STRONGROOM_ALLOWED_HOSTS": "a.example"},
        "127.0.0.1",
        8000,
    )
    assert both == {
        "STRONGROOM_BASE_URL": "https://a.example",
        "STRONGROOM_ALLOWED_HOSTS": "a.example",
        "STRONGROOM_DERIVED": "",
    }
    assert env["STRONGROOM_DERIVED"] == "ALLOWED_HOSTS"


def test_defaults_without_serve_are_safe():
    """Commands and the test client, with nothing configured: localhost, never '*'."""
    from strongroom import settings as product_settings

    assert product_settings.BASE_URL == "http://localhost:8000"
    assert product_settings.ALLOWED_HOSTS == ["localhost", "127.0.0.1", "[::1]"]
    assert product_settings.MIDDLEWARE[0] == "strongroom.web.hosts.AllowedHostsMiddleware"
