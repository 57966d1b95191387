"""The upstream index client: one project page (PEP 691 JSON preferred, PEP 503 HTML
accepted), parsed into plain file records; and streamed file bodies.

Everything the upstream can do wrong (refuse the connection, time out, answer 5xx,
answer something that is not an index page) is an :class:`UpstreamError` whose message
names the upstream; callers serve the cached copy or a 503.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urljoin, urlparse

import httpx
from django.conf import settings

from strongroom.proxy.config import UpstreamConfig

JSON = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{JSON}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
# What a distribution's filename may hold (PEP 427, PEP 625 and older sdists): a name
# from anywhere else (a path, "..", percent-escapes) is not offered.
_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]*$")
# A project page larger than this is refused rather than held in memory.
MAX_PAGE_BYTES = 32 * 1024 * 1024
INTEGRITY = "application/vnd.pypi.integrity.v1+json"
MAX_REDIRECTS = 3


class UpstreamError(Exception):
    """The upstream could not give a usable answer; ``str()`` is for the log and the 503."""


class ProvenanceUnusable(UpstreamError):
    """The upstream answered for a provenance URL, but not with a provenance to check (a
    404, a redirect elsewhere, too large): unlike a timeout or a 5xx, asking again later
    is not expected to help."""


@dataclass(frozen=True)
class FileInfo:
    """One file of an upstream project page, as the proxy keeps it."""

    filename: str
    url: str
    sha256: str
    requires_python: str = ""
    yanked: bool | str = False
    upload_time: str = ""
    metadata_sha256: str = ""
    size: int = 0
    # PEP 740: where the upstream serves the file's provenance ("" when it names none).
    provenance_url: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Page:
    """A parsed upstream page; ``not_modified`` for a 304, ``missing`` for a 404."""

    files: tuple[FileInfo, ...] = ()
    etag: str = ""
    name: str = ""
    status: str = ""
    status_reason: str = ""
    not_modified: bool = False
    missing: bool = False


def config() -> UpstreamConfig:
    upstream: UpstreamConfig = settings.UPSTREAM
    return upstream


def describe() -> str:
    """The upstream as operators and users see it: its URL without credentials."""
    parts = urlparse(config().url)
    host = parts.hostname or ""
    return parts._replace(netloc=host if parts.port is None else f"{host}:{parts.port}").geturl()


class _IndexOnlyAuth(httpx.Auth):
    """HTTP Basic credentials for the upstream index's own origin (scheme, host, port)
    only, as pip sends an index's credentials: a page may name files or provenance on any
    host (PyPI's files are on another), and those hosts never see the credentials."""

    def __init__(self, index_url: str, username: str, password: str) -> None:
        self._index = index_url
        pair = f"{username}:{password}".encode()
        self._header = "Basic " + base64.b64encode(pair).decode("ascii")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if _same_origin(self._index, str(request.url)):
            request.headers["Authorization"] = self._header
        yield request


def client() -> httpx.Client:
    upstream = config()
    auth = (
        _IndexOnlyAuth(upstream.url, upstream.username, upstream.password)
        if upstream.username
        else None
    )
    return httpx.Client(
        timeout=httpx.Timeout(upstream.timeout),
        auth=auth,
        follow_redirects=True,
        headers={"User-Agent": "strongroom-proxy"},
    )


def _sha256(hashes: Any) -> str:
    if isinstance(hashes, dict):
        value = hashes.get("sha256", "")
        if isinstance(value, str) and len(value) == 64:
            try:
                int(value, 16)
            except ValueError:
                return ""
            return value.lower()
    return ""


def _usable(filename: str, url: str) -> bool:
    """A file the proxy may offer: a plain filename, fetched over HTTP(S) only."""
    return bool(_FILENAME.match(filename)) and urlparse(url).scheme in {"http", "https"}


def _metadata_hash(value: Any) -> str:
    return _sha256(value) if isinstance(value, dict) else ""


def _provenance_url(value: Any, base: str) -> str:
    """PEP 740's ``provenance`` (JSON) or ``data-provenance`` (HTML): an HTTP(S) URL."""
    if not isinstance(value, str) or not value or len(value) > 2000:
        return ""
    url = urljoin(base, value)
    return url if urlparse(url).scheme in {"http", "https"} else ""


def parse_json(body: bytes, base: str) -> Page:
    """A PEP 691 project page; raises UpstreamError when it is not one."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise UpstreamError("the upstream answered a project page that is not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("files"), list):
        raise UpstreamError("the upstream answered JSON without a files list")
    files = []
    for entry in document["files"]:
        if not isinstance(entry, dict):
            continue
        filename, url = entry.get("filename"), entry.get("url")
        digest = _sha256(entry.get("hashes"))
        if not isinstance(filename, str) or not isinstance(url, str) or not digest:
            continue  # a file we cannot verify is not offered
        if not _usable(filename, urljoin(base, url)):
            continue
        yanked = entry.get("yanked", False)
        size = entry.get("size")
        upload_time = entry.get("upload-time")
        files.append(
            FileInfo(
                filename=filename,
                url=urljoin(base, url),
                sha256=digest,
                requires_python=str(entry.get("requires-python") or ""),
                yanked=yanked if isinstance(yanked, str | bool) else bool(yanked),
                upload_time=upload_time if isinstance(upload_time, str) else "",
                metadata_sha256=_metadata_hash(
                    entry.get("core-metadata", entry.get("dist-info-metadata"))
                ),
                size=size if isinstance(size, int) and size >= 0 else 0,
                provenance_url=_provenance_url(entry.get("provenance"), base),
            )
        )
    status = document.get("project-status")
    state = reason = ""
    if isinstance(status, dict):
        state = str(status.get("status") or "")[:20]
        reason = str(status.get("reason") or "")[:500]
    name = document.get("name")
    return Page(tuple(files), name=name if isinstance(name, str) else "", status=state,
                status_reason=reason)  # fmt: skip


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str | None]] = []
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.links.append(found)
        elif tag == "meta" and found.get("name"):
            self.meta[str(found["name"])] = str(found.get("content") or "")


def parse_html(body: bytes, base: str) -> Page:
    """A PEP 503 project page (with PEP 592 yanks, PEP 658 metadata, PEP 792 status)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise UpstreamError("the upstream answered a project page that is not UTF-8") from None
    parser = _Links()
    parser.feed(text)
    files = []
    for link in parser.links:
        url, fragment = urldefrag(urljoin(base, str(link["href"])))
        digest = _sha256(dict([fragment.split("=", 1)])) if fragment.count("=") == 1 else ""
        filename = urlparse(url).path.rsplit("/", 1)[-1]
        if not digest or not _usable(filename, url):
            continue
        yanked: bool | str = False
        if "data-yanked" in link:
            yanked = link["data-yanked"] or True
        metadata = link.get("data-core-metadata") or link.get("data-dist-info-metadata") or ""
        meta_digest = ""
        if metadata.startswith("sha256="):
            meta_digest = _sha256({"sha256": metadata[7:]})
        files.append(
            FileInfo(filename=filename, url=url, sha256=digest,
                     requires_python=link.get("data-requires-python") or "",
                     yanked=yanked, metadata_sha256=meta_digest,
                     provenance_url=_provenance_url(link.get("data-provenance"), base))
        )  # fmt: skip
    return Page(
        tuple(files),
        status=parser.meta.get("pypi:project-status", "")[:20],
        status_reason=parser.meta.get("pypi:project-status-reason", "")[:500],
    )


def fetch_page(normalized: str, etag: str = "") -> Page:
    """The upstream's page for ``normalized``, revalidated with ``etag`` when given."""
    url = urljoin(config().url, f"{normalized}/")
    headers = {"Accept": ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    try:
        with client() as http, http.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return Page(etag=etag, not_modified=True)
            if response.status_code == 404:
                return Page(missing=True)
            if response.status_code != 200:
                raise UpstreamError(f"the upstream answered {response.status_code}")
            chunks, total = [], 0
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > MAX_PAGE_BYTES:
                    raise UpstreamError("the upstream's project page is too large")
                chunks.append(chunk)
            body = b"".join(chunks)
            media = response.headers.get("content-type", "").split(";")[0].strip().lower()
            final = str(response.url)
            new_etag = response.headers.get("etag", "")[:300]
    except httpx.TimeoutException:
        raise UpstreamError("the upstream did not answer in time") from None
    except httpx.HTTPError as exc:
        raise UpstreamError(f"the upstream could not be reached ({type(exc).__name__})") from None
    if media == JSON:
        page = parse_json(body, final)
    elif media in {"text/html", "application/vnd.pypi.simple.v1+html"}:
        page = parse_html(body, final)
    else:
        raise UpstreamError(f"the upstream answered an unexpected type ({media or 'none'})")
    return Page(page.files, new_etag, page.name, page.status, page.status_reason)


def _same_origin(first: str, other: str) -> bool:
    a, b = urlparse(first), urlparse(other)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def fetch_provenance(url: str, limit: int) -> bytes:
    """The body of a PEP 740 provenance URL (the Integrity API), at most ``limit`` bytes.

    Through the same client as pages and files (its timeout and credentials), but a
    redirect is followed only within the URL's own origin (scheme, host, port): the
    upstream's credentials never go elsewhere. Raises ProvenanceUnusable for an answer
    that is no provenance (a 404, a redirect elsewhere, past ``limit``) and UpstreamError
    for an upstream that fails for now (a timeout, a 5xx), each with a sentence for the
    log and the audit event."""
    headers = {"Accept": f"{INTEGRITY}, application/json;q=0.5"}
    try:
        with client() as http:
            target = url
            for _hop in range(MAX_REDIRECTS + 1):
                request = http.build_request("GET", target, headers=headers)
                response = http.send(request, stream=True, follow_redirects=False)
                try:
                    if response.is_redirect:
                        location = urljoin(target, response.headers.get("location", ""))
                        if not _same_origin(url, location):
                            raise ProvenanceUnusable(
                                "the upstream redirected the provenance to another host"
                            )
                        target = location
                        continue
                    status = response.status_code
                    if status != 200:
                        failure = (
                            UpstreamError if status >= 500 or status == 429 else ProvenanceUnusable
                        )
                        raise failure(f"the upstream answered {status} for the provenance")
                    chunks, total = [], 0
                    for chunk in response.iter_bytes():
                        total += len(chunk)
                        if total > limit:
                            raise ProvenanceUnusable(
                                f"the upstream's provenance is larger than {limit} bytes"
                            )
                        chunks.append(chunk)
                    return b"".join(chunks)
                finally:
                    response.close()
            raise ProvenanceUnusable("the upstream redirected the provenance too many times")
    except httpx.TimeoutException:
        raise UpstreamError("the upstream did not answer in time") from None
    except httpx.HTTPError as exc:
        raise UpstreamError(f"the upstream could not be reached ({type(exc).__name__})") from None


@contextmanager
def open_file(url: str) -> Iterator[httpx.Response]:
    """A streamed GET of an upstream file; raises UpstreamError unless it answers 200."""
    try:
        with client() as http, http.stream("GET", url) as response:
            if response.status_code != 200:
                raise UpstreamError(f"the upstream answered {response.status_code} for a file")
            yield response
    except httpx.TimeoutException:
        raise UpstreamError("the upstream did not answer in time") from None
    except httpx.HTTPError as exc:
        raise UpstreamError(f"the upstream could not be reached ({type(exc).__name__})") from None
