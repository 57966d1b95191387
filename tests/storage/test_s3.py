"""The S3 storage against a real S3 server (SeaweedFS on CI): same promises as the folder."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client

from strongroom.storage import get_storage, reset_storage
from strongroom.storage.s3 import S3Storage
from tests.distributions import post_upload, upload_form
from tests.support import require, stored_files

pytestmark = [pytest.mark.scale, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def s3() -> S3Storage:
    require(
        bool(settings.S3_BUCKET),
        "S3 is not configured (set STRONGROOM_STORAGE_URL=s3://bucket/prefix and "
        "STRONGROOM_S3_ENDPOINT_URL, as .ci/run's scale-out pass does)",
    )
    storage = get_storage()
    assert isinstance(storage, S3Storage)
    return storage


def test_a_saved_object_is_staged_until_the_commit(s3):
    with transaction.atomic():
        s3.save("packages/ab/cd/x/a.whl", b"data")
        assert not s3.exists("packages/ab/cd/x/a.whl")
        assert [k for k in stored_files() if k.startswith(".staging/")]
    assert s3.open("packages/ab/cd/x/a.whl").read() == b"data"
    assert stored_files() == ["packages/ab/cd/x/a.whl"]


def test_a_rolled_back_save_leaves_no_object(s3):
    with pytest.raises(RuntimeError), transaction.atomic():
        s3.save("packages/ab/cd/y/b.whl", b"data")
        raise RuntimeError("boom")
    s3.discard_staged()
    assert stored_files() == []


def test_delete_waits_for_the_commit(s3):
    with transaction.atomic():
        s3.save("packages/ab/cd/z/c.whl", b"data")
    with transaction.atomic():
        s3.delete("packages/ab/cd/z/c.whl")
        assert s3.exists("packages/ab/cd/z/c.whl")
    assert not s3.exists("packages/ab/cd/z/c.whl")


def test_a_missing_bucket_is_created(settings):
    settings.S3_BUCKET = f"strongroom-new-{settings.S3_PREFIX.rsplit('/', 1)[-1]}"
    reset_storage()
    storage = get_storage()
    with transaction.atomic():
        storage.save("packages/a/b/c/d.whl", b"x")
    assert storage.exists("packages/a/b/c/d.whl")
    bucket = storage.backend.bucket  # type: ignore[attr-defined]
    bucket.objects.all().delete()
    bucket.delete()


def _uploaded(client: Client) -> str:
    assert post_upload(client, upload_form()).status_code == 200
    data = client.get("/simple/sample/", HTTP_ACCEPT="application/vnd.pypi.simple.v1+json").json()
    return str(data["files"][0]["url"])


def test_downloads_stream_from_the_bucket_with_ranges(client, user):
    url = _uploaded(client)
    assert url.startswith("/packages/")
    whole = client.get(url)
    assert whole.status_code == 200
    body = b"".join(whole.streaming_content)
    assert body[:2] == b"PK"
    part = client.get(url, HTTP_RANGE="bytes=2-9")
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == body[2:10]
    assert part["Content-Range"] == f"bytes 2-9/{len(body)}"


def test_presigned_downloads_redirect_to_a_signed_url_that_works(client, user, settings):
    import requests

    url = _uploaded(client)
    settings.DOWNLOADS = "presigned"
    response = client.get(url)
    assert response.status_code == 302
    target = response["Location"]
    assert target.startswith(settings.S3_ENDPOINT_URL) and "Signature=" in target
    fetched = requests.get(target, timeout=30)
    assert fetched.status_code == 200 and fetched.content[:2] == b"PK"
    metadata = requests.get(client.get(url + ".metadata")["Location"], timeout=30)
    assert metadata.status_code == 200 and b"Name: sample" in metadata.content


def test_cdn_downloads_link_and_redirect_to_the_cdn(client, user, settings):
    settings.DOWNLOADS = "cdn"
    settings.CDN_BASE_URL = "https://files.example.org"
    url = _uploaded(client)
    key = f"{settings.S3_PREFIX}/packages/"
    assert url.startswith(f"https://files.example.org/{key}")
    path = "/" + url.split(f"/{settings.S3_PREFIX}/", 1)[1]
    response = client.get(path)
    assert response.status_code == 302 and response["Location"] == url
    document = client.get("/pypi/sample/json").json()
    assert document["urls"][0]["url"] == url
