"""Each malformed upload gets the right status and sentence, and leaves nothing behind."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from strongroom.accounts.actors import Actor
from strongroom.packages.models import File, Project, Release, UsedFilename
from tests.distributions import (
    basic_auth,
    make_sdist,
    make_wheel,
    metadata_text,
    post_upload,
    sdist_filename,
    upload_form,
    upload_token,
)
from tests.factories import UserFactory
from tests.support import stored_files

pytestmark = pytest.mark.django_db(transaction=True)


def _wheel_form(content: bytes, **overrides: Any) -> dict[str, Any]:
    return upload_form(content, **overrides)


def _truncated() -> dict[str, Any]:
    return _wheel_form(make_wheel()[:-40])


def _bomb() -> dict[str, Any]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("sample-1.0.dist-info/METADATA", metadata_text("sample", "1.0"))
        archive.writestr("sample/zeros.bin", b"\0" * (120 * 1024 * 1024))
    return _wheel_form(buffer.getvalue())


def _tar_with(member: str) -> dict[str, Any]:
    content = make_sdist(members={member: b"x"})
    return upload_form(content, sdist_filename(), filetype="sdist")


CASES: list[tuple[str, Callable[[], dict[str, Any]], int, str]] = [
    ("missing action", lambda: upload_form(**{":action": None}), 400, "Missing ':action'"),
    ("unknown action", lambda: upload_form(**{":action": "submit"}), 400, "Unknown ':action'"),
    ("wrong protocol", lambda: upload_form(protocol_version="2"), 400, "protocol version"),
    ("no content", lambda: upload_form(content=None) | {"content": None}, 400, "No file"),
    (
        "name mismatch",
        lambda: upload_form(make_wheel(), "sample-1.0-py3-none-any.whl", name="other"),
        400,
        "does not match the filename",
    ),
    (
        "version mismatch",
        lambda: upload_form(make_wheel(), "sample-1.0-py3-none-any.whl", version="2.0"),
        400,
        "The version in the form",
    ),
    (
        "METADATA mismatch",
        lambda: _wheel_form(make_wheel(metadata=metadata_text("sample", "9.0"))),
        400,
        "The version in METADATA",
    ),
    ("invalid version", lambda: upload_form(version="one"), 400, "Invalid metadata"),
    ("local version", lambda: upload_form(version="1.0+local"), 400, "Local versions"),
    ("invalid name", lambda: upload_form(name="-bad-"), 400, "Invalid metadata"),
    ("missing name", lambda: {**upload_form(), "name": None}, 400, "Missing required field: name"),
    ("metadata 3.0", lambda: upload_form(metadata_version="3.0"), 400, "Unsupported metadata"),
    ("bad requires_python", lambda: upload_form(requires_python=">=>3"), 400, "Invalid metadata"),
    ("bad requires_dist", lambda: upload_form(requires_dist=["foo >=="]), 400, "Invalid metadata"),
    ("bad sha256", lambda: upload_form(sha256_digest="0" * 64), 400, "sha256 digest does not"),
    ("bad md5", lambda: upload_form(md5_digest="f" * 32), 400, "md5 digest does not"),
    ("bad blake2", lambda: upload_form(blake2_256_digest="zz"), 400, "blake2_256 digest"),
    (
        "no digests",
        lambda: upload_form(sha256_digest=None, md5_digest=None, blake2_256_digest=None),
        400,
        "at least one message digest",
    ),
    ("unknown filetype", lambda: upload_form(filetype="bdist_egg"), 400, "Unsupported filetype"),
    ("truncated zip", _truncated, 400, "zip"),
    ("not a zip", lambda: _wheel_form(b"not a zip at all"), 400, "not a valid zip"),
    (
        "dot-dot member",
        lambda: _wheel_form(make_wheel(members={"../evil.py": b"x"})),
        400,
        "Unsafe path",
    ),
    (
        "absolute member",
        lambda: _wheel_form(make_wheel(members={"/etc/evil": b"x"})),
        400,
        "Unsafe path",
    ),
    ("tar dot-dot member", lambda: _tar_with("sample-1.0/../../evil"), 400, "Unsafe path"),
    (
        "missing METADATA",
        lambda: _wheel_form(make_wheel(metadata=False)),  # type: ignore[arg-type]
        400,
        "exactly one .dist-info/METADATA",
    ),
    (
        "two METADATA",
        lambda: _wheel_form(make_wheel(members={"x-1.0.dist-info/METADATA": b"Name: x"})),
        400,
        "exactly one .dist-info/METADATA",
    ),
    ("zip bomb", _bomb, 400, "expands too much"),
    (
        "bad wheel filename",
        lambda: upload_form(make_wheel(), "sample-1.0.whl"),
        400,
        "Invalid filename",
    ),
    (
        "sdist as .tar.bz2",
        lambda: upload_form(make_sdist(), "sample-1.0.tar.bz2", filetype="sdist"),
        400,
        "PEP 625",
    ),
    (
        "wheel sent as sdist",
        lambda: upload_form(make_wheel(), "sample-1.0-py3-none-any.whl", filetype="sdist"),
        400,
        "PEP 625",
    ),
    ("invalid UTF-8", lambda: upload_form(summary="caf\udce9"), 400, "not valid UTF-8"),
    (
        "oversized field",
        lambda: upload_form(description="x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)),
        413,
        "form fields are too large",
    ),
    (
        "extra file field",
        lambda: upload_form(gpg_signature=SimpleUploadedFile("a.asc", b"sig")),
        400,
        "Unexpected file field",
    ),
]


def _stored_files() -> list[str]:
    return stored_files()


def _temp_files() -> list[Path]:
    root = Path(settings.UPLOAD_TEMP_DIR)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _assert_nothing_left() -> None:
    assert Project.objects.count() == Release.objects.count() == File.objects.count() == 0
    assert UsedFilename.objects.count() == 0
    assert _stored_files() == [] and _temp_files() == []


@pytest.mark.parametrize(
    ("case", "make_form", "status", "message"), CASES, ids=[c[0] for c in CASES]
)
def test_malformed_upload_is_refused_cleanly(client, user, case, make_form, status, message):
    form = {k: v for k, v in make_form().items() if v is not None}
    if case == "invalid UTF-8":
        response = _post_raw_invalid_utf8(client, form)
    else:
        response = post_upload(client, form)
    assert response.status_code == status, response.content
    assert message in response.reason_phrase, response.reason_phrase
    assert message in response.content.decode()
    _assert_nothing_left()


def _post_raw_invalid_utf8(client, form):  # type: ignore[no-untyped-def]
    """Send a multipart body whose summary field holds bytes that are not UTF-8."""
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    form["summary"] = "PLACEHOLDER"
    body = encode_multipart(BOUNDARY, form).replace(b"PLACEHOLDER", b"caf\xe9")
    return client.generic(
        "POST", "/legacy/", body, content_type=MULTIPART_CONTENT,
        HTTP_AUTHORIZATION=basic_auth("__token__", upload_token("alice")),
    )  # fmt: skip


def test_duplicate_filename_is_refused_even_after_deletion(client, user, rf):
    from strongroom.packages.services import remove_file

    assert post_upload(client, upload_form()).status_code == 200
    again = post_upload(client, upload_form())
    assert again.status_code == 400 and "File already exists" in again.reason_phrase
    remove_file(Actor.of(user), File.objects.get())
    after = post_upload(client, upload_form())
    assert after.status_code == 400 and "has already been used" in after.reason_phrase
    assert File.objects.count() == 0


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "Invalid or non-existent authentication"),
        ("Bearer abc", "Invalid API token"),
        ("Basic !!!", "Invalid or non-existent authentication"),
        (basic_auth("__token__", "strongroom-AAAA"), "Invalid API token"),
        (basic_auth("alice", "wrong-password"), "not correct"),
        (basic_auth("nobody"), "not correct"),
    ],
)
def test_bad_credentials_are_403(client, user, settings, authorization, reason):
    settings.UPLOAD_PASSWORDS = "always"  # so a wrong password is judged as such
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.post("/legacy/", upload_form(), **headers)
    assert response.status_code == 403
    assert reason in response.reason_phrase
    _assert_nothing_left()


def test_unverified_user_cannot_upload(client, db):
    from strongroom.accounts.models import Email

    UserFactory(username="unverified")
    raw = upload_token("unverified")
    Email.objects.filter(user__username="unverified").update(verified=False)
    response = client.post(
        "/legacy/", upload_form(), HTTP_AUTHORIZATION=basic_auth("__token__", raw)
    )
    assert response.status_code == 400 and "verified primary email" in response.reason_phrase
    _assert_nothing_left()


def test_file_over_the_limit_is_413_and_admin_can_raise_it_per_project(client, user, settings):
    settings.UPLOAD_MAX_SIZE = 1024
    big = make_wheel(members={"sample/data.bin": os.urandom(8000)})
    response = post_upload(client, upload_form(big))
    assert response.status_code == 413 and "File too large" in response.reason_phrase
    _assert_nothing_left()
    settings.UPLOAD_MAX_SIZE = 10 * 1024 * 1024
    assert post_upload(client, upload_form(version="0.1")).status_code == 200
    settings.UPLOAD_MAX_SIZE = 1024
    project = Project.objects.get()
    project.upload_limit = 1024 * 1024
    project.save()
    assert post_upload(client, upload_form(big)).status_code == 200


def test_get_is_405(client, db):
    assert client.get("/legacy/").status_code == 405


def test_reason_phrase_is_latin1_safe(client, user):
    response = post_upload(client, upload_form(name="sample", summary="ok", version="1.0",
                                               content=make_wheel("sämple")))  # fmt: skip
    assert response.status_code == 400
    response.reason_phrase.encode("latin-1")
