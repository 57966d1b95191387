import hashlib

import pytest

from strongroom.packages.models import File
from tests.distributions import make_wheel, post_upload, upload_form

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def wheel(client, user):
    assert post_upload(client, upload_form(version="1.0")).status_code == 200
    assert post_upload(client, upload_form(version="1.1")).status_code == 200
    return File.objects.get(filename="sample-1.1-py3-none-any.whl")


def test_project_json_in_pypi_shape(client, wheel):
    data = client.get("/pypi/sample/json").json()
    assert data["info"]["version"] == "1.1" and data["info"]["requires_python"] == ">=3.8"
    assert list(data["releases"]) == ["1.0", "1.1"]
    assert data["urls"][0]["digests"]["sha256"] == wheel.sha256_digest
    assert data["urls"][0]["url"] == f"http://localhost:8000/{wheel.path}"
    assert data["last_serial"] == wheel.project.last_serial


def test_release_json_and_404s(client, wheel):
    data = client.get("/pypi/sample/1.0/json").json()
    assert data["info"]["version"] == "1.0" and "releases" not in data
    assert client.get("/pypi/sample/9.9/json").status_code == 404
    assert client.get("/pypi/sample/not a version/json").status_code == 404
    assert client.get("/pypi/missing/json").status_code == 404


def test_download_full_range_and_etag(client, wheel):
    content = make_wheel("sample", "1.1")
    response = client.get(f"/{wheel.path}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert int(response["Content-Length"]) == wheel.size
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == wheel.sha256_digest
    assert len(body) == len(content)
    partial = client.get(f"/{wheel.path}", HTTP_RANGE="bytes=10-19")
    assert partial.status_code == 206
    assert partial["Content-Range"] == f"bytes 10-19/{wheel.size}"
    assert b"".join(partial.streaming_content) == body[10:20]
    tail = client.get(f"/{wheel.path}", HTTP_RANGE="bytes=-5")
    assert b"".join(tail.streaming_content) == body[-5:]
    assert client.get(f"/{wheel.path}", HTTP_RANGE=f"bytes={wheel.size}-").status_code == 416
    assert client.get(f"/{wheel.path}", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_metadata_file_is_served_and_matches_its_hash(client, wheel):
    response = client.get(f"/{wheel.path}.metadata")
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == wheel.metadata_sha256
    assert body.startswith(b"Metadata-Version: 2.1")


def test_download_rejects_odd_paths(client, db):
    for path in ["/packages/../secret_key", "/packages/ab/cd/x/y.whl", "/packages/%2e%2e/x"]:
        assert client.get(path).status_code == 404
