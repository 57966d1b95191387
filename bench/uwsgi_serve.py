"""``strongroom serve`` on uWSGI, for the benchmarks only: a candidate measured for
docs/decisions/0003, not a server Strongroom offers.

Everything ``strongroom serve`` does before it starts its server (settings, migrations,
storage repair, the metrics folder) runs unchanged; then, instead of gunicorn, uWSGI
(the ``pyuwsgi`` wheel, in this process) serves the same application as gunicorn's
workers do (web.accesslog around strongroom.wsgi) on its HTTP/1.1 socket: its workers
parse HTTP themselves, in C, a thread per connection.

uWSGI adds no ``Content-Length`` and no chunked framing to an answer that lacks them,
and keeps the connection open: a keep-alive client then waits out the socket timeout
(4 s) for the end of every simple page the fast path gives (those go out chunked on
gunicorn and granian). ``application`` below adds the length to single-part bodies,
which is what a production adoption would have to do in the application itself.

    PYTHONPATH=src python bench/uwsgi_serve.py --data-dir D --port P --workers 2
"""

from __future__ import annotations

import sys
from typing import Any

# uWSGI's options besides the bind, processes and threads, matched to what serve_gunicorn sets.
OPTIONS = [
    "--master",
    "--need-app",
    "--die-on-term",
    "--thunder-lock",
    "--disable-logging",  # the access log is web.accesslog's, as on gunicorn
    "--listen",
    "1024",
    "--buffer-size",
    "16384",  # request headers up to 16 KB (gunicorn: 8190-byte request line)
    "--post-buffering",
    "0",
    "--harakiri",
    "120",  # gunicorn's timeout
    "--worker-reload-mercy",
    "10",  # gunicorn's graceful_timeout
]


def application(environ: dict[str, Any], start_response: Any) -> Any:
    inner = _app()
    seen: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["answer"] = (status, headers, exc_info)
        return lambda data: None

    result = inner(environ, capture)
    status, headers, exc_info = seen["answer"]
    framed = any(k.lower() in ("content-length", "transfer-encoding") for k, _v in headers)
    if isinstance(result, list) and not framed:
        headers = [*headers, ("Content-Length", str(sum(len(part) for part in result)))]
    start_response(status, headers, exc_info)
    return result


_loaded: list[Any] = []


def _app() -> Any:
    if not _loaded:
        from django.conf import settings

        from strongroom.web.accesslog import AccessLog
        from strongroom.wsgi import application as django_app

        _loaded.append(AccessLog(django_app, log_format=settings.LOG_FORMAT))
    return _loaded[0]


def serve_uwsgi(*, host: str, port: int, workers: int, threads: int) -> None:
    import pyuwsgi

    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    args = ["--http11-socket", bind, "--processes", str(workers), "--threads", str(threads)]
    args += [*OPTIONS, "--module", "uwsgi_serve:application", "--lazy-apps"]
    pyuwsgi.run(args)


def main(argv: list[str]) -> int:
    from strongroom import cli, server

    server.serve_gunicorn = serve_uwsgi  # cmd_serve imports it when it runs
    return int(cli.main(["serve", "--server", "gunicorn", *argv]) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
