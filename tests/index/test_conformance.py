"""The read path answers as PyPI does where clients and proxies rely on it (issue 20)."""

from __future__ import annotations

import pytest
from django.core.handlers.wsgi import WSGIHandler

from strongroom.index.fastwsgi import SimpleFastPath
from strongroom.packages.models import File
from tests.distributions import post_upload, upload_form
from tests.index.test_fastwsgi import NotDjango, _call, _refuse

pytestmark = pytest.mark.django_db(transaction=True)
JSON = "application/vnd.pypi.simple.v1+json"


@pytest.fixture
def releases(client, user):
    for version in ("1.0", "3.0b1"):
        assert post_upload(client, upload_form(name="conf-pkg", version=version)).status_code == 200
    return user


def test_info_version_is_the_latest_final_release_not_a_pre_release(client, releases):
    info = client.get("/pypi/conf-pkg/json").json()["info"]
    assert info["version"] == "1.0"
    assert client.get("/pypi/conf-pkg/3.0b1/json").json()["info"]["version"] == "3.0b1"


def test_only_pre_releases_give_the_newest_pre_release(client, user):
    for version in ("2.0a1", "2.0b2"):
        assert post_upload(client, upload_form(name="pre-pkg", version=version)).status_code == 200
    assert client.get("/pypi/pre-pkg/json").json()["info"]["version"] == "2.0b2"


def test_info_has_pypis_legacy_keys(client, releases):
    info = client.get("/pypi/conf-pkg/json").json()["info"]
    assert info["bugtrack_url"] is None and info["docs_url"] is None
    assert info["downloads"] == {"last_day": -1, "last_month": -1, "last_week": -1}


@pytest.mark.parametrize(
    "path", ["/pypi/no-such-pkg/json", "/pypi/conf-pkg/9.9/json", "/pypi/conf-pkg/not a v/json"]
)
def test_unknown_project_or_version_is_a_json_404(client, releases, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"message": "Not Found"}


def test_json_apis_allow_any_origin(client, releases):
    for path in ("/pypi/conf-pkg/json", "/pypi/conf-pkg/1.0/json", "/simple/conf-pkg/"):
        response = client.get(path, HTTP_ACCEPT=JSON, HTTP_ORIGIN="https://example.org")
        assert response.status_code == 200
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in response


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/simple/Conf_Pkg/", "/simple/conf-pkg/"),
        ("/pypi/Conf.Pkg/json", "/pypi/conf-pkg/json"),
        ("/pypi/CONF_PKG/1.0/json", "/pypi/conf-pkg/1.0/json"),
    ],
)
def test_name_redirects_are_permanent(client, releases, path, location):
    response = client.get(path)
    assert response.status_code == 301
    assert response["Location"] == location


@pytest.mark.parametrize("path", ["/simple/", "/simple/conf-pkg/", "/pypi/conf-pkg/json"])
@pytest.mark.parametrize("encoding", [None, "gzip"])
def test_a_weak_etag_from_a_proxy_revalidates(client, releases, path, encoding):
    headers = {"HTTP_ACCEPT_ENCODING": encoding} if encoding else {}
    etag = client.get(path, **headers)["ETag"]
    assert not etag.startswith("W/")
    response = client.get(path, HTTP_IF_NONE_MATCH=f"W/{etag}", **headers)
    assert response.status_code == 304
    assert response["ETag"] == etag
    listed = client.get(path, HTTP_IF_NONE_MATCH=f'W/"other", W/{etag}', **headers)
    assert listed.status_code == 304
    assert client.get(path, HTTP_IF_NONE_MATCH='W/"other"', **headers).status_code == 200


@pytest.mark.parametrize("path", ["/simple/", "/simple/conf-pkg/"])
def test_the_fast_path_takes_a_weak_etag_too(client, releases, path):
    _status, headers, _body = _call(WSGIHandler(), path)
    status, _headers, body = _call(_fast(), path, if_none_match=f"W/{headers['etag']}")
    assert status == "304 Not Modified" and body == b""


def test_a_file_revalidates_with_a_weak_etag(client, releases):
    file = File.objects.get(filename="conf_pkg-1.0-py3-none-any.whl")
    etag = client.get(f"/{file.path}")["ETag"]
    assert client.get(f"/{file.path}", HTTP_IF_NONE_MATCH=f"W/{etag}").status_code == 304


def _fast() -> SimpleFastPath:
    return SimpleFastPath(_refuse)


def test_unknown_names_still_go_to_django(releases):
    with pytest.raises(NotDjango):
        _call(_fast(), "/simple/no-such-pkg/")


def test_404s_carry_the_project_key_so_a_purge_reaches_them(client, releases):
    for path in ("/simple/later-pkg/", "/pypi/later-pkg/json"):
        response = client.get(path)
        assert response.status_code == 404
        assert response["Surrogate-Key"] == "project-later-pkg"
        assert "Set-Cookie" not in response
