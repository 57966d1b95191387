"""A filename is never reused, however it is spelled, and a release has one sdist."""

from __future__ import annotations

import pytest

from strongroom.accounts.actors import Actor
from strongroom.packages.filenames import filename_key
from strongroom.packages.models import File
from strongroom.packages.services import remove_file, remove_release
from tests.distributions import make_sdist, make_wheel, metadata_text, post_upload, upload_form

pytestmark = pytest.mark.django_db(transaction=True)


def _wheel(filename: str, version: str = "8.0", salt: bytes = b"") -> dict:
    # New bytes each time: the rule is about names, not about identical content.
    wheel = make_wheel(
        "hu-target",
        version,
        metadata=metadata_text("hu-target", version),
        members={"hu_target/salt.py": salt},
        dist_info=f"hu_target-{version}.dist-info",
    )
    return upload_form(wheel, filename, name="hu-target", version=version)


def _sdist(filename: str, version: str = "8.0", salt: bytes = b"") -> dict:
    content = make_sdist("hu-target", version, members={"hu_target-8.0/salt": salt})
    if filename.endswith(".zip"):
        content = make_wheel("hu-target", version, members={"salt": salt})
    return upload_form(content, filename, name="hu-target", version=version, filetype="sdist")


SPELLINGS = [
    ("HU_Target-8.0-py3-none-any.whl", "8.0"),
    ("hu_target-8.0.0-py3-none-any.whl", "8.0.0"),
    ("hu_target-v8.0-py3-none-any.whl", "v8.0"),
    ("hu_target-0!8.0-py3-none-any.whl", "0!8.0"),
    ("hu_target-8.00-py3-none-any.whl", "8.00"),
    ("hu_target-8.0-PY3-none-ANY.whl", "8.0"),
    ("hu.target-8.0-py3-none-any.whl", "8.0"),
]


@pytest.mark.parametrize(("filename", "version"), SPELLINGS, ids=[s[0] for s in SPELLINGS])
def test_deleted_wheel_cannot_come_back_under_another_spelling(client, user, rf, filename, version):
    assert post_upload(client, _wheel("hu_target-8.0-py3-none-any.whl")).status_code == 200
    remove_file(Actor.of(user), File.objects.get())
    response = post_upload(client, _wheel(filename, version, salt=b"new bytes"))
    assert response.status_code == 400, response.reason_phrase
    assert "has already been used" in response.reason_phrase
    assert "hu_target-8.0-py3-none-any.whl" in response.reason_phrase
    assert File.objects.count() == 0


def test_live_wheel_under_another_spelling_is_file_already_exists(client, user):
    assert post_upload(client, _wheel("hu_target-8.0-py3-none-any.whl")).status_code == 200
    response = post_upload(client, _wheel("HU_Target-8.0.0-py3-none-any.whl", "8.0.0", b"x"))
    # twine --skip-existing recognises "File already exists".
    assert response.status_code == 400 and "File already exists" in response.reason_phrase
    assert File.objects.count() == 1


def test_other_tags_and_build_numbers_are_other_files(client, user):
    assert post_upload(client, _wheel("hu_target-8.0-py3-none-any.whl")).status_code == 200
    for filename in ("hu_target-8.0-1-py3-none-any.whl", "hu_target-8.0-py311-none-any.whl"):
        response = post_upload(client, _wheel(filename, salt=filename.encode()))
        assert response.status_code == 200, response.reason_phrase
    assert File.objects.count() == 3


@pytest.mark.parametrize(
    "second", ["hu_target-8.0.zip", "HU_Target-8.0.tar.gz", "hu_target-8.0.0.tar.gz"]
)
def test_a_release_has_one_sdist(client, user, second):
    assert post_upload(client, _sdist("hu_target-8.0.tar.gz")).status_code == 200
    version = "8.0.0" if "8.0.0" in second else "8.0"
    response = post_upload(client, _sdist(second, version, salt=b"other"))
    assert response.status_code == 400, response.reason_phrase
    assert "already has a source distribution" in response.reason_phrase
    assert File.objects.count() == 1


def test_sdist_of_a_deleted_release_cannot_come_back_as_zip(client, user, rf):
    assert post_upload(client, _sdist("hu_target-8.0.tar.gz")).status_code == 200
    remove_release(Actor.of(user), File.objects.get().release)
    response = post_upload(client, _sdist("hu_target-8.0.zip", salt=b"other"))
    assert response.status_code == 400 and "has already been used" in response.reason_phrase


def test_keys_of_existing_history_are_backfilled_without_losing_rows():
    # The migration's key function: spellings of one distribution share a key.
    keys = {filename_key(name) for name, _v in SPELLINGS} | {
        filename_key("hu_target-8.0-py3-none-any.whl")
    }
    assert len(keys) == 1
    assert filename_key("hu_target-8.0.zip") == filename_key("HU.TARGET-8.0.0.tar.gz")
    assert filename_key("odd name") != filename_key("other odd name")


@pytest.mark.django_db(transaction=True)
def test_migration_keys_history_and_keeps_every_row():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    before = [("packages", "0003_upload_limit_index")]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("packages", "UsedFilename")
    for name in ("hu_target-8.0-py3-none-any.whl", "HU_Target-8.0-py3-none-any.whl", "x.tar.gz"):
        old.objects.create(filename=name)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    from strongroom.packages.models import UsedFilename

    rows = dict(UsedFilename.objects.values_list("filename", "key"))
    assert len(rows) == 3
    assert rows["hu_target-8.0-py3-none-any.whl"] == filename_key("HU_Target-8.0-py3-none-any.whl")
    assert rows["HU_Target-8.0-py3-none-any.whl"].startswith("duplicate:")
