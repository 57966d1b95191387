"""Start and load the servers under test: Strongroom, pypiserver, devpi-server, nginx."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
PEER_PACKAGES = ["pypiserver", "waitress", "watchdog", "devpi-server", "devpi-client"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_token(data_dir: Path, user: str, name: str, **env: str) -> str:
    """An account-wide API token made with ``strongroom token create`` (its last line)."""
    result = subprocess.run(
        [sys.executable, "-m", "strongroom.cli", "token", "create",
         "--data-dir", str(data_dir), "--user", user, "--name", name],
        capture_output=True, text=True, check=True, env=strongroom_env(**env),
    )  # fmt: skip
    return result.stdout.strip().splitlines()[-1]


def wait_http(
    url: str, timeout: float = 60, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited ({process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
                response.read()
                return
        except OSError:
            time.sleep(0.2)
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)  # its own session (_popen)
        process.wait()
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def peers_venv(path: Path) -> Path:
    """A venv with the peers installed (from PyPI), created on first use."""
    python = path / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PEER_PACKAGES], check=True)
    return path / "bin"


@dataclass
class Server:
    name: str
    base: str
    process: subprocess.Popen[bytes] | None
    paths: dict[str, str] = field(default_factory=dict)
    json_paths: dict[str, str] = field(default_factory=dict)
    pids: list[int] = field(default_factory=list)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _popen(
    args: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        args, stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )


def strongroom_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("STRONGROOM_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env["PYTHONPATH"] = str(REPO / "src")
    env.update(extra)
    return env


def start_strongroom(
    data_dir: Path, work: Path, server: str = "gunicorn", workers: int = 2, **env: str
) -> Server:
    port = free_port()
    if server == "uwsgi":  # a candidate measured, not a server Strongroom offers
        args = [sys.executable, str(BENCH / "uwsgi_serve.py"), "--data-dir", str(data_dir)]
        env = {"PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{BENCH}", **env}
    else:
        args = [sys.executable, "-m", "strongroom.cli", "serve", "--data-dir", str(data_dir)]
        args += ["--server", server]
    args += ["--port", str(port), "--workers", str(workers)]
    process = _popen(args, work / f"strongroom-{server}.log", strongroom_env(**env))
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/simple/smallproj/", process=process)
    return Server(f"strongroom ({server})", base, process)


def start_pypiserver(bin_dir: Path, files: Path, work: Path, timeout: float = 300) -> Server:
    port = free_port()
    args = [str(bin_dir / "pypi-server"), "run", "-p", str(port), "-i", "127.0.0.1"]
    args += ["-a", ".", "-P", ".", "--disable-fallback", "--backend", "cached-dir"]
    args += ["--server", "auto", str(files)]  # auto: waitress, installed beside it
    process = _popen(args, work / "pypiserver.log")
    base = f"http://127.0.0.1:{port}"
    server = Server("pypiserver", base, process)
    try:
        wait_http(base + "/simple/smallproj/", timeout=timeout, process=process)
    except BaseException:
        server.stop()
        raise
    return server


def start_devpi(bin_dir: Path, work: Path) -> Server:
    serverdir = work / "devpi-server"
    port = free_port()
    if not (serverdir / ".serverversion").exists():
        shutil.rmtree(serverdir, ignore_errors=True)
        subprocess.run(
            [str(bin_dir / "devpi-init"), "--serverdir", str(serverdir), "--no-root-pypi"],
            check=True,
            capture_output=True,
        )
    args = [str(bin_dir / "devpi-server"), "--serverdir", str(serverdir), "--port", str(port)]
    args += ["--host", "127.0.0.1", "--offline-mode"]
    process = _popen(args, work / "devpi.log")
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/+api", process=process)
    return Server("devpi", base, process)


def devpi_index(bin_dir: Path, server: Server, work: Path) -> str:
    """Create root/bench (no bases) if missing; return its URL."""
    client = ["--clientdir", str(work / "devpi-client")]
    devpi = str(bin_dir / "devpi")
    subprocess.run([devpi, "use", server.base, *client], check=True, capture_output=True)
    subprocess.run(
        [devpi, "login", "root", "--password", "", *client], check=True, capture_output=True
    )
    subprocess.run(
        [devpi, "index", "-c", "bench", "bases=", "volatile=True", *client], capture_output=True
    )
    return server.base + "/root/bench/"


def _multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for key, value in fields.items():
        header = f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
        parts.append(f"{header}{value}\r\n".encode())
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="content"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def legacy_upload(url: str, user: str, password: str, name: str, version: str, path: Path) -> int:
    """One twine-style upload (POST multipart, Basic auth); the HTTP status."""
    content = path.read_bytes()
    body, content_type = _multipart(
        {
            ":action": "file_upload",
            "protocol_version": "1",
            "metadata_version": "2.1",
            "name": name,
            "version": version,
            "filetype": "sdist" if path.name.endswith(".tar.gz") else "bdist_wheel",
            "pyversion": "source" if path.name.endswith(".tar.gz") else "py3",
            "sha256_digest": hashlib.sha256(content).hexdigest(),
        },
        path.name,
        content,
    )
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - loopback
        url,
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "Authorization": f"Basic {auth}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        print(f"upload of {path.name}: {exc.code} {exc.read()[:300]!r}", file=sys.stderr)
        return exc.code


def seed_devpi(
    url: str, files: Path, dists: Iterable[tuple[str, str, str]], deadline: float
) -> tuple[int, int]:
    """Upload ``dists`` (project, version, filename) until ``deadline``; (uploaded, failed)."""
    done = failed = 0

    def one(dist: tuple[str, str, str]) -> int:
        if time.monotonic() > deadline:
            return 0
        project, version, filename = dist
        return legacy_upload(url, "root", "", project, version, files / filename)

    with ThreadPoolExecutor(4) as pool:
        for status in pool.map(one, dists):
            if status == 0:
                continue
            if status == 200:
                done += 1
            else:
                failed += 1
    return done, failed


def start_nginx(root: Path, work: Path) -> Server:
    """nginx serving ``root`` as static files, 2 workers, sendfile; None if not installed."""
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(
        f"""worker_processes 2;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
daemon off;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  types {{ text/html html; application/zip whl; }}
  default_type application/octet-stream;
  server {{ listen 127.0.0.1:{port}; root {root}; index index.html; }}
}}
"""
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process = _popen([nginx, "-c", str(conf)], work / "nginx.log")
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/simple/smallproj/", process=process)
    return Server("nginx (static)", base, process)
