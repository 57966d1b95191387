"""STRONGROOM_RELEASE_CLOSE_DAYS: a release older than that takes no new files."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from strongroom.packages.models import File, Release
from tests.distributions import post_upload, upload_form

pytestmark = pytest.mark.django_db(transaction=True)


def _age(days: int) -> None:
    Release.objects.update(created=timezone.now() - timedelta(days=days))


def test_by_default_releases_never_close(client, user, settings):
    assert settings.RELEASE_CLOSE_DAYS == 0
    assert post_upload(client, upload_form()).status_code == 200
    _age(3650)
    assert post_upload(client, upload_form(filetype="sdist")).status_code == 200
    assert File.objects.count() == 2


def test_a_release_older_than_the_limit_takes_no_new_file(client, user, settings):
    settings.RELEASE_CLOSE_DAYS = 30
    assert post_upload(client, upload_form()).status_code == 200
    _age(29)
    assert post_upload(client, upload_form(filetype="sdist")).status_code == 200
    _age(31)
    # The same release under another spelling of its version is the same release.
    for version in ("1.0", "1.0.0"):
        refused = post_upload(client, upload_form(version=version, filetype="sdist"))
        assert refused.status_code == 400
        assert b"Release 1.0 of sample is closed" in refused.content
        assert b"30 days" in refused.content
    assert File.objects.count() == 2
    # A new version is a new release: open.
    assert post_upload(client, upload_form(version="1.1")).status_code == 200
    assert File.objects.count() == 3
