"""The upstream proxy's cost (issue 14).

Starts a local upstream index (tests/proxy/upstream_server.py, a Python http.server
playing PyPI) and ``strongroom serve`` (2 workers, embedded SQLite) proxying it, then:

- requests/s of a cached proxied ``/simple/<p>/`` page against a local project's page of
  about the same size (same run, same load tool; goal: the proxied page at >= 80%);
- wall time of ``pip install`` of a 20-package set (one package needing the other 19)
  through the warm cache, against the same install straight from the upstream.

Writes bench/results/proxy.json and bench/results/proxy.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from bench.load import measure  # noqa: E402
from tests.e2e.clients import PASSWORD, isolated_env, run  # noqa: E402
from tests.e2e.server import running_server  # noqa: E402
from tests.proxy.upstream_server import UpstreamFile, UpstreamServer  # noqa: E402

JSON = "application/vnd.pypi.simple.v1+json"


def wheel(name: str, version: str, requires: list[str]) -> tuple[str, bytes, bytes]:
    """A small installable wheel (with RECORD): (filename, bytes, METADATA)."""
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    metadata = "".join(
        [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"]
        + [f"Requires-Dist: {r}\n" for r in requires]
    ).encode()
    members = {
        f"{module}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = []
    for path, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    members[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in members.items():
            archive.writestr(path, data)
    return f"{module}-{version}-py3-none-any.whl", buffer.getvalue(), metadata


def upload(base: str, token: str, name: str, version: str) -> None:
    filename, data, _metadata = wheel(name, version, [])
    fields = {
        ":action": "file_upload", "protocol_version": "1", "metadata_version": "2.1",
        "name": name, "version": version, "filetype": "bdist_wheel", "pyversion": "py3",
        "sha256_digest": hashlib.sha256(data).hexdigest(),
    }  # fmt: skip
    response = httpx.post(
        f"{base}/legacy/", data=fields, files={"content": (filename, data)},
        auth=("__token__", token), timeout=60,
    )  # fmt: skip
    response.raise_for_status()


def pip_seconds(index: str, work: Path, requirement: str, runs: int) -> list[float]:
    timings = []
    for attempt in range(runs):
        target = work / f"target-{time.monotonic_ns()}"
        env = isolated_env(work / "home")
        started = time.perf_counter()
        run([sys.executable, "-m", "pip", "install", "--no-cache-dir", "--no-compile",
             "--target", str(target), "--index-url", index, requirement], env)  # fmt: skip
        timings.append(time.perf_counter() - started)
        del attempt
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--files", type=int, default=12, help="files on each measured page")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args(argv)

    upstream = UpstreamServer()
    state = upstream.state
    names = [f"bp-{i:02d}" for i in range(20)]
    for index, name in enumerate(names):
        requires = names[1:] if index == 0 else []
        filename, data, metadata = wheel(name, "1.0", requires)
        state.projects[name] = [UpstreamFile(filename, data, metadata=metadata)]
    for number in range(args.files):
        filename, data, metadata = wheel("bp-page", f"1.{number}", [])
        state.projects.setdefault("bp-page", []).append(
            UpstreamFile(filename, data, metadata=metadata)
        )

    results: dict[str, Any] = {"machine": "2 shared cores", "workers": 2}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {"STRONGROOM_UPSTREAM_URL": state.url, "STRONGROOM_UPSTREAM_MAX_AGE": "3600"}
        with running_server(work / "data", extra_env=env, embedded=True) as server:
            server.create_user("bench", "bench@example.org", PASSWORD)
            token = server.create_token("bench", "bench")
            for number in range(args.files):
                upload(server.base_url, token, "local-page", f"1.{number}")
            proxied_url = f"{server.base_url}/simple/bp-page/"
            local_url = f"{server.base_url}/simple/local-page/"
            sizes = {
                "proxied_bytes": len(httpx.get(proxied_url, headers={"Accept": JSON}).content),
                "local_bytes": len(httpx.get(local_url, headers={"Accept": JSON}).content),
            }
            headers = {"Accept": JSON}
            pages = {}
            for label, url in (("local", local_url), ("proxied", proxied_url)):
                result = measure(url, connections=args.connections, seconds=args.seconds,
                                 repeats=args.repeats, headers=headers)  # fmt: skip
                pages[label] = {"rps": round(result.rps, 1), "p50_ms": round(result.p50_ms, 2),
                                "p99_ms": round(result.p99_ms, 2), "errors": result.errors,
                                "tool": result.tool}  # fmt: skip
            pages["ratio"] = round(pages["proxied"]["rps"] / pages["local"]["rps"], 3)
            results["page"] = {**pages, **sizes}

            direct = pip_seconds(state.url, work, "bp-00", args.repeats)
            cold = pip_seconds(f"{server.base_url}/simple/", work, "bp-00", 1)
            warm = pip_seconds(f"{server.base_url}/simple/", work, "bp-00", args.repeats)
            results["pip_20_packages_seconds"] = {
                "upstream_directly": round(statistics.median(direct), 2),
                "proxy_cold_first_run": round(cold[0], 2),
                "proxy_warm_cache": round(statistics.median(warm), 2),
                "runs": args.repeats,
            }
    upstream.stop()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "proxy.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "proxy.md").write_text(markdown(results))
    print(json.dumps(results, indent=2))
    return 0


def markdown(results: dict[str, Any]) -> str:
    page, pip = results["page"], results["pip_20_packages_seconds"]
    return (
        "# Upstream proxy (bench/proxy.py)\n\n"
        f"2 workers, embedded SQLite, {results['machine']}; load by {page['local']['tool']}.\n\n"
        "| page | bytes | requests/s | p50 ms | p99 ms |\n|---|---|---|---|---|\n"
        f"| local `/simple/local-page/` | {page['local_bytes']} | {page['local']['rps']} | "
        f"{page['local']['p50_ms']} | {page['local']['p99_ms']} |\n"
        f"| cached proxied `/simple/bp-page/` | {page['proxied_bytes']} | "
        f"{page['proxied']['rps']} | {page['proxied']['p50_ms']} | "
        f"{page['proxied']['p99_ms']} |\n\n"
        f"Proxied / local: **{page['ratio']:.0%}** (goal: at least 80%).\n\n"
        "`pip install bp-00` (20 packages), median wall time:\n\n"
        "| through | seconds |\n|---|---|\n"
        f"| the upstream directly | {pip['upstream_directly']} |\n"
        f"| the proxy, first run (cold cache) | {pip['proxy_cold_first_run']} |\n"
        f"| the proxy, warm cache | {pip['proxy_warm_cache']} |\n"
    )


if __name__ == "__main__":
    raise SystemExit(main())
