"""Load generation: wrk when installed (bounded in time and connections), else a small
Python client; and a time-to-first-byte probe."""

from __future__ import annotations

import http.client
import re
import shutil
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    tool: str


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not match:
        raise ValueError(text)
    return float(match[1]) * _UNITS[match[2]]


def run_wrk(
    url: str, *, connections: int, seconds: int, headers: dict[str, str], threads: int = 2
) -> Result:
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    args += ["--timeout", "10s"]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    out = subprocess.run(
        [*args, url], capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p50_match = re.search(r"\s50%\s+(\S+)", out)
    p99_match = re.search(r"\s99%\s+(\S+)", out)
    # No completed request (every one timed out): wrk prints no percentiles.
    p50 = _ms(p50_match[1]) if p50_match else float("inf")
    p99 = _ms(p99_match[1]) if p99_match else float("inf")
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        errors += int(match[1])
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(g) for g in match.groups())
    return Result(rps, p50, p99, errors, "wrk")


def run_python(url: str, *, connections: int, seconds: int, headers: dict[str, str]) -> Result:
    """A keep-alive client per thread; slower than wrk, so it under-reports fast servers."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        mine: list[float] = []
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    errors[0] += 1
            except OSError:
                errors[0] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                continue
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    latencies.sort()
    if not latencies:
        return Result(0.0, 0.0, 0.0, errors[0], "python")
    return Result(
        len(latencies) / seconds,
        latencies[len(latencies) // 2],
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        errors[0],
        "python",
    )


def measure(
    url: str, *, connections: int, seconds: int, repeats: int, headers: dict[str, str]
) -> Result:
    """The run with the median requests/s out of ``repeats`` (the machine is shared)."""
    runner = run_wrk if shutil.which("wrk") else run_python
    runs = [runner(url, connections=connections, seconds=seconds, headers=headers)]
    # A server that completed (almost) nothing in the first run gets no further runs.
    if runs[0].rps * seconds >= 10:
        runs += [
            runner(url, connections=connections, seconds=seconds, headers=headers)
            for _ in range(repeats - 1)
        ]
    runs.sort(key=lambda r: r.rps)
    median = runs[len(runs) // 2]
    median.errors = sum(r.errors for r in runs)
    return median


def first_byte_ms(url: str, headers: dict[str, str] | None = None) -> float:
    """Milliseconds from sending the request to reading the status line, new connection."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.connect()
    started = time.perf_counter()
    conn.request("GET", parts.path, headers=headers or {})
    response = conn.getresponse()
    elapsed = (time.perf_counter() - started) * 1000
    response.read()
    conn.close()
    return elapsed


def first_byte(url: str, warm_runs: int = 5) -> tuple[float, float]:
    """(first request's, median of the next ``warm_runs``) time to first byte, ms."""
    cold = first_byte_ms(url)
    warm = statistics.median(first_byte_ms(url) for _ in range(warm_runs))
    return cold, warm
