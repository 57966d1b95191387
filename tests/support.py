"""Helpers shared by test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import os

import pytest


def require(condition: bool, reason: str) -> None:
    """Skip (or on CI, fail) a test whose external requirement is missing."""
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required on CI: {reason}")
    pytest.skip(reason)


def stored_files() -> list[str]:
    """Every object in the configured file storage (staged ones too), as relative paths."""
    from pathlib import Path

    from django.conf import settings

    from strongroom.storage import get_storage
    from strongroom.storage.s3 import S3Storage

    storage = get_storage()
    if isinstance(storage, S3Storage):
        prefix = f"{storage.prefix}/" if storage.prefix else ""
        objects = storage.backend.bucket.objects.filter(Prefix=prefix)
        return sorted(obj.key.removeprefix(prefix) for obj in objects)
    root = Path(settings.FILES_DIR)
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def mount_tiny_tmpfs(path: os.PathLike[str] | str, *, size: str = "64k", inodes: int = 64) -> None:
    """Mount a tmpfs of ``size`` bytes and ``inodes`` inodes at ``path``: a real disk that
    fills up. Needs root (or CAP_SYS_ADMIN); skips otherwise (fails on CI). Unmount with
    :func:`unmount`."""
    import subprocess
    from pathlib import Path

    Path(path).mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},nr_inodes={inodes}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    require(mounted.returncode == 0, f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")


def unmount(path: os.PathLike[str] | str) -> None:
    import subprocess

    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)
