"""The instance's generated secret key file (embedded deployments): settings.py reads it."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path


def load_or_create_secret(path: Path) -> str:
    """Read the instance secret, generating it once (mode 0600) when absent.

    Several worker processes may start at once: ``O_EXCL`` makes exactly one of them
    write the key and the others read what it wrote.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _attempt in range(50):
            value = path.read_text().strip()
            if value:
                return value
            time.sleep(0.05)
        raise RuntimeError(f"{path} is empty") from None
    value = secrets.token_urlsafe(50)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value
