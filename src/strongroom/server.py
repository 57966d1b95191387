"""The production server behind ``strongroom serve``: gunicorn, in-process."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, Any]):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from strongroom.wsgi import application

        return application


def serve_granian(*, host: str, port: int, workers: int, threads: int) -> None:
    """Run on granian (Rust HTTP, WSGI interface) until SIGINT/SIGTERM.

    Measured 2-2.5x gunicorn's requests/s on the simple API (bench/, and
    docs/decisions/0002-app-server.md).
    """
    from granian.constants import Interfaces
    from granian.server import Server

    Server(
        "strongroom.wsgi:application",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        log_access=True,
        websockets=False,
    ).serve()


def _ignore_signal(number: int, frame: Any) -> None:
    return None


def _flush_downloads() -> None:
    """gunicorn's worker_int and worker_exit hooks: write the worker's pending download
    counts. Ctrl-C reaches a worker twice (SIGINT from the terminal's process group, then
    SIGQUIT from the arbiter); a second signal must not cut the write short.

    The write runs in a thread of its own: the signal may have interrupted the main
    thread in the middle of a query, and its database connection must not be reused
    from inside the handler.
    """
    import signal
    import threading

    from strongroom.index.counting import counter

    # A no-op handler, not SIG_IGN: a signal already pending would otherwise surface as
    # "OSError: Signal ignored due to race condition".
    for number in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(number, _ignore_signal)
    writer = threading.Thread(target=counter.flush_and_close, name="download-counts")
    writer.start()
    writer.join(timeout=10)


def _worker_int(worker: Any) -> None:
    _flush_downloads()


def _worker_exit(server: Any, worker: Any) -> None:
    _flush_downloads()


def serve(*, host: str, port: int, workers: int, threads: int) -> None:
    """Run until SIGINT/SIGTERM; gunicorn then finishes in-flight requests and exits."""
    _Gunicorn(
        {
            "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread" if threads > 1 else "sync",
            "accesslog": "-",
            # The worker's pid shows which process answered: limits must hold across all.
            "access_log_format": (
                '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" pid=%(p)s'
            ),
            "errorlog": "-",
            "graceful_timeout": 10,
            "timeout": 120,
            "proc_name": "strongroom",
            "limit_request_line": 8190,
            "forwarded_allow_ips": "127.0.0.1,::1",
            # Several instances may run on one machine; none needs gunicorn's control socket.
            "control_socket_disable": True,
            # A worker stopping gracefully writes the downloads it counted (index.counting).
            "worker_int": _worker_int,
            "worker_exit": _worker_exit,
        }
    ).run()
