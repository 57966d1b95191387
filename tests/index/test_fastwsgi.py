"""The bare WSGI fast path (index.fastwsgi) gives Django's answer, byte for byte."""

from io import BytesIO
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.handlers.wsgi import WSGIHandler

from strongroom.index import root
from strongroom.index.fastwsgi import SimpleFastPath
from tests.distributions import post_upload, upload_form

pytestmark = pytest.mark.django_db(transaction=True)
JSON = "application/vnd.pypi.simple.v1+json"


@pytest.fixture
def published(client, user):
    assert post_upload(client, upload_form(name="fast-pkg", version="1.0")).status_code == 200
    return user


class NotDjango(Exception):
    pass


def _refuse(environ, start_response):
    raise NotDjango(environ["PATH_INFO"])


def _call(app, path, method="GET", query="", **headers):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "wsgi.input": BytesIO(),
    }
    environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    setup_testing_defaults(environ)
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"] = status
        seen["headers"] = {k.lower(): v for k, v in response_headers}

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


CASES = [
    ("/simple/", {}),
    ("/simple/", {"accept": JSON}),
    ("/simple/fast-pkg/", {}),
    ("/simple/fast-pkg/", {"accept": JSON}),
    ("/simple/fast-pkg/", {"accept": "application/vnd.pypi.simple.v1+html"}),
    ("/simple/fast-pkg/", {"accept": "text/html;q=0.5, application/vnd.pypi.simple.v1+json"}),
    ("/simple/fast-pkg/", {"accept": "*/*"}),
    ("/simple/", {"accept_encoding": "gzip"}),
    ("/simple/", {"accept": JSON, "accept_encoding": "gzip, deflate, br, zstd"}),
    ("/simple/fast-pkg/", {"accept_encoding": "gzip, deflate"}),
    ("/simple/fast-pkg/", {"accept": JSON, "accept_encoding": "zstd"}),
]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(("path", "headers"), CASES)
def test_bare_and_django_answers_are_identical(published, method, path, headers):
    bare = _call(SimpleFastPath(_refuse), path, method, **headers)
    django = _call(WSGIHandler(), path, method, **headers)
    assert bare == django
    assert bare[0] == "200 OK"
    assert bare[1]["vary"] == "Accept, Accept-Encoding"
    # Framed by its length, not chunked; a HEAD (whose body the server drops) the GET's.
    assert bare[1]["content-length"] == str(len(bare[2])) and bare[2]
    assert bare[1]["surrogate-key"] and bare[1]["access-control-allow-origin"] == "*"
    assert bare[1]["content-security-policy"]
    assert bare[1]["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/simple/", "/simple/fast-pkg/"])
def test_not_modified_is_identical(published, path):
    _status, headers, _body = _call(WSGIHandler(), path)
    for condition in (
        {"if_none_match": headers["etag"]},
        {"if_none_match": "*"},
        {"if_modified_since": headers["last-modified"]},
    ):
        bare = _call(SimpleFastPath(_refuse), path, **condition)
        assert bare == _call(WSGIHandler(), path, **condition)
        assert bare[0] == "304 Not Modified"
        assert bare[2] == b""
    stale = {"if_none_match": '"p0-0h"'}
    assert _call(SimpleFastPath(_refuse), path, **stale)[0] == "200 OK"


@pytest.mark.parametrize(
    ("path", "method", "query", "headers"),
    [
        ("/simple/Fast_Pkg/", "GET", "", {}),  # redirect
        ("/simple/no-such/", "GET", "", {}),  # 404
        ("/simple/fast-pkg/", "GET", "", {"accept": "image/png"}),  # 406
        ("/simple/fast-pkg/", "GET", "format=json", {}),  # query string
        ("/simple/fast-pkg/", "POST", "", {}),
        ("/simple/fast-pkg/", "GET", "", {"x_forwarded_proto": "https"}),
        ("/simple/fast-pkg/json", "GET", "", {}),
        ("/pypi/fast-pkg/json", "GET", "", {}),
    ],
)
def test_everything_else_goes_to_django(published, settings, path, method, query, headers):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    with pytest.raises(NotDjango):
        _call(SimpleFastPath(_refuse), path, method, query, **headers)


def test_https_goes_to_django(published):
    app = SimpleFastPath(_refuse)
    environ_https = {"wsgi.url_scheme": "https"}
    with pytest.raises(NotDjango):
        app(
            {"REQUEST_METHOD": "GET", "PATH_INFO": "/simple/fast-pkg/", **environ_https},
            lambda *a: None,
        )


def test_a_page_not_yet_stored_goes_to_django(published):
    from strongroom.index.models import SimplePage

    SimplePage.objects.all().delete()
    with pytest.raises(NotDjango):
        _call(SimpleFastPath(_refuse), "/simple/fast-pkg/")
    # Django renders and stores it; the next request is answered bare.
    assert _call(WSGIHandler(), "/simple/fast-pkg/")[0] == "200 OK"
    assert _call(SimpleFastPath(_refuse), "/simple/fast-pkg/")[0] == "200 OK"


def test_a_change_is_visible_on_the_very_next_request(client, published):
    app = SimpleFastPath(_refuse)
    _status, first, body = _call(app, "/simple/fast-pkg/")
    _status, first_index, _ = _call(app, "/simple/")
    assert b"fast_pkg-2.0" not in body
    assert post_upload(client, upload_form(name="fast-pkg", version="2.0")).status_code == 200
    status, again, body = _call(app, "/simple/fast-pkg/", if_none_match=first["etag"])
    assert status == "200 OK"
    assert again["etag"] != first["etag"]
    assert b"fast_pkg-2.0-py3-none-any.whl" in body
    assert post_upload(client, upload_form(name="other-pkg", version="1.0")).status_code == 200
    assert root.wait_for_render()  # PostgreSQL renders /simple/ after the commit, in the background
    status, _index, body = _call(app, "/simple/", if_none_match=first_index["etag"])
    assert status == "200 OK"
    assert b"other-pkg" in body


def test_the_served_application_is_the_fast_path():
    from strongroom.ops.metrics import RequestMetrics
    from strongroom.web.requestid import RequestIds
    from strongroom.wsgi import application

    # Request ids outermost (so every answer carries one), then measured (ops.metrics),
    # then the fast path in front of Django.
    assert isinstance(application, RequestIds)
    assert isinstance(application.app, RequestMetrics)
    application = application.app
    assert isinstance(application.app, SimpleFastPath)


def test_the_raw_index_state_query_matches_the_orm(client, user):
    from strongroom.index.views import _index_state
    from strongroom.packages.services import index_state

    assert _index_state() == index_state()
    assert post_upload(client, upload_form(name="fast-pkg", version="1.0")).status_code == 200
    serial, changed = _index_state()
    assert (serial, changed) == index_state()
    assert serial > 0 and changed is not None and changed.tzinfo is not None
