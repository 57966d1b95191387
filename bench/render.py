"""Worst-case description rendering (issue 21, item 3): unbounded versus bounded.

For each hostile description (nested HTML blocks, deep lists and quotes, long tables,
pathological emphasis and links, RST sections and substitutions), at the sizes an upload
form can carry, measures readme-renderer's own time (in a child, stopped at
``--cap`` seconds) and render_description()'s time with the configured budget: the
second is what an upload request pays. Also the fork overhead on a trivial input.

    python bench/render.py --out bench/results/render.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

KB = 1000


def _repeat_to(size: int, unit: str) -> str:
    return unit * max(1, size // len(unit))


CASES: dict[str, tuple[str, Callable[[int], str]]] = {
    "nested <div>": ("text/markdown", lambda n: "<div>" * (n // 11) + "x" + "</div>" * (n // 11)),
    "nested <table>": (
        "text/markdown",
        lambda n: "<table><tr><td>" * (n // 30) + "x" + "</td></tr></table>" * (n // 30),
    ),
    "nested quotes": ("text/markdown", lambda n: ">" * (n // 2) + " x\n"),
    "nested lists": (
        "text/markdown",
        lambda n: "".join("  " * i + "- x\n" for i in range(int((n / 1.0) ** 0.5))),
    ),
    "long table": (
        "text/markdown",
        lambda n: "| a | b | c |\n|---|---|---|\n" + _repeat_to(n, "| 1 | 2 | 3 |\n"),
    ),
    "emphasis runs": ("text/markdown", lambda n: _repeat_to(n, "*a **b ")),
    "unclosed links": ("text/markdown", lambda n: _repeat_to(n, "[a](")),
    "backticks": ("text/markdown", lambda n: _repeat_to(n, "`a``")),
    "html attributes": ("text/markdown", lambda n: "<a " + _repeat_to(n, 'x="y" ') + ">"),
    "rst sections": ("text/x-rst", lambda n: _repeat_to(n, "T\n=\n\nx\n\n")),
    "rst nested quotes": (
        "text/x-rst",
        lambda n: "".join(" " * i + "x\n\n" for i in range(int(n**0.5))),
    ),
    "rst substitutions": (
        "text/x-rst",
        lambda n: _repeat_to(n // 2, "|a| ") + "\n\n.. |a| replace:: |b|\n.. |b| replace:: x\n",
    ),
    "rst inline markup": ("text/x-rst", lambda n: _repeat_to(n, "*a `b **c ")),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sizes", default="250,2500", help="KB, comma separated")
    parser.add_argument("--cap", type=float, default=30.0, help="seconds for the unbounded run")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "strongroom.settings")
    import django

    django.setup()
    from django.conf import settings

    from strongroom.packages.rendering import render_bounded, render_description

    trivial = []
    for _ in range(50):
        started = time.monotonic()
        render_description("# Hi *there*", "text/markdown")
        trivial.append(time.monotonic() - started)
    rows = []
    for size_kb in (int(s) for s in args.sizes.split(",")):
        for name, (content_type, make) in CASES.items():
            text = make(size_kb * KB)
            started = time.monotonic()
            unbounded = render_bounded(text, content_type, args.cap)
            raw = time.monotonic() - started
            started = time.monotonic()
            render_description(text, content_type)
            bounded = time.monotonic() - started
            row = {
                "case": name,
                "content_type": content_type,
                "chars": len(text),
                "unbounded_s": round(raw, 3),
                "unbounded": (
                    "html" if unbounded is not None else "stopped" if raw >= args.cap else "failed"
                ),
                "bounded_s": round(bounded, 3),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    result = {
        "budget_ms": settings.DESCRIPTION_RENDER_MS,
        "trivial_median_ms": round(statistics.median(trivial) * 1000, 2),
        "worst_bounded_s": max(r["bounded_s"] for r in rows),
        "rows": rows,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
