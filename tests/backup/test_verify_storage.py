"""``verify-storage``: rows without their object, objects without their row, damage."""

from __future__ import annotations

import pytest

from strongroom.backup.verify import verify_storage
from strongroom.packages.models import File
from strongroom.storage import get_storage
from tests.backup.helpers import put_raw, read_raw, remove_raw
from tests.distributions import post_upload, upload_form

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def wheel(client, user) -> File:  # type: ignore[no-untyped-def]
    assert post_upload(client, upload_form()).status_code == 200
    return File.objects.get()


def test_an_index_whose_rows_and_objects_agree_passes(wheel):
    check = verify_storage(hashes=True)
    assert check.ok, check
    assert (check.rows, check.objects) == (2, 2)  # the wheel and its .metadata


def test_a_row_whose_object_was_removed_is_reported_missing(wheel):
    remove_raw(wheel.metadata_path)
    check = verify_storage()
    assert check.missing == [wheel.metadata_path] and not check.ok


def test_an_object_no_row_references_is_reported_and_staged_copies_are_not(wheel):
    put_raw("packages/00/00/planted/evil-1.0.tar.gz", b"not from an upload")
    put_raw(".staging/in-flight", b"an upload being staged")
    put_raw(f"{wheel.path}.extra", b"beside a real file")
    check = verify_storage()
    assert check.orphaned == [
        "packages/00/00/planted/evil-1.0.tar.gz",
        f"{wheel.path}.extra",
    ]
    assert check.missing == [] and check.damaged == []


def test_a_truncated_file_is_damaged_and_a_same_size_forgery_needs_hashes(wheel):
    original = read_raw(wheel.path)
    forged = bytes([original[0] ^ 1]) + original[1:]
    put_raw(wheel.path, forged)
    assert verify_storage().ok  # same size: only reading the bytes tells
    check = verify_storage(hashes=True)
    assert check.damaged == [f"{wheel.path}: its SHA-256 is not the one its row records"]
    put_raw(wheel.path, original[:-1])
    assert verify_storage().damaged == [
        f"{wheel.path}: {len(original) - 1} bytes, its row says {len(original)}"
    ]


def test_the_storage_lists_published_objects_with_their_sizes(wheel):
    listed = dict(get_storage().list_paths())
    assert listed[wheel.path] == wheel.size and set(listed) == {wheel.path, wheel.metadata_path}
