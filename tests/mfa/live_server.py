"""A real ``strongroom serve`` in a subprocess for the browser tests (self-contained, so it
does not collide with the shared tests/e2e/server.py fixture on another branch)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


@dataclass
class LiveServer:
    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        # WebAuthn needs a secure context: localhost counts, 127.0.0.1 is not a valid RP id.
        return f"http://localhost:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
        env["PYTHONPATH"] = SRC
        env.pop("DJANGO_SETTINGS_MODULE", None)
        return env

    def create_user(self, username: str, password: str) -> None:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "strongroom.cli",
                "user",
                "create",
                "--data-dir",
                str(self.data_dir),
                "--username",
                username,
                "--email",
                f"{username}@example.org",
                "--verified",
                "--password-stdin",
            ],
            input=password + "\n",
            text=True,
            env=self.env(),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def outbox_text(self) -> str:
        outbox = self.data_dir / "outbox"
        if not outbox.exists():
            return ""
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(outbox.rglob("*")) if p.is_file()
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(data_dir: Path) -> Iterator[LiveServer]:
    server = LiveServer(data_dir=data_dir, port=_free_port())
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "strongroom.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(server.port),
            "--workers",
            "2",
        ],
        env=server.env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError((data_dir / "server.log").read_text())
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
