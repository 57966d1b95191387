"""Upstream pages parsed defensively: only files with a usable name, an HTTP(S) URL and
a sha256 are offered; anything that is not an index page is an UpstreamError."""

from __future__ import annotations

import json

import pytest

from strongroom.proxy.upstream import UpstreamError, parse_html, parse_json

BASE = "https://upstream.example/simple/thing/"
DIGEST = "a" * 64


def page(*files: dict[str, object], **extra: object) -> bytes:
    return json.dumps({"meta": {"api-version": "1.1"}, "files": list(files), **extra}).encode()


def entry(filename: str = "thing-1.0-py3-none-any.whl", url: str = "../../f/x.whl",
          **extra: object) -> dict[str, object]:  # fmt: skip
    return {"filename": filename, "url": url, "hashes": {"sha256": DIGEST}, **extra}


def test_relative_urls_are_resolved_and_fields_kept() -> None:
    parsed = parse_json(
        page(entry(**{"upload-time": "2024-01-01T00:00:00Z", "yanked": "bad", "size": 9,
                      "core-metadata": {"sha256": "b" * 64}, "requires-python": ">=3.9"})),
        BASE,
    )  # fmt: skip
    [found] = parsed.files
    assert found.url == "https://upstream.example/f/x.whl"
    assert (found.yanked, found.size, found.metadata_sha256) == ("bad", 9, "b" * 64)
    assert found.upload_time == "2024-01-01T00:00:00Z" and found.requires_python == ">=3.9"


@pytest.mark.parametrize(
    "bad",
    [
        entry(filename="../../etc/passwd"),
        entry(filename=".."),
        entry(filename="a/b.whl"),
        entry(filename="x%2F.whl"),
        entry(url="file:///etc/passwd"),
        entry(url="ftp://upstream.example/x.whl"),
        {"filename": "thing-1.0.tar.gz", "url": "x", "hashes": {"md5": "0" * 32}},
        {"filename": "thing-1.0.tar.gz", "url": "x", "hashes": {"sha256": "not-hex" * 9}},
        {"filename": 5, "url": "x", "hashes": {"sha256": DIGEST}},
        "not an object",
    ],
)
def test_files_that_cannot_be_verified_or_stored_safely_are_dropped(bad: object) -> None:
    assert parse_json(page(bad, entry()), BASE).files[0].filename == "thing-1.0-py3-none-any.whl"
    assert len(parse_json(page(bad, entry()), BASE).files) == 1


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"files": 3}', b"\xff\xfe"])
def test_garbage_is_an_upstream_error(body: bytes) -> None:
    with pytest.raises(UpstreamError):
        parse_json(body, BASE)


def test_project_status_is_read() -> None:
    parsed = parse_json(page(**{"project-status": {"status": "archived", "reason": "old"}}), BASE)
    assert (parsed.status, parsed.status_reason) == ("archived", "old")


def test_html_pages_give_hash_yank_metadata_and_status() -> None:
    html = (
        '<html><head><meta name="pypi:project-status" content="deprecated"></head><body>'
        f'<a href="../../f/thing-1.0.tar.gz#sha256={DIGEST}" data-yanked="" '
        f'data-requires-python="&gt;=3.8" data-core-metadata="sha256={"c" * 64}">t</a>'
        '<a href="../../f/nohash-1.0.tar.gz">no hash</a>'
        f'<a href="file:///etc/thing-2.0.tar.gz#sha256={DIGEST}">local</a>'
        "</body></html>"
    ).encode()
    parsed = parse_html(html, BASE)
    [found] = parsed.files
    assert found.url == "https://upstream.example/f/thing-1.0.tar.gz"
    assert found.yanked is True and found.requires_python == ">=3.8"
    assert found.metadata_sha256 == "c" * 64
    assert parsed.status == "deprecated"


def test_provenance_urls_are_resolved_and_only_http_kept() -> None:
    files = parse_json(
        page(
            entry(provenance="../../integrity/thing/1.0/x.whl/provenance"),
            entry(filename="thing-1.1.tar.gz", provenance="javascript:alert(1)"),
            entry(filename="thing-1.2.tar.gz", provenance={"not": "a url"}),
            entry(filename="thing-1.3.tar.gz", provenance=None),
        ),
        BASE,
    ).files
    assert [f.provenance_url for f in files] == [
        "https://upstream.example/integrity/thing/1.0/x.whl/provenance",
        "",
        "",
        "",
    ]
    html = (
        b'<a href="/f/thing-1.0.tar.gz#sha256=' + DIGEST.encode()
        + b'" data-provenance="/integrity/thing/1.0/thing-1.0.tar.gz/provenance">t</a>'
    )  # fmt: skip
    (found,) = parse_html(html, BASE).files
    assert found.provenance_url == (
        "https://upstream.example/integrity/thing/1.0/thing-1.0.tar.gz/provenance"
    )
