import pytest
from django.db import transaction

from strongroom.packages.models import File, Project, UsedFilename
from strongroom.storage import get_storage
from strongroom.storage.base import is_safe_path
from tests.distributions import post_upload, upload_form
from tests.support import stored_files

pytestmark = pytest.mark.django_db(transaction=True)


def _all_files() -> list[str]:
    return stored_files()


def test_saved_file_appears_only_after_commit():
    storage = get_storage()
    with transaction.atomic():
        storage.save("packages/ab/cd/x/a.whl", b"data")
        assert not storage.exists("packages/ab/cd/x/a.whl")
    assert storage.open("packages/ab/cd/x/a.whl").read() == b"data"
    assert storage.url("packages/ab/cd/x/a.whl") == "/packages/ab/cd/x/a.whl"


def test_rolled_back_save_leaves_nothing():
    storage = get_storage()
    with pytest.raises(RuntimeError), transaction.atomic():
        storage.save("packages/ab/cd/y/b.whl", b"data")
        raise RuntimeError("boom")
    storage.discard_staged()
    assert _all_files() == []


def test_delete_waits_for_commit():
    storage = get_storage()
    with transaction.atomic():
        storage.save("packages/ab/cd/z/c.whl", b"data")
    with transaction.atomic():
        storage.delete("packages/ab/cd/z/c.whl")
        assert storage.exists("packages/ab/cd/z/c.whl")
    assert not storage.exists("packages/ab/cd/z/c.whl")


@pytest.mark.parametrize("path", ["", "/etc/passwd", "a/../b", "a//b", "a\\b", "./a"])
def test_unsafe_paths_are_refused(path):
    assert not is_safe_path(path)
    with pytest.raises(ValueError):
        get_storage().open(path)


def test_failure_inside_the_upload_transaction_leaves_no_row_and_no_file(client, user, monkeypatch):
    from strongroom.upload import services

    def explode(project):  # type: ignore[no-untyped-def]
        raise RuntimeError("database went away")

    monkeypatch.setattr(services.packages, "bump_serial", explode)
    client.raise_request_exception = False
    response = post_upload(client, upload_form())
    assert response.status_code == 500
    assert not Project.objects.exists() and not File.objects.exists()
    assert not UsedFilename.objects.exists()
    assert _all_files() == []
