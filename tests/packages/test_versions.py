"""Versions from clients: bounded, and refused with a 400/404, never a 500.

A release segment over Python's int-from-string limit (4,300 digits) made ``packaging``
raise a bare ValueError in the upload form, the JSON API, release pages and the manage
URLs; a version longer than the column was stored on SQLite and would fail on PostgreSQL.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import InvalidVersion

from strongroom.packages.models import Release
from strongroom.packages.versions import MAX_VERSION_LENGTH, canonical_version, parse_version
from tests.distributions import make_wheel, post_upload, upload_form

HUGE = "1" * 5000
# Long but under the int limit: valid PEP 440, longer than any stored version.
LONG = "1." + "2" * 150
# 95 characters as typed, 102 once normalised ("c" -> "rc0", "r" -> ".post0").
GROWS = "1." * 46 + "1cr"

hostile_versions = st.one_of(
    st.text(max_size=50),
    st.from_regex(r"\A([0-9]{1,6}!)?[0-9]{1,5000}(\.[0-9]{1,40}){0,5}(rc[0-9]{0,3})?\Z"),
    st.integers(min_value=0, max_value=6000).map(lambda n: "9" * n),
    st.sampled_from([HUGE, LONG, GROWS, "1.0" + ".0" * 60, "0!" + HUGE, "1.post" + HUGE]),
)


@pytest.mark.parametrize("text", [HUGE, LONG, GROWS, "1.0.dev" + HUGE, HUGE + "!1"])
def test_overlong_versions_are_invalid_versions(text):
    with pytest.raises(InvalidVersion):
        parse_version(text)
    with pytest.raises(InvalidVersion):
        canonical_version(text)


def test_ordinary_versions_still_parse():
    assert str(parse_version("1.0")) == "1.0"
    assert canonical_version("1.0.0") == "1"
    assert canonical_version("v2.0-RC1") == "2rc1"
    assert len(str(parse_version("1" * MAX_VERSION_LENGTH))) == MAX_VERSION_LENGTH


@settings(max_examples=300, deadline=None)
@given(text=hostile_versions)
def test_parsing_fails_only_with_invalid_version_and_stays_bounded(text):
    try:
        version = parse_version(text)
    except InvalidVersion:
        return
    assert len(str(version)) <= MAX_VERSION_LENGTH
    assert len(canonical_version(text)) <= MAX_VERSION_LENGTH


@pytest.fixture
def release(client, user):
    assert post_upload(client, upload_form(version="1.0")).status_code == 200
    return Release.objects.get(version="1.0")


def _manage_urls(version):
    base = "/manage/project/sample/release"
    return [f"{base}/{version}/yank/", f"{base}/{version}/unyank/", f"{base}/{version}/delete/"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("version", [HUGE, LONG, "1." + "0" * 4400, "1.0.post" + "7" * 4400])
def test_hostile_versions_in_urls_are_not_found(client, release, password, version):
    assert client.get(f"/pypi/sample/{version}/json").status_code == 404
    assert client.get(f"/project/sample/{version}/").status_code == 404
    client.post("/account/login/", {"login": "alice", "password": password})
    for url in _manage_urls(version):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"confirm": version, "reason": "x"}).status_code == 404, url
    assert Release.objects.get(pk=release.pk).yanked is False


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("version", [HUGE, "1.0." + HUGE, "0!" + HUGE])
def test_a_5000_digit_version_in_the_upload_form_is_a_400(client, user, version):
    form = upload_form(version="1.0")
    form["version"] = version
    response = post_upload(client, form)
    assert response.status_code == 400
    assert "is not a PEP 440 version of at most 100 characters" in response.reason_phrase
    assert not Release.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("version", [LONG, GROWS])
def test_a_version_longer_than_its_column_is_refused_at_upload(client, user, version):
    response = post_upload(client, upload_form(version=version))
    assert response.status_code == 400
    assert "at most 100 characters" in response.reason_phrase
    assert not Release.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_filename_spelling_a_short_version_at_length_is_refused(client, user):
    # Equal to "1.0" for packaging, so it passes the consistency check, but the release
    # would be named after the filename's 151-character spelling.
    long_spelling = "1.0" + ".0" * 74
    form = upload_form(make_wheel("sample", "1.0"), f"sample-{long_spelling}-py3-none-any.whl")
    response = post_upload(client, form)
    assert response.status_code == 400
    assert response.reason_phrase.startswith("Invalid filename")
    assert not Release.objects.exists()
