"""Hypothesis: filename, version and metadata parsing fail only with UploadError."""

from __future__ import annotations

import contextlib

from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom.upload import checks
from strongroom.upload.errors import UploadError

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
name_chars = st.text(alphabet="abcXYZ019._-+!~ /\\\x00é", max_size=40)
versions = st.one_of(
    st.text(max_size=20),
    st.from_regex(r"\A[0-9]{1,3}(\.[0-9]{1,3}){0,3}((a|b|rc)[0-9])?(\.post[0-9])?\Z"),
    # Past Python's 4,300-digit int limit, and past the 100-character column.
    st.integers(min_value=4200, max_value=5000).map(lambda n: "1" * n),
    st.integers(min_value=90, max_value=200).map(lambda n: "1." + "2" * n),
)


@FAST
@given(
    stem=name_chars,
    version=versions,
    tail=st.sampled_from(
        ["-py3-none-any.whl", ".whl", ".tar.gz", ".zip", "-1-py3-none-any.whl", ".tar.bz2", ""]
    ),
    filetype=st.sampled_from(["bdist_wheel", "sdist"]),
)
def test_filename_parsing_only_raises_upload_errors(stem, version, tail, filetype):
    try:
        dist = checks.parse_filename(f"{stem}-{version}{tail}", filetype)
    except UploadError as error:
        assert error.status == 400
    else:
        assert dist.packagetype == filetype


@FAST
@given(
    name=st.one_of(st.text(max_size=30), st.from_regex(r"\A[a-zA-Z0-9][a-zA-Z0-9._-]{0,20}\Z")),
    version=versions,
    metadata_version=st.sampled_from(["1.0", "1.2", "2.1", "2.4", "2.5", "3.0", "", "x"]),
    requires_python=st.text(max_size=15),
    requires_dist=st.lists(st.text(max_size=20), max_size=3),
    project_urls=st.lists(st.text(max_size=20), max_size=2),
    keywords=st.text(max_size=20),
)
def test_form_metadata_only_raises_upload_errors(
    name, version, metadata_version, requires_python, requires_dist, project_urls, keywords
):
    form = QueryDict(mutable=True)
    form.update(
        {
            "name": name,
            "version": version,
            "metadata_version": metadata_version,
            "requires_python": requires_python,
            "keywords": keywords,
        }
    )
    form.setlist("requires_dist", requires_dist)
    form.setlist("project_urls", project_urls)
    try:
        metadata = checks.form_metadata(form)
    except UploadError as error:
        assert error.status == 400 and error.message
    else:
        assert metadata.name and metadata.version is not None
        assert len(str(metadata.version)) <= 100


@FAST
@given(
    header=st.lists(
        st.tuples(
            st.sampled_from(
                ["Metadata-Version", "Name", "Version", "Requires-Python", "Requires-Dist",
                 "Dynamic", "License-Expression", "Project-URL", "X-Unknown"]
            ),
            st.text(max_size=25),
        ),
        max_size=8,
    ),
    body=st.binary(max_size=40),
)  # fmt: skip
def test_core_metadata_parsing_only_raises_upload_errors(header, body):
    text = "".join(f"{key}: {value}\n" for key, value in header).encode("utf-8", "surrogatepass")
    try:
        checks.core_metadata(text + b"\n" + body)
    except UploadError as error:
        assert error.status == 400


@FAST
@given(st.binary(max_size=200))
def test_arbitrary_bytes_as_metadata(data):
    with contextlib.suppress(UploadError):
        checks.core_metadata(data)
