"""The servers behind ``strongroom serve``: gunicorn (the default) or granian, in-process.

gunicorn is the default (docs/decisions/0002-app-server.md): it passes the reason phrase
through, in which twine shows why an upload was refused. granian, offered with
``--server granian``, answers HTTP in Rust and calls the WSGI application in a few threads
per worker process; measured several times gunicorn's requests/s on the simple API (bench/).
"""

from __future__ import annotations

from typing import Any


def granian_worker() -> Any:
    """The application of one granian worker process (granian calls this factory in each
    worker, after the fork).

    Adds what the server itself does not do for a WSGI application: the access log
    (web.accesslog, with the worker's pid) and, when the worker stops (Ctrl-C, SIGTERM,
    a restart), the write of the download counts it holds (index.counting). granian's
    workers are ``multiprocessing`` processes, whose exit runs ``multiprocessing``'s
    finalizers once the server loop has returned, and only then.
    """
    import signal
    from multiprocessing import util

    from django.conf import settings

    from strongroom.web.accesslog import AccessLog
    from strongroom.wsgi import application

    util.Finalize(None, _flush_downloads, exitpriority=10)
    # Ctrl-C in a terminal sends SIGINT to the whole process group, and granian's main
    # process then sends each worker SIGTERM. A granian worker given both signals hangs
    # in its second signal handler until the main process kills it (measured: 2 stops in
    # 12 took the full kill timeout, with the download counts lost; a signal to the main
    # process alone never did). So the worker leaves SIGINT blocked (its threads,
    # created after this, inherit the mask) and stops on the SIGTERM from its parent.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    return AccessLog(application, log_format=settings.LOG_FORMAT)


def serve_granian(*, host: str, port: int, workers: int, threads: int) -> None:
    """Run on granian until SIGINT/SIGTERM; in-flight requests finish (up to 10 s)."""
    from granian.constants import Interfaces
    from granian.server import Server

    Server(
        "strongroom.server:granian_worker",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        # The access log is written by web.accesslog (a line per request, with the pid).
        log_access=False,
        websockets=False,
        respawn_failed_workers=True,
        workers_kill_timeout=10,
        process_name="strongroom",
    ).serve()


def _gunicorn_app(options: dict[str, Any]) -> Any:
    from gunicorn.app.base import BaseApplication

    class _Gunicorn(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from django.conf import settings

            from strongroom.web.accesslog import AccessLog
            from strongroom.wsgi import application

            return AccessLog(application, log_format=settings.LOG_FORMAT)

    return _Gunicorn()


def _ignore_signal(number: int, frame: Any) -> None:
    return None


def _flush_downloads() -> None:
    """Write the worker's pending download counts as it stops (granian's worker exit,
    gunicorn's worker_exit hook). Ctrl-C reaches a worker twice (SIGINT from the
    terminal's process group, then SIGTERM or SIGQUIT from the main process); a further
    signal must not cut the write short.

    The write runs in a thread of its own, with a bound on how long the worker waits for
    it, and closes that thread's database connection.
    """
    import signal
    import threading

    from strongroom.index.counting import counter

    # A no-op handler, not SIG_IGN: a signal already pending would otherwise surface as
    # "OSError: Signal ignored due to race condition".
    for number in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM):
        signal.signal(number, _ignore_signal)
    pending = counter.pending()
    writer = threading.Thread(target=counter.flush_and_close, name="download-counts")
    writer.start()
    writer.join(timeout=10)
    if pending or writer.is_alive():
        import logging
        import os

        log = logging.getLogger("strongroom.index")
        if writer.is_alive():
            log.warning(
                "worker %d stopped before its %d downloads were written to the counts",
                os.getpid(),
                pending,
            )
        else:
            left = counter.pending()
            log.info(
                "worker %d stopping: %d downloads written to the counts, %d kept",
                os.getpid(),
                pending - left,
                left,
            )


# How much sooner than the main process's kill a stopping gunicorn worker gives up
# waiting for its requests in flight, so that the write of its download counts runs.
_FLUSH_MARGIN = 2


def _post_worker_init(worker: Any) -> None:
    """A gunicorn worker stops on SIGINT and SIGQUIT as it does on SIGTERM: it stops
    accepting, lets its requests in flight finish, and writes its counts in worker_exit.

    gunicorn's own SIGINT and SIGQUIT handler shuts the thread pool down from inside the
    signal handler. The main thread hands each new connection to that pool
    (``ThreadPoolExecutor.submit``, which holds the lock ``shutdown`` takes), so a Ctrl-C
    that lands in that moment deadlocks the worker: it answers nothing more, writes no
    counts, and is killed by the main process after the graceful timeout (measured: 3 of
    15 stops under a stream of new connections; the master's Ctrl-C sends each worker
    SIGQUIT). gunicorn's SIGTERM handler only marks the worker as stopping and wakes its
    loop, which is safe at any moment.
    """
    import signal

    signal.signal(signal.SIGINT, worker.handle_exit)
    signal.signal(signal.SIGQUIT, worker.handle_exit)
    # This process's copy of the settings: the main process keeps the full timeout.
    worker.cfg.set("graceful_timeout", max(1, worker.cfg.graceful_timeout - _FLUSH_MARGIN))


def _worker_exit(server: Any, worker: Any) -> None:
    _flush_downloads()


def _child_exit(server: Any, worker: Any) -> None:
    from strongroom.ops.metrics import worker_exited

    worker_exited(worker.pid)


def serve_gunicorn(*, host: str, port: int, workers: int, threads: int) -> None:
    """Run on gunicorn until SIGINT/SIGTERM; in-flight requests finish and it exits."""
    _gunicorn_app(
        {
            "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread" if threads > 1 else "sync",
            # The access log is written by web.accesslog (a line per request, with the
            # worker's pid), not by gunicorn's logging-based one: a third of the time of a
            # simple-page request went to it.
            "errorlog": "-",
            "graceful_timeout": 10,
            "timeout": 120,
            "proc_name": "strongroom",
            "limit_request_line": 8190,
            "forwarded_allow_ips": "127.0.0.1,::1",
            # Several instances may run on one machine; none needs gunicorn's control socket.
            "control_socket_disable": True,
            # A worker stops gracefully on every stop signal and then writes the downloads
            # it counted (index.counting).
            "post_worker_init": _post_worker_init,
            "worker_exit": _worker_exit,
            # The main process forgets a dead worker's live gauges (ops.metrics).
            "child_exit": _child_exit,
        }
    ).run()
