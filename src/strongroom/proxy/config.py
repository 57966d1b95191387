"""Parsing of the upstream settings (``STRONGROOM_UPSTREAM_*``); settings.py calls it.

Free of Django so settings.py can import it before anything is configured.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_SIZE_FACTOR = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


@dataclass(frozen=True)
class UpstreamConfig:
    """The upstream index the proxy pulls from; ``url`` empty means the proxy is off."""

    url: str = ""
    username: str = ""
    password: str = ""
    timeout: float = 10.0
    max_age: int = 600
    cooldown: int = 0
    cache_bytes: int = 0  # 0: no cap

    @property
    def enabled(self) -> bool:
        return bool(self.url)


def parse_duration(name: str, raw: str, default: int) -> int:
    """Seconds from ``600``, ``90s``, ``10m``, ``6h`` or ``3d``."""
    if not raw.strip():
        return default
    match = _DURATION.match(raw.lower())
    if match is None:
        raise ValueError(f"STRONGROOM_{name} must be a whole number of seconds, or end in s/m/h/d")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def parse_size(name: str, raw: str) -> int:
    """Bytes from ``1000``, ``500M``, ``20GiB`` (0 or empty: no cap)."""
    if not raw.strip():
        return 0
    match = _SIZE.match(raw)
    if match is None:
        raise ValueError(f"STRONGROOM_{name} must be a size such as 500M or 20G")
    unit = (match.group(2) or "")[:1].lower()
    return int(match.group(1)) * _SIZE_FACTOR[unit]


def upstream_config(env: Callable[[str, str], str]) -> UpstreamConfig:
    """The proxy's settings from ``env(name, default)`` (settings._env)."""
    url = env("UPSTREAM_URL", "").strip()
    if url:
        parts = urlparse(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("STRONGROOM_UPSTREAM_URL must be an http(s):// index URL")
        if not url.endswith("/"):
            url += "/"
    timeout_raw = env("UPSTREAM_TIMEOUT", "10").strip() or "10"
    try:
        timeout = float(timeout_raw)
    except ValueError:
        raise ValueError("STRONGROOM_UPSTREAM_TIMEOUT must be a number of seconds") from None
    if timeout <= 0:
        raise ValueError("STRONGROOM_UPSTREAM_TIMEOUT must be a number of seconds")
    return UpstreamConfig(
        url=url,
        username=env("UPSTREAM_USERNAME", ""),
        password=env("UPSTREAM_PASSWORD", ""),
        timeout=timeout,
        max_age=parse_duration("UPSTREAM_MAX_AGE", env("UPSTREAM_MAX_AGE", ""), 600),
        cooldown=parse_duration("UPSTREAM_COOLDOWN", env("UPSTREAM_COOLDOWN", ""), 0),
        cache_bytes=parse_size("UPSTREAM_CACHE_SIZE", env("UPSTREAM_CACHE_SIZE", "")),
    )
