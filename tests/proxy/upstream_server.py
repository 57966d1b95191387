"""A small local index that plays PyPI for the proxy's tests: PEP 691 JSON (or PEP 503
HTML) project pages with ETags, files, PEP 658 metadata, and faults on demand."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from packaging.utils import canonicalize_name


@dataclass
class UpstreamFile:
    filename: str
    data: bytes
    upload_time: str = "2020-01-01T00:00:00Z"
    yanked: bool | str = False
    metadata: bytes = b""
    listed_sha256: str = ""  # what the page claims (tampering: differs from the bytes)
    # PEP 740: the provenance served at /integrity/<filename>/provenance, and the URL the
    # page names for it (default: that path, when there is a provenance to serve).
    provenance: bytes = b""
    provenance_url: str = ""

    @property
    def sha256(self) -> str:
        return self.listed_sha256 or hashlib.sha256(self.data).hexdigest()

    @property
    def listed_provenance(self) -> str | None:
        if self.provenance_url:
            return self.provenance_url
        return f"/integrity/{self.filename}/provenance" if self.provenance else None


@dataclass
class Upstream:
    """The index's state; tests change it while the server runs."""

    projects: dict[str, list[UpstreamFile]] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    fault: str = ""  # "", "timeout", "500", "garbage", "cut"
    html: bool = False
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, If-None-Match)
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location (a 302)
    provenance_fault: str = ""  # "", "500": how /integrity/ paths answer
    delay: float = 0.0
    port: int = 0
    # Where the pages say the files are ("" for this server; PyPI's are on another host),
    # and the Authorization header of every request, by path.
    file_base: str = ""
    authorizations: list[tuple[str, str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple/"

    def add_wheel(
        self,
        name: str,
        version: str,
        *,
        requires: tuple[str, ...] = (),
        members: dict[str, bytes] | None = None,
        **kwargs: Any,
    ) -> UpstreamFile:
        # Imported here: the benchmark uses this server without Django set up.
        from tests.distributions import make_wheel, metadata_text, wheel_filename

        text = metadata_text(name, version)
        if requires:
            text = text.replace(
                "\n\n", "\n" + "".join(f"Requires-Dist: {r}\n" for r in requires) + "\n", 1
            )
        data = make_wheel(name, version, metadata=text, members=members)
        entry = UpstreamFile(wheel_filename(name, version), data, metadata=text.encode(), **kwargs)
        self.projects.setdefault(canonicalize_name(name), []).append(entry)
        return entry

    def add_file(self, name: str, filename: str, data: bytes, **kwargs: Any) -> UpstreamFile:
        """A file as it is (a real sdist), without PEP 658 metadata."""
        entry = UpstreamFile(filename, data, **kwargs)
        self.projects.setdefault(canonicalize_name(name), []).append(entry)
        return entry

    def provenance_of(self, path: str) -> bytes | None:
        for files in self.projects.values():
            for f in files:
                if f.provenance and path == f"/integrity/{f.filename}/provenance":
                    return f.provenance
        return None

    def page(self, name: str) -> tuple[bytes, str] | None:
        files = self.projects.get(name)
        if files is None:
            return None
        if self.html:
            links = "".join(
                f'<a href="/files/{f.filename}#sha256={f.sha256}"'
                f' data-core-metadata="sha256={hashlib.sha256(f.metadata).hexdigest()}"'
                + (f' data-provenance="{f.listed_provenance}"' if f.listed_provenance else "")
                + f">{f.filename}</a><br>\n"
                for f in files
            )
            return f"<!DOCTYPE html><html><body>{links}</body></html>".encode(), "text/html"
        document: dict[str, Any] = {
            "meta": {"api-version": "1.4"},
            "name": name,
            "files": [
                {
                    "filename": f.filename,
                    "url": f"{self.file_base or '../../files/'}{f.filename}",
                    "hashes": {"sha256": f.sha256},
                    "upload-time": f.upload_time,
                    "yanked": f.yanked,
                    "size": len(f.data),
                    "core-metadata": {"sha256": hashlib.sha256(f.metadata).hexdigest()}
                    if f.metadata
                    else False,
                    "provenance": f.listed_provenance,
                }
                for f in files
            ],
        }
        if name in self.status:
            document["project-status"] = {"status": self.status[name]}
        return json.dumps(document).encode(), "application/vnd.pypi.simple.v1+json"

    def file(self, filename: str) -> bytes | None:
        for files in self.projects.values():
            for f in files:
                if filename == f.filename:
                    return f.data
                if filename == f.filename + ".metadata":
                    return f.metadata
        return None


def _handler(state: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            state.requests.append((self.path, self.headers.get("If-None-Match", "")))
            state.authorizations.append((self.path, self.headers.get("Authorization", "")))
            if state.delay:
                time.sleep(state.delay)
            if state.fault == "timeout":
                time.sleep(5)
                return
            if state.fault == "500":
                self._send(500, b"Internal Server Error", "text/plain")
                return
            if self.path in state.redirects:
                self._send(302, b"", "text/plain", Location=state.redirects[self.path])
                return
            if self.path.startswith("/integrity/"):
                provenance = state.provenance_of(self.path)
                if state.provenance_fault == "500":
                    self._send(500, b"Internal Server Error", "text/plain")
                elif provenance is None:
                    self._send(404, b"Not Found", "text/plain")
                else:
                    self._send(200, provenance, "application/vnd.pypi.integrity.v1+json")
                return
            if self.path.startswith("/simple/"):
                name = self.path[len("/simple/") :].strip("/")
                if state.fault == "garbage":
                    self._send(200, b"{not json", "application/vnd.pypi.simple.v1+json")
                    return
                found = state.page(name)
                if found is None:
                    self._send(404, b"Not Found", "text/plain")
                    return
                body, content_type = found
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self._send(200, body, content_type, ETag=etag)
                return
            if self.path.startswith("/files/"):
                data = state.file(self.path[len("/files/") :])
                if data is None:
                    self._send(404, b"Not Found", "text/plain")
                    return
                if state.fault == "cut":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self._send(200, data, "application/octet-stream")
                return
            self._send(404, b"Not Found", "text/plain")

    return Handler


class UpstreamServer:
    """Runs ``Upstream`` in a thread; ``stop()`` makes it unreachable."""

    def __init__(self, state: Upstream | None = None):
        self.state = state or Upstream()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.state.port), _handler(self.state))
        self.httpd.daemon_threads = True
        self.state.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
