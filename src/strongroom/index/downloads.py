"""Serve stored files: streamed, with ETag and single-range HTTP Range support."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse

from strongroom.index.caching import etag_matches

CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")
# Longer positions than this are past any file's end; int() of 4,300+ digits raises.
_MAX_POSITION_DIGITS = 18


def _position(digits: str) -> int:
    return int(digits) if len(digits) <= _MAX_POSITION_DIGITS else 10**_MAX_POSITION_DIGITS


def content_type_for(path: str) -> str:
    if path.endswith(".metadata"):
        return "text/plain; charset=utf-8"
    if path.endswith((".whl", ".zip")):
        return "application/zip"
    if path.endswith(".tar.gz"):
        return "application/x-tar-gz"
    return "application/octet-stream"


def parse_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """(first, last) byte positions; None to send everything; False if unsatisfiable."""
    match = _RANGE.match(header.strip())
    if not match:
        return None  # unsupported forms (several ranges, other units) get the whole file
    first, last = match.groups()
    if not first and not last:
        return None
    if size == 0:
        return False  # no byte of an empty file can be named
    if not first:
        length = _position(last)
        if length == 0:
            return False
        return max(size - length, 0), size - 1
    start = _position(first)
    end = min(_position(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return False
    return start, end


def _is_local_file(handle: BinaryIO) -> bool:
    try:
        handle.fileno()
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError
        return False
    return True


def _first_chunk(handle: BinaryIO, start: int, length: int) -> bytes:
    """Read the first chunk now, before the status line is sent: a store that answered
    the size but fails to read (S3 HEAD fine, GET failing) then raises StorageUnavailable
    into the outage handler (a 503), instead of breaking a 200 mid-stream."""
    try:
        handle.seek(start)
        return handle.read(min(CHUNK, length))
    except BaseException:
        handle.close()
        raise


def _chunks(handle: BinaryIO, start: int, length: int, first: bytes = b"") -> Iterator[bytes]:
    try:
        if first:
            yield first
            length -= len(first)
        else:
            handle.seek(start)
        while length > 0:
            data = handle.read(min(CHUNK, length))
            if not data:
                break
            length -= len(data)
            yield data
    finally:
        handle.close()


def file_response(
    request: HttpRequest, handle: BinaryIO, size: int, etag: str, path: str
) -> HttpResponse:
    """A 200, 206, 304 or 416 for an immutable stored file."""
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "public, max-age=31536000, immutable",
    }
    if etag_matches(request.META.get("HTTP_IF_NONE_MATCH", ""), etag):
        handle.close()
        return HttpResponse(status=304, headers=headers)
    wanted = None
    range_header = request.META.get("HTTP_RANGE", "")
    if_range = request.META.get("HTTP_IF_RANGE", "")
    if range_header and (not if_range or if_range == etag):
        wanted = parse_range(range_header, size)
    if wanted is False:
        handle.close()
        return HttpResponse(status=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    content_type = content_type_for(path)
    remote = not _is_local_file(handle)
    if isinstance(wanted, tuple) or (remote and size > 0):
        start, end = wanted if isinstance(wanted, tuple) else (0, size - 1)
        length = end - start + 1
        first = _first_chunk(handle, start, length)
        response: HttpResponse | StreamingHttpResponse = StreamingHttpResponse(
            _chunks(handle, start, length, first),
            status=206 if isinstance(wanted, tuple) else 200,
            content_type=content_type,
        )
        if isinstance(wanted, tuple):
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
    else:
        length = size
        response = FileResponse(handle, content_type=content_type)
        response.block_size = CHUNK
    for key, value in headers.items():
        response[key] = value
    response["Content-Length"] = str(length)
    return response  # type: ignore[return-value]
