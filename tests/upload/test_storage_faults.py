"""Faults of the disk and the file storage around an upload: nothing committed is lost,
nothing partial is kept, and the client gets a clear sentence with the right status."""

from __future__ import annotations

import os
import time

import pytest
from django.db import OperationalError
from django.test import Client

from strongroom.events.models import Event
from strongroom.events.tags import EventTag
from strongroom.packages.models import File, Project, Release, UsedFilename
from strongroom.storage import reset_storage
from strongroom.upload.repair import repair_files
from strongroom.web.outage import outage_message, outage_status
from tests.distributions import make_wheel, post_upload, upload_form
from tests.storage import recording
from tests.support import mount_tiny_tmpfs, stored_files, unmount

pytestmark = pytest.mark.django_db(transaction=True)


def _big_wheel_form() -> dict[str, object]:
    """A wheel of ~200 KB that does not compress: larger than the tiny disks below."""
    content = make_wheel(members={"sample/blob.bin": os.urandom(200_000)})
    return upload_form(content)


def _nothing_recorded() -> bool:
    return not (
        Project.objects.exists()
        or Release.objects.exists()
        or File.objects.exists()
        or UsedFilename.objects.exists()
    )


@pytest.fixture
def raw_client() -> Client:
    return Client(raise_request_exception=False)


@pytest.fixture
def folder_storage(settings):  # type: ignore[no-untyped-def]
    """The folder store, also on the scale-out pass (these faults are the local disk's)."""
    settings.FILE_STORAGE_BACKEND = "strongroom.storage.filesystem.FilesystemStorage"
    reset_storage()
    yield
    reset_storage()


def test_a_storage_fault_after_the_commit_keeps_the_file_and_repair_publishes_it(
    raw_client, user, settings, folder_storage
):  # type: ignore[no-untyped-def]
    files = settings.FILES_DIR
    files.mkdir(parents=True)
    # The file's folder cannot be created after the commit (a real mkdir error, as when
    # the disk has no inode left for it).
    (files / "packages").write_bytes(b"")
    form = upload_form()
    content = form["content"].read()  # type: ignore[attr-defined]
    form["content"].seek(0)  # type: ignore[attr-defined]

    response = post_upload(raw_client, form)

    assert response.status_code == 503
    assert "was recorded" in response.content.decode()
    assert "do not upload it again" in response.reason_phrase
    file = File.objects.get()  # the row is committed ...
    staged = sorted((files / ".staging").glob("*.staged"))
    assert len(staged) == 2, "... and its file and metadata are kept, not cleaned up"
    assert content in {p.read_bytes() for p in staged}
    refused = Event.objects.filter(tag=EventTag.ACCOUNT_UPLOAD_REFUSED)
    assert not refused.exists(), "a committed upload is not a refusal"

    (files / "packages").unlink()  # the storage recovers
    repaired = repair_files(at_start=True)

    assert sorted(repaired.storage.published) == sorted([file.path, file.metadata_path])
    download = raw_client.get("/" + file.path)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
    assert not list((files / ".staging").iterdir())


def test_repair_removes_stale_partials_but_keeps_uploads_in_flight(user, settings, folder_storage):  # type: ignore[no-untyped-def]
    staging = settings.FILES_DIR / ".staging"
    staging.mkdir(parents=True)
    bodies = settings.UPLOAD_TEMP_DIR
    bodies.mkdir(parents=True)
    crashed_body = bodies / "upload-crashed.part"
    crashed_copy = staging / "0123.part"
    orphan = staging / "4567.staged"  # staged, never committed (the process died)
    (staging / "4567.target").write_text("packages/aa/bb/" + "a" * 64 + "/x-1.0.tar.gz")
    for path in (crashed_body, crashed_copy, orphan):
        path.write_bytes(b"partial" * 1000)
    hour_ago = time.time() - 7200
    for path in (crashed_body, crashed_copy, orphan, staging / "4567.target"):
        os.utime(path, (hour_ago, hour_ago))
    in_flight_body = bodies / "upload-live.part"
    in_flight_copy = staging / "89ab.part"
    in_flight_body.write_bytes(b"live")
    in_flight_copy.write_bytes(b"live")

    beside_a_live_server = repair_files(at_start=False)

    assert not crashed_body.exists() and not crashed_copy.exists() and not orphan.exists()
    assert not (staging / "4567.target").exists()
    assert in_flight_body.exists() and in_flight_copy.exists(), "younger than an hour: live"
    assert beside_a_live_server.bodies_removed == 1
    assert len(beside_a_live_server.storage.removed) == 2

    at_start = repair_files(at_start=True)  # nothing of this server is in flight at start
    assert not in_flight_body.exists() and not in_flight_copy.exists()
    assert at_start.bodies_removed == 1 and at_start.storage.published == []


def test_a_repair_never_removes_the_staged_copy_of_a_committed_file(
    raw_client, user, settings, folder_storage
):  # type: ignore[no-untyped-def]
    files = settings.FILES_DIR
    files.mkdir(parents=True)
    (files / "packages").write_bytes(b"")
    assert post_upload(raw_client, upload_form()).status_code == 503
    for staged in (files / ".staging").iterdir():  # old, like a crash long ago
        os.utime(staged, (time.time() - 7200, time.time() - 7200))

    repaired = repair_files(at_start=True)  # the folder still cannot be created

    assert len(repaired.storage.failed) == 2 and repaired.storage.removed == []
    assert len(list((files / ".staging").glob("*.staged"))) == 2


@pytest.fixture
def tiny_upload_temp_dir(settings, tmp_path):  # type: ignore[no-untyped-def]
    mount = tmp_path / "tiny-tmp"
    mount_tiny_tmpfs(mount, size="64k")
    settings.UPLOAD_TEMP_DIR = mount
    yield mount
    unmount(mount)


def test_a_full_disk_while_receiving_the_body_is_a_507_leaving_nothing(
    raw_client, user, tiny_upload_temp_dir
):  # type: ignore[no-untyped-def]
    response = post_upload(raw_client, _big_wheel_form())

    assert response.status_code == 507
    assert "no room left to receive the file" in response.reason_phrase
    assert "database" not in response.content.decode()
    assert list(tiny_upload_temp_dir.iterdir()) == []
    assert _nothing_recorded()


def test_no_inode_for_the_temporary_file_is_a_507(raw_client, user, settings, tmp_path):  # type: ignore[no-untyped-def]
    mount = tmp_path / "no-inodes"
    mount_tiny_tmpfs(mount, size="1m", inodes=1)  # the root folder takes the only inode
    settings.UPLOAD_TEMP_DIR = mount
    try:
        response = post_upload(raw_client, upload_form())
        leftovers = list(mount.iterdir())
    finally:
        unmount(mount)
    assert response.status_code == 507
    assert "disk is full" in response.content.decode()
    assert leftovers == []
    assert _nothing_recorded()


def test_a_full_file_store_is_a_507_leaving_no_row_and_no_partial_copy(
    raw_client, user, settings, tmp_path
):  # type: ignore[no-untyped-def]
    mount = tmp_path / "tiny-files"
    mount_tiny_tmpfs(mount, size="64k")
    settings.FILES_DIR = mount
    settings.FILE_STORAGE_BACKEND = "strongroom.storage.filesystem.FilesystemStorage"
    reset_storage()
    try:
        response = post_upload(raw_client, _big_wheel_form())
        leftovers = [str(p.relative_to(mount)) for p in mount.rglob("*") if p.is_file()]
    finally:
        unmount(mount)
    assert response.status_code == 507
    assert "no room left to store the file" in response.reason_phrase
    assert leftovers == []
    assert _nothing_recorded()


def test_a_full_sqlite_disk_is_507_not_the_database_outage(tmp_path):  # type: ignore[no-untyped-def]
    import sqlite3

    mount = tmp_path / "tiny-db"
    mount_tiny_tmpfs(mount, size="64k")
    try:
        database = sqlite3.connect(mount / "full.sqlite3")
        database.execute("CREATE TABLE t (data BLOB)")
        with pytest.raises(sqlite3.OperationalError) as caught:
            for _ in range(100):
                database.execute("INSERT INTO t VALUES (?)", [os.urandom(4096)])
                database.commit()
        database.close()
    finally:
        unmount(mount)
    # What Django's error wrapper makes of it (django.db.utils.DatabaseErrorWrapper).
    error = OperationalError(*caught.value.args)
    error.__cause__ = caught.value
    assert outage_status(error) == 507
    message = outage_message(error) or ""
    assert "disk is full" in message and "cannot be reached" not in message


def test_the_slow_copy_happens_outside_the_transaction_and_the_chain_lock(client, user, settings):  # type: ignore[no-untyped-def]
    settings.FILE_STORAGE_BACKEND = "tests.storage.recording.RecordingStorage"
    reset_storage()
    recording.STAGED_IN_TRANSACTION.clear()

    assert post_upload(client, upload_form()).status_code == 200

    assert recording.STAGED_IN_TRANSACTION == [False, False]  # the file and its METADATA
    file = File.objects.get()
    assert sorted(stored_files()) == sorted([file.path, file.metadata_path])
