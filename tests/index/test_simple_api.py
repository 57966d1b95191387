import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from strongroom.accounts.actors import Actor
from strongroom.packages.models import File, Release
from strongroom.packages.services import yank_release
from tests.distributions import make_sdist, post_upload, sdist_filename, upload_form

pytestmark = pytest.mark.django_db(transaction=True)
JSON = "application/vnd.pypi.simple.v1+json"


@pytest.fixture
def uploaded(client, user):
    assert post_upload(client, upload_form(name="Sample.Pkg", version="1.0")).status_code == 200
    sdist = upload_form(
        make_sdist("Sample.Pkg", "1.0"),
        sdist_filename("sample_pkg", "1.0"),
        name="Sample.Pkg",
        filetype="sdist",
    )
    assert post_upload(client, sdist).status_code == 200, sdist
    assert post_upload(client, upload_form(name="Sample.Pkg", version="2.0")).status_code == 200
    return user


def test_project_page_html_has_hashes_requires_python_and_core_metadata(client, uploaded):
    response = client.get("/simple/sample-pkg/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    wheel = File.objects.get(filename__endswith="1.0-py3-none-any.whl")
    assert f'href="/{wheel.path}#sha256={wheel.sha256_digest}"' in body
    assert 'data-requires-python="&gt;=3.8"' in body
    assert f'data-core-metadata="sha256={wheel.metadata_sha256}"' in body
    assert f'data-dist-info-metadata="sha256={wheel.metadata_sha256}"' in body
    assert 'pypi:repository-version" content="1.3"' in body
    assert response["Vary"] == "Accept" and response["ETag"]


def test_project_json_has_pep_700_fields(client, uploaded):
    response = client.get("/simple/sample-pkg/", HTTP_ACCEPT=JSON)
    assert response["Content-Type"] == JSON
    data = json.loads(response.content)
    assert data["meta"]["api-version"] == "1.3"
    assert data["versions"] == ["1.0", "2.0"]
    wheel = next(f for f in data["files"] if f["filename"].endswith("2.0-py3-none-any.whl"))
    assert wheel["size"] > 0 and wheel["upload-time"].endswith("Z")
    assert wheel["core-metadata"] == {
        "sha256": File.objects.get(filename=wheel["filename"]).metadata_sha256
    }
    sdist = next(f for f in data["files"] if f["filename"].endswith(".tar.gz"))
    assert sdist["core-metadata"] is False and sdist["yanked"] is False


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("", "text/html"),
        ("*/*", "text/html"),
        (JSON, JSON),
        ("application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.v1+html"),
        (f"{JSON};q=0.2, text/html;q=0.9", "text/html"),
        (f"{JSON}, application/vnd.pypi.simple.v1+html;q=0.5", JSON),
        ("application/vnd.pypi.simple.latest+json", JSON),
    ],
)
def test_content_negotiation(client, uploaded, accept, expected):
    response = client.get("/simple/sample-pkg/", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == expected


def test_unacceptable_type_is_406_and_format_overrides(client, uploaded):
    assert client.get("/simple/", HTTP_ACCEPT="application/xml").status_code == 406
    assert client.get("/simple/", HTTP_ACCEPT=f"{JSON};q=0").status_code == 406
    response = client.get(f"/simple/sample-pkg/?format={JSON}", HTTP_ACCEPT="text/html")
    assert response["Content-Type"] == JSON
    assert client.get("/simple/?format=text/xml").status_code == 406


def test_non_normalised_name_redirects(client, uploaded):
    response = client.get("/simple/Sample.Pkg/?format=json")
    assert response.status_code == 302
    assert response["Location"] == "/simple/sample-pkg/?format=json"


def test_etag_and_last_modified_give_304_until_a_yank(client, uploaded, rf):
    first = client.get("/simple/sample-pkg/")
    assert client.get("/simple/sample-pkg/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    modified = client.get("/simple/sample-pkg/", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert modified.status_code == 304
    release = Release.objects.get(version="1.0")
    yank_release(Actor.of(uploaded), release, "broken <build>")
    again = client.get("/simple/sample-pkg/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200
    assert 'data-yanked="broken &lt;build&gt;"' in again.content.decode()
    data = client.get("/simple/sample-pkg/", HTTP_ACCEPT=JSON).json()
    assert {f["yanked"] for f in data["files"] if "-1.0" in f["filename"]} == {"broken <build>"}


def test_read_path_query_count_is_constant(client, uploaded):
    client.get("/simple/sample-pkg/")  # warm up sessions etc.
    with CaptureQueriesContext(connection) as cold:
        client.get("/simple/sample-pkg/", HTTP_ACCEPT=JSON)
    assert len(cold) <= 3, [q["sql"] for q in cold]
    with CaptureQueriesContext(connection) as warm:
        client.get("/simple/sample-pkg/", HTTP_ACCEPT=JSON)
    assert len(warm) == 1
    with CaptureQueriesContext(connection) as index:
        assert client.get("/simple/").status_code == 200
    assert len(index) <= 2


def test_root_index_lists_projects(client, uploaded):
    assert '<a href="/simple/sample-pkg/">Sample.Pkg</a>' in client.get("/simple/").content.decode()
    data = client.get("/simple/", HTTP_ACCEPT=JSON).json()
    assert data["projects"] == [{"name": "Sample.Pkg"}]


def test_unknown_project_is_404(client, db):
    assert client.get("/simple/nothing-here/").status_code == 404
