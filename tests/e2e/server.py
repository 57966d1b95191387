"""Run the real ``strongroom serve`` from this checkout for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def strongroom_env(**extra: str) -> dict[str, str]:
    """The environment for a child running this checkout's code, without inherited config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    env["PYTHONPATH"] = str(SRC)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra)
    return env


@dataclass
class Server:
    base_url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def access_log(self) -> list[str]:
        """Lines of gunicorn's access log (one per request)."""
        return [line for line in self.log().splitlines() if '"GET ' in line or '"POST ' in line]

    def create_user(self, username: str, password: str, email: str | None = None) -> None:
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
                email or f"{username}@example.org",
                "--verified",
                "--password-stdin",
            ],
            input=(password + "\n").encode(),
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_server(data_dir: Path, *, workers: int = 2, **settings: str) -> Server:
    """Start the server and wait until it answers; raise with its log if it does not."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    env = strongroom_env(**{f"STRONGROOM_{k.upper()}": v for k, v in settings.items()})
    log_path = data_dir / "server.log"
    handle = log_path.open("wb")
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
            str(port),
            "--workers",
            str(workers),
        ],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=env,
    )
    server = Server(f"http://localhost:{port}", data_dir, log_path, process, env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"strongroom serve exited:\n{server.log()}")
        try:
            with urllib.request.urlopen(f"{server.base_url}/simple/", timeout=2):
                return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"strongroom serve did not answer within 60s:\n{server.log()}")
