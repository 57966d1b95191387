"""The identity of a distribution file, whatever its filename's spelling.

Two filenames are the same distribution when they name the same project (PEP 503
canonical name), the same version (PEP 440, canonicalised: ``8.0``, ``8.00``, ``8.0.0``,
``v8.0`` and ``0!8.0`` are one), and, for a wheel, the same build tag and the same set of
compatibility tags (PEP 427/491; tags compare lower case). Every sdist of a release is
the same distribution whatever its extension or case (PEP 625: one sdist per release).
"""

from __future__ import annotations

import hashlib

from packaging.tags import Tag
from packaging.utils import (
    BuildTag,
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    canonicalize_version,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

MAX_KEY_LENGTH = 255


def _bounded(key: str) -> str:
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def wheel_key(name: str, version: Version, build: BuildTag, tags: frozenset[Tag]) -> str:
    build_text = f"{build[0]}{build[1]}" if build else ""
    tag_text = ".".join(sorted(str(tag) for tag in tags))
    canonical = canonicalize_version(version, strip_trailing_zero=True)
    return _bounded(f"wheel:{canonicalize_name(name)}:{canonical}:{build_text}:{tag_text}")


def sdist_key(name: str | NormalizedName, version: Version) -> str:
    canonical = canonicalize_version(version, strip_trailing_zero=True)
    return _bounded(f"sdist:{canonicalize_name(name)}:{canonical}")


def filename_key(filename: str) -> str:
    """The key under which ``filename`` is remembered; unparsable names key on themselves."""
    try:
        if filename.lower().endswith(".whl"):
            name, version, build, tags = parse_wheel_filename(filename)
            return wheel_key(name, version, build, tags)
        if filename.lower().endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return sdist_key(name, version)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        pass
    return _bounded(f"other:{filename.lower()}")
