"""Turn bench results (JSON) into a Markdown table and a PNG chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SCENARIOS = [
    "small /simple/<p>/",
    "large /simple/<p>/",
    "small /simple/<p>/ JSON",
    "large /simple/<p>/ JSON",
    "index",
    "download 10 MiB",
]
OURS = ("strongroom (granian)", "strongroom (gunicorn)", "strongroom (uwsgi)")
PEERS = ("pypiserver", "devpi", "nginx (static)")


def _ours(servers: dict[str, Any]) -> str | None:
    return next((name for name in OURS if name in servers), None)


def markdown(data: dict[str, Any]) -> str:
    meta, servers = data["meta"], data["servers"]
    lines = [
        "# Read-path benchmark",
        "",
        f"{meta['projects']:,} projects; the large project has {meta['big_releases']:,} "
        f"releases x 3 files. {meta['cpus']} CPUs shared by server and load generator "
        f"({meta['load']}); each load ran {meta['seconds']} s, {meta['repeats']} times, "
        "median shown; 32 connections (8 for the download). "
        f"Load average before/after: {meta['loadavg_before'][0]:.1f}/"
        f"{meta['loadavg_after'][0]:.1f} (other work on the machine adds noise).",
        "",
        "| scenario | server | req/s | p50 ms | p99 ms | errors |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for scenario in SCENARIOS:
        for name, rows in servers.items():
            row = rows.get(scenario)
            if not row:
                continue
            if "error" in row:
                lines.append(f"| {scenario} | {name} | failed: {row['error'][:60]} | | | |")
            elif row["rps"] == 0:
                lines.append(f"| {scenario} | {name} | 0 (every request timed out) | | | |")
            else:
                lines.append(
                    f"| {scenario} | {name} | {row['rps']:,.0f} | {row['p50_ms']:.2f} | "
                    f"{row['p99_ms']:.2f} | {row['errors']} |"
                )
    failed = [(n, rows["error"]) for n, rows in servers.items() if "error" in rows]
    if failed:
        lines += ["", "Servers that failed:", ""]
        lines += [f"- {name}: {error}" for name, error in failed]
    present = [p for p in PEERS if p in servers]
    for ours in (o for o in OURS if o in servers):
        lines += [
            "",
            f"Ratios: {ours} requests/s divided by the peer's.",
            "",
            "| scenario | " + " | ".join(present) + " |",
            "|---|" + "---:|" * len(present),
        ]
        for scenario in SCENARIOS:
            mine = servers[ours].get(scenario)
            if not mine or "rps" not in mine:
                continue
            cells = []
            for peer in present:
                theirs = servers[peer].get(scenario)
                if not theirs or "rps" not in theirs:
                    cells.append("n/a")
                elif theirs["rps"] == 0:
                    cells.append("peer: 0 req/s")
                else:
                    cells.append(f"{mine['rps'] / theirs['rps']:.2f}x")
            lines.append(f"| {scenario} | " + " | ".join(cells) + " |")
    lines += ["", "`/simple/` (all projects), time to first byte:", ""]
    lines += ["| server | first request ms | then (median of 5) ms |", "|---|---:|---:|"]
    for name, rows in servers.items():
        first = rows.get("index first byte")
        if first:
            lines.append(f"| {name} | {first['cold_ms']:.1f} | {first['warm_ms']:.1f} |")
    seeding = meta.get("seeding", {})
    if "devpi_files" in seeding:
        lines += [
            "",
            f"devpi was seeded over HTTP (its upload API) for {seeding['devpi_seconds']} s: "
            f"{seeding['devpi_files']:,} of {seeding['devpi_files_wanted']:,} files "
            f"({seeding['devpi_projects']:,} projects, {seeding['devpi_big_files']:,} of the "
            "large project's files); its `/simple/` and large page hold only those, so devpi "
            "ratios on those rows flatter devpi.",
        ]
    for key in ("upload_error", "tokens_error"):
        if key in data:
            lines += ["", f"{key}: {data[key]}"]
    if "upload" in data:
        up = data["upload"]
        lines += [
            "",
            f"Upload: a {up['size_mib']:.0f} MiB wheel, twine-style (multipart POST to "
            f"/legacy/, Basic auth with an API token): {up['seconds']:.2f} s "
            f"({up['mib_per_s']:.0f} MiB/s); server RSS peak {up['peak_above_idle_mib']:.1f} "
            f"MiB above idle (sum over its processes; idle {up['idle_mib']:.0f} MiB).",
        ]
    if "tokens" in data:
        tok = data["tokens"]
        lines += [
            "",
            f"API token verification (`verify_token`: parse, one lookup, HMAC, caveats): "
            f"median {tok['median_us']:.0f} us, p99 {tok['p99_us']:.0f} us over "
            f"{tok['runs']:,} calls.",
        ]
    return "\n".join(lines) + "\n"


def chart(data: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    servers = data["servers"]
    names = [n for n in servers if any("rps" in servers[n].get(s, {}) for s in SCENARIOS)]
    scenarios = [s for s in SCENARIOS if any(s in servers[n] for n in names)]
    fig, ax = plt.subplots(figsize=(11, 5))
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        # Not offered, failed or 0 req/s: no bar (the table says which).
        values = [servers[name].get(s, {}).get("rps") or float("nan") for s in scenarios]
        ax.bar([x + i * width for x in range(len(scenarios))], values, width, label=name)
    ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(scenarios))])
    ax.set_xticklabels(scenarios, rotation=10)
    ax.set_yscale("log")
    ax.set_ylabel("requests/s (log scale)")
    ax.set_title(
        "Simple API and download throughput, same machine, same package set "
        "(missing bar: not offered, failed or 0 req/s)"
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
