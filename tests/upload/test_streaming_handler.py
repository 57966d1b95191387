"""The upload body goes to disk chunk by chunk while it is hashed."""

import hashlib
import os

import pytest
from django.core.files.uploadhandler import StopUpload
from django.test import RequestFactory

from strongroom.upload.handlers import HashingUploadHandler


def test_chunks_are_hashed_and_written_to_a_temp_file(settings, tmp_path):
    handler = HashingUploadHandler(RequestFactory().post("/"), max_size=10 * 1024 * 1024)
    handler.new_file("content", "a.whl", "application/octet-stream", None)
    data = os.urandom(3 * 1024 * 1024)
    for start in range(0, len(data), handler.chunk_size):
        handler.receive_data_chunk(data[start : start + handler.chunk_size], start)
    upload = handler.file_complete(len(data))
    assert upload is not None and upload.size == len(data)
    assert upload.sha256 == hashlib.sha256(data).hexdigest()
    assert upload.md5 == hashlib.md5(data).hexdigest()  # noqa: S324
    assert upload.blake2_256 == hashlib.blake2b(data, digest_size=32).hexdigest()
    assert upload.path.read_bytes() == data
    assert upload.path.parent == settings.UPLOAD_TEMP_DIR
    handler.cleanup()
    assert not upload.path.exists()


def test_too_large_stops_and_removes_the_partial_file(settings):
    handler = HashingUploadHandler(RequestFactory().post("/"), max_size=1000)
    handler.new_file("content", "a.whl", "application/octet-stream", None)
    handler.receive_data_chunk(b"x" * 600, 0)
    with pytest.raises(StopUpload):
        handler.receive_data_chunk(b"x" * 600, 600)
    assert handler.too_large
    assert list(settings.UPLOAD_TEMP_DIR.iterdir()) == []
