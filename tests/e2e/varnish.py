"""Debian's Varnish in front of a test server, with the VCL from docs/."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.e2e.server import REPO
from tests.support import require

VCL = REPO / "docs" / "varnish.vcl"


def varnishd() -> str:
    found = shutil.which("varnishd") or next(
        (p for p in ("/usr/sbin/varnishd",) if Path(p).exists()), None
    )
    require(found is not None, "varnishd is not installed (apt-get install varnish)")
    assert found is not None
    return found


def bans_added(work: Path) -> int:
    """How many bans the Varnish of ``work`` has taken (docs/varnish.vcl turns each purge
    into one ban), from its own counters: a test waits for a purge to have arrived."""
    binary = shutil.which("varnishstat") or "/usr/bin/varnishstat"
    out = subprocess.run(
        [binary, "-n", str(work / "state"), "-1", "-f", "MAIN.bans_added"],
        capture_output=True, text=True, check=True, timeout=30,
    ).stdout  # fmt: skip
    return int(out.split()[1])


def wait_for_bans(work: Path, count: int, timeout: float = 30.0) -> None:
    """Until ``count`` bans have been added (bounded)."""
    deadline = time.monotonic() + timeout
    while (added := bans_added(work)) < count:
        assert time.monotonic() < deadline, f"{added} bans in {timeout} s, {count} expected"
        time.sleep(0.05)


@contextlib.contextmanager
def running_varnish(backend_port: int, port: int, work: Path) -> Iterator[str]:
    """varnishd on ``port`` in front of 127.0.0.1:``backend_port``; yields its base URL."""
    binary = varnishd()
    work.mkdir(parents=True, exist_ok=True)
    vcl = work / "strongroom.vcl"
    vcl.write_text(VCL.read_text().replace('.port = "8000";', f'.port = "{backend_port}";'))
    log = (work / "varnishd.log").open("wb")
    process = subprocess.Popen(
        [binary, "-F", "-j", "none", "-n", str(work / "state"), "-a", f"127.0.0.1:{port}",
         "-f", str(vcl), "-s", "malloc,64m", "-p", "ban_lurker_sleep=0.1"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"varnishd exited:\n{(work / 'varnishd.log').read_text()}")
            try:
                urllib.request.urlopen(f"{base}/simple/", timeout=5).close()
                break
            except urllib.error.HTTPError:
                break  # Varnish answers (whatever the backend said)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
