"""Where the workers of ``strongroom serve`` write their metric samples.

prometheus-client chooses, when it is first imported, whether samples live in the process
or in files under ``PROMETHEUS_MULTIPROC_DIR``: so this module imports nothing of it, and
``serve`` calls :func:`prepare_multiprocess_dir` before Django (and ops.metrics) starts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def prepare_multiprocess_dir(data_dir: Path) -> Path:
    """Point prometheus-client's multiprocess mode at an empty ``metrics/`` folder under
    ``data_dir``: the samples of workers from an earlier run are gone, and every worker of
    this run writes its own files there, which ``/_/metrics`` sums."""
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before its multiprocess folder")
    folder = data_dir / "metrics"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder
