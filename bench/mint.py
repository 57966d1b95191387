"""Trusted publishing cost (issue 15): mint-token latency, and an upload through a minted
token against one through an API token.

Starts ``strongroom serve`` (2 workers, embedded SQLite) on a fresh data dir and the tests'
local OIDC issuer (tests/publishing/issuer.py), registers the issuer with
``strongroom issuer add``, then times, client-side over HTTP:
- ``POST /_/oidc/mint-token`` with a fresh JWT each time (JWKS cached, as in production);
- ``POST /legacy/`` of a small wheel with a minted token, and with an API token.
Writes bench/results/mint.json.
"""

from __future__ import annotations

import argparse
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
from tests.e2e.server import run_cli, running_server  # noqa: E402
from tests.publishing.issuer import LocalIssuer, github_claims  # noqa: E402


def make_wheel(name: str, version: str) -> bytes:
    """A small valid wheel (one module, METADATA, WHEEL)."""
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{module}/__init__.py", "VALUE = 1\n")
        archive.writestr(
            f"{dist_info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        archive.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
    return buffer.getvalue()


def summary(timings_ms: list[float]) -> dict[str, float]:
    ordered = sorted(timings_ms)
    return {
        "runs": len(ordered),
        "median_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
    }


def upload(client: httpx.Client, base: str, token: str, name: str, version: str) -> float:
    content = make_wheel(name, version)
    filename = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    data = {
        ":action": "file_upload", "protocol_version": "1", "metadata_version": "2.1",
        "name": name, "version": version, "filetype": "bdist_wheel", "pyversion": "py3",
        "sha256_digest": hashlib.sha256(content).hexdigest(),
    }  # fmt: skip
    started = time.perf_counter()
    response = client.post(
        f"{base}/legacy/",
        data=data,
        files={"content": (filename, content, "application/octet-stream")},
        auth=("__token__", token),
    )
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"upload refused: {response.status_code} {response.text}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mints", type=int, default=300)
    parser.add_argument("--uploads", type=int, default=40)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "mint.json")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as work,
        LocalIssuer() as issuer,
        running_server(Path(work) / "data", embedded=True) as server,
    ):
        added = run_cli(
            "issuer", "add", "--url", issuer.url, "--kind", "github",
            data_dir=server.data_dir, env=server.env,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        server.create_user("benchtp", "benchtp@example.org", "bench-Passw0rd-not-common")
        server.django(
            f"""
            from strongroom.accounts.models import User
            from strongroom.packages.models import Project, Role
            from strongroom.publishing.models import Issuer, Publisher
            owner = User.objects.get(username="benchtp")
            for name in ("bench-tp", "bench-api"):
                p = Project.objects.create(name=name, normalized_name=name, skeleton=name)
                Role.objects.create(project=p, user=owner, role_name="Owner")
            Publisher.objects.create(
                issuer=Issuer.objects.get(url="{issuer.url}"),
                project=Project.objects.get(name="bench-tp"),
                repository="octo/bench-tp", workflow="release.yml", environment="pypi",
            )
            """
        )
        api_token = server.create_token("benchtp", "bench", "bench-api")
        base = server.base_url
        claims = github_claims("octo/bench-tp", "release.yml", environment="pypi")
        with httpx.Client(timeout=60) as client:
            audience = client.get(f"{base}/_/oidc/audience").json()["audience"]
            mints: list[float] = []
            minted = ""
            for i in range(args.mints + 10):
                jwt = issuer.sign(claims, audience=audience)
                started = time.perf_counter()
                response = client.post(f"{base}/_/oidc/mint-token", json={"token": jwt})
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, response.text
                minted = response.json()["token"]
                if i >= 10:  # the first requests warm the workers and the JWKS cache
                    mints.append(elapsed)
            for i in range(3):  # warm both paths
                upload(client, base, minted, "bench-tp", f"0.0.{i}")
                upload(client, base, api_token, "bench-api", f"0.0.{i}")
            through_minted, through_api = [], []
            for i in range(args.uploads):  # interleaved, so drift hits both alike
                through_minted.append(upload(client, base, minted, "bench-tp", f"1.{i}"))
                through_api.append(upload(client, base, api_token, "bench-api", f"1.{i}"))
    result: dict[str, Any] = {
        "mint_token": summary(mints),
        "upload_minted_token": summary(through_minted),
        "upload_api_token": summary(through_api),
        "server": "strongroom serve --workers 2 (gunicorn), embedded SQLite, loopback HTTP",
        "note": "client-side wall time per request; a fresh RS256 JWT per mint, JWKS cached",
    }
    result["upload_ratio_minted_vs_api"] = round(
        result["upload_minted_token"]["median_ms"] / result["upload_api_token"]["median_ms"], 3
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
