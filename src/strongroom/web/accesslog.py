"""The access log: one line per request, written straight to a file descriptor.

The line is the NCSA "combined" format gunicorn writes, followed by the request id and the
worker's pid::

    127.0.0.1 - - [21/Nov/2026:13:19:53 +0000] "GET /simple/ HTTP/1.1" 200 715 "-" "pip" \
    rid=<9f2c0d...> pid=<42>

(one line; the request id, then the pid.)

With ``STRONGROOM_LOG_FORMAT=json`` each line is one JSON object instead (same fields, named;
``ensure_ascii`` escapes every control character, so no value can split a line)::

    {"time": "2026-11-21T13:19:53+00:00", "log": "access", "remote_addr": "127.0.0.1", ...}

The request id is web.requestid's (also in the ``X-Request-ID`` response header).

One ``os.write`` per line, no ``logging`` record: on the simple API the logging module
cost more than answering the request (bench/, docs/decisions/0002-app-server.md). Lines
from several workers never interleave inside a line (one write each, well under
``PIPE_BUF``). The user name field is always ``-``: credentials are not logged.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

from strongroom.web.requestid import ENVIRON_KEY

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Characters left as they are in a logged path; everything else is %-escaped, so a
# decoded %0A or a quote can never forge a line or a field.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def _uri_part(value: str) -> str:
    """A path or query as received (WSGI strings are bytes decoded as latin-1), %-escaped
    where it holds anything but printable ASCII without spaces or quotes."""
    if value.isascii() and value.isprintable() and '"' not in value and " " not in value:
        return value
    return quote(value.encode("latin-1", "replace"), safe=_PATH_SAFE + "?=")


def _field(value: str | None) -> str:
    """A header value inside double quotes: quotes, backslashes and control characters
    escaped."""
    if not value:
        return "-"
    if value.isprintable() and '"' not in value and "\\" not in value:
        return value
    escaped = value.encode("unicode_escape").decode("ascii")
    return escaped.replace('"', '\\"')


class AccessLog:
    """WSGI middleware writing the access-log line when the response is complete."""

    def __init__(self, app: WSGIApp, fd: int = 1, *, log_format: str = "text"):
        self.app = app
        self.fd = fd
        self.json_lines = log_format == "json"
        self._second = -1
        self._stamp = ""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        seen: list[str] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen[:] = [status]
            for name, value in headers:
                if len(name) == 14 and name.lower() == "content-length":
                    seen.append(value)
                    break
            return start_response(status, headers, exc_info)

        try:
            result = self.app(environ, capture)
        except BaseException:
            self.write(environ, "500", "-")
            raise
        if type(result) is list:
            self.write(environ, seen[0][:3] if seen else "500", str(sum(map(len, result))))
            return result
        return _Logged(result, self, environ, seen)

    def write(self, environ: dict[str, Any], status: str, size: str) -> None:
        now = int(time.time())
        if self.json_lines:
            line = self._json_line(environ, status, size, now)
        else:
            line = self._text_line(environ, status, size, now)
        data = line.encode("utf-8", "backslashreplace")
        try:
            while data:
                data = data[os.write(self.fd, data) :]
        except OSError:
            pass  # a closed or full log must not fail the request

    def _text_line(self, environ: dict[str, Any], status: str, size: str, now: int) -> str:
        if now != self._second:
            self._stamp = time.strftime("[%d/%b/%Y:%H:%M:%S %z]", time.localtime(now))
            self._second = now
        path = _uri_part(environ.get("PATH_INFO", ""))
        query = environ.get("QUERY_STRING")
        if query:
            path = f"{path}?{_uri_part(query)}"
        method = _field(environ.get("REQUEST_METHOD"))
        protocol = _field(environ.get("SERVER_PROTOCOL"))
        # The id is well-formed by construction (web.requestid): no quoting needed.
        return (
            f"{environ.get('REMOTE_ADDR') or '-'} - - {self._stamp} "
            f'"{method} {path} {protocol}" {status} {size} '
            f'"{_field(environ.get("HTTP_REFERER"))}" '
            f'"{_field(environ.get("HTTP_USER_AGENT"))}" '
            f"rid=<{environ.get(ENVIRON_KEY) or '-'}> pid=<{os.getpid()}>\n"
        )

    def _json_line(self, environ: dict[str, Any], status: str, size: str, now: int) -> str:
        if now != self._second:
            self._stamp = datetime.fromtimestamp(now).astimezone().isoformat()
            self._second = now
        # WSGI strings are bytes decoded as latin-1: give the path back as the UTF-8 text
        # it was sent as, undecodable bytes escaped.
        raw_path = environ.get("PATH_INFO", "").encode("latin-1", "replace")
        record = {
            "time": self._stamp,
            "log": "access",
            "remote_addr": environ.get("REMOTE_ADDR") or None,
            "method": environ.get("REQUEST_METHOD"),
            "path": raw_path.decode("utf-8", "backslashreplace"),
            "query": environ.get("QUERY_STRING") or None,
            "protocol": environ.get("SERVER_PROTOCOL"),
            "status": int(status) if status.isdigit() else None,
            "size": int(size) if size.isdigit() else None,
            "referer": environ.get("HTTP_REFERER"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "request_id": environ.get(ENVIRON_KEY),
            "pid": os.getpid(),
        }
        return json.dumps(record, separators=(",", ":")) + "\n"


class _Logged:
    """A streamed response body: logged when the server closes it (sent or abandoned)."""

    def __init__(
        self, inner: Iterable[bytes], log: AccessLog, environ: dict[str, Any], seen: list[str]
    ):
        self.inner = inner
        self.log = log
        self.environ = environ
        self.seen = seen

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.inner)

    def close(self) -> None:
        try:
            close = getattr(self.inner, "close", None)
            if close is not None:
                close()
        finally:
            seen = self.seen
            status = seen[0][:3] if seen else "500"
            self.log.write(self.environ, status, seen[1] if len(seen) > 1 else "-")
