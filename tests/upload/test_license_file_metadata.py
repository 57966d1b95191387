"""License-File before metadata 2.4 is tolerated (as PyPI sees it); from 2.4 it is checked."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from strongroom.upload import checks
from strongroom.upload.errors import UploadError


def _form(version: str, *license_files: str, name: str = "demo") -> QueryDict:
    form = QueryDict(mutable=True)
    form.update({"metadata_version": version, "name": name, "version": "1.0"})
    for path in license_files:
        form.appendlist("license_file", path)
    return form


@pytest.mark.parametrize("version", ["2.1", "2.2", "2.3"])
def test_license_file_before_2_4_is_ignored(version: str) -> None:
    metadata = checks.form_metadata(_form(version, "LICENSE"))
    assert metadata.name == "demo"
    assert metadata.license_files is None


def test_wheel_metadata_before_2_4_with_license_file_is_accepted() -> None:
    text = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nLicense-File: LICENSE\n\n"
    assert checks.core_metadata(text.encode()).version is not None


def test_license_file_from_2_4_is_still_validated() -> None:
    assert checks.form_metadata(_form("2.4", "LICENSE")).license_files == ["LICENSE"]
    with pytest.raises(UploadError, match="license-file"):
        checks.form_metadata(_form("2.4", "/etc/passwd"))


def test_tolerance_keeps_the_name_and_version_checks() -> None:
    metadata = checks.form_metadata(_form("2.1", "LICENSE", name="other"))
    dist = checks.parse_filename("demo-1.0.tar.gz", checks.SDIST)
    with pytest.raises(UploadError, match="does not match the filename"):
        checks.check_consistent(dist, metadata, "the form")
