"""Hypothesis over the request headers the apps parse: Authorization on /legacy/, Accept
negotiation, Range, If-None-Match and If-Modified-Since. No 500, nothing stored."""

from __future__ import annotations

import base64
import contextlib

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom import ratelimit
from strongroom.index import downloads, negotiation
from strongroom.packages.models import File, Release
from strongroom.tokens import macaroons
from tests import fuzzing
from tests.distributions import post_upload, upload_form

# Header values are latin-1 on the wire.
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=80)
digits = st.integers(min_value=0, max_value=6000).map(lambda n: "9" * n)
ranges = st.one_of(
    header_text,
    st.builds(lambda a, b: f"bytes={a}-{b}", digits | st.just(""), digits | st.just("")),
    st.sampled_from(
        ["bytes=0-", "bytes=-0", "bytes=1-0", "bytes=\u0660-\u0661", "bytes=0-1,2-3", "items=0-1"]
    ),
)
accepts = st.one_of(
    header_text,
    st.lists(
        st.tuples(
            st.sampled_from([negotiation.JSON, negotiation.HTML_V1, "text/html", "*/*", "x/y", ""]),
            st.sampled_from(["", ";q=0", ";q=1", ";q=nan", ";q=1e999", ";q=-1", ";q=", ";level=1"]),
        ),
        max_size=4,
    ).map(lambda items: ", ".join(m + q for m, q in items)),
)
etags = st.one_of(header_text, st.lists(header_text, max_size=3).map(", ".join), st.just("*"))
dates = st.one_of(header_text, st.sampled_from(["Sun, 06 Nov 1994 08:49:37 GMT", "0", "x" * 500]))


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


authorizations = st.one_of(
    header_text,
    st.builds(lambda b: "Basic " + base64.b64encode(b).decode(), st.binary(max_size=60)),
    st.builds(_basic, fuzzing.any_text.filter(lambda t: ":" not in t), fuzzing.any_text),
    st.builds(lambda t: _basic("__token__", "pypi-" + t), fuzzing.any_text),
    st.builds(lambda t: "Bearer pypi-" + t, header_text),
)


@settings(max_examples=300, deadline=None)
@given(header=ranges, size=st.integers(min_value=0, max_value=10**12))
def test_parse_range_answers_for_any_header(header, size):
    answer = downloads.parse_range(header, size)
    if isinstance(answer, tuple):
        first, last = answer
        assert 0 <= first <= last < size


@settings(max_examples=300, deadline=None)
@given(accept=accepts, override=st.none() | header_text)
def test_negotiation_answers_for_any_accept_header(accept, override):
    assert negotiation.choose(accept, override) in {*negotiation.PREFERENCE, None}


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(header_text, fuzzing.any_text).map(lambda t: "pypi-" + t))
def test_the_token_parser_refuses_garbage_one_way(raw):
    with contextlib.suppress(macaroons.MalformedToken):
        macaroons.parse(raw, prefix="pypi-")


@pytest.fixture
def published(client, user):
    assert post_upload(client, upload_form(version="1.0")).status_code == 200
    return File.objects.get()


@pytest.mark.django_db(transaction=True)
@settings(fuzzing.FUZZ, max_examples=40)
@given(range_=ranges, none_match=etags, since=dates, accept=accepts)
def test_read_path_headers_never_error(published, range_, none_match, since, accept):
    client = Client()
    conditional = {"HTTP_IF_NONE_MATCH": none_match, "HTTP_IF_MODIFIED_SINCE": since}
    download = client.get(f"/{published.path}", HTTP_RANGE=range_, **conditional)
    assert download.status_code in {200, 206, 304, 416}
    if download.status_code in {200, 206}:
        assert b"".join(download.streaming_content)
    for url in ["/simple/", "/simple/sample/", "/pypi/sample/json", "/pypi/sample/1.0/json"]:
        response = client.get(url, HTTP_ACCEPT=accept, **conditional)
        assert response.status_code in {200, 304, 406}, url


@pytest.mark.django_db(transaction=True)
def test_a_huge_range_header_is_not_a_500(published):
    client = Client()
    huge = "9" * 5000
    assert client.get(f"/{published.path}", HTTP_RANGE=f"bytes={huge}-").status_code == 416
    whole = client.get(f"/{published.path}", HTTP_RANGE=f"bytes=-{huge}")
    assert whole.status_code == 206 and whole["Content-Range"].startswith("bytes 0-")
    assert client.get(f"/{published.path}", HTTP_RANGE=f"bytes=0-{huge}").status_code == 206


@pytest.mark.django_db(transaction=True)
@settings(fuzzing.FUZZ, max_examples=40)
@given(authorization=authorizations, version=st.sampled_from(["2.0", "1" * 5000, "1." + "2" * 120]))
def test_upload_authorization_never_errors_and_stores_nothing(published, authorization, version):
    ratelimit._backend().reset()  # type: ignore[attr-defined]
    form = upload_form(version="2.0")
    form["version"] = version
    response = Client().post("/legacy/", form, HTTP_AUTHORIZATION=authorization)
    assert response.status_code in {400, 401, 403, 429}
    assert list(Release.objects.values_list("version", flat=True)) == ["1.0"]
