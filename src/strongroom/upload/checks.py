"""The upload pipeline's checks: each small, pure, and raising UploadError.

The form is twine's legacy protocol: ``:action``, ``protocol_version`` and one field per
core-metadata field (lower case, underscores), plus the digests of ``content``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _
from packaging.metadata import InvalidMetadata, Metadata, RawMetadata, parse_email
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    canonicalize_version,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from strongroom.packages import filenames
from strongroom.packages.versions import MAX_VERSION_LENGTH, parse_version
from strongroom.upload.errors import UploadError, too_large

# 1.0 to 2.4 as specified; 2.5 (PEP 794) too, because current flit_core and twine emit it
# and packaging validates it.
SUPPORTED_METADATA_VERSIONS = ("1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5")
# License-File has a meaning (PEP 639) from 2.4 on.
_LICENSE_FILE_VERSIONS = ("2.4", "2.5")
WHEEL = "bdist_wheel"
SDIST = "sdist"
MAX_FILENAME_LENGTH = 255
_FILENAME_CHARS = re.compile(r"^[A-Za-z0-9._+!-]+$")

# form field -> RawMetadata key, for fields that may repeat
_MULTI_FIELDS = {
    "classifiers": "classifiers",
    "platform": "platforms",
    "supported_platform": "supported_platforms",
    "requires_dist": "requires_dist",
    "provides_dist": "provides_dist",
    "obsoletes_dist": "obsoletes_dist",
    "requires_external": "requires_external",
    "provides_extra": "provides_extra",
    "dynamic": "dynamic",
    "requires": "requires",
    "provides": "provides",
    "obsoletes": "obsoletes",
    "license_file": "license_files",
}
_SINGLE_FIELDS = (
    "metadata_version",
    "name",
    "version",
    "summary",
    "description",
    "description_content_type",
    "home_page",
    "download_url",
    "author",
    "author_email",
    "maintainer",
    "maintainer_email",
    "license",
    "license_expression",
    "requires_python",
)


@dataclass(frozen=True)
class Distribution:
    """What the filename says: the package type and the name and version it claims."""

    filename: str
    packagetype: str
    name: str
    version: Version
    python_version: str
    # The distribution it names, however spelled (packages.filenames): never accepted twice.
    key: str


# --- the request itself -------------------------------------------------------------------


def check_action(form: QueryDict) -> None:
    """Only ``:action=file_upload`` with ``protocol_version=1`` is spoken here."""
    action = form.get(":action")
    if not action:
        raise UploadError(_("Missing ':action' field: this endpoint expects an upload."))
    if action != "file_upload":
        raise UploadError(_("Unknown ':action': only 'file_upload' is supported."))
    if form.get("protocol_version", "1") != "1":
        raise UploadError(_("Unknown protocol version: only protocol_version=1 is supported."))


def check_text_fields(form: QueryDict) -> None:
    """Fields must be UTF-8 text (the parser replaces undecodable bytes with U+FFFD)."""
    for key, values in form.lists():
        for value in values:
            if "\ufffd" in value or "\x00" in value:
                raise UploadError(
                    _("The field %(field)s is not valid UTF-8 text.") % {"field": key[:50]}
                )


# --- metadata -----------------------------------------------------------------------------


def _first_problem(group: BaseException) -> str:
    """The message of the first leaf exception in a (nested) ExceptionGroup."""
    while isinstance(group, BaseExceptionGroup):
        group = group.exceptions[0]
    return str(group)


def _drop_early_license_files(raw: RawMetadata, version: str) -> None:
    """Ignore ``License-File`` declared under a metadata version before 2.4.

    setuptools and hatchling wrote ``License-File`` long before PEP 639 gave it meaning in
    2.4, and packaging refuses it there. twine leaves it out of the form for such files
    (pypa/twine#1180), so PyPI, validating the form with packaging, never sees it; uv sends
    it. It says nothing we store or check, so it is dropped, not refused; from 2.4 on it is
    validated like every other field.
    """
    if "license_files" in raw and version not in _LICENSE_FILE_VERSIONS:
        del raw["license_files"]


def _validate_raw(raw: RawMetadata) -> Metadata:
    version = raw.get("metadata_version")
    if not version:
        raise UploadError(_("Missing required field: metadata_version."))
    if version not in SUPPORTED_METADATA_VERSIONS:
        raise UploadError(
            _("Unsupported metadata version %(version)s: 1.0 to 2.5 are accepted.")
            % {"version": str(version)[:20]}
        )
    _drop_early_license_files(raw, version)
    for field in ("name", "version"):
        if not raw.get(field):
            raise UploadError(_("Missing required field: %(field)s.") % {"field": field})
    text = str(raw["version"])
    try:
        parse_version(text)
    except InvalidVersion:
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise UploadError(
            _(
                "Invalid metadata: the version “%(version)s” is not a PEP 440 version "
                "of at most %(max)d characters."
            )
            % {"version": shown, "max": MAX_VERSION_LENGTH}
        ) from None
    try:
        metadata = Metadata.from_raw(raw, validate=True)
    except (InvalidMetadata, ExceptionGroup) as exc:
        raise UploadError(
            _("Invalid metadata: %(problem)s") % {"problem": _first_problem(exc)[:300]}
        ) from None
    if metadata.version is None or metadata.version.local is not None:
        raise UploadError(_("Local versions (with '+') cannot be uploaded to an index."))
    return metadata


def _project_urls(values: list[str]) -> dict[str, str]:
    urls: dict[str, str] = {}
    for value in values:
        label, sep, url = value.partition(",")
        if not sep:
            raise UploadError(_("Invalid metadata: project_urls entries are 'Label, URL'."))
        urls[label.strip()] = url.strip()
    return urls


def form_metadata(form: QueryDict) -> Metadata:
    """Validate the metadata fields of the form with packaging.metadata."""
    raw: dict[str, Any] = {}
    for field in _SINGLE_FIELDS:
        value = form.get(field, "")
        if value.strip() and value.strip().upper() != "UNKNOWN":
            raw[field] = value.strip() if field != "description" else value
    for field, key in _MULTI_FIELDS.items():
        values = [v.strip() for v in form.getlist(field) if v.strip()]
        if values:
            raw[key] = values
    keywords = form.get("keywords", "").strip()
    if keywords:
        raw["keywords"] = [k.strip() for k in keywords.split(",") if k.strip()]
    urls = [v for v in form.getlist("project_urls") if v.strip()]
    if urls:
        raw["project_urls"] = _project_urls(urls)
    return _validate_raw(RawMetadata(**raw))  # type: ignore[typeddict-item]


def core_metadata(data: bytes) -> Metadata:
    """Parse a wheel's METADATA file (RFC 822 style) with packaging.metadata."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadError(_("The wheel's METADATA file is not valid UTF-8.")) from None
    raw, _unparsed = parse_email(text)
    return _validate_raw(raw)


# --- filenames ----------------------------------------------------------------------------


def check_filetype(form: QueryDict) -> str:
    filetype = form.get("filetype", "")
    if filetype not in {WHEEL, SDIST}:
        raise UploadError(
            _("Unsupported filetype %(filetype)r: only bdist_wheel and sdist are accepted.")
            % {"filetype": filetype[:30]}
        )
    return filetype


def parse_filename(filename: str, filetype: str) -> Distribution:
    """Check a filename against the wheel format or PEP 625 (and legacy .zip sdists)."""
    if not filename:
        raise UploadError(_("No file was uploaded in the 'content' field."))
    if len(filename) > MAX_FILENAME_LENGTH or not _FILENAME_CHARS.match(filename):
        raise UploadError(_("Invalid filename: only letters, digits and ._+!- are allowed."))
    try:
        if filetype == WHEEL:
            if not filename.endswith(".whl"):
                raise UploadError(_("Invalid filename: a bdist_wheel must end in .whl."))
            name, version, build, tags = parse_wheel_filename(filename)
            pythons = sorted({tag.interpreter for tag in tags})
            python_version = ".".join(pythons)
            key = filenames.wheel_key(name, version, build, tags)
        else:
            if not filename.endswith((".tar.gz", ".zip")):
                raise UploadError(
                    _("Invalid filename: an sdist must end in .tar.gz (PEP 625) or .zip.")
                )
            name, version = parse_sdist_filename(filename)
            python_version = "source"
            key = filenames.sdist_key(name, version)
        # Bounded like the metadata's version: the release is named after this one.
        version = parse_version(str(version))
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion) as exc:
        raise UploadError(
            _("Invalid filename: %(problem)s") % {"problem": str(exc)[:300]}
        ) from None
    return Distribution(filename, filetype, str(name), version, python_version[:50], key)


def check_consistent(dist: Distribution, metadata: Metadata, source: str) -> None:
    """The filename's name and version must match the metadata's."""
    if canonicalize_name(metadata.name) != canonicalize_name(dist.name):
        raise UploadError(
            _("The name in %(source)s (%(name)s) does not match the filename %(filename)s.")
            % {"source": source, "name": metadata.name, "filename": dist.filename}
        )
    if metadata.version != dist.version:
        raise UploadError(
            _("The version in %(source)s (%(version)s) does not match the filename %(filename)s.")
            % {"source": source, "version": str(metadata.version), "filename": dist.filename}
        )


def check_dist_info(dist: Distribution, directory: str) -> None:
    """A wheel's ``{name}-{version}.dist-info`` must name the wheel's own project and
    version (canonicalised, as pip compares them), or pip refuses to install it."""
    stem = directory.removesuffix(".dist-info")
    name, sep, version = stem.rpartition("-")
    try:
        same = bool(sep) and (
            canonicalize_name(name) == canonicalize_name(dist.name)
            and Version(version) == dist.version
        )
    except InvalidVersion:
        same = False
    if not same:
        raise UploadError(
            _("The wheel's %(directory)s directory does not match the filename %(filename)s.")
            % {"directory": directory[:200], "filename": dist.filename}
        )


def normalized_version(version: Version) -> tuple[str, str]:
    """(normalised PEP 440 string, canonical form used for uniqueness)."""
    return str(version), canonicalize_version(version, strip_trailing_zero=True)


# --- digests and size -------------------------------------------------------------------------


_HEX = re.compile(r"^[0-9a-fA-F]+$")


def check_digests(form: QueryDict, actual: dict[str, str]) -> None:
    """Every digest the client sent must match; at least one must be sent."""
    sent = {
        "sha256": form.get("sha256_digest", "").strip(),
        "blake2_256": form.get("blake2_256_digest", "").strip(),
        "md5": form.get("md5_digest", "").strip(),
    }
    if not any(sent.values()):
        raise UploadError(_("Include at least one message digest (sha256_digest)."))
    for kind, value in sent.items():
        if not value:
            continue
        if not _HEX.match(value) or value.lower() != actual[kind]:
            raise UploadError(
                _("The %(kind)s digest does not match the uploaded file's content.")
                % {"kind": kind}
            )


def check_size(size: int, limit: int) -> None:
    if size > limit:
        raise too_large(
            _("File too large. The limit for this project is %(limit)d MiB.")
            % {"limit": limit // (1024 * 1024)}
        )
    if size == 0:
        raise UploadError(_("The uploaded file is empty."))
