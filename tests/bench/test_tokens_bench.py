"""bench/tokens.py runs against the current token services (a small seeded data dir)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_tokens_bench_runs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    env["PYTHONPATH"] = str(ROOT / "src")
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def run(*args: str) -> None:
        done = subprocess.run(
            [sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]

    run("bench/seed.py", "--data-dir", str(tmp_path / "strongroom"), "--projects", "3",
        "--big-releases", "2", "--download-mb", "1")  # fmt: skip
    out = tmp_path / "tokens.json"
    run("bench/tokens.py", "--work", str(tmp_path), "--out", str(out), "--runs", "20")
    result = json.loads(out.read_text())
    assert result["runs"] == 20
    assert 0 < result["median_us"] <= result["p99_us"]
