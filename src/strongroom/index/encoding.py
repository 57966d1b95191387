"""Compressed copies of read-path pages, made once at write time, and the choice of one
per request from ``Accept-Encoding``.

Pages are compressed when they are rendered (``prerender``, the ``/simple/`` memo), never
per request: a read picks the stored bytes. gzip is what pip (urllib3) and uv ask for;
zstd (the ``zstandard`` wheel, already what urllib3 decodes when it is installed) is
smaller and cheaper to decode, offered to clients that list it.
"""

from __future__ import annotations

import functools
import gzip

import zstandard

from strongroom.index.negotiation import weighted

GZIP = "gzip"
ZSTD = "zstd"
# On equal quality the server prefers, in order:
ENCODINGS = (ZSTD, GZIP)
# Short tags that keep ETags distinct per encoding (a cache must never answer a gzip
# revalidation with the identity body's validator, or the other way round).
ETAG_SUFFIX = {GZIP: "-gz", ZSTD: "-zs"}
# Measured on a 6,000-file page (2.9 MB; hashes barely compress): gzip 6 gives 610 KB in
# 0.2 s, 9 no fewer bytes in 0.28 s; zstd 3 gives 558 KB in 0.06 s, 19 486 KB in 7.8 s,
# too slow for the upload that renders it.
_GZIP_LEVEL = 6
_ZSTD_LEVEL = 3


def compress_one(body: bytes, coding: str) -> bytes:
    """``body`` in ``coding``. ``mtime=0``: the same page gives the same bytes on every
    node."""
    if coding == GZIP:
        return gzip.compress(body, compresslevel=_GZIP_LEVEL, mtime=0)
    if coding == ZSTD:
        return zstandard.ZstdCompressor(level=_ZSTD_LEVEL).compress(body)
    raise ValueError(f"unknown content coding {coding!r}")


def compress(body: bytes) -> dict[str, bytes]:
    """``body`` in every stored encoding."""
    return {coding: compress_one(body, coding) for coding in ENCODINGS}


# The body columns of a stored page (SimplePage, SimpleIndex): each document as it is and
# in every stored encoding.
BODY_FIELDS = (
    "html",
    "json",
    *(f"{doc}_{coding}" for doc in ("html", "json") for coding in ENCODINGS),
)


def stored_bodies(html: bytes, json: bytes) -> dict[str, bytes]:
    """The BODY_FIELDS of a stored page holding ``html`` and ``json``, by column name."""
    fields = {"html": html, "json": json}
    for name, body in (("html", html), ("json", json)):
        fields.update({f"{name}_{coding}": coded for coding, coded in compress(body).items()})
    return fields


def _qualities(header: str) -> dict[str, float]:
    return dict(weighted(header))


@functools.lru_cache(maxsize=256)
def choose(accept_encoding: str | None) -> str | None:
    """The stored encoding to answer with, or None for the identity body.

    ``x-gzip`` counts as gzip (RFC 9110 8.4.1.3); ``*`` stands for any coding not named.
    Clients send few distinct headers, so each is parsed once.
    """
    if not accept_encoding:
        return None
    qualities = _qualities(accept_encoding)
    if GZIP not in qualities and "x-gzip" in qualities:
        qualities[GZIP] = qualities["x-gzip"]
    wildcard = qualities.get("*", 0.0)
    scored = [
        (qualities.get(coding, wildcard), -rank, coding) for rank, coding in enumerate(ENCODINGS)
    ]
    quality, _rank, coding = max(scored)
    return coding if quality > 0 else None


def etag_for(etag: str, coding: str | None) -> str:
    """``etag`` (a quoted strong tag) as the tag of ``coding``'s bytes."""
    if coding is None:
        return etag
    return f'{etag[:-1]}{ETAG_SUFFIX[coding]}"'
