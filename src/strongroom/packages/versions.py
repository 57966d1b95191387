"""Reading PEP 440 versions from untrusted text: bounded, and failing only one way.

``packaging`` raises more than ``InvalidVersion``: a release segment longer than Python's
int-from-string limit (4,300 digits) raises a bare ``ValueError``. Every place that reads
a version from a client (the upload form and filename, URLs) goes through here, so one
length bound and one exception type cover them all.
"""

from __future__ import annotations

from django.urls import register_converter
from django.urls.converters import get_converters
from packaging.utils import canonicalize_version
from packaging.version import InvalidVersion, Version

# Release.version and Release.canonical_version are this long; PyPI's longest real
# version is far shorter.
MAX_VERSION_LENGTH = 100


def parse_version(text: str) -> Version:
    """``text`` as a Version, or InvalidVersion (never another exception).

    Refuses text, or a normalised form, longer than MAX_VERSION_LENGTH, so what is
    accepted always fits the database columns.
    """
    if len(text) > MAX_VERSION_LENGTH:
        raise InvalidVersion(f"a version is at most {MAX_VERSION_LENGTH} characters")
    try:
        version = Version(text)
    except (ValueError, TypeError, OverflowError) as exc:  # InvalidVersion is a ValueError
        raise InvalidVersion(str(exc)[:200]) from None
    if len(str(version)) > MAX_VERSION_LENGTH:
        raise InvalidVersion(f"a version is at most {MAX_VERSION_LENGTH} characters")
    return version


def canonical_version(text: str) -> str:
    """The form releases are looked up by (trailing zeros stripped), or InvalidVersion."""
    return canonicalize_version(parse_version(text), strip_trailing_zero=True)


class VersionConverter:
    """``<version:...>`` in URLs: one path segment no longer than a stored version.

    Anything longer cannot name a release, so it does not resolve (a plain 404).
    """

    regex = f"[^/]{{1,{MAX_VERSION_LENGTH}}}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


def register_url_converter() -> None:
    """Make ``<version:...>`` available to URLconfs (idempotent)."""
    if "version" not in get_converters():
        register_converter(VersionConverter, "version")
